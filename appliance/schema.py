"""A tiny schema checker for TOML tables: every problem collected, with did-you-mean.

Each section is read with a `Section` that records 'section.key: message' lines instead of
raising, so a person sees every mistake in one run.
"""
from __future__ import annotations

import difflib
from typing import Any, Iterable


class Problems(list):
    def add(self, where: str, message: str):
        self.append(f"{where}: {message}")


def unknown_keys(where: str, table: dict, known: Iterable[str], problems: Problems):
    known = list(known)
    for key in table:
        if key not in known:
            close = difflib.get_close_matches(key, known, n=1)
            hint = f" (did you mean {close[0]!r}?)" if close else ""
            problems.add(f"{where}{'.' if where else ''}{key}", f"unknown key{hint}")


class Section:
    """Typed reads from one TOML table, collecting problems rather than raising."""

    def __init__(self, name: str, table: Any, problems: Problems):
        self.name = name
        self.problems = problems
        self.known: list[str] = []
        if table is None:
            table = {}
        if not isinstance(table, dict):
            problems.add(name, "must be a table")
            table = {}
        self.table = table

    def _where(self, key):
        return f"{self.name}.{key}" if self.name else key

    def _get(self, key, default, types, type_name):
        self.known.append(key)
        if key not in self.table:
            return default, False
        value = self.table[key]
        if isinstance(value, bool) and bool not in types:
            self.problems.add(self._where(key), f"must be {type_name}, not {value!r}")
            return default, False
        if not isinstance(value, types):
            self.problems.add(self._where(key), f"must be {type_name}, not {value!r}")
            return default, False
        return value, True

    def number(self, key, default, low=None, high=None):
        value, ok = self._get(key, default, (int, float), "a number")
        if ok and ((low is not None and value < low) or (high is not None and value > high)):
            self.problems.add(self._where(key),
                              f"must be between {low:g} and {high:g}, not {value:g}"
                              if high is not None else f"must be at least {low:g}, not {value:g}")
            return default
        return value

    def boolean(self, key, default):
        return self._get(key, default, (bool,), "true or false")[0]

    def string(self, key, default, choices=None):
        value, ok = self._get(key, default, (str,), "a string")
        if ok and choices is not None and value not in choices:
            close = difflib.get_close_matches(value, list(choices), n=1)
            hint = f" (did you mean {close[0]!r}?)" if close else ""
            self.problems.add(self._where(key),
                              f"must be one of {', '.join(choices)}, not {value!r}{hint}")
            return default
        return value

    def raw(self, key, default=None):
        self.known.append(key)
        return self.table.get(key, default)

    def finish(self):
        unknown_keys(self.name, self.table, self.known, self.problems)
