"""JSON shapes of the machine's state and actions, so that a stored ticket can be rebuilt and
its events replayed. Pure: no I/O.

    >>> from datetime import datetime, timezone
    >>> from hotline.tickets.lifecycle import Dispatch
    >>> encode_action(Dispatch(main_unit="市城管局", assist_units=("城关街道",)))
    {'name': 'dispatch', 'main_unit': '市城管局', 'assist_units': ['城关街道']}
    >>> decode_action(_) == Dispatch(main_unit="市城管局", assist_units=("城关街道",))
    True

Datetimes are ISO 8601 with their offset; enums are their values; tuples are lists.
"""

from __future__ import annotations

import dataclasses
import enum
import functools
import sys
import types
from datetime import datetime
from typing import Any, Union, get_args, get_origin, get_type_hints

from hotline.tickets import lifecycle
from hotline.tickets.lifecycle import Action, TicketState

ACTIONS: dict[str, type[Action]] = {
    cls.name: cls
    for cls in vars(lifecycle).values()
    if isinstance(cls, type) and issubclass(cls, Action) and cls is not Action
}


def encode(value: Any) -> Any:
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: encode(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, tuple | list):
        return [encode(item) for item in value]
    return value


def decode(tp: Any, data: Any) -> Any:
    """The value of type ``tp`` that ``encode`` turned into ``data``."""
    kind, args = _shape(tp)
    if kind == "optional":
        return None if data is None else decode(args[0], data)
    if kind == "tuple_of":
        return tuple(decode(args[0], item) for item in data)
    if kind == "tuple":
        return tuple(decode(arg, item) for arg, item in zip(args, data, strict=True))
    if kind == "dataclass":
        return tp(**{name: decode(hint, data[name]) for name, hint in args if name in data})
    if kind == "enum":
        return tp(data)
    if kind == "datetime":
        return datetime.fromisoformat(data)
    return data


@functools.cache
def _shape(tp: Any) -> tuple[str, tuple[Any, ...]]:
    """How ``decode`` takes a value of ``tp`` apart (worked out once per type: the states of
    a page of tickets are decoded at every refresh)."""
    origin = get_origin(tp)
    if origin in (Union, types.UnionType):
        (inner,) = [arg for arg in get_args(tp) if arg is not type(None)]
        return "optional", (inner,)
    if origin is tuple:
        args = get_args(tp)
        if len(args) == 2 and args[1] is Ellipsis:
            return "tuple_of", (args[0],)
        return "tuple", args
    if isinstance(tp, type) and dataclasses.is_dataclass(tp):
        hints = _hints(tp)
        return "dataclass", tuple((f.name, hints[f.name]) for f in dataclasses.fields(tp)
                                  if f.init)
    if isinstance(tp, type) and issubclass(tp, enum.Enum):
        return "enum", ()
    if tp is datetime:
        return "datetime", ()
    return "plain", ()


@functools.cache
def _hints(tp: type) -> dict[str, Any]:
    """The resolved field types of a dataclass of ``lifecycle`` (fixed: read once per class)."""
    module = sys.modules[tp.__module__]
    return get_type_hints(tp, globalns=vars(module))


def encode_state(state: TicketState) -> dict[str, Any]:
    encoded: dict[str, Any] = encode(state)
    return encoded


def decode_state(data: dict[str, Any]) -> TicketState:
    state: TicketState = decode(TicketState, data)
    return state


def encode_action(action: Action) -> dict[str, Any]:
    return {"name": action.name, **encode(action)}


def decode_action(data: dict[str, Any]) -> Action:
    fields = dict(data)
    cls = ACTIONS[fields.pop("name")]
    action: Action = decode(cls, fields)
    return action
