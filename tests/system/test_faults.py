"""Against the real deployment: many clients at once, and a web worker killed mid-request.

Nothing a client was told was stored may be missing, nothing may be stored twice, every
refused action is a 409, and the history's hash chain still verifies afterwards.
"""

from __future__ import annotations

import http.client
import itertools
import os
import signal
import threading
import time
from collections import Counter
from collections.abc import Callable

from .test_deployment import Deployment, _flask, _wait_healthy, _workers

RECORDS = 2000
WRITERS = 6
ESCALATORS = 2
CASES = 4


def _wait_until(condition: Callable[[], bool], what: str, seconds: float = 120) -> None:
    """Return once `condition` holds; fail after `seconds` (a generous bound, not a speed)."""
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, f"gave up waiting for {what}"
        time.sleep(0.05)


def _raise_cases(deployment: Deployment) -> list[int]:
    ids = []
    for i in range(CASES):
        status, case = deployment.call(
            "POST",
            "/api/v1/cases",
            {
                "child_ref": f"CS-80{i}",
                "category": "threshold",
                "summary": "Whether the threshold is met.",
                "with_agencies": ["HEALTH"],
                "with_people": ["priya@health.example"],
            },
        )
        assert status == 201, case
        ids.append(case["id"])
    return ids


def _verify(deployment: Deployment) -> str:
    env = {**os.environ, "DATABASE_URL": deployment.database_url, "SECRET_KEY": "verify"}
    done = _flask(env, "audit", "verify")
    return done.stdout + done.stderr


def _notes(deployment: Deployment, case_ids: list[int]) -> Counter[str]:
    texts: Counter[str] = Counter()
    for case_id in case_ids:
        status, case = deployment.call("GET", f"/api/v1/cases/{case_id}")
        assert status == 200
        texts.update(r["text"] for r in case["records"] if r["kind"] == "note")
    return texts


def test_eight_clients_writing_and_escalating_lose_nothing(deployment: Deployment) -> None:
    _wait_healthy(deployment.base)
    case_ids = _raise_cases(deployment)
    numbers = itertools.count()
    lock = threading.Lock()
    stored: list[str] = []
    refused: Counter[int] = Counter()
    escalations: Counter[int | str] = Counter()

    def writer() -> None:
        while True:
            with lock:
                n = next(numbers)
            if n >= RECORDS:
                return
            text = f"note {n}"
            status, body = deployment.call(
                "POST",
                f"/api/v1/cases/{case_ids[n % CASES]}/records",
                {"kind": "note", "text": text},
            )
            with lock:
                if status == 201:
                    stored.append(body["text"])
                else:
                    refused[status] += 1

    def escalator(offset: int) -> None:
        """Escalate each case in turn, reloading and trying again while the version was stale
        (it stops being stale once the writers are done, so each round ends)."""
        for round_ in range(6):
            case_id = case_ids[(round_ + offset) % CASES]
            while True:
                _, case = deployment.call("GET", f"/api/v1/cases/{case_id}")
                code, answer = deployment.call(
                    "POST",
                    f"/api/v1/cases/{case_id}/actions/escalate",
                    {"record": f"Escalated in round {round_}."},
                    **{"If-Match": f'"{case["version"]}"'},
                )
                stale = code == 409 and "version" in answer["error"]["message"]
                with lock:
                    escalations["stale" if stale else code] += 1
                if not stale:
                    break

    threads = [threading.Thread(target=writer) for _ in range(WRITERS)]
    threads += [threading.Thread(target=escalator, args=(i,)) for i in range(ESCALATORS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=600)

    # Records are never refused for being concurrent: every one is stored, once.
    assert refused == Counter() and len(stored) == RECORDS
    notes = _notes(deployment, case_ids)
    assert sum(notes.values()) == RECORDS and set(notes.values()) == {1}
    assert set(notes) == set(stored)
    # An escalation went through, or was refused as a conflict: stale (tried again), or no
    # level left to go to. Four cases can climb three levels each.
    assert set(escalations) <= {200, 409, "stale"}, escalations
    assert 1 <= escalations[200] <= CASES * 3, escalations
    levels = {deployment.call("GET", f"/api/v1/cases/{c}")[1]["state"] for c in case_ids}
    assert levels <= {"practitioners", "managers", "leads", "partnership"}
    assert "audit log intact" in _verify(deployment)


def test_a_worker_killed_mid_request_loses_nothing_it_answered(
    deployment: Deployment,
) -> None:
    _wait_healthy(deployment.base)
    case_ids = _raise_cases(deployment)
    answered: list[str] = []
    unanswered: list[str] = []
    stop = threading.Event()
    lock = threading.Lock()
    numbers = itertools.count()

    def writer() -> None:
        while not stop.is_set():
            with lock:
                n = next(numbers)
            text = f"note {n}"
            try:
                status, _ = deployment.call(
                    "POST",
                    f"/api/v1/cases/{case_ids[n % CASES]}/records",
                    {"kind": "note", "text": text},
                )
            # The worker died with this request: the connection was cut (OSError), or the
            # answer broke off after its first bytes (an HTTPException such as IncompleteRead,
            # or a body that is not whole JSON). Either way the client was told nothing.
            except (OSError, http.client.HTTPException, ValueError):
                status = 0
            with lock:
                (answered if status == 201 else unanswered).append(text)

    threads = [threading.Thread(target=writer) for _ in range(6)]
    for thread in threads:
        thread.start()
    killed: list[int] = []

    def serving_again(since: int) -> bool:
        """All three workers are up, none of them one killed, and an answer came after `since`."""
        workers = _workers(deployment.web.pid)
        with lock:
            answers = len(answered)
        return len(workers) == 3 and not set(killed) & set(workers) and answers > since

    # Each kill waits for the workers to be back and a request answered since the last one,
    # so every kill lands while writing goes on, however slow the machine.
    for _ in range(3):
        with lock:
            before = len(answered)
        _wait_until(lambda since=before: serving_again(since), "the workers serving again")
        victim = _workers(deployment.web.pid)[0]
        os.kill(victim, signal.SIGKILL)
        killed.append(victim)
    with lock:
        before = len(answered)
    _wait_until(lambda since=before: serving_again(since), "new workers serving after the kills")
    stop.set()
    for thread in threads:
        thread.join(timeout=60)
    assert not any(thread.is_alive() for thread in threads)
    notes = _notes(deployment, case_ids)
    # Every record the client was told about is there, once; one cut off in flight was
    # either stored whole or not at all.
    assert set(answered) <= set(notes) and set(notes.values()) == {1}
    assert set(notes) - set(answered) <= set(unanswered)
    assert "audit log intact" in _verify(deployment)
