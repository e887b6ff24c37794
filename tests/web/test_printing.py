"""The case on paper: the print page and the PDF hold the whole record, and each is logged."""

from __future__ import annotations

import io
from collections.abc import Callable
from datetime import timedelta

from flask.testing import FlaskClient
from pypdf import PdfReader
from sqlalchemy import select

from resolution.context import service_context
from resolution.extensions import db
from resolution.models import AccessLog, AuditEvent, User
from resolution.services import cases
from tests import factories

from .conftest import check_page

Client = Callable[[User], FlaskClient]


def _played(world, now):
    """A case escalated once, with a record read by the other side, then resolved."""
    case = factories.make_case(world, now, child_ref="CS-PRINT-1")
    ctx = service_context(now + timedelta(hours=1))
    record = cases.add_record(
        db.session(), ctx, world["csc_practitioner"].id, case.id,
        kind="discussion", text="We spoke on the phone and did not agree.",
    )  # fmt: skip
    cases.acknowledge(db.session(), ctx, world["health_practitioner"].id, record.id)
    factories.escalate(world, now + timedelta(hours=2), case, record="Up to the managers.")
    factories.resolve(world, now + timedelta(days=1), case, by="csc_manager")
    return case


def _logged(what: str) -> list[tuple[str | None, str | None, str]]:
    rows = db.session.scalars(select(AccessLog).where(AccessLog.what == what)).all()
    return [(r.actor, r.target, r.door) for r in rows]


def test_the_pdf_holds_the_whole_record_and_says_who_printed_it(
    app, world, now, as_user: Client, monkeypatch
) -> None:
    case = _played(world, now)
    printed_at = now + timedelta(days=2)
    monkeypatch.setitem(app.config, "WEB_CLOCK_NOW", printed_at)
    client = as_user(world["health_manager"])
    answer = client.get(f"/cases/{case.id}/record.pdf")
    assert answer.status_code == 200 and answer.mimetype == "application/pdf"
    assert f'filename="{case.reference}-record.pdf"' in answer.headers["Content-Disposition"]
    text = " ".join(
        " ".join((page.extract_text() or "").split())
        for page in PdfReader(io.BytesIO(answer.data)).pages
    )
    last = db.session.scalars(
        select(AuditEvent).where(AuditEvent.case_ref == case.reference).order_by(AuditEvent.seq)
    ).all()[-1]
    for expected in (
        f"Case {case.reference}: the written record",
        "CS-PRINT-1",
        "Health think the referral meets the threshold",  # the summary
        "1. Practitioner to practitioner",
        "2. First-line managers",
        "5 working days, as the process sets it",
        "We spoke on the phone and did not agree.",
        "Read by Health Practitioner",
        "Resolved",
        "A plan.",  # the outcome
        "Printed by Health Manager (Community Health)",
        "9am on 4 March 2026",  # when
    ):
        assert expected in text, expected
    assert last.digest[:20] in text.replace(" ", "")  # the chain digest of the last event
    assert _logged("record_downloaded") == [(world["health_manager"].email, case.reference, "web")]


def test_the_print_page_is_the_record_without_the_buttons_and_is_logged(
    world, now, as_user: Client
) -> None:
    case = _played(world, now)
    client = as_user(world["auditor"])
    shown = client.get(f"/cases/{case.id}").get_data(as_text=True)
    assert (
        f'href="/cases/{case.id}/print"' in shown and f'href="/cases/{case.id}/record.pdf"' in shown
    )
    html = client.get(f"/cases/{case.id}/print").get_data(as_text=True)
    check_page(html)
    assert "Read by Health Practitioner" in html and "Printed by Auditor" in html
    assert 'id="paper-digest"' in html
    assert _logged("case_printed") == [(world["auditor"].email, case.reference, "web")]


def test_nobody_prints_a_case_they_may_not_see(world, now, as_user: Client) -> None:
    case = factories.make_case(world, now)
    client = as_user(world["police_practitioner"])
    assert client.get(f"/cases/{case.id}/print").status_code == 404
    assert client.get(f"/cases/{case.id}/record.pdf").status_code == 404
    assert as_user(world["admin"]).get(f"/cases/{case.id}/record.pdf").status_code == 403
    assert _logged("record_downloaded") == [] and _logged("case_printed") == []
