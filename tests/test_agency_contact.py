"""An agency's contact address: set when it is added or later, from the command line and the
administration page, and refused when it is not an address."""

from __future__ import annotations

from sqlalchemy import select

from resolution.extensions import db
from resolution.models import Agency, AuditEvent
from tests.web.conftest import csrf_token, sign_in_as


def _contact(code: str) -> str | None:
    db.session.expire_all()
    return db.session.scalar(select(Agency.contact_email).where(Agency.code == code))


def test_the_cli_adds_an_agency_with_a_contact_and_changes_or_clears_it(app, runner) -> None:
    added = runner.invoke(
        args=["agencies", "add", "YOUTH", "Youth Justice", "--contact", "Team@YJ.example"]
    )
    assert added.exit_code == 0 and added.output.strip() == "YOUTH"
    assert _contact("YOUTH") == "team@yj.example"
    changed = runner.invoke(args=["agencies", "contact", "YOUTH", "duty@yj.example"])
    assert changed.exit_code == 0 and changed.output.strip() == "duty@yj.example"
    cleared = runner.invoke(args=["agencies", "contact", "YOUTH"])
    assert cleared.exit_code == 0 and _contact("YOUTH") is None
    bad = runner.invoke(args=["agencies", "contact", "YOUTH", "not an address"])
    assert bad.exit_code != 0 and "e-mail address" in bad.output
    actions = db.session.scalars(select(AuditEvent.action).order_by(AuditEvent.seq)).all()
    assert actions.count("agency_contact_set") == 2  # the refused one wrote nothing


def test_an_admin_gives_a_new_agency_a_contact_address(app, world, client) -> None:
    sign_in_as(client, world["admin"])
    token = csrf_token(client, "/admin/agencies/new")
    done = client.post(
        "/admin/agencies/new",
        data={
            "csrf_token": token,
            "code": "FIRE",
            "name": "Fire Service",
            "contact_email": "safe@fire.example",
        },
    )
    assert done.status_code == 302 and _contact("FIRE") == "safe@fire.example"
    assert "safe@fire.example" in client.get("/admin").get_data(as_text=True)
    refused = client.post(
        "/admin/agencies/new",
        data={"csrf_token": token, "code": "WATER", "name": "Water", "contact_email": "nope"},
    )
    assert refused.status_code == 400 and _contact("WATER") is None
