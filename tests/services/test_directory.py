"""The agencies and accounts the pages list, read through the services."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import select

from resolution.context import service_context
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
    ctx = service_context(now)
    every = [a.code for a in directory.agencies(db.session(), ctx)]
    assert every == ["CSC", "HEALTH", "POLICE", "PART"]
    active = [
        a.code for a in directory.agencies(db.session(), ctx, active_only=True, excluding=csc)
    ]
    assert active == ["HEALTH", "PART"]
    assert directory.agency_names(db.session(), ctx)["POLICE"] == "Police"  # inactive still named


def test_the_overview_counts_only_live_tokens(world, now: datetime) -> None:
    admin = world["admin"]
    ctx = service_context(now)
    accounts.issue_token(db.session(), ctx, admin.email)
    accounts.issue_token(  # expired by now
        db.session(), service_context(now - timedelta(days=100)), admin.email
    )
    found = accounts.overview(db.session(), ctx)
    assert found.live_tokens == {admin.id: 1}
    assert [u.name for u in found.users] == sorted(u.name for u in found.users)
    assert len(accounts.tokens_of(db.session(), ctx, admin.id)) == 2
    assert accounts.user_by_id(db.session(), ctx, admin.id) is admin
