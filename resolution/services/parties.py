"""Who is on an open case: more people and agencies brought in, a person's part handed over.

Each is one change to the case (`changes.change_case`): checked by the domain's rule,
recorded in the case's history (the audit chain), and the people it concerns are told.
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..domain import rules
from ..models import Agency, Case, CaseAgency, CaseParty, User
from . import notify
from .changes import Change, change_case, checked_text, set_clock
from .core import Context
from .errors import Forbidden, Invalid

MAX_AGENCIES, MAX_PEOPLE = 20, 50


def _codes(values: Sequence[str]) -> list[str]:
    codes = list(dict.fromkeys(v.strip().upper() for v in values if v and v.strip()))
    if len(codes) > MAX_AGENCIES:
        raise Invalid.field("with_agencies", f"name at most {MAX_AGENCIES} agencies")
    if not all(rules.printable(code) for code in codes):
        raise Invalid.field("with_agencies", rules.NOT_PRINTABLE)
    return codes


def _emails(values: Sequence[str], name: str = "with_people") -> list[str]:
    emails = list(dict.fromkeys(v.strip().lower() for v in values if v and v.strip()))
    if len(emails) > MAX_PEOPLE:
        raise Invalid.field(name, f"name at most {MAX_PEOPLE} people")
    if not all(rules.printable(email) for email in emails):
        raise Invalid.field(name, rules.NOT_PRINTABLE)
    return emails


def _newcomers(
    session: Session, case: Case, codes: list[str], emails: list[str]
) -> tuple[list[Agency], list[User]]:
    """Return the agencies and people not yet on the case, or refuse one by field."""
    found = {a.code: a for a in session.scalars(select(Agency).where(Agency.code.in_(codes)))}
    for code in codes:
        if code not in found or not found[code].active:
            raise Invalid.field("with_agencies", f"unknown agency '{code}'")
    involved = {ca.agency_id for ca in case.agencies}
    agencies = [found[code] for code in codes if found[code].id not in involved]
    users = {u.email: u for u in session.scalars(select(User).where(User.email.in_(emails)))}
    allowed = involved | {a.id for a in agencies}
    on_case = {p.user_id for p in case.parties}
    people = []
    for email in emails:
        user = users.get(email)
        if user is None or not user.active:
            raise Invalid.field("with_people", f"unknown user '{email}'")
        if user.agency_id not in allowed or user.role not in rules.RAISERS:
            raise Invalid.field(
                "with_people",
                f"'{email}' is not a practitioner, manager or lead of an agency on the case",
            )
        if user.id not in on_case:
            people.append(user)
    if not agencies and not people:
        raise Invalid(
            "everyone named is on the case already: name an agency or a person who is not",
            {"with_agencies": ["name an agency or a person not yet on the case"]},
        )
    return agencies, people


def _tell_newcomers(change: Change, agencies: list[Agency], people: list[User]) -> None:
    """Tell each person added, and each agency added with nobody named its leads or its
    contact address (as every agency on a case is reached: `rules.reach`)."""
    case, actor, session = change.case, change.actor, change.uow.session
    audience = notify.audience_of(case, change.definition)
    told = notify.Recipients(session, [audience], set(), reach=True)
    named = [notify.Person(p.id, p.email, p.name, p.active, p.agency_id) for p in people]
    reached = [p for a in agencies for p in told.reached(audience, a.id)]
    level = change.definition.level_words(case.state)
    change.uow.queue(
        notify.messages(
            change.ctx,
            [p for p in named + reached if p.id != actor.id],
            kind="parties_added",
            case=case,
            subject="you have been brought into a professional disagreement",
            happened=(
                f"{actor.name} ({actor.agency.name}) has brought you into case "
                f"{case.reference}, now at {level}."
            ),
            expected="read the shared record and take part in the discussion.",
            urgent=change.urgent,
        )
    )


def add_parties(
    session: Session,
    ctx: Context,
    actor_id: int,
    case_id: int,
    *,
    with_agencies: Sequence[str] = (),
    with_people: Sequence[str] = (),
    expected_version: int | None = None,
) -> Case:
    """Bring more agencies and people into an open case; each newcomer is told."""
    codes, emails = _codes(with_agencies), _emails(with_people)
    if not codes and not emails:
        raise Invalid.field("with_agencies", "name at least one agency or person to add")
    with change_case(session, ctx, actor_id, case_id, expected_version=expected_version) as change:
        case = change.case
        if not rules.may_add_parties(change.who, change.access):
            raise Forbidden(
                "only the parties, and the managers and leads of the agencies on the case, "
                "bring others in"
            )
        agencies, people = _newcomers(session, case, codes, emails)
        notify.refuse_unreached(session, notify.reaches(session, agencies, people))
        for agency in agencies:
            case.agencies.append(CaseAgency(agency=agency, agency_id=agency.id, raising=False))
        set_clock(case, change.step)  # the newcomers' rows carry the case's clock too
        for user in people:
            case.parties.append(
                CaseParty(user=user, user_id=user.id, joined_at=ctx.now, how="added")
            )
        change.done(
            "parties_added",
            {"agencies": [a.code for a in agencies], "people": [p.email for p in people]},
            acted=False,
        )
        _tell_newcomers(change, agencies, people)
    return case


def hand_over(
    session: Session,
    ctx: Context,
    actor_id: int,
    case_id: int,
    *,
    from_email: str,
    to_email: str,
    reason: str,
    expected_version: int | None = None,
) -> Case:
    """Hand someone's part in an open case to a colleague of the same agency: the history
    names all three, both are told, the colleague is a party from then on."""
    why = checked_text(reason, "reason", rules.MAX_REASON)
    leaving = next(iter(_emails([from_email], "from")), "")
    joining = next(iter(_emails([to_email], "to")), "")
    if not leaving:
        raise Invalid.field("from", "give the e-mail address of the person handing over")
    if not joining:
        raise Invalid.field("to", "give the e-mail address of the colleague taking over")
    if leaving == joining:
        raise Invalid.field("to", "hand over to someone else")
    with change_case(session, ctx, actor_id, case_id, expected_version=expected_version) as change:
        case, actor = change.case, change.actor
        row = next((p for p in case.parties if p.user.email == leaving), None)
        if row is None:
            raise Invalid.field("from", f"'{leaving}' is not a party to case {case.reference}")
        old = row.user
        if not rules.may_hand_over(change.who, change.access, old.agency.code):
            raise Forbidden(f"only a manager or lead of {old.agency.name} hands over their part")
        new = session.scalar(select(User).where(User.email == joining))
        if new is None or not new.active:
            raise Invalid.field("to", f"unknown user '{joining}'")
        if new.agency_id != old.agency_id or new.role not in rules.RAISERS:
            raise Invalid.field(
                "to", f"'{joining}' is not a practitioner, manager or lead of {old.agency.name}"
            )
        case.parties.remove(row)
        notify.ensure_party(change.uow, case, new, "handover")
        change.done(
            "handed_over",
            {"from": old.email, "to": new.email, "by": actor.email, "reason": why},
            acted=False,
        )
        level = change.definition.level_words(case.state)
        for person, happened, expected in (
            (
                new,
                f"{actor.name} ({actor.agency.name}) has handed {old.name}'s part in case "
                f"{case.reference}, now at {level}, to you: {why}",
                "read the shared record and carry on where they left off.",
            ),
            (
                old,
                f"{actor.name} ({actor.agency.name}) has handed your part in case "
                f"{case.reference} to {new.name}: {why}",
                "nothing more: you are no longer a party to this case.",
            ),
        ):
            if not person.active:
                continue  # someone who has left is told nothing (as `Recipients.of`)
            change.uow.queue(
                notify.messages(
                    change.ctx,
                    [notify.Person(person.id, person.email, person.name, person.active)],
                    kind="handed_over",
                    case=case,
                    subject="a part in a professional disagreement has been handed over",
                    happened=happened,
                    expected=expected,
                    urgent=change.urgent,
                )
            )
    return case
