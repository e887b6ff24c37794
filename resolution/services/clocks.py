"""The SQL form of a step's standing (domain.status.step_status), and the open cases'
clocks a user may see, for the lists, their counts and the sweep."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Select, exists, false, select, union_all
from sqlalchemy.sql import Subquery

from ..domain import rules
from ..models import CaseAgency, CaseParty, Step, User


def overdue_clause(due_at: Any, now: datetime) -> ColumnElement[bool]:
    """An open clock overdue at `now`, in SQL: `status.step_status`'s rule."""
    return due_at < now  # type: ignore[no-any-return]


def due_soon_clause(due_at: Any, warn_at: Any, now: datetime) -> ColumnElement[bool]:
    """An open clock due soon at `now`, in SQL: `status.step_status`'s rule."""
    return (due_at >= now) & (warn_at <= now)  # type: ignore[no-any-return]


def open_action_clause(done_at: Any, withdrawn_at: Any) -> ColumnElement[bool]:
    """An agreed action still open, in SQL: `status.action_open`'s rule."""
    return done_at.is_(None) & withdrawn_at.is_(None)  # type: ignore[no-any-return]


def open_clocks(user: User) -> Subquery:
    """Return the open cases this user may see, one row each with its current clock
    (case_id, level, due_at, warn_at), built from the role's grants as `visible_cases` is:
    an agency's from its own rows of its cases (`CaseAgency`'s copy of the clock), the
    rest from the current steps."""
    grants = rules.scope(user.role)
    current = select(Step.case_id, Step.level, Step.due_at, Step.warn_at).where(
        Step.ended_at.is_(None)
    )
    if rules.ALL in grants:
        return current.subquery("clock")
    parts: list[Select[Any]] = []
    if rules.AGENCY in grants:
        parts.append(
            select(
                CaseAgency.case_id, CaseAgency.level, CaseAgency.due_at, CaseAgency.warn_at
            ).where(CaseAgency.agency_id == user.agency_id, CaseAgency.due_at.is_not(None))
        )
    if rules.PARTY in grants:
        party = current.join(CaseParty, CaseParty.case_id == Step.case_id).where(
            CaseParty.user_id == user.id
        )
        if rules.AGENCY in grants:  # each case once: the agency's are above
            party = party.where(
                ~exists().where(
                    CaseAgency.case_id == Step.case_id, CaseAgency.agency_id == user.agency_id
                )
            )
        parts.append(party)
    if not parts:
        return current.where(false()).subquery("clock")
    return (parts[0] if len(parts) == 1 else union_all(*parts)).subquery("clock")
