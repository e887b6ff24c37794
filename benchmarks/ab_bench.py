"""A/B load benchmark: two versions of the service side by side on one PostgreSQL database.

Checks out REF (default HEAD) into a temporary git worktree, seeds one database as
load_bench.py does, starts one gunicorn for REF and one for the working tree, and runs
wrk against each in alternating rounds: the health endpoint, then the endpoint under
study. The machine's speed drifts by a quarter between runs a minute apart; measured in
alternating rounds, the drift lands on both versions. Prints each round and, at the end,
the median ratio (endpoint over health) of each and the median of B's throughput over A's.

    .venv/bin/python benchmarks/ab_bench.py [--ref HEAD] [--path /api/v1/cases/] [--page]
                                            [--rounds 6] [--seconds 5] [--cases 100000]

`--path` ending in `/` reads random case ids under it; `--page` signs in as the lead and
sends the session cookie instead of the API token. With no change in the working tree it
is an A/A run, which shows the noise: six rounds of five seconds gave B over A 1.03 (single
rounds 0.26 to 0.49 for the same ratio); two rounds of two seconds, 1.16.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

import load_bench as lb  # noqa: E402 (after the path is set)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--ref", default="HEAD")
    parser.add_argument("--path", default="/api/v1/cases/")
    parser.add_argument("--page", action="store_true")
    parser.add_argument("--rounds", type=int, default=6)
    parser.add_argument("--seconds", type=int, default=5)
    parser.add_argument("--cases", type=int, default=100_000)
    args = parser.parse_args()
    from tests.support.pgserver import PostgresServer, free_port

    mode = "read" if args.path.endswith("/") else "plain"
    with tempfile.TemporaryDirectory() as tmp, PostgresServer(fsync=True) as server:
        base_tree = Path(tmp) / "a"
        subprocess.run(["git", "worktree", "add", "--detach", str(base_tree), args.ref],
                       cwd=ROOT, check=True, capture_output=True)  # fmt: skip
        try:
            url = server.create_database("load")
            tokens = lb.seed(url, args.cases)
            trees = {"A": base_tree, "B": ROOT}
            ports = {"A": free_port(), "B": free_port()}
            webs = {k: lb.serve(trees[k], url, ports[k]) for k in trees}
            bases = {k: f"http://127.0.0.1:{ports[k]}" for k in trees}
            try:
                for base in bases.values():
                    lb.wait_healthy(base)
                token = lb.bearer(tokens["lena"])
                creds = {
                    k: lb.sign_in(b, "lena@bench.example", lb.PASSWORD) if args.page else token
                    for k, b in bases.items()
                }
                for k, base in bases.items():  # warm both
                    lb.wrk(base, "/healthz", "plain", token, 2, args.cases, lb.CONNECTIONS, 0)
                    lb.wrk(base, args.path, mode, creds[k], 2, args.cases, lb.CONNECTIONS, 0)
                seen: dict[str, dict[str, list[float]]] = {k: {"h": [], "x": []} for k in trees}
                for n in range(args.rounds):
                    for k in ("A", "B") if n % 2 == 0 else ("B", "A"):
                        h = lb.wrk(bases[k], "/healthz", "plain", token, args.seconds,
                                   args.cases, lb.CONNECTIONS, 0)["rps"]  # fmt: skip
                        x = lb.wrk(bases[k], args.path, mode, creds[k], args.seconds,
                                   args.cases, lb.CONNECTIONS, 0)["rps"]  # fmt: skip
                        seen[k]["h"].append(h)
                        seen[k]["x"].append(x)
                        print(f"round {n} {k}: health {h:.0f} req/s, {args.path} {x:.0f} req/s,"
                              f" ratio {x / h:.3f}", flush=True)  # fmt: skip
            finally:
                for web in webs.values():
                    web.terminate()
                    web.wait(timeout=30)
        finally:
            subprocess.run(["git", "worktree", "remove", "--force", str(base_tree)],
                           cwd=ROOT, check=False, capture_output=True)  # fmt: skip
    for k, label in (("A", args.ref), ("B", "working tree")):
        ratios = [x / h for x, h in zip(seen[k]["x"], seen[k]["h"], strict=True)]
        print(f"{k} ({label}): median ratio {statistics.median(ratios):.3f}, "
              f"median {statistics.median(seen[k]['x']):.0f} req/s")  # fmt: skip
    gains = [b / a for a, b in zip(seen["A"]["x"], seen["B"]["x"], strict=True)]
    print(f"B over A, median of the rounds: {statistics.median(gains):.3f}")


if __name__ == "__main__":
    main()
