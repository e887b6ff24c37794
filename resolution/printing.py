"""The written record of a case as HTML for the print page and as a PDF (WeasyPrint), for
both doors (the pages and the API): one template, `cases/record_document.html`."""

from __future__ import annotations

from flask import render_template

from .domain import rules
from .services.printing import RecordOnPaper


def _no_fetching(url: str, *args: object, **kwargs: object) -> dict[str, object]:
    """Refuse every resource a document names: the PDF is made from its own text alone."""
    raise ValueError(f"the record's PDF fetches nothing ({url[:40]})")


def record_pdf(record: RecordOnPaper) -> bytes:
    """Return the whole record of a case as a PDF."""
    from weasyprint import HTML  # imported when first used: it loads Pango

    html = render_template(
        "cases/record_document.html",
        record=record,
        case=record.case,
        categories=rules.CATEGORIES,
    )
    pdf: bytes = HTML(string=html, url_fetcher=_no_fetching).write_pdf()
    return pdf
