"""The endpoints of /api/v1: load the request through a schema, call one service, dump the answer."""

from __future__ import annotations

from functools import cache
from typing import Any

from flask import Blueprint, Response, current_app, jsonify, request, url_for
from marshmallow import Schema

from ..domain import rules
from ..extensions import db
from ..services import access, cases, history, queries, reports, timescales
from ..services.views import CaseView
from . import errors
from . import requests as rq
from . import schemas as s
from .spec import build_spec, operation

bp = Blueprint("api", __name__, url_prefix="/api/v1")
errors.attach(bp)
READERS = rules.READERS


@cache
def _schema(schema: type[Schema], many: bool) -> Schema:
    """Return one shared instance of an output schema (dumping keeps no state in it)."""
    return schema(many=many)


def reply(
    schema: type[Schema],
    data: Any,
    status: int = 200,
    *,
    many: bool = False,
    headers: dict[str, str] | None = None,
) -> Response:
    """Return `data` dumped through `schema` as a JSON response."""
    response = jsonify(_schema(schema, many).dump(data))
    response.status_code = status
    response.headers.update(headers or {})
    return response


def case_answer(
    case_id: int,
    status: int = 200,
    *,
    headers: dict[str, str] | None = None,
    read: CaseView | None = None,
) -> Response:
    """Return the caller's view of a case with its version as ETag.

    After a change the case is read afresh; a read passes the case it has just `read`.
    """
    if read is None:
        ctx = rq.context()
        read = queries.read_case(db.session(), ctx, rq.caller(), case_id)
    return reply(
        s.CaseOut, read, status, headers={"ETag": rq.etag(read.version), **(headers or {})}
    )


def record_answer(case_id: int, record_id: int, status: int) -> Response:
    """Return one record as it appears on its case."""
    ctx = rq.context()
    read = queries.read_case(db.session(), ctx, rq.caller(), case_id)
    record = next(r for r in read.records if r.id == record_id)
    return reply(s.RecordOut, record, status, headers={"ETag": rq.etag(read.version)})


@bp.get("/openapi.json")
@operation("This description", None, auth=False, tags=["meta"])
def openapi() -> Response:
    """Return the OpenAPI 3 description, generated from the schemas."""
    spec = current_app.extensions.get("api_spec")
    if spec is None:
        spec = current_app.extensions["api_spec"] = build_spec(current_app, bp.name)
    return jsonify(spec)


@bp.get("/workflows")
@operation("The workflow definitions, every version", s.WorkflowOut, many=True, tags=["workflows"])
def workflows() -> Response:
    """List every loaded definition version with its stages and actions."""
    return reply(
        s.WorkflowOut, [d.summary() for d in rq.context().workflows.registry.all()], many=True
    )


@bp.post("/cases")
@operation(
    "Raise a disagreement",
    s.CaseOut,
    status=201,
    body=s.RaiseCaseIn,
    errors=(403,),
    etag=True,
    tags=["cases"],
    description="Practitioners, managers and leads.",
)
def raise_case() -> Response:
    """Raise a case and answer 201 with it."""
    data = rq.body(s.RaiseCaseIn)
    risk = data.pop("immediate_risk", None)
    case = cases.raise_case(
        db.session(),
        rq.context(),
        rq.caller().id,
        child_ref=data["child_ref"],
        category=data["category"],
        summary=data["summary"],
        with_agencies=data["with_agencies"],
        with_people=data.get("with_people") or (),
        child_initials=data.get("child_initials"),
        workflow=data.get("workflow"),
        immediate_risk=cases.ImmediateRisk(**risk) if risk else None,
    )
    return case_answer(case.id, 201, headers={"Location": url_for("api.get_case", case_id=case.id)})


@bp.get("/cases")
@operation(
    "The cases the caller may see, oldest first", s.CasePageOut, query=s.CaseQuery, tags=["cases"]
)
def list_cases() -> Response:
    """List one page of the caller's visible cases, ordered by id."""
    flt = queries.CaseFilter(**rq.query(s.CaseQuery))
    ctx = rq.context()
    found = queries.cases_page(db.session(), ctx, rq.caller(), flt, door="api")
    page = {"items": found.items, "page": flt.page, "per_page": flt.per_page, "total": found.total}
    return reply(s.CasePageOut, page)


@bp.get("/cases/<int:case_id>")
@operation(
    "One case",
    s.CaseOut,
    etag=True,
    tags=["cases"],
    description="Parties, their agencies' managers and leads, the partnership and auditors.",
)
def get_case(case_id: int) -> Response:
    """Return a case with its version as ETag; the view is written to the access log."""
    known = rq.known_id(case_id, "case")
    read = queries.read_case(db.session(), rq.context(), rq.caller(), known, door="api")
    return case_answer(read.id, read=read)


@bp.post("/cases/<int:case_id>/records")
@operation(
    "Add to the shared record",
    s.RecordOut,
    status=201,
    body=s.RecordIn,
    errors=(403, 409),
    tags=["records"],
    description="Parties and those acting at the current level.",
)
def add_record(case_id: int) -> Response:
    """Add a discussion, action, decision or note."""
    data = rq.body(s.RecordIn)
    record = cases.add_record(
        db.session(), rq.context(), rq.caller().id, rq.known_id(case_id, "case"), **data
    )
    return record_answer(case_id, record.id, 201)


@bp.post("/records/<int:record_id>/acknowledge")
@operation(
    "Mark a record as read",
    s.RecordOut,
    body=s.EmptyIn,
    body_required=False,
    errors=(403, 409),
    tags=["records"],
    description="Any party. No body, or `{}`.",
)
def acknowledge(record_id: int) -> Response:
    """Record that the caller has read a record; answer the record with who has read it."""
    rq.body(s.EmptyIn, optional=True)
    record = cases.acknowledge(
        db.session(), rq.context(), rq.caller().id, rq.known_id(record_id, "record")
    )
    return record_answer(record.case_id, record.id, 200)


@bp.post("/cases/<int:case_id>/timescale")
@operation(
    "Propose a timescale for the current level",
    s.CaseOut,
    body=s.TimescaleIn,
    errors=(403, 409),
    etag=True,
    if_match="optional",
    tags=["timescales"],
    description="Parties.",
)
def propose_timescale(case_id: int) -> Response:
    """Propose when the current level should be decided by."""
    data = rq.body(s.TimescaleIn)
    version = rq.if_match(required=False)
    timescales.propose_timescale(
        db.session(),
        rq.context(),
        rq.caller().id,
        rq.known_id(case_id, "case"),
        due_at=data["due_at"],
        reason=data["reason"],
        expected_version=version,
    )
    return case_answer(case_id)


@bp.post("/cases/<int:case_id>/timescale/accept")
@operation(
    "Accept the proposed timescale",
    s.CaseOut,
    body=s.EmptyIn,
    body_required=False,
    errors=(403, 409),
    etag=True,
    if_match="optional",
    tags=["timescales"],
    description="A party from another agency than the proposer's. No body, or `{}`.",
)
def accept_timescale(case_id: int) -> Response:
    """Agree the proposed timescale."""
    rq.body(s.EmptyIn, optional=True)
    version = rq.if_match(required=False)
    timescales.accept_timescale(
        db.session(),
        rq.context(),
        rq.caller().id,
        rq.known_id(case_id, "case"),
        expected_version=version,
    )
    return case_answer(case_id)


@bp.post("/cases/<int:case_id>/actions/<action>")
@operation(
    "Take an action: escalate, resolve, withdraw, or one the definition adds",
    s.CaseOut,
    body=s.ActionIn,
    errors=(403, 409),
    etag=True,
    if_match="required",
    tags=["actions"],
    description="As the definition says for the current level. 409 if the action is not allowed "
    "now, the case is closed or If-Match is stale.",
)
def take_action(case_id: int, action: str) -> Response:
    """Take an action on the case at the version the caller saw."""
    data = rq.body(s.ActionIn)
    version = rq.if_match(required=True)
    cases.take_action(
        db.session(),
        rq.context(),
        rq.caller().id,
        rq.known_id(case_id, "case"),
        action,
        record=data.get("record"),
        expected_version=version,
        outcome=data.get("outcome"),
        learning=data.get("learning"),
    )
    return case_answer(case_id)


@bp.get("/cases/<int:case_id>/history")
@operation("A case's history events, oldest first", s.EventOut, many=True, tags=["cases"])
def case_history(case_id: int) -> Response:
    """Return the case's audit events."""
    found = queries.case_history(
        db.session(), rq.context(), rq.caller(), rq.known_id(case_id, "case"), door="api"
    )
    return reply(s.EventOut, found, many=True)


@bp.get("/outcomes")
@operation(
    "The outcome log: one row per closed case",
    s.OutcomeLogOut,
    query=s.OutcomeQuery,
    errors=(403,),
    csv=True,
    tags=["oversight"],
    description="Auditors and the partnership. `format=csv` answers text/csv ending with the chain's head.",
)
def outcomes() -> Response:
    """Return the outcome log as JSON or CSV."""
    user = rq.require_role(*READERS)
    args = rq.query(s.OutcomeQuery)
    wanted = args.pop("format")
    ctx = rq.context()
    what = access.EXPORTED if wanted == "csv" else access.OUTCOMES_VIEWED
    found = reports.read_outcomes(
        db.session(), ctx, user, access.Reading(what, "outcomes", "api"), **args
    )
    if wanted == "csv":
        return Response(found.csv(), mimetype="text/csv")
    rows, chain = found.rows, reports.head_json(found.head)
    return reply(s.OutcomeLogOut, {"items": rows, "total": len(rows), "audit_head": chain})


@bp.get("/audit/events")
@operation(
    "Audit events in order",
    s.EventOut,
    many=True,
    query=s.AuditQuery,
    errors=(403,),
    tags=["oversight"],
    description="Auditors and the partnership. Page on with `after_seq` = the last `seq` read.",
)
def audit_events() -> Response:
    """Return up to `limit` events after `after_seq`."""
    user = rq.require_role(*READERS)
    args = rq.query(s.AuditQuery)
    events = history.read_events(
        db.session(), rq.context(), user, args["after_seq"], args["limit"], door="api"
    )
    return reply(s.EventOut, events, many=True)


@bp.get("/audit/verify")
@operation(
    "Check the audit log's hash chain",
    s.VerifyOut,
    errors=(403,),
    tags=["oversight"],
    description="Auditors and the partnership.",
)
def audit_verify() -> Response:
    """Verify the whole chain."""
    rq.require_role(*READERS)
    verdict = history.verify_chain(db.session(), rq.context())
    return reply(
        s.VerifyOut,
        {
            "ok": verdict.ok,
            "events": verdict.events,
            "broken_at": verdict.broken_at,
            "reason": verdict.reason,
        },
    )


@bp.before_request
def _authenticate() -> None:
    """Refuse any request but the description's without a live token."""
    if request.endpoint != "api.openapi":
        rq.authenticate()
