"""The agencies and accounts the pages list, read through the services."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import select

from resolution.extensions import db
from resolution.models import Agency
from resolution.services import accounts, directory


def test_agencies_come_by_name_without_the_inactive_or_the_excluded_when_asked(
    world, now: datetime
) -> None:
    police = db.session.scalar(select(Agency).where(Agency.code == "POLICE"))
    assert police is not None
    police.active = False
    db.session.commit()
    csc = world["csc_practitioner"].agency_id
    every = [a.code for a in directory.agencies(db.session)]
    assert every == ["CSC", "HEALTH", "POLICE", "PART"]
    active = [a.code for a in directory.agencies(db.session, active_only=True, excluding=csc)]
    assert active == ["HEALTH", "PART"]
    assert directory.agency_names(db.session)["POLICE"] == "Police"  # inactive still named


def test_the_overview_counts_only_live_tokens(world, now: datetime) -> None:
    admin = world["admin"]
    accounts.issue_token(admin.email, now=now)
    accounts.issue_token(admin.email, now=now - timedelta(days=100))  # expired by now
    found = accounts.overview(db.session, now)
    assert found.live_tokens == {admin.id: 1}
    assert [u.name for u in found.users] == sorted(u.name for u in found.users)
    assert len(accounts.tokens_of(db.session, admin.id)) == 2
    assert accounts.user_by_id(db.session, admin.id) is admin
