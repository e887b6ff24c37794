"""Read and check workflow definition files (TOML) into the definitions' dataclasses.

Every rule a file must follow is checked here, and a file that breaks one is refused with
its path and the key at fault named.
"""

from __future__ import annotations

import tomllib
from collections.abc import Iterable, Mapping
from datetime import date, time
from pathlib import Path
from typing import Any

from .calendar import Calendar, Timescale, make_calendar, parse_lead_time, parse_timescale
from .definitions import (
    ACTING_ROLES,
    ANY,
    AUDIENCES,
    CALENDAR_YEARS,
    CHALLENGED,
    CLOSING_KINDS,
    KEY_RE,
    NOTIFY_EVENTS,
    SIDES,
    Action,
    Definition,
    DefinitionError,
    Level,
    Registry,
    Urgent,
)


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
        "requires_agreement",
        "agency",
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
        agreement, side, raiser_may = _closing_rules(reader, item, where, closes, sources, levels)
        actions.append(
            Action(
                key=key,
                title=reader.get(item, "title", str, where),
                sources=sources,
                to=to,
                closes=closes,
                roles=roles,
                raiser_may=raiser_may,
                requires_record=reader.get(item, "requires_record", bool, where, True),
                requires_outcome=reader.get(
                    item, "requires_outcome", bool, where, closes is not None
                ),
                description=reader.get(item, "description", str, where, ""),
                targets=targets,
                requires_agreement=agreement,
                agency=side,
            )
        )
    return tuple(actions)


def _closing_rules(
    reader: _Reader,
    item: Mapping[str, Any],
    where: str,
    closes: str | None,
    sources: tuple[str, ...],
    levels: tuple[Level, ...],
) -> tuple[bool, str, bool]:
    """Return (requires_agreement, agency, raiser_may) of an action, checked: agreement is
    asked only of a closing that some non-final level can propose, and an action given to
    the challenged side cannot also be given to the raiser."""
    agreement = reader.get(item, "requires_agreement", bool, where, False)
    side = reader.get(item, "agency", str, where, ANY)
    raiser_may = reader.get(item, "raiser_may", bool, where, False)
    if side not in SIDES:
        raise reader.fail(f"{where}.agency", f"'{side}' must be one of {', '.join(SIDES)}")
    if agreement and closes is None:
        raise reader.fail(
            f"{where}.requires_agreement", "only an action that closes the case needs agreement"
        )
    final = {lv.key for lv in levels if lv.final}
    if agreement and all(source in final for source in sources):
        raise reader.fail(
            f"{where}.requires_agreement",
            "it is taken only at a final level, whose decision stands alone: remove it",
        )
    if raiser_may and side == CHALLENGED:
        raise reader.fail(
            f"{where}.raiser_may", "the action is the challenged side's: the raiser cannot take it"
        )
    return agreement, side, raiser_may


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


def load_directory(folder: Path, default_key: str | None = None) -> Registry:
    """Load every `*.toml` definition in a folder."""
    return Registry((load_definition(p) for p in sorted(folder.glob("*.toml"))), default_key)
