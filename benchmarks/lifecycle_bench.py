"""Lifecycle benchmark: cases raised, written to, escalated twice and resolved.

Each step is its own transaction through the service layer (domain, machine,
hash chain and outbox intact), on SQLite in WAL mode. Beside it, in the same
run, the same rows are written with bare `sqlite3` on a copy of the same
schema: the ratio of the two throughputs is the figure to watch.

    .venv/bin/python benchmarks/lifecycle_bench.py [--cases 2000] [--profile]
"""

from __future__ import annotations

import argparse
import cProfile
import os
import pstats
import sqlite3
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

START = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def make_app(path: Path):
    """Return an app on a fresh SQLite file built by the real migrations."""
    os.environ["DATABASE_URL"] = f"sqlite:///{path}"
    from resolution import create_app
    from resolution.cli import ensure_database

    app = create_app({"SECRET_KEY": "bench", "BASE_URL": "http://bench"})
    with app.app_context():
        ensure_database()
    return app


def seed(now: datetime) -> dict[str, int]:
    """Create two agencies with a practitioner, manager and lead each."""
    from resolution.context import service_context
    from resolution.extensions import db
    from resolution.services import accounts

    ids = {}
    ctx = service_context(now)
    for code in ("CSC", "HEALTH"):
        accounts.create_agency(db.session(), ctx, code, code.title())
        for role in ("practitioner", "manager", "lead"):
            user = accounts.create_user(
                db.session(),
                ctx,
                email=f"{code}.{role}@bench.example".lower(),
                name=f"{code} {role}",
                agency=code,
                role=role,
                password=None,
            )
            ids[f"{code}.{role}"] = user.id
    return ids


def run_services(app, ids: dict[str, int], first: int, n: int) -> float:
    """Run lifecycles first..first+n-1 through the services; return the seconds taken."""
    from resolution.context import service_context
    from resolution.extensions import db
    from resolution.services import cases

    with app.app_context():
        health = "health.practitioner@bench.example"
        began = time.perf_counter()
        for i in range(first, first + n):
            now = START + timedelta(minutes=i)
            ctx = service_context(now)
            case = cases.raise_case(
                db.session(),
                ctx,
                ids["CSC.practitioner"],
                child_ref=f"CS-{i:06d}",
                category="threshold",
                summary="Threshold disagreement",
                with_agencies=["HEALTH"],
                with_people=[health],
            )
            cases.add_record(
                db.session(),
                ctx,
                ids["HEALTH.practitioner"],
                case.id,
                kind="discussion",
                text="We talked.",
            )
            case = cases.take_action(
                db.session(),
                ctx,
                ids["CSC.practitioner"],
                case.id,
                "escalate",
                record="Up to managers.",
                expected_version=case.version,
            )
            case = cases.take_action(
                db.session(),
                ctx,
                ids["CSC.manager"],
                case.id,
                "escalate",
                record="Up to leads.",
                expected_version=case.version,
            )
            cases.take_action(
                db.session(),
                ctx,
                ids["HEALTH.lead"],
                case.id,
                "resolve",
                record="Agreed.",
                expected_version=case.version,
                outcome={"text": "Assessment to start."},
            )
        return time.perf_counter() - began


def run_bare(path: Path, first: int, n: int) -> float:
    """Write the same rows with bare sqlite3, one transaction per step; return seconds."""
    con = sqlite3.connect(path, isolation_level=None)
    con.execute("PRAGMA journal_mode=WAL")
    con.execute("PRAGMA synchronous=NORMAL")
    con.execute("PRAGMA foreign_keys=ON")
    cur = con.cursor()
    cur.execute("SELECT id, email FROM user_account")
    users = {email: uid for uid, email in cur.fetchall()}
    cur.execute("SELECT id, code FROM agency")
    agencies = {code: aid for aid, code in cur.fetchall()}
    seq = cur.execute("SELECT seq FROM audit_head WHERE id = 1").fetchone()[0]
    p, m, lead = (users[f"csc.{r}@bench.example"] for r in ("practitioner", "manager", "lead"))
    hp, hl = users["health.practitioner@bench.example"], users["health.lead@bench.example"]
    d = "0" * 64
    # Rows as long as the service's: its events' payloads and its e-mails' subjects and
    # bodies (measured on its database: about 150, 55 and 340 characters).
    payload = (
        '{"record": "Up to managers.", "outcome": null, "referred_to": null, "learning": null,'
        ' "themes": [], "due_at": "%s"}'
    )
    subject = "RC-000001: now at level 2: first-line managers of both agencies"
    body = "Dear Someone,\n\n" + "x" * 300 + "\n\nOpen the case: http://bench/cases/1\n"

    def event(ts: str, case_ref: str, action: str, frm: str | None, to: str) -> None:
        nonlocal seq
        seq += 1
        cur.execute(
            "INSERT INTO audit_event (seq, at, actor, case_ref, action, from_state, to_state, payload, payload_digest,"
            " redacted, prev_digest, digest) VALUES (?,?,?,?,?,?,?,?,?,0,?,?)",
            (
                seq,
                ts,
                "csc.practitioner@bench.example",
                case_ref,
                action,
                frm,
                to,
                payload % ts,
                d,
                d,
                d,
            ),
        )
        cur.execute("UPDATE audit_head SET seq = ?, digest = ? WHERE id = 1", (seq, d))

    def mail(ts: str, case_id: int, count: int) -> None:
        cur.executemany(
            "INSERT INTO outbox (created_at, kind, case_id, to_email, subject, body, attempts, next_attempt_at)"
            " VALUES (?,?,?,?,?,?,0,?)",
            [
                (ts, "escalated", case_id, f"{i}@bench.example", subject, body, ts)
                for i in range(count)
            ],
        )

    began = time.perf_counter()
    for i in range(first, first + n):
        ts = (START + timedelta(minutes=i)).strftime("%Y-%m-%d %H:%M:%S.%f")
        due = (START + timedelta(days=7, minutes=i)).strftime("%Y-%m-%d %H:%M:%S.%f")
        ref = f"BR-{i:06d}"
        cur.execute("BEGIN")
        cur.execute(
            "INSERT INTO case_file (reference, workflow_key, workflow_version, state, closed, child_ref, category,"
            " summary, raised_by_id, raised_agency_id, raised_at, urgent, version) VALUES"
            " (?,?,?,?,0,?,?,?,?,?,?,0,1)",
            (
                ref,
                "leeds-pcrp",
                1,
                "practitioners",
                f"CS-{i:06d}",
                "threshold",
                "Threshold disagreement",
                p,
                agencies["CSC"],
                ts,
            ),
        )
        case_id = cur.lastrowid
        cur.execute(
            "INSERT INTO case_agency (case_id, agency_id, raising, level, due_at, warn_at)"
            " VALUES (?,?,1,?,?,?)",
            (case_id, agencies["CSC"], "practitioners", due, due),
        )
        cur.execute(
            "INSERT INTO case_agency (case_id, agency_id, raising, level, due_at, warn_at)"
            " VALUES (?,?,0,?,?,?)",
            (case_id, agencies["HEALTH"], "practitioners", due, due),
        )
        cur.execute(
            "INSERT INTO case_party (case_id, user_id, joined_at, how) VALUES (?,?,?,?)",
            (case_id, p, ts, "raised"),
        )
        cur.execute(
            "INSERT INTO case_party (case_id, user_id, joined_at, how) VALUES (?,?,?,?)",
            (case_id, hp, ts, "named"),
        )
        cur.execute(
            "INSERT INTO step (case_id, number, level, started_at, due_at, warn_at, timescale_status, went_overdue)"
            " VALUES (?,?,?,?,?,?,'default',0)",
            (case_id, 1, "practitioners", ts, due, due),
        )
        event(ts, ref, "raised", None, "practitioners")
        mail(ts, case_id, 3)
        cur.execute("COMMIT")

        cur.execute("BEGIN")
        cur.execute(
            "INSERT INTO record (case_id, step_number, kind, text, author_id, at) VALUES (?,?,?,?,?,?)",
            (case_id, 1, "discussion", "We talked.", hp, ts),
        )
        cur.execute("UPDATE case_file SET version = version + 1 WHERE id = ?", (case_id,))
        event(ts, ref, "record_added", "practitioners", "practitioners")
        mail(ts, case_id, 1)
        cur.execute("COMMIT")

        for number, (frm, to, actor) in enumerate(
            (("practitioners", "managers", p), ("managers", "leads", m)), 1
        ):
            cur.execute("BEGIN")
            if actor == m:  # the manager joins the case by acting on it
                cur.execute(
                    "INSERT INTO case_party (case_id, user_id, joined_at, how) VALUES (?,?,?,?)",
                    (case_id, m, ts, "acted"),
                )
            cur.execute(
                "UPDATE step SET ended_at = ? WHERE case_id = ? AND number = ?",
                (ts, case_id, number),
            )
            cur.execute(
                "INSERT INTO record (case_id, step_number, kind, text, author_id, at) VALUES (?,?,?,?,?,?)",
                (case_id, number, "decision", "Up.", actor, ts),
            )
            cur.execute(
                "INSERT INTO step (case_id, number, level, started_at, due_at, warn_at, timescale_status,"
                " went_overdue) VALUES (?,?,?,?,?,?,'default',0)",
                (case_id, number + 1, to, ts, due, due),
            )
            cur.execute(
                "UPDATE case_file SET state = ?, version = version + 1 WHERE id = ?", (to, case_id)
            )
            cur.execute(
                "UPDATE case_agency SET level = ?, due_at = ?, warn_at = ? WHERE case_id = ?",
                (to, due, due, case_id),
            )
            event(ts, ref, "escalate", frm, to)
            mail(ts, case_id, 5)
            cur.execute("COMMIT")

        cur.execute("BEGIN")
        cur.execute(
            "INSERT INTO case_party (case_id, user_id, joined_at, how) VALUES (?,?,?,?)",
            (case_id, hl, ts, "acted"),
        )
        cur.execute("UPDATE step SET ended_at = ? WHERE case_id = ? AND number = 3", (ts, case_id))
        cur.execute(
            "INSERT INTO record (case_id, step_number, kind, text, author_id, at) VALUES (?,?,?,?,?,?)",
            (case_id, 3, "decision", "Agreed.", hl, ts),
        )
        cur.execute(
            "UPDATE case_file SET state = 'resolved', closed = 1, closed_at = ?, outcome_kind = 'resolved',"
            " outcome_level = 'leads', outcome_text = ?, outcome_by_id = ?, version = version + 1 WHERE id = ?",
            (ts, "Assessment to start.", hl, case_id),
        )
        cur.execute(
            "UPDATE case_agency SET level = NULL, due_at = NULL, warn_at = NULL WHERE case_id = ?",
            (case_id,),
        )
        event(ts, ref, "resolve", "leads", "resolved")
        mail(ts, case_id, 4)
        cur.execute("COMMIT")
    elapsed = time.perf_counter() - began
    con.close()
    _ = lead
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=int, default=2000)
    parser.add_argument(
        "--rounds",
        type=int,
        default=10,
        help="alternate the two ways this many times, so both meet the same machine noise",
    )
    parser.add_argument(
        "--profile", action="store_true", help="print the service path's top functions"
    )
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        services_db = Path(tmp) / "services.sqlite"
        bare_db = Path(tmp) / "bare.sqlite"
        app = make_app(services_db)
        # The bare run gets the same schema and seed, copied before any case exists.
        with app.app_context():
            from resolution.extensions import db

            db.engine.dispose()
        app_bare = make_app(bare_db)
        with app_bare.app_context():
            seed(START)
            from resolution.extensions import db

            db.engine.dispose()
        with app.app_context():
            ids = seed(START)
        profiler = cProfile.Profile() if args.profile else None
        # Round by round, the same cases each way: a burst of noise on this shared
        # machine lands on both, not on one.
        bare = services = 0.0
        ratios = []
        per_round = max(1, args.cases // args.rounds)
        for first in range(0, args.cases, per_round):
            count = min(per_round, args.cases - first)
            bare_round = run_bare(bare_db, first, count)
            if profiler:
                profiler.enable()
            services_round = run_services(app, ids, first, count)
            if profiler:
                profiler.disable()
            bare += bare_round
            services += services_round
            ratios.append(bare_round / services_round)
        transactions = args.cases * 5
        print(
            f"cases: {args.cases} ({transactions} transactions each way, in {len(ratios)} rounds)"
        )
        print(f"bare sqlite3: {bare:.2f} s, {args.cases / bare:.0f} cases/s")
        print(f"services:     {services:.2f} s, {args.cases / services:.0f} cases/s")
        print(f"ratio per round: {' '.join(f'{r:.2f}' for r in ratios)}")
        print(f"ratio {bare / services:.2f}")
        if profiler:
            pstats.Stats(profiler).sort_stats(os.environ.get("SORT", "cumulative")).print_stats(30)


if __name__ == "__main__":
    main()
