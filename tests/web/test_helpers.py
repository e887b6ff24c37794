"""Instants are shown in London time, as GOV.UK writes times and dates."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from resolution.web.helpers import london, london_date


@pytest.mark.parametrize(
    ("instant", "shown"),
    [
        (datetime(2026, 3, 9, 17, 0, tzinfo=UTC), "5pm on 9 March 2026"),  # GMT
        (datetime(2026, 3, 9, 9, 5, tzinfo=UTC), "9:05am on 9 March 2026"),
        (datetime(2026, 3, 9, 12, 0, tzinfo=UTC), "midday on 9 March 2026"),
        (datetime(2026, 3, 9, 0, 0, tzinfo=UTC), "midnight on 9 March 2026"),
        (datetime(2026, 3, 9, 12, 30, tzinfo=UTC), "12:30pm on 9 March 2026"),
        (datetime(2026, 3, 9, 0, 30, tzinfo=UTC), "12:30am on 9 March 2026"),
        (datetime(2026, 7, 1, 16, 0, tzinfo=UTC), "5pm on 1 July 2026"),  # BST: an hour on
        (datetime(2026, 12, 31, 23, 0, tzinfo=UTC), "11pm on 31 December 2026"),
        (datetime(2026, 6, 30, 23, 0, tzinfo=UTC), "midnight on 1 July 2026"),  # next day in BST
    ],
)
def test_an_instant_is_shown_in_london_time(instant: datetime, shown: str) -> None:
    assert london(instant) == shown
    assert london_date(instant) == shown.split(" on ")[1]


def test_no_instant_shows_nothing() -> None:
    assert london(None) == "" and london_date(None) == ""
