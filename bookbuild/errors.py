"""Diagnostics: every problem in a book, with its file, line and column."""

from __future__ import annotations

import difflib
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable


@dataclass(frozen=True, order=True)
class Pos:
    """A position in a source file (1-based line and column)."""

    path: str
    line: int = 1
    col: int = 1

    def shifted(self, lines: int, col: int | None = None) -> "Pos":
        """The position `lines` further down, at column `col` (default: keep)."""
        return Pos(self.path, self.line + lines, self.col if col is None else col)

    def __str__(self) -> str:
        return f"{printable(display_path(self.path))}:{self.line}:{self.col}"


# what must not reach a terminal raw: a newline would split a diagnostic over lines, an escape
# sequence would act on the terminal (C0, DEL, C1, line and paragraph separators, lone surrogates)
_UNPRINTABLE = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029\ud800-\udfff]")


def printable(text: str) -> str:
    """`text` on one line: control characters written as escapes (`\\n`, `\\x1b`)."""
    return _UNPRINTABLE.sub(lambda m: repr(m.group(0))[1:-1], text)


def clip(value: object, limit: int = 60) -> str:
    """A value as a message names it without quotes (a tag, a command), cut to about `limit`
    characters ('aaaa...')."""
    text = str(value)
    return text if len(text) <= limit else text[:limit] + "..."


def shorten(value: object, limit: int = 60) -> str:
    """A value as a message quotes it (repr), cut to about `limit` characters ('aaaa...')."""
    text = str(value)
    if len(text) <= limit:
        return repr(text)
    quoted = repr(text[:limit])
    return quoted[:-1] + "..." + quoted[-1]


def display_path(path: str) -> str:
    """A path as a user should read it: relative to the working directory when below it."""
    try:
        rel = os.path.relpath(path)
    except ValueError:
        return path
    return path if rel.startswith("..") else rel


@dataclass(frozen=True)
class Diagnostic:
    pos: Pos
    message: str
    severity: str = "error"  # error | warning

    def __str__(self) -> str:
        return f"{self.pos}: {self.severity}: {printable(self.message)}"


@dataclass
class Report:
    """Collects diagnostics so that one run reports every problem."""

    items: list[Diagnostic] = field(default_factory=list)

    def error(self, pos: Pos, message: str) -> None:
        self.items.append(Diagnostic(pos, message, "error"))

    def warning(self, pos: Pos, message: str) -> None:
        self.items.append(Diagnostic(pos, message, "warning"))

    def extend(self, other: "Report") -> None:
        self.items.extend(other.items)

    @property
    def errors(self) -> list[Diagnostic]:
        return [d for d in self.items if d.severity == "error"]

    @property
    def warnings(self) -> list[Diagnostic]:
        return [d for d in self.items if d.severity == "warning"]

    def strict(self) -> "Report":
        """The same report with every warning made an error (--strict)."""
        return Report([Diagnostic(d.pos, d.message, "error") for d in self.items])

    def sorted(self) -> list[Diagnostic]:
        seen: set[Diagnostic] = set()
        out = []
        for d in sorted(self.items, key=lambda d: (d.pos.path, d.pos.line, d.pos.col, d.message)):
            if d not in seen:
                seen.add(d)
                out.append(d)
        return out


class Located(str):
    """A message that knows the place it is about (`pos`), as a builder's warnings do: the build
    reports it there (else at book.yaml)."""

    pos: Pos

    def __new__(cls, message: str, pos: Pos) -> "Located":
        located = super().__new__(cls, message)
        located.pos = pos
        return located


class BookError(Exception):
    """A problem in the book or in what the user asked for: reported, never a traceback."""

    def __init__(self, message: str = "", report: Report | None = None):
        super().__init__(message)
        self.message = message
        self.report = report or Report()


class NotADraft(BookError):
    """`--mark-sent` given for an edition that is not a draft: a malformed command line."""


def file_pos(path: Path | str) -> Pos:
    return Pos(str(path), 1, 1)


def did_you_mean(names: str | Iterable[str], candidates: Iterable, cutoff: float = 0.6) -> str:
    """The tail "; did you mean 'x'?" when one of `candidates` is close to `names` (a typo), else "".

    Every message that says a name is not there ends with it. Several names not there get the
    close match of each ("; did you mean 'a' or 'b'?").
    """
    candidates = list(candidates)
    close = [c for c in dict.fromkeys(close_match(n, candidates, cutoff)
                                      for n in ([names] if isinstance(names, str) else names)) if c]
    if not close:
        return ""
    quoted = [repr(c) for c in close]
    return f"; did you mean {quoted[0] if len(quoted) == 1 else ', '.join(quoted[:-1]) + ' or ' + quoted[-1]}?"


def close_match(name: str, candidates, cutoff: float = 0.6) -> str | None:
    """The one of `candidates` closest to `name`, when it is close enough to be what was meant."""
    close = difflib.get_close_matches(name, [str(c) for c in candidates if c != name], n=1, cutoff=cutoff)
    return close[0] if close else None


def plural(count: int, noun: str, nouns: str | None = None) -> str:
    """A count with its noun: "1 chapter", "3 chapters", "0 chapters" ("2 queries" with `nouns`)."""
    return f"{count} {noun if count == 1 else (nouns or noun + 's')}"
