"""`audit verify` names the event a tampered row breaks; `--since-export` proves an export."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import delete, func, select, update

from resolution.context import service_context
from resolution.extensions import db
from resolution.models import AuditEvent, Case, Record
from resolution.services import cases, reports

from .conftest import Fixture, at


def verify(runner, *args: str):
    return runner.invoke(args=["audit", "verify", *args])


def last_line(result) -> str:
    return result.output.strip().splitlines()[-1]


def event_of(ref: str, action: str) -> AuditEvent:
    return db.session.scalars(
        select(AuditEvent)
        .where(AuditEvent.case_ref == ref, AuditEvent.action == action)
        .order_by(AuditEvent.seq)
    ).first()


def count() -> int:
    return int(db.session.scalar(select(func.count()).select_from(AuditEvent)))


def test_an_untouched_log_is_intact(runner, closed_cases: Fixture) -> None:
    result = verify(runner)
    assert result.exit_code == 0 and result.output == f"audit log intact: {count()} events\n"


def test_changed_text_in_an_event_is_named(runner, closed_cases: Fixture) -> None:
    target = event_of(closed_cases.refs["B"], "resolve")
    seq = target.seq
    db.session.execute(
        update(AuditEvent)
        .where(AuditEvent.seq == seq)
        .values(payload={**target.payload, "outcome": "something else"})
    )
    db.session.commit()
    result = verify(runner)
    assert result.exit_code == 1 and last_line(result) == f"audit log broken at event {seq}"
    assert "payload was changed" in result.output


def test_changed_state_in_an_event_is_named(runner, closed_cases: Fixture) -> None:
    seq = event_of(closed_cases.refs["C"], "withdraw").seq
    db.session.execute(update(AuditEvent).where(AuditEvent.seq == seq).values(to_state="resolved"))
    db.session.commit()
    result = verify(runner)
    assert result.exit_code == 1 and last_line(result) == f"audit log broken at event {seq}"


def test_a_deleted_event_is_named(runner, closed_cases: Fixture) -> None:
    seq = event_of(closed_cases.refs["D"], "refer").seq
    db.session.execute(delete(AuditEvent).where(AuditEvent.seq == seq))
    db.session.commit()
    result = verify(runner)
    assert result.exit_code == 1 and last_line(result) == f"audit log broken at event {seq}"
    assert "missing" in result.output


def test_the_newest_event_deleted_is_named_too(runner, closed_cases: Fixture) -> None:
    newest = count()
    db.session.execute(delete(AuditEvent).where(AuditEvent.seq == newest))
    db.session.commit()
    result = verify(runner)
    assert result.exit_code == 1 and last_line(result) == f"audit log broken at event {newest}"


def test_reordered_events_are_named_at_the_first_moved(runner, closed_cases: Fixture) -> None:
    first, second = 5, 9
    table = AuditEvent.__table__
    db.session.execute(update(table).where(table.c.seq == first).values(seq=-1))
    db.session.execute(update(table).where(table.c.seq == second).values(seq=first))
    db.session.execute(update(table).where(table.c.seq == -1).values(seq=second))
    db.session.commit()
    result = verify(runner)
    assert result.exit_code == 1 and last_line(result) == f"audit log broken at event {first}"


def test_a_case_row_changed_behind_the_chain_is_named_by_its_last_event(
    runner, closed_cases: Fixture
) -> None:
    ref = closed_cases.refs["A"]
    db.session.execute(
        update(Case)
        .where(Case.reference == ref)
        .values(state="withdrawn", outcome_kind="withdrawn")
    )
    db.session.commit()
    result = verify(runner)
    assert (
        result.exit_code == 1
        and last_line(result) == f"audit log broken at event {event_of(ref, 'resolve').seq}"
    )
    assert "history says 'resolved'" in result.output


def test_a_record_rewritten_behind_the_chain_is_named_by_the_event_that_wrote_it(
    runner, closed_cases: Fixture
) -> None:
    ctx = service_context(at(10))
    record = cases.add_record(
        db.session(),
        ctx,
        closed_cases.world["csc_practitioner"].id,
        closed_cases.ids["F"],
        kind="discussion",
        text="We spoke on the phone.",
    )
    seq = event_of(closed_cases.refs["F"], "record_added").seq
    db.session.execute(update(Record).where(Record.id == record.id).values(text="We never spoke."))
    db.session.commit()
    result = verify(runner)
    assert result.exit_code == 1 and last_line(result) == f"audit log broken at event {seq}"


def test_a_payload_removed_without_a_redaction_event_is_named(
    runner, closed_cases: Fixture
) -> None:
    seq = event_of(closed_cases.refs["E"], "raised").seq
    db.session.execute(
        update(AuditEvent).where(AuditEvent.seq == seq).values(payload=None, redacted=True)
    )
    db.session.commit()
    result = verify(runner)
    assert result.exit_code == 1 and last_line(result) == f"audit log broken at event {seq}"
    assert "no later redaction event" in result.output


def test_a_changed_payload_marked_redacted_is_still_checked(runner, closed_cases: Fixture) -> None:
    target = event_of(closed_cases.refs["E"], "raised")
    seq = target.seq
    db.session.execute(
        update(AuditEvent)
        .where(AuditEvent.seq == seq)
        .values(payload={**target.payload, "summary": "rewritten"}, redacted=True)
    )
    db.session.commit()
    assert last_line(verify(runner)) == f"audit log broken at event {seq}"


def export(runner, tmp_path: Path) -> Path:
    out = tmp_path / "outcomes.csv"
    result = runner.invoke(
        args=["outcomes", "export", "--as", "auditor@example.org", "--out", str(out)]
    )
    assert result.exit_code == 0, result.output
    return out


def test_since_export_passes_on_an_untouched_log_and_after_new_events(
    runner, closed_cases: Fixture, tmp_path: Path
) -> None:
    out = export(runner, tmp_path)
    exported = count()
    text = out.read_text()
    assert reports.read_export_head(text)[0] == exported
    assert not [line for line in text.splitlines() if line.startswith("#")]  # only the table
    result = verify(runner, "--since-export", str(out))
    assert result.exit_code == 0
    assert (
        result.output
        == f"export verified: events 1 to {exported} unchanged since the export (0 added since)\n"
    )
    cases.add_record(
        db.session(),
        service_context(at(10)),
        closed_cases.world["csc_practitioner"].id,
        closed_cases.ids["F"],
        kind="note",
        text="A later note.",
    )
    result = verify(runner, "--since-export", str(out))
    assert result.exit_code == 0 and "(1 added since)" in result.output


def test_since_export_fails_when_an_exported_event_is_altered(
    runner, closed_cases: Fixture, tmp_path: Path
) -> None:
    out = export(runner, tmp_path)
    seq = event_of(closed_cases.refs["A"], "resolve").seq
    db.session.execute(
        update(AuditEvent).where(AuditEvent.seq == seq).values(actor="someone.else@example.org")
    )
    db.session.commit()
    result = verify(runner, "--since-export", str(out))
    assert (
        result.exit_code == 1
        and last_line(result) == f"export not verified: audit log broken at event {seq}"
    )


def test_since_export_fails_when_the_exported_digest_does_not_match(
    runner, closed_cases: Fixture, tmp_path: Path
) -> None:
    out = export(runner, tmp_path)
    text = out.read_text()
    forged = out.with_name("forged.csv")
    digest = reports.read_export_head(text)[1]
    forged.write_text(text.replace(digest, digest[:-1] + ("0" if digest[-1] != "0" else "1")))
    result = verify(runner, "--since-export", str(forged))
    assert result.exit_code == 1 and "digest of that event differs" in result.output


def test_since_export_refuses_a_file_without_a_head(runner, app, tmp_path: Path) -> None:
    plain = tmp_path / "plain.csv"
    plain.write_text("reference\nRC-000001\n")
    result = verify(runner, "--since-export", str(plain))
    assert result.exit_code == 1 and "carries no audit chain head" in result.output
