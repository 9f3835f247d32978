"""Positions of keys in a TOML file, so diagnostics and rule sources can say `file:line:col`.

tomllib gives values but no positions. This scanner follows table headers and `key = value`
lines (including keys inside one-line inline tables) and maps each key path, e.g.
("rules", 3, "when"), to the 1-based line and column of the key.
"""

from __future__ import annotations

import re

KeyPath = tuple[str | int, ...]

_HEADER = re.compile(r"^\s*(\[\[?)\s*([^\]]+?)\s*\]\]?\s*(#.*)?$")
_KEY = re.compile(r"^(\s*)([A-Za-z0-9_\-]+|\"[^\"]*\")\s*=\s*(.*)$")
_INLINE_KEY = re.compile(r"([A-Za-z0-9_\-]+|\"[^\"]*\")\s*=")


def _split_dotted(name: str) -> list[str]:
    return [part.strip().strip('"') for part in name.split(".")]


class Locator:
    """Maps key paths to (line, col)."""

    def __init__(self, text: str) -> None:
        self.positions: dict[KeyPath, tuple[int, int]] = {}
        self._scan(text)

    def _scan(self, text: str) -> None:
        counters: dict[KeyPath, int] = {}
        current: KeyPath = ()
        in_multiline: str | None = None
        depth = 0  # bracket depth of a multi-line array value
        for lineno, line in enumerate(text.splitlines(), start=1):
            if in_multiline:
                if line.count(in_multiline) % 2 == 1:
                    in_multiline = None
                continue
            if depth > 0:
                depth += _bracket_delta(line)
                continue
            header = _HEADER.match(line)
            if header and not _KEY.match(line):
                is_array = header.group(1) == "[["
                parts = _split_dotted(header.group(2))
                path: KeyPath = ()
                for part in parts[:-1]:
                    path = self._descend(path, part, counters)
                last = parts[-1]
                if is_array:
                    base = (*path, last)
                    index = counters.get(base, 0)
                    counters[base] = index + 1
                    current = (*base, index)
                else:
                    current = (*path, last)
                col = line.index(header.group(1)) + 1
                self.positions.setdefault(current, (lineno, col))
                continue
            key = _KEY.match(line)
            if not key:
                continue
            indent, name, rest = key.group(1), key.group(2).strip('"'), key.group(3)
            keypath = (*current, *_split_dotted(name))
            self.positions.setdefault(keypath, (lineno, len(indent) + 1))
            for quote in ('"""', "'''"):
                if rest.count(quote) % 2 == 1:
                    in_multiline = quote
            if rest.lstrip().startswith("{"):
                offset = line.index(rest)
                for inner in _INLINE_KEY.finditer(rest):
                    inner_path = (*keypath, inner.group(1).strip('"'))
                    self.positions.setdefault(inner_path, (lineno, offset + inner.start() + 1))
            depth = max(0, _bracket_delta(rest))

    def _descend(self, path: KeyPath, part: str, counters: dict[KeyPath, int]) -> KeyPath:
        """A dotted header segment: an array of tables resolves to its latest element."""
        base = (*path, part)
        if base in counters:
            return (*base, counters[base] - 1)
        return base

    def find(self, path: KeyPath) -> tuple[int, int]:
        """The position of `path`, or of its nearest located ancestor, or (1, 1)."""
        probe = path
        while probe:
            if probe in self.positions:
                return self.positions[probe]
            probe = probe[:-1]
        return (1, 1)


def _bracket_delta(text: str) -> int:
    """Open minus close brackets outside strings and comments."""
    delta = 0
    in_string: str | None = None
    for char in text:
        if in_string:
            if char == in_string:
                in_string = None
            continue
        if char in "\"'":
            in_string = char
        elif char == "#":
            break
        elif char in "[{":
            delta += 1
        elif char in "]}":
            delta -= 1
    return delta


def toml_position(message: str) -> tuple[int, int]:
    """(line, col) of a tomllib error message ("… (at line 3, column 7)"), else (1, 1)."""
    found = re.search(r"line (\d+), column (\d+)", message)
    return (int(found.group(1)), int(found.group(2))) if found else (1, 1)
