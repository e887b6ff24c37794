"""Eight clients, one case, one version, the same moment: one wins, seven get 409."""

from __future__ import annotations

import json
import threading
import urllib.error
import urllib.request
from collections.abc import Iterator
from datetime import datetime

import pytest
from flask import Flask
from sqlalchemy import select
from werkzeug.serving import make_server

from resolution.context import service_context
from resolution.extensions import db
from resolution.models import AuditEvent
from resolution.services import history

from .. import factories
from .conftest import new_case

CLIENTS = 8


@pytest.fixture
def served(app: Flask) -> Iterator[str]:
    """Serve the app over real HTTP on loopback, one thread per request."""
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}/api/v1"
    server.shutdown()
    thread.join(timeout=10)


def _post(url: str, token: str, body: dict, if_match: str) -> tuple[int, dict]:
    request = urllib.request.Request(  # noqa: S310 - loopback URL built by the test
        url,
        data=json.dumps(body).encode(),
        method="POST",
        headers={
            "Authorization": f"Bearer {token}",
            "Content-Type": "application/json",
            "If-Match": if_match,
        },
    )
    try:
        with urllib.request.urlopen(request, timeout=60) as answer:  # noqa: S310
            return answer.status, json.loads(answer.read())
    except urllib.error.HTTPError as refused:
        return refused.code, json.loads(refused.read())


def test_eight_clients_escalating_the_same_version_at_once_one_wins(
    served: str, world: factories.World, tokens: dict[str, str], now: datetime
) -> None:
    case = new_case(world, now)
    case_id, version, reference = case.id, case.version, case.reference
    db.session.remove()  # let the server's threads have the database
    barrier = threading.Barrier(CLIENTS)
    answers: list[tuple[int, dict]] = []
    lock = threading.Lock()

    def client(number: int) -> None:
        barrier.wait(timeout=30)
        answer = _post(
            f"{served}/cases/{case_id}/actions/escalate",
            tokens["csc_practitioner"] if number % 2 else tokens["health_practitioner"],
            {"record": f"Client {number}: we cannot agree."},
            f'"{version}"',
        )
        with lock:
            answers.append(answer)

    threads = [threading.Thread(target=client, args=(n,)) for n in range(CLIENTS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)

    statuses = sorted(status for status, _ in answers)
    assert statuses == [200] + [409] * (CLIENTS - 1), answers
    winner = next(body for status, body in answers if status == 200)
    assert winner["state"] == "managers" and winner["version"] == version + 1
    assert all(body["error"]["code"] == "conflict" for status, body in answers if status == 409)
    escalations = db.session.scalars(
        select(AuditEvent).where(AuditEvent.case_ref == reference, AuditEvent.action == "escalate")
    ).all()
    assert len(escalations) == 1
    assert history.verify_chain(db.session(), service_context()).ok
