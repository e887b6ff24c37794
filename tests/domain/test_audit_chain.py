"""The hash chain: each event covers the one before; redaction keeps it verifiable."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

from resolution.domain import audit


def build(n: int) -> list[audit.StoredEvent]:
    events = []
    prev = audit.GENESIS
    start = datetime(2026, 3, 2, 9, tzinfo=UTC)
    for seq in range(1, n + 1):
        payload = {"text": f"record {seq}", "n": seq}
        content = audit.EventContent(
            seq=seq,
            at=start + timedelta(minutes=seq),
            actor="a@example.org",
            case="RC-000001",
            action="record_added",
            from_state="one",
            to_state="one",
            payload_digest=audit.payload_digest(payload),
        )
        digest = audit.chain(prev, content.digest())
        events.append(
            audit.StoredEvent(
                content=content, payload=payload, redacted=False, prev_digest=prev, digest=digest
            )
        )
        prev = digest
    return events


def test_an_untouched_chain_verifies() -> None:
    verdict = audit.verify(build(5))
    assert verdict.ok and verdict.events == 5


def test_changed_text_is_found_at_its_event() -> None:
    events = build(5)
    events[2] = replace(events[2], payload={"text": "changed", "n": 3})
    verdict = audit.verify(events)
    assert not verdict.ok and verdict.broken_at == 3


def test_a_changed_state_is_found_at_its_event() -> None:
    events = build(5)
    events[3] = replace(events[3], content=replace(events[3].content, to_state="resolved"))
    assert audit.verify(events).broken_at == 4


def test_a_deleted_event_is_found() -> None:
    events = build(5)
    del events[1]
    assert audit.verify(events).broken_at == 2


def test_reordered_events_are_found() -> None:
    events = build(5)
    events[1], events[2] = events[2], events[1]
    assert audit.verify(events).broken_at == 2


def test_a_redacted_payload_still_verifies_but_a_silently_removed_one_does_not() -> None:
    events = build(3)
    redacted = list(events)
    redacted[1] = replace(events[1], payload=None, redacted=True)
    assert audit.verify(redacted).ok
    removed = list(events)
    removed[1] = replace(events[1], payload=None, redacted=False)
    assert audit.verify(removed).broken_at == 2


def test_the_digest_does_not_depend_on_key_order_or_offset() -> None:
    a = audit.payload_digest({"x": 1, "y": "é"})
    b = audit.payload_digest({"y": "é", "x": 1})
    assert a == b
    london = datetime(2026, 6, 1, 10, tzinfo=UTC).astimezone(
        __import__("zoneinfo").ZoneInfo("Europe/London")
    )
    assert audit.instant(london) == "2026-06-01T10:00:00.000000Z"
