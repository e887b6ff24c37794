"""Sweep benchmark: N open steps, 1% overdue; the service sweep beside bare sqlite3 writes.

For each size, in a fresh process: build a SQLite database (WAL) with the
schema made by the app's migrations and N open cases at level 1, one open step
each, 1% of them past their deadline; copy it. On one copy run the service
sweep (conditional UPDATE ... RETURNING, hash-chained history events,
notifications by the definition's rules) in a process of its own, so that its
peak RSS is the sweep's alone; on the other, the same writes with bare sqlite3
statements (the indexed UPDATE flagging the rows, one history row each, one
notification row per recipient: the parties and their agencies' leads). Prints
both times, `ratio X.XX` (sweep over bare) and the sweep's peak memory, then a
table of all sizes side by side.

    .venv/bin/python benchmarks/sweep_bench.py                      # 100,000 and 1,000,000
    .venv/bin/python benchmarks/sweep_bench.py --cases 1000000      # one size
    .venv/bin/python benchmarks/sweep_bench.py --cases 20000,100000 --profile
"""

from __future__ import annotations

import argparse
import cProfile
import hashlib
import json
import os
import pstats
import random
import resource
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

NOW = datetime(2026, 3, 20, 9, 0, tzinfo=UTC)
OVERDUE_SHARE = 0.01
PRACTITIONERS = 20  # per agency
AGENCIES = ("CSC", "HEALTH", "POLICE")
FMT = "%Y-%m-%d %H:%M:%S.%f"  # how SQLAlchemy stores an instant on SQLite
BATCH = 50_000


def _ts(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime(FMT)


def rss_mib() -> float:
    """Return this process's peak resident set size in MiB (Linux reports KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def make_schema(path: Path) -> None:
    """Create the database with the app's own migrations."""
    os.environ["DATABASE_URL"] = f"sqlite:///{path}"
    from resolution import create_app
    from resolution.cli import ensure_database
    from resolution.extensions import db

    app = create_app({"SECRET_KEY": "bench", "BASE_URL": "http://bench"})
    with app.app_context():
        ensure_database()
        db.engine.dispose()


def build(path: Path, n: int) -> int:
    """Fill the database with n open cases and steps, 1% overdue; return how many are."""
    con = sqlite3.connect(path, isolation_level=None)
    con.execute("PRAGMA journal_mode=WAL")
    con.execute("PRAGMA synchronous=OFF")  # building only: the timed runs use NORMAL
    con.execute("BEGIN")
    created = _ts(NOW - timedelta(days=30))
    users: dict[str, list[int]] = {}
    for code in AGENCIES:
        agency = con.execute(
            "INSERT INTO agency (code, name, active) VALUES (?, ?, 1)", (code, code.title())
        ).lastrowid
        staff = [("practitioner", i) for i in range(PRACTITIONERS)] + [("manager", 0), ("lead", 0)]
        for role, i in staff:
            uid = con.execute(
                "INSERT INTO user_account (email, name, agency_id, role, active, created_at,"
                " session_epoch) VALUES (?, ?, ?, ?, 1, ?, 0)",
                (
                    f"{code}.{role}{i}@bench.example".lower(),
                    f"{code} {role} {i}",
                    agency,
                    role,
                    created,
                ),
            ).lastrowid
            if role == "practitioner":
                users.setdefault(code, []).append(uid)
    agency_ids = {code: i + 1 for i, code in enumerate(AGENCIES)}
    rng = random.Random(7)
    overdue = set(rng.sample(range(n), int(n * OVERDUE_SHARE)))
    raised = NOW - timedelta(days=10)
    for start in range(0, n, BATCH):
        ids = range(start + 1, min(n, start + BATCH) + 1)
        cases, agencies, parties, steps = [], [], [], []
        for cid in ids:
            other = AGENCIES[1 + cid % 2]
            raiser = users["CSC"][cid % PRACTITIONERS]
            named = users[other][cid % PRACTITIONERS]
            at = raised + timedelta(seconds=cid)
            if cid - 1 in overdue:
                due = NOW - timedelta(minutes=1 + cid % 5000)
            else:
                due = NOW + timedelta(days=2, minutes=cid % 30000)
            cases.append(
                (cid, f"RC-{cid:07d}", raiser, agency_ids["CSC"], _ts(at), f"CS-{cid:07d}")
            )
            agencies += [(cid, agency_ids["CSC"], 1), (cid, agency_ids[other], 0)]
            parties += [(cid, raiser, _ts(at), "raised"), (cid, named, _ts(at), "named")]
            steps.append((cid, _ts(at), _ts(due), _ts(due - timedelta(days=1))))
        con.executemany(
            "INSERT INTO case_file (id, reference, workflow_key, workflow_version, state, closed,"
            " child_ref, category, summary, raised_by_id, raised_agency_id, raised_at, urgent,"
            " version) VALUES (?1, ?2, 'leeds-pcrp', 1, 'practitioners', 0, ?6, 'threshold',"
            " 'Threshold disagreement', ?3, ?4, ?5, 0, 1)",
            cases,
        )
        con.executemany(
            "INSERT INTO case_agency (case_id, agency_id, raising) VALUES (?, ?, ?)", agencies
        )
        con.executemany(
            "INSERT INTO case_party (case_id, user_id, joined_at, how) VALUES (?, ?, ?, ?)", parties
        )
        con.executemany(
            "INSERT INTO step (case_id, number, level, started_at, due_at, warn_at,"
            " timescale_status, went_overdue) VALUES (?, 1, 'practitioners', ?, ?, ?, 'default', 0)",
            steps,
        )
    con.execute("COMMIT")
    con.execute("ANALYZE")
    con.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    con.close()
    return len(overdue)


def run_bare(path: Path) -> tuple[float, int, int]:
    """Flag, record and notify with bare sqlite3 in one transaction; return (s, flags, mails)."""
    con = sqlite3.connect(path, isolation_level=None)
    con.execute("PRAGMA journal_mode=WAL")
    con.execute("PRAGMA synchronous=NORMAL")
    con.execute("PRAGMA foreign_keys=ON")
    now = _ts(NOW)
    began = time.perf_counter()
    con.execute("BEGIN IMMEDIATE")
    seq, digest = con.execute("SELECT seq, digest FROM audit_head WHERE id = 1").fetchone()
    flagged = con.execute(
        "UPDATE step SET overdue_at = ?1, went_overdue = 1 WHERE ended_at IS NULL"
        " AND overdue_at IS NULL AND due_at <= ?1 RETURNING case_id, number, level, due_at",
        (now,),
    ).fetchall()
    con.execute("CREATE TEMP TABLE flagged (case_id INTEGER PRIMARY KEY)")
    con.executemany("INSERT INTO flagged (case_id) VALUES (?)", [(r[0],) for r in flagged])
    refs = dict(
        con.execute(
            "SELECT c.id, c.reference FROM flagged f JOIN case_file c ON c.id = f.case_id"
        ).fetchall()
    )
    events = []
    for case_id, number, level, due in flagged:
        payload = json.dumps({"step": number, "level": level, "due_at": due}, sort_keys=True)
        payload_digest = hashlib.sha256(payload.encode()).hexdigest()
        seq += 1
        new = hashlib.sha256(f"{digest}:{payload_digest}:{seq}".encode()).hexdigest()
        events.append(
            (
                seq,
                now,
                "scheduler",
                refs[case_id],
                "step_overdue",
                level,
                level,
                payload,
                payload_digest,
                digest,
                new,
            )
        )
        digest = new
    con.executemany(
        "INSERT INTO audit_event (seq, at, actor, case_ref, action, from_state, to_state, payload,"
        " payload_digest, redacted, prev_digest, digest) VALUES (?,?,?,?,?,?,?,?,?,0,?,?)",
        events,
    )
    con.execute("UPDATE audit_head SET seq = ?, digest = ? WHERE id = 1", (seq, digest))
    mails = con.execute(
        "INSERT INTO outbox (created_at, kind, case_id, to_email, subject, body, attempts,"
        " next_attempt_at)"
        " SELECT ?1, 'overdue', c.id, u.email, c.reference || ': overdue at level 1',"
        "  'Dear ' || u.name || ',' || char(10) || 'Case ' || c.reference || ' has passed its"
        " timescale: a decision was due ' || s.due_at || '.' || char(10) ||"
        "  'Open the case: http://bench/cases/' || c.id, 0, ?1"
        " FROM flagged f JOIN case_file c ON c.id = f.case_id"
        " JOIN step s ON s.case_id = c.id AND s.number = 1"
        " JOIN (SELECT p.case_id, p.user_id FROM flagged f2"
        "       JOIN case_party p ON p.case_id = f2.case_id"
        "       UNION SELECT a.case_id, l.id FROM flagged f3"
        "       JOIN case_agency a ON a.case_id = f3.case_id"
        "       JOIN user_account l ON l.agency_id = a.agency_id AND l.role = 'lead') r"
        "   ON r.case_id = c.id"
        " JOIN user_account u ON u.id = r.user_id",
        (now,),
    ).rowcount
    con.execute("COMMIT")
    elapsed = time.perf_counter() - began
    con.close()
    return elapsed, len(flagged), mails


def run_sweep(path: Path, chunk: int, profile: bool) -> tuple[float, int, int]:
    """Run the service sweep; return (seconds, flags, e-mails queued)."""
    os.environ["DATABASE_URL"] = f"sqlite:///{path}"
    from resolution import create_app
    from resolution.context import service_context
    from resolution.extensions import db
    from resolution.services.sweep import sweep

    app = create_app({"SECRET_KEY": "bench", "BASE_URL": "http://bench"})
    with app.app_context():
        ctx = service_context(NOW)
        profiler = cProfile.Profile() if profile else None
        if profiler:
            profiler.enable()
        began = time.perf_counter()
        result = sweep(db.session(), ctx, chunk=chunk)
        elapsed = time.perf_counter() - began
        if profiler:
            profiler.disable()
            pstats.Stats(profiler).sort_stats(
                os.environ.get("BENCH_SORT", "cumulative")
            ).print_stats(25)
        db.engine.dispose()
    return elapsed, result.flagged, result.messages


def count(path: Path, sql: str) -> int:
    con = sqlite3.connect(path)
    try:
        return int(con.execute(sql).fetchone()[0])
    finally:
        con.close()


def one_size(n: int, chunk: int, profile: bool) -> dict[str, float]:
    """Measure one size in this process; return the figures."""
    with tempfile.TemporaryDirectory() as tmp:
        swept, bare = Path(tmp) / "sweep.sqlite", Path(tmp) / "bare.sqlite"
        began = time.perf_counter()
        make_schema(swept)
        overdue = build(swept, n)
        shutil.copy(swept, bare)
        built = time.perf_counter() - began
        rss_built = rss_mib()
        bare_s, bare_flags, bare_mails = run_bare(bare)
        # The sweep runs in a process of its own, so its peak RSS is the sweep's alone.
        swept_figures = run_self(
            ["--sweep-db", str(swept), "--chunk", str(chunk)], profile, "SWEEP"
        )
        sweep_s, flags, mails = swept_figures["s"], swept_figures["flags"], swept_figures["mails"]
        checks = [
            (flags, bare_flags, overdue),
            (mails, bare_mails),
            (count(swept, "SELECT count(*) FROM audit_event"), overdue),
            (count(swept, "SELECT count(*) FROM outbox"), bare_mails),
        ]
        for values in checks:
            if len(set(values)) != 1:
                raise SystemExit(f"the two runs disagree: {values}")
        return {
            "cases": n,
            "overdue": overdue,
            "emails": mails,
            "build_s": built,
            "bare_s": bare_s,
            "sweep_s": sweep_s,
            "ratio": sweep_s / bare_s,
            "rss_built_mib": rss_built,
            "rss_sweep_mib": swept_figures["rss_mib"],
        }


def run_self(args: list[str], profile: bool, tag: str) -> dict[str, Any]:
    """Run this script again in a process of its own; echo its output and return the
    figures it prints on the line starting with `tag`."""
    cmd = [sys.executable, __file__, *args, *(["--profile"] if profile else [])]
    out = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
    for line in out.splitlines():
        if not line.startswith(f"{tag} "):
            print(line)
    return json.loads(next(x for x in out.splitlines() if x.startswith(f"{tag} "))[len(tag) + 1 :])  # type: ignore[no-any-return]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", default="100000,1000000", help="sizes, comma-separated")
    parser.add_argument("--chunk", type=int, default=2000, help="sweep chunk size")
    parser.add_argument("--profile", action="store_true", help="profile the service sweep")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--sweep-db", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.sweep_db:
        took, flags, mails = run_sweep(Path(args.sweep_db), args.chunk, args.profile)
        figures = {"s": took, "flags": flags, "mails": mails, "rss_mib": rss_mib()}
        print("SWEEP " + json.dumps(figures))
        return
    sizes = [int(s.replace("_", "")) for s in args.cases.split(",")]
    if args.child:
        figures = one_size(sizes[0], args.chunk, args.profile)
        print("RESULT " + json.dumps(figures))
        return
    rows = []
    for n in sizes:
        r = run_self(
            ["--child", "--cases", str(n), "--chunk", str(args.chunk)], args.profile, "RESULT"
        )
        rows.append(r)
        print(
            f"{n:,} open steps, {r['overdue']:,} overdue, {r['emails']:,} e-mails"
            f" (database built in {r['build_s']:.1f} s)"
        )
        print(f"  bare sqlite3: {r['bare_s']:.3f} s")
        print(f"  sweep:        {r['sweep_s']:.3f} s")
        print(f"ratio {r['ratio']:.2f}")
        print(f"  sweep process peak RSS {r['rss_sweep_mib']:.0f} MiB")
    print()
    print(
        "| open steps | overdue | e-mails | bare sqlite3 | sweep | ratio | sweep peak RSS | build |"
    )
    print("|---:|---:|---:|---:|---:|---:|---:|---:|")
    for r in rows:
        print(
            f"| {r['cases']:,} | {r['overdue']:,} | {r['emails']:,} | {r['bare_s']:.3f} s"
            f" | {r['sweep_s']:.3f} s | {r['ratio']:.2f} | {r['rss_sweep_mib']:.0f} MiB"
            f" | {r['build_s']:.0f} s |"
        )


if __name__ == "__main__":
    main()
