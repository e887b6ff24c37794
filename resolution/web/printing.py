"""The case on paper: a print page without navigation or buttons, and the PDF download."""

from __future__ import annotations

from flask import Blueprint, Response, abort, render_template
from flask.typing import ResponseReturnValue

from ..domain import rules
from ..extensions import db
from ..printing import record_pdf
from ..services import printing
from ..services.errors import NotFound
from .helpers import me, roles_required, web_ctx

bp = Blueprint("printing", __name__)


def _record(case_id: int, what: str) -> printing.RecordOnPaper:
    try:
        return printing.case_on_paper(db.session(), web_ctx(), me(), case_id, what=what, door="web")
    except NotFound:
        abort(404)


@bp.get("/cases/<int:case_id>/print")
@roles_required(*rules.CASE_READERS)
def page(case_id: int) -> ResponseReturnValue:
    """Show the whole written record, laid out for printing; the print is access-logged."""
    record = _record(case_id, printing.CASE_PRINTED)
    return render_template(
        "cases/print.html", record=record, case=record.case, categories=rules.CATEGORIES
    )


@bp.get("/cases/<int:case_id>/record.pdf")
@roles_required(*rules.CASE_READERS)
def pdf(case_id: int) -> ResponseReturnValue:
    """Download the whole written record as a PDF; the download is access-logged."""
    record = _record(case_id, printing.RECORD_DOWNLOADED)
    name = f"{record.case.reference}-record.pdf"
    return Response(
        record_pdf(record),
        mimetype="application/pdf",
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )
