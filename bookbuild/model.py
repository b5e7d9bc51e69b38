"""The content model: small frozen objects that keep where they came from."""

from __future__ import annotations

import datetime as _dt
from dataclasses import dataclass, field
from pathlib import Path

from .errors import Pos

DIFFICULTIES = ("easy", "medium", "hard")
KINDS = ("knowledge", "open-ended")
FLAWS = ("ambiguous", "incorrect")
ANSWER_MODES = ("appendix", "inline", "none")
FORMATS = ("html", "epub", "pdf")
PAGE_SIZES = ("a4", "letter", "6x9")
# the print edition (a paperback): trim sizes as print-on-demand services name them, width × height
TRIM_SIZES = {"5x8": ("5in", "8in"), "5.5x8.5": ("5.5in", "8.5in"), "6x9": ("6in", "9in"), "7x10": ("7in", "10in"),
              "8.5x11": ("8.5in", "11in"), "a5": ("148mm", "210mm"), "b5": ("176mm", "250mm")}
BLEEDS = ("none", "0.125in", "3mm")
PAPER_INCHES_PER_PAGE = {"white": 0.002252, "cream": 0.0025}  # a page's share of the spine's width


@dataclass(frozen=True)
class Text:
    """A field of book text (pandoc Markdown) and where its first character is."""

    value: str
    pos: Pos


@dataclass(frozen=True)
class Resource:
    title: str
    url: str
    note: str
    pos: Pos


@dataclass(frozen=True)
class Question:
    id: str
    topic: str
    difficulty: str
    kind: str
    prompt: Text
    answer: Text | None
    hint: Text | None
    group: str | None
    flaw: str | None
    tags: tuple[str, ...]
    pos: Pos
    fields: dict = field(default_factory=dict, compare=False, hash=False)  # key -> Pos
    misspelt: dict = field(default_factory=dict, compare=False, hash=False)  # key meant -> Pos of the misspelling

    def field_pos(self, key: str) -> Pos:
        return self.fields.get(key, self.pos)

    def texts(self) -> list[tuple[str, Text]]:
        """The Markdown fields of this question, by name."""
        out = [("prompt", self.prompt)]
        if self.hint:
            out.append(("hint", self.hint))
        if self.answer:
            out.append(("answer", self.answer))
        return out


@dataclass(frozen=True)
class Topic:
    id: str
    title: str
    resources: tuple[Resource, ...]
    questions: tuple[Question, ...]
    path: Path
    pos: Pos


@dataclass(frozen=True)
class Round:
    title: str
    questions: tuple[tuple[str, Pos], ...]
    pos: Pos


@dataclass(frozen=True)
class Interview:
    id: str
    title: str
    rounds: tuple[Round, ...]
    pos: Pos


@dataclass(frozen=True)
class Discarded:
    id: str
    prompt: Text
    reason: Text
    pos: Pos


@dataclass(frozen=True)
class Edition:
    name: str
    answers: str = "appendix"
    chapters: tuple[str, ...] | None = None
    watermark: str | None = None
    feedback: str | None = None
    url: str | None = None
    pos: Pos | None = None


@dataclass(frozen=True)
class PrintSettings:
    """book.yaml `print:`, the paperback (`--edition print`)."""

    trim: str = "6x9"  # a key of TRIM_SIZES
    bleed: str = "none"  # one of BLEEDS
    paper: str = "white"  # a key of PAPER_INCHES_PER_PAGE
    isbn: str | None = None  # ISBN-13, digits only, check digit verified
    price: str | None = None
    icc_profile: str | None = None  # relative to book/: makes the interior PDF/X-3
    blurb: str | None = None  # back-cover text, pandoc Markdown
    pos: Pos | None = None


@dataclass(frozen=True)
class Part:
    """Chapters under a part title; a book without parts has one part whose title is None."""

    title: str | None
    chapters: tuple[tuple[str, Pos], ...]
    pos: Pos
    intro: tuple[str, Pos] | None = None  # a chapter file printed after the part's opener, unnumbered


@dataclass(frozen=True)
class BookMeta:
    title: str
    slug: str
    author: str
    language: str
    identifier: str
    version: str
    date: _dt.date | None
    page_size: str
    parts: tuple[Part, ...]
    editions: dict[str, Edition]
    path: Path
    pos: Pos
    print: PrintSettings | None = None  # book.yaml `print:`: the book has a paperback edition
    front: tuple[tuple[str, Pos], ...] = ()  # unnumbered chapters before the first part
    appendices: tuple[tuple[str, Pos], ...] = ()  # chapters after the last part, lettered A, B, …

    def listed(self) -> list[tuple[str, Pos, str]]:
        """Every chapter file book.yaml lists, in book order, with its role (see Chapter.role)."""
        out = [(name, pos, "front") for name, pos in self.front]
        for part in self.parts:
            if part.intro:
                out.append((*part.intro, "intro"))
            out.extend((name, pos, "main") for name, pos in part.chapters)
        return out + [(name, pos, "appendix") for name, pos in self.appendices]


@dataclass(frozen=True)
class Block:
    """A placement block in a chapter: questions, an interview or the discarded list."""

    kind: str  # questions | interview | discarded
    attrs: dict
    pos: Pos
    start: int  # first line (0-based) of the block in the chapter text
    end: int  # one past its last line
    heading_level: int  # level of the chapter heading it sits under (source levels)


@dataclass(frozen=True)
class Chapter:
    file: str  # file name as listed in book.yaml, e.g. "probability.md"
    path: Path
    text: str
    title: str
    blocks: tuple[Block, ...]
    pos: Pos
    # front (before the first part, unnumbered), intro (a part's introduction, unnumbered),
    # main (numbered 1, 2, …) or appendix (lettered A, B, …)
    role: str = "main"

    @property
    def numbered(self) -> bool:
        return self.role in ("main", "appendix")


@dataclass(frozen=True)
class Book:
    root: Path
    meta: BookMeta
    chapters: tuple[Chapter, ...]  # in book order
    topics: dict[str, Topic]
    interviews: dict[str, Interview]
    discarded: tuple[Discarded, ...]

    @property
    def questions(self) -> dict[str, Question]:
        return {q.id: q for t in self.topics.values() for q in t.questions}


def chapter_labels(book: Book) -> dict[str, str]:
    """The number or letter each numbered chapter prints ("5", "A"), by file: main chapters are
    numbered from 1 across parts, appendices lettered from A; front matter and part introductions
    have none."""
    from .filters._text import appendix_letter  # the number filter's own lettering (panflute: not at start-up)

    labels: dict[str, str] = {}
    main = appendix = 0
    for chapter in book.chapters:
        if chapter.role == "main":
            main += 1
            labels[chapter.file] = str(main)
        elif chapter.role == "appendix":
            appendix += 1
            labels[chapter.file] = appendix_letter(appendix)
    return labels


def select_questions(topic: Topic, attrs: dict) -> list[Question]:
    """The questions of `topic` that a questions block with `attrs` places, in bank order."""
    def wanted(key: str) -> set[str] | None:
        value = attrs.get(key)
        return {v.strip() for v in value.split(",") if v.strip()} if value else None

    difficulty, tags, kinds = wanted("difficulty"), wanted("tags"), wanted("kind")
    group = attrs.get("group")  # one group, matched whole: group titles may contain commas
    return [
        q for q in topic.questions
        if (difficulty is None or q.difficulty in difficulty)
        and (tags is None or tags & set(q.tags))
        and (group is None or q.group == group.strip())
        and (kinds is None or q.kind in kinds)
    ]
