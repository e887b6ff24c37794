"""Load benchmark: wrk against gunicorn on loopback, PostgreSQL with 100,000 cases.

Starts a throwaway PostgreSQL server (tests/support/pgserver.py, fsync on), builds the
schema with the real migrations, adds agencies and people through the services, then
seeds the cases with set-based SQL, as a partnership's database looks after some years:
90% closed, the newest 10% open (each with its two agencies, two parties and a step),
some of those overdue. gunicorn serves the app with deploy/gunicorn.conf.py. In the same
run, wrk measures each with one client and then with eight:

- GET /healthz: the framework's own ceiling (one small query);
- GET /api/v1/cases/{id}: a lead reading random cases of their agency (each read is also
  written to the access log, as in production);
- GET /api/v1/cases?overdue=true: a lead listing their agency's overdue cases (a page of
  20 with the total);
- POST /api/v1/cases/{id}/actions/escalate: a practitioner escalating distinct open
  cases, each with its If-Match (a transaction with the hash chain, a record, a new step
  and the e-mails queued);
- the pages a lead uses, signed in through the sign-in page: a case, Overdue and due
  soon (counts and the first 50), and Your cases.

It prints requests per second and p50/p95/p99 latency for each, and `ratio X.XX`: reading
a case over the health endpoint with eight clients, the median of the table's run and of
`--rounds` more pairs of the two run side by side (the machine's speed drifts by a
quarter between runs a minute apart).

    .venv/bin/python benchmarks/load_bench.py [--cases 100000] [--seconds 10] [--workers 4]
                                              [--rounds 4]
"""

from __future__ import annotations

import argparse
import http.cookiejar
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.parse
import urllib.request
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

PASSWORD = "a bench password only"  # noqa: S105 (a throwaway database)
THREADS, CONNECTIONS = 2, 8  # eight clients, as in the fault tests

LUA = r"""
local paths = {}
local counter = 0
thread_no = 0  -- a global: setup() gives each thread its own number through thread:set
local threads = {}
local base, spread, mode = "%(base)s", %(spread)d, "%(mode)s"
local header, credential = "%(header)s", "%(credential)s"
local first_open, span = %(first_open)d, %(span)d

function setup(thread)
  thread:set("thread_no", #threads)
  table.insert(threads, thread)
end

function init(args)
  math.randomseed(42 + thread_no)
end

function request()
  counter = counter + 1
  local headers = {[header] = credential}
  if mode == "read" then
    return wrk.format("GET", base .. math.random(1, spread), headers)
  elseif mode == "act" then
    -- Each thread walks its own run of open cases, so every escalation is a first one.
    local id = first_open + thread_no * span + counter - 1
    headers["Content-Type"] = "application/json"
    headers["If-Match"] = '"1"'
    return wrk.format("POST", base .. id .. "/actions/escalate", headers,
                      '{"record": "Escalated under load."}')
  else
    return wrk.format("GET", base, headers)
  end
end

function done(summary, latency, requests)
  io.write(string.format("RESULT %%d %%d %%d %%.3f %%.3f %%.3f %%.3f\n",
    summary.requests, summary.duration, summary.errors.status + summary.errors.connect
      + summary.errors.read + summary.errors.write + summary.errors.timeout,
    latency:percentile(50) / 1000, latency:percentile(95) / 1000,
    latency:percentile(99) / 1000, latency.mean / 1000))
end
"""


def bearer(token: str) -> tuple[str, str]:
    """Return the header that carries an API token."""
    return ("Authorization", f"Bearer {token}")


def sign_in(base: str, email: str, password: str) -> tuple[str, str]:
    """Sign in through the sign-in page as a browser would; return the session cookie header."""
    jar = http.cookiejar.CookieJar()
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))
    with opener.open(f"{base}/sign-in", timeout=10) as page:
        csrf = re.search(r'name="csrf_token" value="([^"]+)"', page.read().decode()).group(1)
    form = urllib.parse.urlencode({"csrf_token": csrf, "email": email, "password": password})
    with opener.open(f"{base}/sign-in", data=form.encode(), timeout=10) as answer:
        if "/sign-in" in answer.geturl():
            raise SystemExit("the benchmark could not sign in")
    return ("Cookie", "; ".join(f"{c.name}={c.value}" for c in jar))


def open_from(n: int) -> int:
    """Return the first open case's id: the newest tenth of the cases are open."""
    return n - n // 10 + 1


def seed(url: str, n: int) -> dict[str, str]:
    """Build the schema, the people and n cases; return API tokens by role."""
    os.environ["DATABASE_URL"] = url
    from sqlalchemy import text

    from resolution import create_app
    from resolution.cli import ensure_database
    from resolution.context import service_context
    from resolution.extensions import db
    from resolution.services import accounts

    app = create_app({"SECRET_KEY": "bench", "BASE_URL": "http://bench"})
    now = datetime.now(UTC)
    with app.app_context():
        ensure_database()
        ctx = service_context(now)
        for code, name in (("CSC", "Children's Social Care"), ("HEALTH", "Community Health")):
            accounts.create_agency(db.session(), ctx, code, name)
        people = {}
        for key, agency, role in (
            ("sam", "CSC", "practitioner"),
            ("priya", "HEALTH", "practitioner"),
            ("lena", "CSC", "lead"),
        ):
            user = accounts.create_user(
                db.session(), ctx, email=f"{key}@bench.example", name=key.title(), agency=agency,
                role=role, password=None,
            )  # fmt: skip
            people[key] = user.id
        csc, health = (
            db.session.execute(text("SELECT id FROM agency WHERE code = :c"), {"c": c}).scalar_one()
            for c in ("CSC", "HEALTH")
        )
        started = time.perf_counter()
        # As in a partnership's database after some years: most cases closed (the first
        # 90% of ids, spread over 625 days), the newest 10% open, raised over the last ten
        # days against a seven-day clock, so about a third of the open ones are overdue.
        params = {"n": n, "open_from": open_from(n), "sam": people["sam"],
                  "priya": people["priya"], "csc": csc, "health": health, "now": now}  # fmt: skip
        for statement in (
            "INSERT INTO case_file (reference, workflow_key, workflow_version, state, closed,"
            " child_ref, category, summary, raised_by_id, raised_agency_id, raised_at, urgent,"
            " version, outcome_kind, outcome_level, outcome_text, closed_at)"
            " SELECT 'RC-' || lpad(g::text, 7, '0'), 'leeds-pcrp', 1,"
            " CASE WHEN closed THEN 'resolved' ELSE 'practitioners' END, closed, 'CS-' || g,"
            " 'threshold', 'Seeded for the load benchmark.', :sam, :csc, raised, false, 1,"
            " CASE WHEN closed THEN 'resolved' END, CASE WHEN closed THEN 'practitioners' END,"
            " CASE WHEN closed THEN 'Agreed a plan.' END,"
            " CASE WHEN closed THEN raised + interval '3 days' END"
            " FROM (SELECT g, g < :open_from AS closed, CASE WHEN g < :open_from"
            " THEN :now - interval '640 days' + g * interval '10 minutes'"
            " ELSE :now - interval '10 days' + (g %% 14400) * interval '1 minute' END AS raised"
            " FROM generate_series(1, :n) AS g) AS seed",
            "INSERT INTO case_agency (case_id, agency_id, raising)"
            " SELECT id, :csc, true FROM case_file UNION ALL SELECT id, :health, false FROM case_file",
            "INSERT INTO case_party (case_id, user_id, joined_at, how)"
            " SELECT id, :sam, raised_at, 'raised' FROM case_file"
            " UNION ALL SELECT id, :priya, raised_at, 'named' FROM case_file",
            "INSERT INTO step (case_id, number, level, started_at, due_at, warn_at, ended_at,"
            " timescale_status, went_overdue) SELECT id, 1, 'practitioners', raised_at,"
            " raised_at + interval '7 days', raised_at + interval '6 days', closed_at, 'default',"
            " false FROM case_file",
            # Each agency's row carries its open case's clock (changes.set_clock).
            "UPDATE case_agency SET level = step.level, due_at = step.due_at,"
            " warn_at = step.warn_at FROM step"
            " WHERE step.case_id = case_agency.case_id AND step.ended_at IS NULL",
        ):
            db.session.execute(text(statement.replace("%%", "%")), params)
        db.session.commit()
        with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
            connection.execute(text("VACUUM ANALYZE"))  # what autovacuum does in service
        opened = n - open_from(n) + 1
        print(f"seeded {n:,} cases ({opened:,} open) in {time.perf_counter() - started:.1f} s")
        tokens = {
            key: accounts.issue_token(db.session(), ctx, f"{key}@bench.example") for key in people
        }
        accounts.set_password(db.session(), ctx, "lena@bench.example", PASSWORD)
        db.engine.dispose()
    return tokens


def serve(root: Path, url: str, port: int, workers: int | None = None) -> subprocess.Popen[bytes]:
    """Start gunicorn as deployed (deploy/gunicorn.conf.py), the app of `root`, on loopback."""
    env = {**os.environ, "DATABASE_URL": url, "SECRET_KEY": "bench" * 8,
           "BIND": f"127.0.0.1:{port}",
           **({"WEB_CONCURRENCY": str(workers)} if workers else {}),
           "RESOLUTION_LOG_JSON": "1"}  # fmt: skip
    return subprocess.Popen(
        [str(Path(sys.executable).with_name("gunicorn")), "-c", "deploy/gunicorn.conf.py",
         "--access-logfile", "/dev/null", "wsgi:app"],
        cwd=root, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip


def wait_healthy(base: str) -> None:
    """Wait (up to 20 s) until the server at `base` answers its health endpoint."""
    for _ in range(100):
        try:
            urllib.request.urlopen(f"{base}/healthz", timeout=2).close()  # noqa: S310
            return
        except OSError:
            time.sleep(0.2)


def wrk(
    base: str,
    path: str,
    mode: str,
    credential: tuple[str, str],
    seconds: int,
    spread: int,
    connections: int,
    run: int,
) -> dict[str, float]:
    """Run wrk on one endpoint with `connections` clients; return its figures.

    Escalations walk open cases no earlier run has touched: each of the (up to) two runs
    per endpoint has its own half of each wrk thread's share of the open cases.
    """
    threads = min(THREADS, connections)
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as script:
        first = open_from(spread)
        span = (spread - first + 1) // THREADS // 2
        script.write(
            LUA
            % {"base": path, "spread": spread, "mode": mode,
               "header": credential[0], "credential": credential[1],
               "first_open": first + run * span * THREADS, "span": span}
        )  # fmt: skip
    try:
        out = subprocess.run(
            ["wrk", f"-t{threads}", f"-c{connections}", f"-d{seconds}s", "-s", script.name, base],
            capture_output=True, text=True, check=True, timeout=seconds + 60,
        ).stdout  # fmt: skip
    finally:
        os.unlink(script.name)
    fields = next(line for line in out.splitlines() if line.startswith("RESULT ")).split()[1:]
    requests, duration_us, errors = int(fields[0]), int(fields[1]), int(fields[2])
    p50, p95, p99, mean = (float(v) for v in fields[3:])
    return {"rps": requests / (duration_us / 1e6), "requests": requests, "errors": errors,
            "p50": p50, "p95": p95, "p99": p99, "mean": mean}  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=int, default=100_000)
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument(
        "--rounds", type=int, default=4, help="extra health/read pairs for the ratio"
    )
    parser.add_argument(
        "--workers", type=int, default=None, help="default: the deployment's (cores + 1)"
    )
    args = parser.parse_args()
    from tests.support.pgserver import PostgresServer

    with PostgresServer(fsync=True) as server:  # commits reach the disk, as in service
        url = server.create_database("load")
        tokens = seed(url, args.cases)
        port = 8000 + os.getpid() % 1000
        web = serve(ROOT, url, port, args.workers)
        base = f"http://127.0.0.1:{port}"
        try:
            wait_healthy(base)
            cookie = sign_in(base, "lena@bench.example", PASSWORD)
            runs = [
                ("health endpoint", "/healthz", "plain", ("X-Nothing", "x")),
                ("read a case", "/api/v1/cases/", "read", bearer(tokens["lena"])),
                (
                    "lead's overdue cases",
                    "/api/v1/cases?overdue=true",
                    "plain",
                    bearer(tokens["lena"]),
                ),
                ("take an action (escalate)", "/api/v1/cases/", "act", bearer(tokens["sam"])),
                ("page: a case", "/cases/", "read", cookie),
                ("page: lead's overdue and due soon", "/overdue", "plain", cookie),
                ("page: lead's own cases", "/cases", "plain", cookie),
            ]
            for _, path, mode, credential in runs:  # warm every worker (templates, caches)
                if mode != "act":
                    wrk(base, path, mode, credential, 1, args.cases, CONNECTIONS, 0)
            results: dict[int, dict[str, dict[str, float]]] = {1: {}, CONNECTIONS: {}}
            for run, connections in enumerate(results):
                for name, path, mode, credential in runs:
                    figures = wrk(base, path, mode, credential, args.seconds, args.cases,
                                  connections, run)  # fmt: skip
                    results[connections][name] = figures
                    print(f"{connections} client(s):", name,
                          json.dumps({k: round(v, 2) for k, v in figures.items()}))  # fmt: skip
            # The ratio again, in alternating pairs: the machine's speed drifts between runs
            # ten seconds apart, so a pair measured side by side is the fairer comparison.
            pairs = []
            for _ in range(args.rounds):
                health = wrk(base, "/healthz", "plain", runs[0][3], args.seconds // 2 or 1,
                             args.cases, CONNECTIONS, 0)  # fmt: skip
                read = wrk(base, "/api/v1/cases/", "read", runs[1][3], args.seconds // 2 or 1,
                           args.cases, CONNECTIONS, 0)  # fmt: skip
                pairs.append(read["rps"] / health["rps"])
                print(f"pair {len(pairs)}: health {health['rps']:.0f} req/s, read a case "
                      f"{read['rps']:.0f} req/s, ratio {pairs[-1]:.2f}")  # fmt: skip
        finally:
            web.terminate()
            web.wait(timeout=30)
    workers = args.workers or (os.cpu_count() or 1) + 1
    print()
    print(f"{args.cases:,} cases ({args.cases - open_from(args.cases) + 1:,} open), "
          f"{workers} gunicorn workers on {os.cpu_count()} cores, wrk -d{args.seconds}s "
          f"with 1 client, then {CONNECTIONS}")  # fmt: skip
    one, many = results[1], results[CONNECTIONS]
    print(f"| endpoint | 1 client: req/s | p50 ms | p95 ms | {CONNECTIONS} clients: req/s "
          "| p50 ms | p95 ms | p99 ms | errors |")  # fmt: skip
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|")
    for name, r in many.items():
        a = one[name]
        print(f"| {name} | {a['rps']:.0f} | {a['p50']:.1f} | {a['p95']:.1f} | {r['rps']:.0f}"
              f" | {r['p50']:.1f} | {r['p95']:.1f} | {r['p99']:.1f}"
              f" | {a['errors'] + r['errors']} |")  # fmt: skip
    table_ratio = many["read a case"]["rps"] / many["health endpoint"]["rps"]
    ratio = statistics.median([table_ratio, *pairs])
    print(f"read/health in the table: {table_ratio:.2f}; in the {len(pairs)} pairs: "
          + ", ".join(f"{r:.2f}" for r in pairs))  # fmt: skip
    print(f"ratio {ratio:.2f}  (reading a case over the health endpoint, {CONNECTIONS} clients,"
          " median of the table's run and the pairs; floor >= 0.30)")  # fmt: skip
    for connections, table in results.items():
        worst = max(table, key=lambda name: table[name]["p95"])
        health = table["health endpoint"]["p95"]
        print(f"worst p95 with {connections} client(s): {table[worst]['p95']:.1f} ms ({worst}),"
              f" {table[worst]['p95'] / health:.1f}x the health endpoint's; floor <= 8x")  # fmt: skip


if __name__ == "__main__":
    main()
