"""Dumping answers through their output schemas, without marshmallow's cost per field.

marshmallow walks every field of every nested schema for each object it dumps: a page of
twenty cases is some 1,200 field calls and took longer than reading the page from the
database. `dumper(schema)` reads the schema once and returns a function that gives the
same answer: only the declared fields, under their data keys, strings, numbers and
booleans as they are, instants in ISO 8601, nested schemas and lists recursed into. A
value of any other type, and any other kind of field, goes through the field's own
`serialize`, so the answer is marshmallow's wherever this module has no shortcut
(tests/api/test_dumping.py compares the two on real answers).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any

from marshmallow import Schema, fields
from marshmallow.utils import missing

Dump = Callable[[Any], Any]
_PLAIN = {fields.String: str, fields.Integer: int, fields.Boolean: bool}


def _get(obj: Any, attribute: str) -> Any:
    if isinstance(obj, Mapping):
        return obj.get(attribute, missing)
    return getattr(obj, attribute, missing)


def _value_dump(field: fields.Field) -> Callable[[Any], Any] | None:
    """Return how to dump one value of this field, or None to let the field do it."""
    if field.dump_default is not missing or "." in (field.attribute or ""):
        return None
    plain = _PLAIN.get(type(field))
    if plain is not None:
        return lambda v: v if v is None or type(v) is plain else field._serialize(v, None, None)
    if type(field) in (fields.AwareDateTime, fields.DateTime) and field.format in (None, "iso"):
        return lambda v: v.isoformat() if type(v) is datetime else field._serialize(v, None, None)
    if type(field) is fields.Nested:
        nested = dumper(field.schema)  # the field's own instance: its only, exclude and many
        return lambda v: None if v is None else nested(v)
    if type(field) is fields.List:
        inner = _value_dump(field.inner)
        if inner is not None:
            return lambda v: None if v is None else [inner(x) for x in v]
    return None


def dumper(schema: Schema) -> Dump:
    """Return a function dumping one object (or, for a `many` schema, a list) as `schema`."""
    if any(schema._hooks.values()):  # pre- or post-dump steps: marshmallow runs them
        return schema.dump
    plan: list[tuple[str, str, Callable[[Any], Any] | None, fields.Field]] = []
    for name, field in schema.dump_fields.items():
        plan.append((field.data_key or name, field.attribute or name, _value_dump(field), field))

    def dump_one(obj: Any) -> dict[str, Any]:
        out: dict[str, Any] = {}
        get = obj.get if type(obj) is dict else None  # the views are plain dicts
        for key, attribute, dump, field in plan:
            if dump is None:
                value = field.serialize(attribute, obj)
            else:
                value = get(attribute, missing) if get is not None else _get(obj, attribute)
                if value is not missing:
                    value = dump(value)
            if value is not missing:
                out[key] = value
        return out

    if schema.many:
        return lambda objs: [dump_one(o) for o in objs]
    return dump_one
