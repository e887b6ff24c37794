"""The command line of API.md, as an operator would use it."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import func, select, update

from resolution import create_app
from resolution.context import service_context
from resolution.extensions import db
from resolution.models import ApiToken, AuditEvent, Case, Outbox, User
from resolution.services.accounts import hash_token
from resolution.services.sweep import sweep


def test_the_factory_reads_test_config_and_loads_the_definitions(app) -> None:
    assert app.testing
    assert not create_app({"TESTING": False, "SQLALCHEMY_DATABASE_URI": "sqlite://"}).testing
    assert app.extensions["workflows"].registry.default_key == "leeds-pcrp"


def test_init_db_is_safe_to_run_again(runner) -> None:
    result = runner.invoke(args=["init-db"])
    assert result.exit_code == 0
    assert result.output.strip().splitlines()[-1] == "database ready"


def test_agencies_and_users_are_added_and_a_token_is_printed_alone(runner) -> None:
    assert (
        runner.invoke(args=["agencies", "add", "CSC", "Children's Social Care"]).output.strip()
        == "CSC"
    )
    result = runner.invoke(
        args=[
            "users",
            "create",
            "--email",
            "Sam@Example.org",
            "--name",
            "Sam",
            "--agency",
            "CSC",
            "--role",
            "practitioner",
            "--password",
            "a long enough password",
        ]
    )
    assert result.exit_code == 0 and result.output.strip() == "sam@example.org"
    result = runner.invoke(args=["users", "token", "--email", "sam@example.org"])
    token = result.output.strip()
    assert result.exit_code == 0 and len(token.splitlines()) == 1 and token.startswith("rsl_")
    stored = db.session.scalars(select(ApiToken)).one()
    assert stored.token_hash == hash_token(token) and token not in stored.token_hash
    user = db.session.scalars(select(User)).one()
    assert user.password_hash and "a long enough password" not in user.password_hash


def test_bad_input_on_the_command_line_says_what_is_wrong(runner) -> None:
    result = runner.invoke(args=["agencies", "add", "c s c", "Name"])
    assert result.exit_code == 1 and "code" in result.output
    runner.invoke(args=["agencies", "add", "CSC", "Children's Social Care"])
    result = runner.invoke(
        args=[
            "users",
            "create",
            "--email",
            "x@example.org",
            "--name",
            "X",
            "--agency",
            "NOPE",
            "--role",
            "practitioner",
            "--password",
            "a long enough password",
        ]
    )
    assert result.exit_code == 1 and "unknown agency 'NOPE'" in result.output
    result = runner.invoke(
        args=[
            "users",
            "create",
            "--email",
            "x@example.org",
            "--name",
            "X",
            "--agency",
            "CSC",
            "--role",
            "practitioner",
            "--password",
            "short",
        ]
    )
    assert result.exit_code == 1 and "at least 12 characters" in result.output
    result = runner.invoke(args=["users", "token", "--email", "nobody@example.org"])
    assert result.exit_code == 1 and "no active user" in result.output


def test_workflows_check_gives_the_verdict_and_show_prints_levels(
    runner, tmp_path: Path, repo_root: Path
) -> None:
    good = runner.invoke(
        args=["workflows", "check", str(repo_root / "workflows" / "leeds-pcrp.v1.toml")]
    )
    assert good.exit_code == 0 and good.output.startswith("valid: leeds-pcrp version 1, 4 levels")
    bad_file = tmp_path / "bad.toml"
    bad_file.write_text(
        (repo_root / "workflows" / "leeds-pcrp.v1.toml")
        .read_text()
        .replace('acts = ["manager"]', 'acts = ["boss"]')
    )
    bad = runner.invoke(args=["workflows", "check", str(bad_file)])
    assert bad.exit_code == 1 and "unknown role 'boss'" in bad.output and "bad.toml" in bad.output
    shown = runner.invoke(args=["workflows", "show", "hours-escalation"])
    assert "stage 1  practitioners: Practitioners [practitioner; 48 hours]" in shown.output
    assert runner.invoke(args=["workflows", "show", "nope"]).exit_code == 1


def test_demo_fills_every_state_and_the_chain_verifies(runner) -> None:
    result = runner.invoke(args=["demo"])
    assert result.exit_code == 0, result.output
    assert result.output.strip().splitlines()[-1] == "http://resolution.test"
    assert "olu.auditor@partnership.example" in result.output
    states = {c.state for c in db.session.scalars(select(Case))}
    assert {
        "practitioners",
        "managers",
        "leads",
        "partnership",
        "resolved",
        "withdrawn",
        "referred",
    } <= states
    # Nobody is mailed about the demonstration's past, nor by the next sweep.
    assert db.session.scalar(select(func.count()).select_from(Outbox)) == 0
    sweep(db.session(), service_context())
    assert db.session.scalar(select(func.count()).select_from(Outbox)) == 0
    verdict = runner.invoke(args=["audit", "verify"])
    assert verdict.exit_code == 0 and verdict.output.startswith("audit log intact: ")
    cases = len(db.session.scalars(select(Case.id)).all())
    again = runner.invoke(args=["demo"])  # a second run refreshes the passwords, adds nothing
    assert again.exit_code == 0 and "olu.auditor@partnership.example" in again.output
    assert len(db.session.scalars(select(Case.id)).all()) == cases


def test_audit_verify_names_the_first_altered_event(runner) -> None:
    runner.invoke(args=["demo"])
    db.session.execute(update(AuditEvent).where(AuditEvent.seq == 30).values(to_state="resolved"))
    db.session.commit()
    result = runner.invoke(args=["audit", "verify"])
    assert result.exit_code == 1
    assert result.output.strip().splitlines()[-1] == "audit log broken at event 30"


def test_a_token_of_zero_days_or_over_a_year_is_refused_not_made_the_default(runner) -> None:
    runner.invoke(args=["agencies", "add", "CSC", "Children's Social Care"])
    runner.invoke(
        args=[
            "users",
            "create",
            "--email",
            "sam@example.org",
            "--name",
            "Sam",
            "--agency",
            "CSC",
            "--role",
            "practitioner",
            "--no-password",
        ]  # fmt: skip
    )
    for days in ("0", "-5", "367"):
        result = runner.invoke(
            args=["users", "token", "--email", "sam@example.org", "--days", days]
        )
        assert result.exit_code == 2 and "--days" in result.output and "1<=x<=366" in result.output
    assert db.session.scalars(select(ApiToken)).all() == []
    result = runner.invoke(args=["users", "token", "--email", "sam@example.org", "--days", "1"])
    assert result.exit_code == 0
    stored = db.session.scalars(select(ApiToken)).one()
    assert (stored.expires_at - stored.created_at).days == 1
