"""The retention rule: free text of long-closed cases redacted, figures and chain intact."""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path

from sqlalchemy import func, select

from resolution.context import service_context
from resolution.extensions import db
from resolution.models import AuditEvent, Case, Record, Step
from resolution.services import figures, reports, retention

from .conftest import Fixture, at

KEEP = 2557  # the Leeds definition keeps text seven years after closure


def snapshot(app, fx: Fixture) -> tuple:
    ctx = service_context()
    auditor = fx.world["auditor"]
    return (
        reports.outcome_log(db.session(), ctx, auditor),
        figures.figures(db.session(), ctx, auditor, date(2026, 3, 1), date(2026, 3, 31)),
    )


def events() -> int:
    return int(db.session.scalar(select(func.count()).select_from(AuditEvent)))


def test_it_lists_what_it_would_redact_and_asks_first(runner, closed_cases: Fixture) -> None:
    before = events()
    result = runner.invoke(
        args=["retention", "apply", "--now", "2026-03-20T09:00:00+00:00", "--days", "10"],
        input="n\n",
    )
    refs = closed_cases.refs
    assert result.exit_code == 1, result.output
    assert "3 closed case(s) past the retention rule" in result.output
    for key in ("A", "C", "D"):
        assert refs[key] in result.output
    assert (
        refs["B"] not in result.output and refs["E"] not in result.output
    )  # closed less than 10 days ago
    assert (
        f"{refs['A']}  closed 2026-03-04, kept 10 days: 1 record(s), 3 history event(s)"
        in result.output
    )
    assert result.output.strip().endswith("nothing redacted")
    assert (
        events() == before
        and db.session.scalar(select(func.count()).where(Case.redacted_at.is_not(None))) == 0
    )


def test_the_definitions_rule_redacts_text_and_keeps_figures_and_the_chain(
    runner, app, closed_cases: Fixture, tmp_path: Path
) -> None:
    refs = closed_cases.refs
    kept_before = snapshot(app, closed_cases)
    out = tmp_path / "outcomes.csv"
    assert (
        runner.invoke(
            args=["outcomes", "export", "--as", "auditor@example.org", "--out", str(out)]
        ).exit_code
        == 0
    )
    before = events()
    too_soon = (at(4) + timedelta(days=KEEP) - timedelta(minutes=1)).isoformat()
    assert (
        runner.invoke(args=["retention", "apply", "--now", too_soon, "--yes"]).output
        == "nothing to redact\n"
    )

    when = at(19) + timedelta(days=KEEP)  # the last closure (E) plus seven years
    result = runner.invoke(args=["retention", "apply", "--now", when.isoformat(), "--yes"])
    assert result.exit_code == 0, result.output
    assert result.output.strip().splitlines()[-1].startswith("redacted 5 case(s): ")

    verdict = runner.invoke(args=["audit", "verify"])
    assert verdict.exit_code == 0 and verdict.output == f"audit log intact: {before + 5} events\n"
    assert runner.invoke(args=["audit", "verify", "--since-export", str(out)]).exit_code == 0
    db.session.expire_all()
    assert snapshot(app, closed_cases) == kept_before

    for key in ("A", "B", "C", "D", "E"):
        case = db.session.scalar(select(Case).where(Case.reference == refs[key]))
        assert case.redacted_at == when
        assert case.summary == retention.MARKER and case.outcome_text == retention.MARKER
        texts = db.session.scalars(select(Record.text).where(Record.case_id == case.id)).all()
        assert texts and set(texts) == {retention.MARKER}
        history = db.session.scalars(
            select(AuditEvent).where(AuditEvent.case_ref == case.reference).order_by(AuditEvent.seq)
        ).all()
        assert all(e.payload is None and e.redacted for e in history[:-1])
        assert history[-1].action == "redacted" and history[-1].payload["records"] == len(texts)
    assert (
        db.session.scalar(select(Case.learning_text).where(Case.reference == refs["C"])) is None
    )  # none written
    reasons = db.session.scalars(
        select(Step.agreed_reason).where(Step.agreed_reason.is_not(None))
    ).all()
    assert set(reasons) <= {retention.MARKER}
    open_case = db.session.scalar(select(Case).where(Case.reference == refs["F"]))
    assert open_case.redacted_at is None and open_case.summary != retention.MARKER

    again = runner.invoke(args=["retention", "apply", "--now", when.isoformat(), "--yes"])
    assert again.output == "nothing to redact\n" and events() == before + 5
