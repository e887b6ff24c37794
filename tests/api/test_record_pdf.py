"""GET /cases/{id}/record.pdf: the whole record as a PDF, as GET /cases/{id} may, logged."""

from __future__ import annotations

import io

from pypdf import PdfReader
from sqlalchemy import select

from resolution.extensions import db
from resolution.models import AccessLog

from .conftest import error_of, new_case


def test_the_record_pdf_answers_application_pdf_and_is_access_logged(world, now, api) -> None:
    case = new_case(world, now)
    answer = api.get(f"/cases/{case.id}/record.pdf", "health_practitioner")
    assert answer.status_code == 200 and answer.mimetype == "application/pdf"
    assert answer.data.startswith(b"%PDF-")
    text = "".join(page.extract_text() or "" for page in PdfReader(io.BytesIO(answer.data)).pages)
    assert case.reference in text and "Printed by Health Practitioner" in " ".join(text.split())
    rows = db.session.execute(
        select(AccessLog.actor, AccessLog.target, AccessLog.door).where(
            AccessLog.what == "record_downloaded"
        )
    ).all()
    assert [tuple(r) for r in rows] == [("health_practitioner@example.org", case.reference, "api")]


def test_the_record_pdf_of_a_case_one_may_not_see_is_not_found(world, now, api) -> None:
    case = new_case(world, now)
    hidden = api.get(f"/cases/{case.id}/record.pdf", "police_practitioner")
    assert hidden.status_code == 404 and error_of(hidden)["code"] == "not_found"
    assert api.get("/cases/99999/record.pdf", "auditor").status_code == 404
    assert api.get(f"/cases/{case.id}/record.pdf", None).status_code == 401
