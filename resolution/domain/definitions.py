"""A workflow definition as frozen dataclasses, and the registry of every loaded version.

A definition is data: the levels of a partnership's process, who acts at each,
the actions that move a case between levels or close it, the urgent route, who
is told of what, and the calendar that deadlines are counted on.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from .calendar import (
    Calendar,
    LeadTime,
    Timescale,
)

ROLES = ("practitioner", "manager", "lead", "partnership", "auditor", "admin")
ACTING_ROLES = ("practitioner", "manager", "lead", "partnership")
CLOSING_KINDS = ("resolved", "withdrawn", "referred")
NOTIFY_EVENTS = (
    "raised", "escalated", "closed", "overdue", "due_soon", "record_added",
    "timescale_proposed", "closing_proposed",
)  # fmt: skip
# Which side of a case may take an action: either, only the agency that raised it, or only
# the agencies it was raised with.
ANY, RAISING, CHALLENGED = "any", "raising", "challenged"
SIDES = (ANY, RAISING, CHALLENGED)
AUDIENCES = ("parties", "managers", "leads", "partnership", "raiser")
KEY_RE = re.compile(r"^[a-z][a-z0-9_-]{0,39}$")
CALENDAR_YEARS = range(2015, 2061)


class DefinitionError(ValueError):
    """A workflow definition that cannot be used, with the file and key named."""


@dataclass(frozen=True)
class Level:
    key: str
    title: str
    acts: tuple[str, ...]
    timescale: Timescale
    final: bool
    description: str = ""


@dataclass(frozen=True)
class Action:
    key: str
    title: str
    sources: tuple[str, ...]
    to: str | None  # a level key for a move, None when it closes the case
    closes: str | None  # one of CLOSING_KINDS
    roles: tuple[str, ...]  # who may take it; "acting" means the level's own roles
    raiser_may: bool
    requires_record: bool
    requires_outcome: bool
    description: str = ""
    targets: tuple[tuple[str, str], ...] = ()  # (source, target) for each source
    requires_agreement: bool = False  # a closing that a party of another agency confirms
    agency: str = ANY  # which side may take it (SIDES)

    def needs_agreement(self, level: Level) -> bool:
        """Say whether taking this action at `level` only proposes it: a closing that needs
        the other side's agreement, except at a final level, whose decision stands alone."""
        return self.requires_agreement and not level.final

    def allowed_roles(self, level: Level) -> frozenset[str]:
        """Return the roles that may take this action at `level`."""
        roles: set[str] = set()
        for role in self.roles:
            roles.update(level.acts if role == "acting" else (role,))
        return frozenset(roles)

    def target(self, source: str) -> str:
        """Return the state a case in `source` moves to."""
        return dict(self.targets)[source]


@dataclass(frozen=True)
class Urgent:
    start: str
    timescale: Timescale
    advice: str


@dataclass(frozen=True)
class Definition:
    key: str
    version: int
    title: str
    description: str
    level_word: str
    levels: tuple[Level, ...]
    actions: tuple[Action, ...]
    urgent: Urgent | None
    counted_from: str  # "level" or "case"
    agreed_between_parties: bool
    warn_before: LeadTime
    notify: Mapping[str, tuple[str, ...]]
    calendar: Calendar
    text_retention_days: int | None
    source: str
    level_index: Mapping[str, int] = field(default_factory=dict)

    @property
    def initial(self) -> str:
        """Return the key of the level a case normally starts at."""
        return self.levels[0].key

    @property
    def states(self) -> tuple[str, ...]:
        """Return every state a case on this definition can be in."""
        closing = tuple(k for k in CLOSING_KINDS if any(a.closes == k for a in self.actions))
        return tuple(level.key for level in self.levels) + closing

    def level(self, key: str) -> Level:
        """Return the level with this key."""
        return self.levels[self.level_index[key]]

    def level_number(self, key: str) -> int:
        """Return the 1-based position of a level."""
        return self.level_index[key] + 1

    def action(self, key: str) -> Action | None:
        """Return the action with this key, or None."""
        for action in self.actions:
            if action.key == key:
                return action
        return None

    def actions_at(self, level_key: str) -> tuple[Action, ...]:
        """Return the actions that can be taken at a level."""
        return tuple(a for a in self.actions if level_key in a.sources)

    def is_closed_state(self, state: str) -> bool:
        """Say whether `state` is a closing outcome."""
        return state in CLOSING_KINDS

    def level_words(self, state: str) -> str:
        """Name a state as the pages do: 'Level 2: Managers', or the outcome, 'Resolved'."""
        if self.is_closed_state(state):
            return state.capitalize()
        return (
            f"{self.level_word.capitalize()} {self.level_number(state)}: {self.level(state).title}"
        )

    def summary(self) -> dict[str, Any]:
        """Return the definition as plain data for listings."""
        return {
            "key": self.key,
            "version": self.version,
            "title": self.title,
            "stages": [
                {
                    "key": lv.key,
                    "title": lv.title,
                    "timescale": str(lv.timescale),
                    "acts": list(lv.acts),
                }
                for lv in self.levels
            ],
            "actions": [
                {
                    "key": a.key,
                    "title": a.title,
                    "from": list(a.sources),
                    "to": a.to,
                    "closes": a.closes,
                    "roles": list(a.roles),
                    "requires_record": a.requires_record,
                    "requires_outcome": a.requires_outcome,
                    "requires_agreement": a.requires_agreement,
                    "agency": a.agency,
                }
                for a in self.actions
            ],
        }


class Registry:
    """Every loaded definition version, by key and version."""

    def __init__(self, definitions: Iterable[Definition], default_key: str | None = None) -> None:
        self._by_id: dict[tuple[str, int], Definition] = {}
        for d in definitions:
            if (d.key, d.version) in self._by_id:
                raise DefinitionError(
                    f"{d.source}: {d.key} version {d.version} is also defined in {self._by_id[(d.key, d.version)].source}"
                )
            self._by_id[(d.key, d.version)] = d
        if not self._by_id:
            raise DefinitionError("no workflow definitions found")
        keys = sorted({k for k, _ in self._by_id})
        self.default_key = default_key if default_key in keys else keys[0]

    def get(self, key: str, version: int) -> Definition:
        """Return one version of a definition (KeyError when unknown)."""
        return self._by_id[(key, version)]

    def latest(self, key: str) -> Definition:
        """Return the newest version of a definition (KeyError when unknown)."""
        versions = [v for k, v in self._by_id if k == key]
        if not versions:
            raise KeyError(key)
        return self._by_id[(key, max(versions))]

    def all(self) -> list[Definition]:
        """Return every definition version, ordered by key then version."""
        return [self._by_id[k] for k in sorted(self._by_id)]

    def latest_all(self) -> list[Definition]:
        """Return the newest version of each definition."""
        return [self.latest(k) for k in sorted({k for k, _ in self._by_id})]
