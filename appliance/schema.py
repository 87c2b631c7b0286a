"""The config model's machinery: dataclass fields that declare their TOML key, default and
limits, read all at once with every problem collected as 'section.key: message'.

A config dataclass says what it holds once:

    @dataclass(frozen=True)
    class WebConfig:
        port: int = key(8080, 0, 65535)          # [web] port, a whole number 0-65535

and `Section.read(WebConfig)` returns its values, recording a problem for every key that is
of the wrong type, out of range, not one of the choices (with a did-you-mean) or unknown. A
value that is wrong is replaced by the default, so the remaining checks still run and a
person sees every mistake in one run.
"""
from __future__ import annotations

from dataclasses import dataclass, field, fields
from typing import Any, Callable, Iterable, Optional


class Problems(list):
    def add(self, where: str, message: str):
        self.append(f"{where}: {message}")


def did_you_mean(word: str, known: Iterable[str]) -> str:
    """' (did you mean 'x'?)' for the closest of `known`, or ''."""
    import difflib  # only when a word is wrong: the CLI never pays for it
    close = difflib.get_close_matches(word, list(known), n=1)
    return f" (did you mean {close[0]!r}?)" if close else ""


def unknown_keys(where: str, table: dict, known: Iterable[str], problems: Problems):
    known = list(known)
    for k in table:
        if k not in known:
            problems.add(f"{where}{'.' if where else ''}{k}",
                         f"unknown key{did_you_mean(str(k), known)}")


@dataclass(frozen=True)
class Key:
    """What a config field declares: its TOML key, kind and limits."""
    kind: str                          # "number", "whole", "bool", "text"
    low: Optional[float] = None
    high: Optional[float] = None
    choices: Optional[tuple] = None
    toml: Optional[str] = None         # "section.key" when not the field's own name
    check: Optional[Callable[[Any], Optional[str]]] = None  # why a value is wrong, or None


def key(default, low=None, high=None, *, choices=None, kind=None, toml=None, check=None):
    """A dataclass field read from TOML (kind from the default unless given: a number
    default means any number; pass kind="whole" for counts and ports)."""
    if kind is None:
        kind = ("bool" if isinstance(default, bool) else
                "number" if isinstance(default, (int, float)) else "text")
    return field(default=default, metadata={"key": Key(kind, low, high,
                                                       tuple(choices) if choices else None,
                                                       toml, check)})


def declared(cls, section: Optional[str] = None) -> list:
    """(field name, TOML key, Key, default) of `cls` for one section (or all)."""
    out = []
    for f in fields(cls):
        k = f.metadata.get("key")
        if k is None:
            continue
        where, _, name = (k.toml or f".{f.name}").rpartition(".")
        if section is None or not k.toml or where == section:
            out.append((f.name, name, k, f.default))
    return out


_KIND_NAMES = {"number": "a number", "whole": "a whole number", "bool": "true or false",
               "text": "a string"}


class Section:
    """Typed reads from one TOML table, collecting problems rather than raising."""

    def __init__(self, name: str, table: Any, problems: Problems):
        self.name = name
        self.problems = problems
        self.known: list[str] = []
        self.given: set[str] = set()   # keys the file really has (not defaults)
        if table is None:
            table = {}
        if not isinstance(table, dict):
            problems.add(name, "must be a table")
            table = {}
        self.table = table

    def where(self, k: str) -> str:
        return f"{self.name}.{k}" if self.name else k

    def read(self, cls) -> dict:
        """Every field of `cls` that belongs to this section: field name -> value."""
        return {name: self.value(toml_key, spec, default)
                for name, toml_key, spec, default in declared(cls, self.name)}

    def value(self, k: str, spec: Key, default):
        self.known.append(k)
        if k not in self.table:
            return default
        value = self.table[k]
        problem = _problem(value, spec)
        if problem:
            self.problems.add(self.where(k), problem)
            return default
        self.given.add(k)
        return int(value) if spec.kind == "whole" else value

    # plain typed reads for keys that are not dataclass fields
    def number(self, k, default, low=None, high=None):
        return self.value(k, Key("number", low, high), default)

    def boolean(self, k, default):
        return self.value(k, Key("bool"), default)

    def string(self, k, default, choices=None):
        return self.value(k, Key("text", choices=tuple(choices) if choices else None), default)

    def raw(self, k, default=None):
        self.known.append(k)
        if k in self.table:
            self.given.add(k)
        return self.table.get(k, default)

    def finish(self):
        unknown_keys(self.name, self.table, self.known, self.problems)


def _problem(value, spec: Key) -> Optional[str]:
    """Why `value` does not fit `spec` (one line), or None."""
    kind = spec.kind
    if kind == "bool":
        ok = isinstance(value, bool)
    elif kind == "text":
        ok = isinstance(value, str)
    else:
        ok = isinstance(value, (int, float)) and not isinstance(value, bool)
        if ok and kind == "whole" and value != int(value):
            return f"must be a whole number, not {value!r}"
    if not ok:
        return f"must be {_KIND_NAMES[kind]}, not {value!r}"
    if spec.choices is not None and value not in spec.choices:
        return (f"must be one of {', '.join(map(str, spec.choices))}, not {value!r}"
                f"{did_you_mean(value, spec.choices) if isinstance(value, str) else ''}")
    low, high = spec.low, spec.high
    if (low is not None and value < low) or (high is not None and value > high):
        if high is None:
            return f"must be at least {low:g}, not {value:g}"
        return f"must be between {low:g} and {high:g}, not {value:g}"
    return spec.check(value) if spec.check else None
