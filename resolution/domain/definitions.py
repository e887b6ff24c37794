"""Parse and check workflow definition files into frozen dataclasses.

A definition is data: the levels of a partnership's process, who acts at each,
the actions that move a case between levels or close it, the urgent route, who
is told of what, and the calendar that deadlines are counted on.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, time
from pathlib import Path
from typing import Any

from .calendar import (
    Calendar,
    LeadTime,
    Timescale,
    make_calendar,
    parse_lead_time,
    parse_timescale,
)

ROLES = ("practitioner", "manager", "lead", "partnership", "auditor", "admin")
ACTING_ROLES = ("practitioner", "manager", "lead", "partnership")
CLOSING_KINDS = ("resolved", "withdrawn", "referred")
NOTIFY_EVENTS = ("raised", "escalated", "closed", "overdue", "due_soon", "record_added")
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
                }
                for a in self.actions
            ],
        }


class _Reader:
    """Read typed values out of parsed TOML, naming the file and key on error."""

    def __init__(self, source: str) -> None:
        self.source = source

    def fail(self, where: str, message: str) -> DefinitionError:
        return DefinitionError(f"{self.source}: {where}: {message}")

    def get(
        self, table: Mapping[str, Any], name: str, kind: type, where: str, default: Any = ...
    ) -> Any:
        if name not in table:
            if default is ...:
                raise self.fail(where, f"'{name}' is required")
            return default
        value = table[name]
        if kind is int and isinstance(value, bool):
            raise self.fail(f"{where}.{name}", "must be a whole number")
        if not isinstance(value, kind):
            raise self.fail(f"{where}.{name}", f"must be {_KIND_WORDS.get(kind, kind.__name__)}")
        return value

    def strings(
        self, table: Mapping[str, Any], name: str, where: str, default: Any = ...
    ) -> tuple[str, ...]:
        value = table.get(name, default)
        if value is ...:
            raise self.fail(where, f"'{name}' is required")
        if isinstance(value, str):
            return (value,)
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise self.fail(f"{where}.{name}", "must be a string or a list of strings")
        return tuple(value)

    def unknown(self, table: Mapping[str, Any], allowed: Iterable[str], where: str) -> None:
        extra = sorted(set(table) - set(allowed))
        if extra:
            raise self.fail(where, f"unknown key '{extra[0]}'")

    def timescale(self, text: Any, where: str) -> Timescale:
        if not isinstance(text, str):
            raise self.fail(where, "must be a string such as '5 working days' or '48 hours'")
        try:
            return parse_timescale(text)
        except ValueError as exc:
            raise self.fail(where, str(exc)) from None

    def key(self, value: str, where: str) -> str:
        if not KEY_RE.match(value):
            raise self.fail(
                where, f"'{value}' is not a valid key (lower case letters, digits, - and _)"
            )
        return value


_KIND_WORDS = {
    str: "a string",
    int: "a whole number",
    bool: "true or false",
    list: "a list",
    dict: "a table",
}


def parse_definition(text: str, source: str = "<definition>") -> Definition:
    """Parse and check the text of one definition file."""
    reader = _Reader(source)
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise DefinitionError(f"{source}: not valid TOML: {exc}") from None
    reader.unknown(
        data,
        {
            "key",
            "version",
            "title",
            "description",
            "level_word",
            "levels",
            "actions",
            "urgent",
            "timescales",
            "notify",
            "calendar",
            "retention",
        },
        "top level",
    )
    key = reader.key(reader.get(data, "key", str, "top level"), "key")
    version = reader.get(data, "version", int, "top level")
    if version < 1:
        raise reader.fail("version", "must be 1 or more")
    title = reader.get(data, "title", str, "top level")
    description = reader.get(data, "description", str, "top level", "")
    level_word = reader.get(data, "level_word", str, "top level", "level")

    levels = _parse_levels(reader, reader.get(data, "levels", list, "top level"))
    level_keys = {lv.key for lv in levels}
    actions = _parse_actions(reader, reader.get(data, "actions", list, "top level"), levels)

    timescales = reader.get(data, "timescales", dict, "top level", {})
    reader.unknown(
        timescales, {"counted_from", "agreed_between_parties", "warn_before"}, "timescales"
    )
    counted_from = reader.get(timescales, "counted_from", str, "timescales", "level")
    if counted_from not in ("level", "case"):
        raise reader.fail("timescales.counted_from", f"'{counted_from}' must be 'level' or 'case'")
    agreed = reader.get(timescales, "agreed_between_parties", bool, "timescales", True)
    warn_text = reader.get(timescales, "warn_before", str, "timescales", "1 working day")
    try:
        warn_before = parse_lead_time(warn_text)
    except ValueError as exc:
        raise reader.fail("timescales.warn_before", str(exc)) from None

    urgent = None
    if "urgent" in data:
        table = reader.get(data, "urgent", dict, "top level")
        reader.unknown(table, {"start", "timescale", "advice"}, "urgent")
        start = reader.get(table, "start", str, "urgent")
        if start not in level_keys:
            raise reader.fail("urgent.start", f"unknown level '{start}'")
        urgent = Urgent(
            start=start,
            timescale=reader.timescale(
                reader.get(table, "timescale", str, "urgent"), "urgent.timescale"
            ),
            advice=reader.get(table, "advice", str, "urgent", ""),
        )

    notify_table = reader.get(data, "notify", dict, "top level", {})
    reader.unknown(notify_table, NOTIFY_EVENTS, "notify")
    notify: dict[str, tuple[str, ...]] = {}
    for event in NOTIFY_EVENTS:
        audiences = reader.strings(notify_table, event, "notify", ["parties"])
        for audience in audiences:
            if audience not in AUDIENCES:
                raise reader.fail(f"notify.{event}", f"unknown audience '{audience}'")
        notify[event] = audiences

    cal_table = reader.get(data, "calendar", dict, "top level", {})
    reader.unknown(
        cal_table, {"bank_holidays", "end_of_day", "closure_days", "timezone"}, "calendar"
    )
    calendar = _parse_calendar(reader, cal_table)

    retention = reader.get(data, "retention", dict, "top level", {})
    reader.unknown(retention, {"text_kept_for_days"}, "retention")
    keep_days = reader.get(retention, "text_kept_for_days", int, "retention", None)
    if keep_days is not None and keep_days < 1:
        raise reader.fail("retention.text_kept_for_days", "must be 1 or more")

    definition = Definition(
        key=key,
        version=version,
        title=title,
        description=description,
        level_word=level_word,
        levels=levels,
        actions=actions,
        urgent=urgent,
        counted_from=counted_from,
        agreed_between_parties=agreed,
        warn_before=warn_before,
        notify=notify,
        calendar=calendar,
        text_retention_days=keep_days,
        source=source,
        level_index={lv.key: i for i, lv in enumerate(levels)},
    )
    _check_graph(reader, definition)
    return definition


def _parse_levels(reader: _Reader, items: list[Any]) -> tuple[Level, ...]:
    if not items:
        raise reader.fail("levels", "at least one level is required")
    levels: list[Level] = []
    seen: set[str] = set()
    for i, item in enumerate(items):
        where = f"levels[{i}]"
        if not isinstance(item, dict):
            raise reader.fail(where, "must be a table")
        reader.unknown(item, {"key", "title", "acts", "timescale", "final", "description"}, where)
        key = reader.key(reader.get(item, "key", str, where), f"{where}.key")
        where = f"levels[{i}] '{key}'"
        if key in seen:
            raise reader.fail(where, f"duplicate level key '{key}'")
        if key in CLOSING_KINDS:
            raise reader.fail(where, f"'{key}' is reserved for a closing outcome")
        seen.add(key)
        acts = reader.strings(item, "acts", where)
        for role in acts:
            if role not in ACTING_ROLES:
                raise reader.fail(f"{where}.acts", f"unknown role '{role}'")
        levels.append(
            Level(
                key=key,
                title=reader.get(item, "title", str, where),
                acts=acts,
                timescale=reader.timescale(
                    reader.get(item, "timescale", str, where), f"{where}.timescale"
                ),
                final=reader.get(item, "final", bool, where, False),
                description=reader.get(item, "description", str, where, ""),
            )
        )
    return tuple(levels)


def _parse_actions(
    reader: _Reader, items: list[Any], levels: tuple[Level, ...]
) -> tuple[Action, ...]:
    level_keys = [lv.key for lv in levels]
    actions: list[Action] = []
    seen: set[str] = set()
    allowed = {
        "key",
        "title",
        "from",
        "to",
        "closes",
        "roles",
        "raiser_may",
        "requires_record",
        "requires_outcome",
        "description",
    }
    for i, item in enumerate(items):
        where = f"actions[{i}]"
        if not isinstance(item, dict):
            raise reader.fail(where, "must be a table")
        reader.unknown(item, allowed, where)
        key = reader.key(reader.get(item, "key", str, where), f"{where}.key")
        where = f"actions[{i}] '{key}'"
        if key in seen:
            raise reader.fail(where, f"duplicate action key '{key}'")
        seen.add(key)
        sources = reader.strings(item, "from", where)
        if sources == ("*",):
            sources = tuple(level_keys)
        for source in sources:
            if source not in level_keys:
                raise reader.fail(f"{where}.from", f"unknown level '{source}'")
        to = item.get("to")
        closes = item.get("closes")
        if (to is None) == (closes is None):
            raise reader.fail(where, "give exactly one of 'to' (a level or 'next') or 'closes'")
        targets: tuple[tuple[str, str], ...]
        if closes is not None:
            if closes not in CLOSING_KINDS:
                raise reader.fail(
                    f"{where}.closes", f"'{closes}' must be one of {', '.join(CLOSING_KINDS)}"
                )
            targets = tuple((s, closes) for s in sources)
        elif not isinstance(to, str) or (to != "next" and to not in level_keys):
            raise reader.fail(f"{where}.to", f"unknown level '{to}'")
        elif to == "next":
            last = [s for s in sources if level_keys.index(s) == len(level_keys) - 1]
            if last:
                raise reader.fail(f"{where}.to", f"level '{last[0]}' has no next level")
            targets = tuple((s, level_keys[level_keys.index(s) + 1]) for s in sources)
        else:
            targets = tuple((s, to) for s in sources)
        roles = reader.strings(item, "roles", where, ["acting"])
        for role in roles:
            if role != "acting" and role not in ACTING_ROLES:
                raise reader.fail(f"{where}.roles", f"unknown role '{role}'")
        actions.append(
            Action(
                key=key,
                title=reader.get(item, "title", str, where),
                sources=sources,
                to=to,
                closes=closes,
                roles=roles,
                raiser_may=reader.get(item, "raiser_may", bool, where, False),
                requires_record=reader.get(item, "requires_record", bool, where, True),
                requires_outcome=reader.get(
                    item, "requires_outcome", bool, where, closes is not None
                ),
                description=reader.get(item, "description", str, where, ""),
                targets=targets,
            )
        )
    return tuple(actions)


def _parse_calendar(reader: _Reader, table: Mapping[str, Any]) -> Calendar:
    region = reader.get(table, "bank_holidays", str, "calendar", "ENG")
    if region not in ("ENG", "WLS", "SCT", "NIR"):
        raise reader.fail("calendar.bank_holidays", f"unknown region '{region}'")
    eod_text = reader.get(table, "end_of_day", str, "calendar", "17:00")
    try:
        end_of_day = time.fromisoformat(eod_text)
    except ValueError:
        raise reader.fail(
            "calendar.end_of_day", f"cannot read time '{eod_text}' (write it as HH:MM)"
        ) from None
    closures: list[date] = []
    for i, value in enumerate(table.get("closure_days", [])):
        if isinstance(value, date):
            closures.append(value)
            continue
        try:
            closures.append(date.fromisoformat(str(value)))
        except ValueError:
            raise reader.fail(
                f"calendar.closure_days[{i}]", f"cannot read date '{value}'"
            ) from None
    zone = reader.get(table, "timezone", str, "calendar", "Europe/London")
    try:
        return make_calendar(
            region=region,
            extra_closures=closures,
            end_of_day=end_of_day,
            timezone=zone,
            years=CALENDAR_YEARS,
        )
    except (KeyError, ValueError) as exc:
        raise reader.fail("calendar", str(exc)) from None


def _check_graph(reader: _Reader, d: Definition) -> None:
    """Refuse unreachable levels and levels from which no case can close."""
    edges: dict[str, set[str]] = {lv.key: set() for lv in d.levels}
    closing_from: set[str] = set()
    for action in d.actions:
        for source in action.sources:
            if action.closes:
                closing_from.add(source)
            else:
                edges[source].add(action.target(source))
    starts = {d.initial} | ({d.urgent.start} if d.urgent else set())
    reached = set(starts)
    todo = list(starts)
    while todo:
        for nxt in edges[todo.pop()]:
            if nxt not in reached:
                reached.add(nxt)
                todo.append(nxt)
    for level in d.levels:
        if level.key not in reached:
            raise reader.fail(f"level '{level.key}'", "no case can reach this level")
    can_close = set(closing_from)
    changed = True
    while changed:
        changed = False
        for source, targets in edges.items():
            if source not in can_close and targets & can_close:
                can_close.add(source)
                changed = True
    for level in d.levels:
        if level.key not in can_close:
            raise reader.fail(
                f"level '{level.key}'", "no closing outcome can be reached from this level"
            )
    for level in d.levels:
        if level.final and edges[level.key]:
            raise reader.fail(
                f"level '{level.key}'", "a final level cannot move a case to another level"
            )


def load_definition(path: Path) -> Definition:
    """Read, parse and check one definition file."""
    return parse_definition(path.read_text(encoding="utf-8"), source=str(path))


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


def load_directory(folder: Path, default_key: str | None = None) -> Registry:
    """Load every `*.toml` definition in a folder."""
    return Registry((load_definition(p) for p in sorted(folder.glob("*.toml"))), default_key)
