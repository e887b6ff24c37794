"""The one way a case is read: with everything it carries, for every door and every change."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from ..domain import rules
from ..models import Case, Step, User
from .errors import NotFound

# What a case carries, each collection in one more statement. Its written record and a
# closed case's themes are read when first asked for (the lists and most changes do not),
# the record with who has read each entry; the people on them come with their rows.
CASE_LOAD = (
    selectinload(Case.agencies),
    selectinload(Case.parties),
    selectinload(Case.steps),
)


def load_cases(session: Session, case_ids: Sequence[int]) -> list[Case]:
    """Return the cases with these ids, whole and read afresh, in the order of `case_ids`."""
    if not case_ids:
        return []
    found = session.scalars(
        select(Case)
        .where(Case.id.in_(case_ids))
        .options(*CASE_LOAD)
        .execution_options(populate_existing=True)
    )
    by_id = {case.id: case for case in found}
    return [by_id[i] for i in case_ids if i in by_id]


def actor_of(user: User) -> rules.Actor:
    """Return the domain's view of a user."""
    return rules.Actor(id=user.id, role=user.role, agency=user.agency.code)


def access_of(case: Case) -> rules.CaseAccess:
    """Return the facts about a case that decide access."""
    closing = None
    if case.closing_status == "proposed" and case.closing_by is not None:
        closing = rules.PendingClosing(case.closing_by.agency.code, case.closing_by.id)
    return rules.CaseAccess(
        raiser_id=case.raised_by_id,
        party_ids=frozenset(p.user_id for p in case.parties),
        agencies=frozenset(ca.agency.code for ca in case.agencies),
        state=case.state,
        closed=case.closed,
        raising_agency=next((ca.agency.code for ca in case.agencies if ca.raising), ""),
        closing=closing,
    )


def proposal_of(step: Step | None) -> rules.Proposal | None:
    """Return the timescale proposed at a step, if one waits for an answer."""
    if step is None or step.timescale_status != "proposed":
        return None
    if step.proposed_by is None or step.proposed_due_at is None:
        return None
    return rules.Proposal(step.proposed_by.agency.code, step.proposed_due_at)


def visible_case(session: Session, user: User, case_id: int) -> Case:
    """Return a case the user may see, whole; one they may not see does not exist for them."""
    found = load_cases(session, [case_id]) if user.active else []
    if not found or not rules.can_see(actor_of(user), access_of(found[0])):
        raise NotFound(f"no case {case_id}")
    return found[0]
