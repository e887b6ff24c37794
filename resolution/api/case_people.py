"""The endpoints of /api/v1 about who is on a case and the case on paper: bring in more
agencies and people, hand a part over, the whole record as a PDF (contract v1's additions)."""

from __future__ import annotations

from flask import Response

from ..extensions import db
from ..printing import record_pdf
from ..services import parties, printing
from . import requests as rq
from . import schemas as s
from .spec import operation
from .views import bp, case_answer


@bp.post("/cases/<int:case_id>/parties")
@operation(
    "Bring more agencies and people into an open case",
    s.CaseOut,
    body=s.PartiesIn,
    errors=(403, 409),
    etag=True,
    if_match="required",
    tags=["cases"],
    description="Parties, and the managers and leads of their agencies. Each newcomer is told; "
    "an agency named with nobody is reached through its designated leads or contact address, "
    "and one with none of them is refused.",
)
def add_parties(case_id: int) -> Response:
    """Add agencies and people to the case at the version the caller saw."""
    data = rq.body(s.PartiesIn)
    version = rq.if_match(required=True)
    parties.add_parties(
        db.session(),
        rq.context(),
        rq.caller().id,
        rq.known_id(case_id, "case"),
        with_agencies=data.get("with_agencies") or (),
        with_people=data.get("with_people") or (),
        expected_version=version,
    )
    return case_answer(case_id)


@bp.post("/cases/<int:case_id>/handover")
@operation(
    "Hand a person's part in an open case to a colleague of the same agency",
    s.CaseOut,
    body=s.HandoverIn,
    errors=(403, 409),
    etag=True,
    if_match="required",
    tags=["cases"],
    description="A manager or lead of the agency of the person handed over. `to` is a party "
    "from then on, both are told, and the history names all three.",
)
def hand_over(case_id: int) -> Response:
    """Hand over at the version the caller saw."""
    data = rq.body(s.HandoverIn)
    version = rq.if_match(required=True)
    parties.hand_over(
        db.session(),
        rq.context(),
        rq.caller().id,
        rq.known_id(case_id, "case"),
        from_email=data["from_"],
        to_email=data["to"],
        reason=data["reason"],
        expected_version=version,
    )
    return case_answer(case_id)


@bp.get("/cases/<int:case_id>/record.pdf")
@operation(
    "The whole written record as a PDF, for an agency's own file",
    None,
    pdf=True,
    tags=["cases"],
    description="As `GET /cases/{id}`. The summary, every level and its timescale, every record "
    "with who read it, the outcome, the chain digest of the case's last event, and who printed "
    "it when. Each download is written to the access log.",
)
def case_record_pdf(case_id: int) -> Response:
    """Return the case's record as application/pdf."""
    record = printing.case_on_paper(
        db.session(),
        rq.context(),
        rq.caller(),
        rq.known_id(case_id, "case"),
        what=printing.RECORD_DOWNLOADED,
        door="api",
    )
    name = f"{record.case.reference}-record.pdf"
    return Response(
        record_pdf(record),
        mimetype="application/pdf",
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )
