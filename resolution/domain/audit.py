"""The hash chain over the history: what a digest covers and how a log is verified.

Each event's digest is SHA-256 over the previous event's digest and the event's
*content digest*. The content digest covers the event's fixed fields and the
digest of its payload, not the payload itself, so a payload's free text can be
redacted later under a retention rule while the chain still verifies: the
payload digest stays, the text goes, and the redaction is an event of its own.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

GENESIS = "0" * 64


def canonical(value: Any) -> bytes:
    """Return the canonical JSON bytes of a value (sorted keys, no spaces, UTF-8)."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def sha256(data: bytes) -> str:
    """Return the hex SHA-256 of some bytes."""
    return hashlib.sha256(data).hexdigest()


def payload_digest(payload: Mapping[str, Any]) -> str:
    """Return the digest of an event's payload."""
    return sha256(canonical(payload))


def instant(at: datetime) -> str:
    """Return the canonical text of an instant (UTC, microseconds)."""
    if at.tzinfo is None:
        raise ValueError("audit instants must be timezone-aware")
    return at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


@dataclass(frozen=True)
class EventContent:
    """The fixed fields of one history event."""

    seq: int
    at: datetime
    actor: str | None
    case: str | None
    action: str
    from_state: str | None
    to_state: str | None
    payload_digest: str

    def digest(self) -> str:
        """Return the content digest of these fields."""
        return sha256(
            canonical(
                {
                    "seq": self.seq,
                    "at": instant(self.at),
                    "actor": self.actor,
                    "case": self.case,
                    "action": self.action,
                    "from": self.from_state,
                    "to": self.to_state,
                    "payload": self.payload_digest,
                }
            )
        )


def chain(prev_digest: str, content_digest: str) -> str:
    """Return an event's digest from the previous digest and its content digest."""
    return sha256(f"{prev_digest}:{content_digest}".encode())


@dataclass(frozen=True)
class StoredEvent:
    """An event as read back from storage, for verification."""

    content: EventContent
    payload: Mapping[str, Any] | None  # None once redacted
    redacted: bool
    prev_digest: str
    digest: str


@dataclass(frozen=True)
class Verdict:
    ok: bool
    events: int
    broken_at: int | None = None
    reason: str = ""
    head_digest: str = GENESIS


def verify(
    events: Iterable[StoredEvent], start_seq: int = 1, start_digest: str = GENESIS
) -> Verdict:
    """Check a run of events in `seq` order; name the first that breaks the chain."""
    expected_seq = start_seq
    prev = start_digest
    count = 0
    for event in events:
        seq = event.content.seq
        if seq != expected_seq:
            return Verdict(
                False, count, expected_seq, f"event {expected_seq} is missing or out of order"
            )
        if event.prev_digest != prev:
            return Verdict(
                False, count, seq, "its previous digest does not match the event before it"
            )
        if event.payload is not None and not event.redacted:
            if payload_digest(event.payload) != event.content.payload_digest:
                return Verdict(False, count, seq, "its payload was changed")
        elif not event.redacted:
            return Verdict(False, count, seq, "its payload is missing without a redaction")
        if chain(prev, event.content.digest()) != event.digest:
            return Verdict(False, count, seq, "its fields do not match its digest")
        prev = event.digest
        expected_seq += 1
        count += 1
    return Verdict(True, count, head_digest=prev)
