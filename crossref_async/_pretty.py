"""Short reprs for records that people print in a REPL or a notebook all day.

A decoded Crossref record holds hundreds of fields, and msgspec's own repr shows every one:
a work runs to thousands of characters. The rule here, shared by every model: show only the
fields that are set (not at their default), in declaration order, each value cut down
(long text shortened with an ellipsis, long lists and maps shown by their first entries and a
count, records nested more than two levels down shown by name only), and never more than
:data:`LIMIT` characters in all. A model may name the few fields that identify it
(``_repr_fields``); the others are then left out. :class:`~crossref_async.Work` and
:class:`~crossref_async.Page` have forms of their own, written in :mod:`.models`.

This module knows nothing of the models (they import it): it works on any
:class:`msgspec.Struct`.
"""

from __future__ import annotations

import functools
from collections.abc import Iterator, Mapping
from typing import Any, Protocol

import msgspec

__all__ = ["LIMIT", "PrettyPrinter", "fields", "pretty", "shorten", "struct_repr", "summary"]

#: The longest repr any record gets (a long one ends in ``…)``).
LIMIT = 300
#: Text longer than this is shortened (the first title of a work, an affiliation name...).
TEXT = 60
#: Entries shown of a list or a map before the count of the rest.
ENTRIES = 3
#: How deep inside a record (a field, an entry of a list field) other records are shown.
DEPTH = 2
ELLIPSIS = "…"


class PrettyPrinter(Protocol):
    """The part of IPython's pretty printer that ``_repr_pretty_`` uses."""

    def text(self, obj: str) -> None: ...


def shorten(text: str, width: int = TEXT) -> str:
    """``text`` on one line (runs of white space made one space), cut at ``width`` characters
    with an ellipsis.

    >>> shorten("Toward a   Unified\\nTheory", 60)
    'Toward a Unified Theory'
    >>> shorten("Toward a Unified Theory of High-Energy Metaphysics", 20)
    'Toward a Unified Th…'
    """
    one_line = " ".join(text.split())
    if len(one_line) <= width:
        return one_line
    return one_line[: width - 1].rstrip() + ELLIPSIS


@functools.cache
def _defaults(cls: type[msgspec.Struct]) -> tuple[tuple[str, Any], ...]:
    # Built once per class: a repr does no work per field beyond one comparison.
    out = []
    for info in msgspec.structs.fields(cls):
        if info.default is not msgspec.NODEFAULT:
            default = info.default
        elif info.default_factory is not msgspec.NODEFAULT:
            default = info.default_factory()
        else:
            default = msgspec.NODEFAULT
        out.append((info.name, default))
    return tuple(out)


def fields(obj: msgspec.Struct) -> Iterator[tuple[str, Any]]:
    """The ``(name, value)`` pairs a repr shows: the fields of ``obj`` not at their default,
    in declaration order, only those named in ``_repr_fields`` when the class names some.
    """
    chosen: tuple[str, ...] | None = getattr(type(obj), "_repr_fields", None)
    for name, default in _defaults(type(obj)):
        if chosen is not None and name not in chosen:
            continue
        value = getattr(obj, name)
        if default is msgspec.NODEFAULT or value != default:
            yield name, value


def summary(value: object, depth: int = 1) -> str:
    """``value`` as a repr shows it inside a record: text shortened, lists and maps by their
    first :data:`ENTRIES` entries (a list of records by its first), records down to
    :data:`DEPTH` levels by their own short repr, deeper ones by name.

    >>> summary("x" * 100)[-4:], summary(tuple(range(10)))
    ("xx…'", '(0, 1, 2, …+7)')
    >>> summary({"a": 1, "b": 2, "c": 3, "d": 4})
    "{'a': 1, 'b': 2, 'c': 3, …+1}"
    """
    if isinstance(value, str):
        return repr(shorten(value))
    if isinstance(value, msgspec.Struct):
        if depth > DEPTH:
            return f"{type(value).__name__}({ELLIPSIS})"
        return repr(value)
    if isinstance(value, (tuple, list)):
        # A list of records shows the first one: each is already a line's worth.
        keep = 1 if value and isinstance(value[0], msgspec.Struct) else ENTRIES
        shown = [summary(item, depth + 1) for item in value[:keep]]
        if len(value) > keep:
            shown.append(f"{ELLIPSIS}+{len(value) - keep}")
        elif len(value) == 1 and isinstance(value, tuple):
            return f"({shown[0]},)"
        text = ", ".join(shown)
        return f"({text})" if isinstance(value, tuple) else f"[{text}]"
    if isinstance(value, Mapping):
        entries = [
            f"{summary(k, depth + 1)}: {summary(v, depth + 1)}"
            for k, v in list(value.items())[:ENTRIES]
        ]
        if len(value) > ENTRIES:
            entries.append(f"{ELLIPSIS}+{len(value) - ENTRIES}")
        return "{" + ", ".join(entries) + "}"
    return repr(value)


def join(name: str, parts: list[str]) -> str:
    """``name(part, part, ...)``, the parts that do not fit in :data:`LIMIT` left out.

    >>> join("Type", ["id='book'", "label='Book'"])
    "Type(id='book', label='Book')"
    >>> len(join("Long", [f"f{i}={'x' * 50!r}" for i in range(20)])) <= LIMIT
    True
    """
    out = f"{name}("
    for i, part in enumerate(parts):
        piece = part if i == 0 else ", " + part
        # Room for the closing ", …)" whatever follows.
        if len(out) + len(piece) + 4 > LIMIT:
            return out + (", " if i else "") + ELLIPSIS + ")"
        out += piece
    return out + ")"


def struct_repr(obj: msgspec.Struct) -> str:
    """The short repr of any record: its set fields as ``name=value``, values summarised.

    >>> class Thing(msgspec.Struct, kw_only=True):
    ...     name: str | None = None
    ...     tags: tuple[str, ...] = ()
    >>> struct_repr(Thing(tags=("a", "b", "c", "d", "e")))
    "Thing(tags=('a', 'b', 'c', …+2))"
    """
    return join(type(obj).__name__, [f"{name}={summary(value)}" for name, value in fields(obj)])


def pretty(obj: object, printer: PrettyPrinter, cycle: bool) -> None:
    """IPython's ``_repr_pretty_``: the short repr (records hold no cycles, but a printer
    that reports one gets the name alone)."""
    printer.text(f"{type(obj).__name__}({ELLIPSIS})" if cycle else repr(obj))
