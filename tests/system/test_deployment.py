"""The deployment the README describes, started for real on loopback and driven over HTTP.

gunicorn with several workers and `deploy/gunicorn.conf.py` for the web, one
`flask --app wsgi scheduler` process beside it, a real SMTP server, everything
configured from the environment, on a fresh database of the kind this pass of the
suite uses (SQLite, or the throwaway PostgreSQL server in the PostgreSQL pass).
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from ..scheduler.conftest import SmtpServer, free_port

BIN = Path(sys.executable).parent
WORKERS = 3


@dataclass
class Deployment:
    base: str
    token: str
    web: subprocess.Popen[str]
    scheduler: subprocess.Popen[str]
    web_log: Path
    scheduler_log: Path
    database_url: str

    def call(self, method: str, path: str, body: Any = None, **headers: str) -> tuple[int, Any]:
        request = urllib.request.Request(  # noqa: S310 - loopback URL built by the test
            f"{self.base}{path}",
            data=None if body is None else json.dumps(body).encode(),
            method=method,
            headers={
                "Authorization": f"Bearer {self.token}",
                "Content-Type": "application/json",
                **headers,
            },
        )
        try:
            with urllib.request.urlopen(request, timeout=30) as answer:  # noqa: S310
                return answer.status, json.loads(answer.read() or b"null")
        except urllib.error.HTTPError as refused:
            return refused.code, json.loads(refused.read() or b"null")


def _flask(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    """Run one `flask --app wsgi` command of the deployment, as an operator would."""
    return subprocess.run(
        [str(BIN / "flask"), "--app", "wsgi", *args],
        cwd=Path(__file__).resolve().parents[2],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def _run(env: dict[str, str], *args: str) -> str:
    done = _flask(env, *args)
    assert done.returncode == 0, done.stderr
    return done.stdout.strip().splitlines()[-1]


def _wait_healthy(base: str, seconds: float = 30) -> dict[str, Any]:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"{base}/healthz", timeout=5) as answer:  # noqa: S310
                return json.loads(answer.read())  # type: ignore[no-any-return]
        except OSError:
            time.sleep(0.2)
    raise AssertionError("the web server never became healthy")


@pytest.fixture
def deployment(
    empty_database: str,
    smtp_server: SmtpServer,
    tmp_path: Path,
) -> Iterator[Deployment]:
    port = free_port()
    env = {
        **os.environ,
        "DATABASE_URL": empty_database,
        "SECRET_KEY": "deployment-test-" + "k" * 48,
        "RESOLUTION_BASE_URL": f"http://127.0.0.1:{port}",
        "RESOLUTION_LOG_JSON": "1",
        "RESOLUTION_SWEEP_SECONDS": "1",
        "RESOLUTION_OUTBOX_SECONDS": "1",
        "SMTP_HOST": "127.0.0.1",
        "SMTP_PORT": str(smtp_server.port),
        "SMTP_TLS": "none",
        "MAIL_FROM": "resolution@test",
        "BIND": f"127.0.0.1:{port}",
        "WEB_CONCURRENCY": str(WORKERS),
    }
    assert _run(env, "init-db") == "database ready"
    for code, name in (("CSC", "Children's Social Care"), ("HEALTH", "Community Health")):
        _run(env, "agencies", "add", code, name)
    for email, agency, role in (
        ("sam@csc.example", "CSC", "practitioner"),
        ("priya@health.example", "HEALTH", "practitioner"),
        ("hana@health.example", "HEALTH", "lead"),
    ):
        _run(env, "users", "create", "--email", email, "--name", email.split("@")[0].title(),
             "--agency", agency, "--role", role, "--no-password")  # fmt: skip
    token = _run(env, "users", "token", "--email", "sam@csc.example")
    root = Path(__file__).resolve().parents[2]
    web_log, scheduler_log = tmp_path / "web.log", tmp_path / "scheduler.log"
    with web_log.open("w") as web_out, scheduler_log.open("w") as scheduler_out:
        web = subprocess.Popen(
            [str(BIN / "gunicorn"), "-c", "deploy/gunicorn.conf.py", "wsgi:app"],
            cwd=root, env=env, stdout=web_out, stderr=subprocess.STDOUT, text=True,
        )  # fmt: skip
        scheduler = subprocess.Popen(
            [str(BIN / "flask"), "--app", "wsgi", "scheduler"],
            cwd=root, env=env, stdout=scheduler_out, stderr=subprocess.STDOUT, text=True,
        )  # fmt: skip
    running = Deployment(
        f"http://127.0.0.1:{port}", token, web, scheduler, web_log, scheduler_log, empty_database
    )
    try:
        yield running
    finally:
        for process in (web, scheduler):
            if process.poll() is None:
                process.kill()
                process.wait(timeout=10)


def _workers(master: int) -> list[int]:
    found = subprocess.run(
        ["pgrep", "-P", str(master)], capture_output=True, text=True, check=False
    )
    return [int(pid) for pid in found.stdout.split()]


def test_the_deployment_serves_notifies_logs_and_stops_gracefully(
    deployment: Deployment,
    smtp_server: SmtpServer,
) -> None:
    health = _wait_healthy(deployment.base)
    assert health == {"status": "ok"}  # and no more to an anonymous caller
    assert len(_workers(deployment.web.pid)) == WORKERS

    status, case = deployment.call(
        "POST",
        "/api/v1/cases",
        {
            "child_ref": "CS-5150",
            "category": "threshold",
            "summary": "Whether the threshold is met.",
            "with_agencies": ["HEALTH"],
            "with_people": ["priya@health.example"],
        },
    )
    assert status == 201, case
    reference = case["reference"]

    # The scheduler's outbox job sends the "raised" mail to the party and Health's lead.
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and len(smtp_server.mailbox.items) < 2:
        time.sleep(0.2)
    assert sorted(m.to for m in smtp_server.mailbox.items) == [
        "hana@health.example",
        "priya@health.example",
    ]
    assert all(reference in m.subject for m in smtp_server.mailbox.items)

    # Several clients at once, spread over the workers: every read answers.
    answers: list[int] = []
    lock = threading.Lock()

    def read(count: int) -> None:
        for _ in range(count):
            code, _ = deployment.call("GET", f"/api/v1/cases/{case['id']}")
            with lock:
                answers.append(code)

    readers = [threading.Thread(target=read, args=(15,)) for _ in range(8)]
    for reader in readers:
        reader.start()
    for reader in readers:
        reader.join(timeout=60)
    assert answers == [200] * 120

    # SIGTERM while clients are still asking: what was taken in is answered, then it stops.
    during: list[int] = []
    stop = threading.Event()

    def keep_asking() -> None:
        while not stop.is_set():
            try:
                during.append(deployment.call("GET", f"/api/v1/cases/{case['id']}")[0])
            except OSError:
                return  # the server has closed its socket: stop asking

    asker = threading.Thread(target=keep_asking)
    asker.start()
    deadline = time.monotonic() + 60
    while not during:  # the clients are asking when the signal comes
        assert time.monotonic() < deadline, "gave up waiting for the first answer"
        time.sleep(0.05)
    deployment.web.send_signal(signal.SIGTERM)
    assert deployment.web.wait(timeout=40) == 0
    stop.set()
    asker.join(timeout=30)
    assert during and set(during) == {200}

    deployment.scheduler.send_signal(signal.SIGTERM)
    assert deployment.scheduler.wait(timeout=30) == 0

    web_lines = deployment.web_log.read_text().splitlines()
    access = [json.loads(line) for line in web_lines if line.startswith('{"at"')]
    assert any(e["path"] == f"/api/v1/cases/{case['id']}" and e["status"] == 200 for e in access)
    assert all("?" not in e["path"] for e in access)
    assert "Traceback" not in deployment.web_log.read_text()
    scheduler_lines = [
        json.loads(line)
        for line in deployment.scheduler_log.read_text().splitlines()
        if line.startswith("{")
    ]
    messages = [entry["message"] for entry in scheduler_lines]
    assert any(m.startswith("scheduler: started") for m in messages)
    assert "scheduler: stopped" in messages
    assert all({"at", "level", "logger", "message"} <= set(entry) for entry in scheduler_lines)
    assert deployment.token not in deployment.web_log.read_text()
