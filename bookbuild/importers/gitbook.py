"""Import a GitBook or HonKit book as a bookbuild book root (`bookbuild import-gitbook SRC --out DIR`).

A GitBook source is a SUMMARY.md (the table of contents) and Markdown pages whose questions are
nested lists tagged [E], [M] or [H]. The import reads top to bottom:

    SUMMARY.md → parts, chapters and sections → pages read, their headings labelled
    → each page converted (footnotes, figures, images, links, math, headings, question lists)
    → book.yaml, chapters, topic files and images written into a fresh folder, renamed into place

Everything is parsed line by line (no pandoc): the author's Markdown is kept as written, and
every warning names the file and line of the source.

Decisions where GitBook and bookbuild differ:

- Parts. A `## Heading` in SUMMARY.md starts a part; its top-level entries are chapters and
  deeper entries are sections of their chapter (their page follows the chapter's page in the
  chapter file, headings shifted down). Without such headings, a top-level entry with children
  is a part (its own page, if any, is the part's first chapter) and consecutive top-level
  entries without children are gathered into a part named after the first of them.
  Entries before the first heading form a part the same way. `---` separators are ignored.
- Headings. A page's first line, when it is a heading above all the page's others, is its
  title; otherwise the SUMMARY title is used. The other headings are shifted to sit below it.
  Every heading gets a `{#sec:...}` label (`sec:<page>` for the title); GitBook's anchors
  (`page.md#anchor`) map to them.
- Questions. A list holding at least one tagged item is a question list. A tagged item is a
  question: its untagged sub-items stay in its prompt as a sub-list, its tagged ones become
  questions of their own after it. An untagged item whose sub-items hold questions (tagged, or
  ending with '?') is a group: its text, joined to its enclosing groups' with " / ", is the
  `group:` of the questions below it. Any other untagged item of a question list is imported
  as a medium question, with a warning. `**Hint**:` (a line of the item or a sub-item) is `hint:`.
- Placement. Each question list becomes one questions block where the list was. On a page with
  several lists, each list's questions are tagged with the slug of the heading above it, and its
  block takes them with `tags=`.
- Ids: the prompt's first four significant words, slugified; `-2`, `-3`... on collision.
- Math: `$$...$$` alone on its line(s) stays display math; inside running text it becomes
  `$...$`. A single `$` is a dollar sign in GitBook, so it gets a backslash before it.
- Footnotes of section pages are renamed `<page>-<label>` (a chapter file holds several pages
  and footnote labels are per file). A reference with no definition is dropped.
- Links to another page become "text (@sec:label)". Links that cannot be followed (missing,
  outside the source, not in SUMMARY.md) keep their text only.
- Images are copied flat into book/images/ (a name taken twice gets its folder as a prefix).
  `<center><img ...></center>` and other `<img>` tags become Markdown images (alt, else the
  caption text, as the caption). Remote images become links; missing or outside ones are dropped.
- Tabs in indentation are expanded to 4 columns (YAML refuses tabs).
- book.yaml takes title, author and language from book.json (title else the README's heading,
  else the folder's name). Without an author it says "Unknown author", with a warning: an EPUB
  needs a creator. The imported book publishes questions only: `editions: {release: {answers: none}}`.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import tempfile
import unicodedata
import uuid
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import unquote

import yaml

from ..errors import BookError, Pos, Report, plural
from ..markdown import is_remote
from ..model import DIFFICULTIES
from ..sources import read_text
from ..validate import IMAGE_SUFFIXES  # what a book may show is what an import may bring

SKIPPED_DIRS = {"_book", "node_modules"}  # GitBook's build output and its plugins
RESERVED_TOPICS = {"interviews", "discarded"}  # questions/<name>.yaml has another meaning
TAG_DIFFICULTY = {"E": "easy", "M": "medium", "H": "hard"}

_FENCE = re.compile(r"^\s*(`{3,}|~{3,})(.*)$")
_ATX = re.compile(r"^ {0,3}(#{1,6})(?:[ \t]+(.*?))?(?:[ \t]+#+)?[ \t]*$")
_SETEXT = re.compile(r"^ {0,3}(=+|-+)[ \t]*$")
_TRAILING_ATTRS = re.compile(r"\s*\{([^{}]*)\}\s*$")
_ITEM = re.compile(r"^(?P<indent> *)(?P<marker>[-*+]|\d{1,9}[.)])(?P<gap>[ \t]+|$)(?P<text>.*)$")
_TAG = re.compile(r"^(?:\*\*)?\[([EMH])\](?:\*\*)?(?!\()\s*", re.I)
_HINT = re.compile(r"^(?:\*\*hint\*\*\s*:|\*\*hint\s*:\*\*|__hint__\s*:|__hint\s*:__|\*hint\*\s*:|\*hint\s*:\*"
                   r"|_hint_\s*:|hint\s*:)\s*", re.I)
_CODE_SPAN = re.compile(r"(`+)(?!`).+?(?<!`)\1(?!`)")
_DOLLARS = re.compile(r"(?<!\\)\$\$")
_SINGLE_DOLLAR = re.compile(r"(?<![\\$])\$(?!\$)")
_ALONE_PREFIX = re.compile(r"^\s*(?:>\s*)*(?:(?:[-*+]|\d{1,9}[.)])\s+)?$")
_FOOTNOTE_DEF = re.compile(r"^( {0,3})\[\^([^\]\s]+)\]:")
_FOOTNOTE_REF = re.compile(r"\[\^([^\]\s]+)\]")
_IMAGE = re.compile(r'!\[((?:[^\[\]\\]|\\.)*)\]\(\s*<?([^\s)>]*)>?(?:\s+"[^"]*")?\s*\)(\{[^{}\n]*\})?')
_LINK = re.compile(r'(?<![!\]])\[((?:[^\[\]\\]|\\.)*)\]\(\s*<?([^\s)>]*)>?(?:\s+"[^"]*")?\s*\)')
_IMAGE_LINE = re.compile(r'^\s*!\[(?:[^\[\]\\]|\\.)*\]\([^)]*\)(\{[^{}]*\})?\s*$')
_HTML_IMG = re.compile(r"<img\b([^>]*)>", re.I)
_HTML_ATTR = re.compile(r"""([\w:-]+)\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s"'>]+))""")
_FIGURE_OPEN = re.compile(r"^\s*<(center|p|div|figure)\b[^>]*>", re.I)
_HTML_TAG = re.compile(r"<[^>]+>")
_SUMMARY_ITEM = re.compile(r"^(?P<indent>[ \t]*)(?:[-*+]|\d{1,9}[.)])[ \t]+(?P<text>.*?)\s*$")
_SUMMARY_LINK = re.compile(r"^\[((?:[^\]\\]|\\.)*)\]\(\s*<?([^)>]*?)>?\s*\)")
_STOPWORDS = frozenset("""
    a an the of to in on for and or not is are was were be been being do does did what whats which who
    whom whose why how when where can could would should will shall may might must you your we our us it
    its this that these those given if as at by with from into than then there their they them i me my s t
    some any such one two about explain describe
""".split())
MAX_FIGURE_LINES = 20  # an HTML figure wrapper longer than this is left alone
MAX_CAPTION = 200


# ---------------------------------------------------------------------------------------------
# The model of an import


@dataclass
class SourceLine:
    """One line of a page, as converted so far, with the line it came from."""

    text: str
    number: int  # 1-based line in the source file (0: a line the importer added)
    code: bool = False  # inside, or fencing, a code block
    shift: int = 0  # columns added by expanding tabs in the indentation

    def col(self, index: int) -> int:
        """The source column (1-based) of character `index` of `text`."""
        return max(1, index + 1 - self.shift)


@dataclass
class SummaryEntry:
    title: str
    link: str | None  # as written in SUMMARY.md; None for an entry without a page
    pos: Pos
    children: list["SummaryEntry"] = field(default_factory=list)


@dataclass
class SummaryPart:
    title: str | None  # None: the entries before the first part heading
    entries: list[SummaryEntry]


@dataclass
class PageHeading:
    number: int  # line of the heading's text
    level: int  # as written
    label: str  # sec:...
    underline: int | None = None  # the line under a setext heading


@dataclass
class ImportedQuestion:
    id: str
    difficulty: str
    prompt: str
    hint: str | None
    group: str | None
    pos: Pos
    tagged: bool
    tags: list[str] = field(default_factory=list)

    def as_yaml(self) -> dict:
        out: dict = {"id": self.id, "difficulty": self.difficulty}
        if self.group:
            out["group"] = self.group
        out["prompt"] = self.prompt
        if self.hint:
            out["hint"] = self.hint
        if self.tags:
            out["tags"] = self.tags
        return out


@dataclass
class GitbookPage:
    """A page of the source (or, with no path, a SUMMARY entry that is only a heading)."""

    path: Path | None
    title: str  # the SUMMARY title
    depth: int  # 0: a chapter; 1, 2...: a section of it
    pos: Pos  # its SUMMARY entry
    lines: list[SourceLine] = field(default_factory=list)
    slug: str = ""
    headings: list[PageHeading] = field(default_factory=list)
    anchors: dict[str, str] = field(default_factory=dict)  # GitBook anchor → label
    titled: bool = False  # its first line is a heading (its title)
    questions: list[ImportedQuestion] = field(default_factory=list)

    @property
    def label(self) -> str:
        return f"sec:{self.slug}"

    @property
    def display_title(self) -> str:
        """The title the chapter shows: the page's own heading, else its SUMMARY title."""
        if self.titled and self.headings:
            first = self.lines[self.headings[0].number - 1].text
            return _heading_text(first) or self.title
        return self.title


@dataclass
class ImportedChapter:
    pages: list[GitbookPage]  # the chapter's own page first, then its sections in order

    @property
    def file(self) -> str:
        return f"{self.pages[0].slug}.md"


@dataclass
class ImportedPart:
    title: str
    chapters: list[ImportedChapter]


@dataclass
class ListItem:
    """A list item of a page: its own text (dedented to its content column) and its sub-items."""

    marker: str
    indent: int  # columns before the marker
    content_indent: int  # columns before the item's text
    line: SourceLine  # the marker's line
    col: int  # the marker's source column
    lines: list[str]
    children: list["ListItem"] = field(default_factory=list)

    def descendants(self):
        for child in self.children:
            yield child
            yield from child.descendants()


@dataclass
class ImportContext:
    """What every page's conversion shares: the source root, the report, names already taken."""

    src: Path
    report: Report
    pages: dict[Path, GitbookPage] = field(default_factory=dict)  # the pages imported
    listed: set[Path] = field(default_factory=set)  # every file SUMMARY.md names, read or not
    images: dict[Path, str] = field(default_factory=dict)  # source file → name in book/images
    labels: set[str] = field(default_factory=set)
    question_ids: set[str] = field(default_factory=set)

    def warn(self, path: Path | str, line: int, col: int, message: str) -> None:
        self.report.warning(Pos(str(path), max(line, 1), col), message)

    def image_name(self, source: Path) -> str:
        """The file name `source` gets in book/images/ (taken once per source file)."""
        if source not in self.images:
            taken = set(self.images.values())
            name = _file_slug(source.name)
            if name in taken and source.parent != self.src:
                name = _file_slug(f"{source.parent.name}-{source.name}")
            stem, suffix = os.path.splitext(name)
            n = 2
            while name in taken:
                name, n = f"{stem}-{n}{suffix}", n + 1
            self.images[source] = name
        return self.images[source]

    def unique_label(self, base: str) -> str:
        label, n = base, 2
        while label in self.labels:
            label, n = f"{base}-{n}", n + 1
        self.labels.add(label)
        return label


@dataclass
class ImportResult:
    out: Path
    report: Report
    parts: list[ImportedPart]

    @property
    def pages(self) -> list[GitbookPage]:
        return [p for part in self.parts for c in part.chapters for p in c.pages if p.path]

    @property
    def questions(self) -> list[ImportedQuestion]:
        return [q for page in self.pages for q in page.questions]

    def by_difficulty(self) -> dict[str, int]:
        counts = Counter(q.difficulty for q in self.questions)
        return {d: counts[d] for d in DIFFICULTIES}

    def summary(self) -> str:
        chapters = sum(len(p.chapters) for p in self.parts)
        counts = ", ".join(f"{n} {d}" for d, n in self.by_difficulty().items())
        warnings = len(self.report.warnings)
        return (f"imported {plural(len(self.pages), 'page')} into {self.out}: {plural(len(self.parts), 'part')}, "
                f"{plural(chapters, 'chapter')}, {plural(len(self.questions), 'question')} ({counts}); "
                f"{plural(warnings, 'warning')}\n"
                f"next: python build.py check --book {self.out}")


# ---------------------------------------------------------------------------------------------
# The import, top to bottom


def import_gitbook(src: Path, out: Path) -> ImportResult:
    """Import the GitBook book at `src` into the new book root `out`; BookError if it cannot."""
    src_root, config, config_path = _source_root(src)
    out = _target(out, src_root)
    ctx = ImportContext(src_root, Report())
    parts = plan_parts(read_summary(src_root / "SUMMARY.md", ctx), ctx)
    if not parts:
        raise BookError(f"no page listed in {src_root / 'SUMMARY.md'} could be imported", ctx.report)
    pages = [p for part in parts for c in part.chapters for p in c.pages]
    _assign_slugs(pages, ctx)
    for page in pages:
        _label_headings(page, ctx)
    chapter_texts = {c.file: "\n".join(PageConverter(p, ctx).convert() for p in c.pages)
                     for part in parts for c in part.chapters}
    _warn_unlisted_files(ctx)
    result = ImportResult(out, ctx.report, parts)
    book_yaml = _book_yaml(config, config_path, parts, ctx)
    _write_book(out, book_yaml, chapter_texts, _topic_files(pages, src_root), ctx)
    return result


def _source_root(src: Path) -> tuple[Path, dict, Path]:
    """The folder holding SUMMARY.md (book.json may move it with `root`), book.json's settings and path."""
    if not src.exists():
        raise BookError(f"{src} does not exist: give the folder of a GitBook book (the one holding SUMMARY.md)")
    if not src.is_dir():
        raise BookError(f"{src} is not a folder: give the folder of a GitBook book (the one holding SUMMARY.md)")
    src = src.resolve()
    config = _read_book_json(src / "book.json")
    root = src
    if isinstance(config.get("root"), str):
        root = (src / config["root"]).resolve()
        if not root.is_relative_to(src) or not root.is_dir():
            raise BookError(f"book.json's root {config['root']!r} is not a folder inside {src}")
    if not (root / "SUMMARY.md").is_file():
        raise BookError(f"{root} has no SUMMARY.md: is it a GitBook book? (the table of contents is required)")
    return root, config, src / "book.json"


def _read_book_json(path: Path) -> dict:
    if not path.is_file():
        return {}
    scratch = Report()
    text = read_text(path, scratch)
    try:
        data = json.loads(text) if text is not None else {}
    except json.JSONDecodeError as exc:
        raise BookError(f"{path}:{exc.lineno}:{exc.colno}: book.json is not valid JSON: {exc.msg}") from None
    return data if isinstance(data, dict) else {}


def _target(out: Path, src_root: Path) -> Path:
    out = out.resolve()
    if out.exists() and not out.is_dir():
        raise BookError(f"--out {out} is a file; give a new folder for the imported book")
    if out.is_dir() and any(out.iterdir()):
        raise BookError(f"--out {out} is not empty; give a new or empty folder (the import never overwrites)")
    if out.is_relative_to(src_root) or src_root.is_relative_to(out):
        raise BookError(f"--out {out} overlaps the source {src_root}; write the imported book elsewhere")
    return out


# ---------------------------------------------------------------------------------------------
# SUMMARY.md → parts, chapters and sections


def read_summary(path: Path, ctx: ImportContext) -> list[SummaryPart]:
    """SUMMARY.md as parts (one per `##` heading) of nested entries."""
    lines = _source_lines(_read_source(path, ctx) or "")
    parts = [SummaryPart(None, [])]
    stack: list[tuple[int, SummaryEntry]] = []
    for line in lines:
        if line.code:
            continue
        heading = _ATX.match(line.text)
        if heading:
            if len(heading.group(1)) > 1:  # `# Summary` is the file's own title
                parts.append(SummaryPart(_heading_text(line.text), []))
                stack = []
            continue
        m = _SUMMARY_ITEM.match(line.text)
        if not m:
            continue
        indent = len(m.group("indent"))
        pos = Pos(str(path), line.number, line.col(indent))
        link = _SUMMARY_LINK.match(m.group("text"))
        if link:
            entry = SummaryEntry(_unescape(link.group(1)).strip(), link.group(2).strip() or None, pos)
        else:
            entry = SummaryEntry(_plain(m.group("text")), None, pos)
        while stack and indent <= stack[-1][0]:
            stack.pop()
        (stack[-1][1].children if stack else parts[-1].entries).append(entry)
        stack.append((indent, entry))
    return [p for p in parts if p.entries]


def plan_parts(summary: list[SummaryPart], ctx: ImportContext) -> list[ImportedPart]:
    """The book's parts and chapters, each page read (or warned about) once."""
    parts: list[ImportedPart] = []
    run: ImportedPart | None = None  # the part gathering consecutive childless top-level entries

    def add(title: str, chapters: list[ImportedChapter]) -> None:
        if chapters:
            parts.append(ImportedPart(title, chapters))

    if any(p.title for p in summary):
        for part in summary:
            chapters = [c for e in part.entries if (c := _chapter(e, ctx))]
            add(part.title or part.entries[0].title, chapters)
        return parts
    for entry in summary[0].entries if summary else []:
        if entry.children:
            run = None
            own = _chapter(SummaryEntry(entry.title, entry.link, entry.pos), ctx) if entry.link else None
            add(entry.title, [c for c in [own, *(_chapter(e, ctx) for e in entry.children)] if c])
            continue
        chapter = _chapter(entry, ctx)
        if chapter and run is not None:
            run.chapters.append(chapter)
        elif chapter:
            run = ImportedPart(entry.title, [chapter])
            parts.append(run)
    return parts


def _chapter(entry: SummaryEntry, ctx: ImportContext) -> ImportedChapter | None:
    """A top-level entry and the entries below it, as a chapter and its sections."""
    pages: list[GitbookPage] = []

    def visit(e: SummaryEntry, depth: int) -> None:
        page = _page(e, depth, ctx)
        if page is None and e.children:  # keep the entry's title as the heading of its sub-pages
            page = GitbookPage(None, e.title, depth, e.pos)
        if page is not None:
            pages.append(page)
        for child in e.children:
            visit(child, depth + 1)

    visit(entry, 0)
    return ImportedChapter(pages) if any(p.path for p in pages) else None


def _page(entry: SummaryEntry, depth: int, ctx: ImportContext) -> GitbookPage | None:
    """The page a SUMMARY entry names, read; None (with a warning) when it cannot be imported."""
    if entry.link is None:
        return None
    where = f"SUMMARY entry {entry.title!r}"
    if is_remote(entry.link):
        ctx.report.warning(entry.pos, f"{where} links to {entry.link}, outside the book; it is skipped")
        return None
    target = (ctx.src / unquote(entry.link.split("#", 1)[0].split("?", 1)[0]).lstrip("/")).resolve()
    if not target.is_relative_to(ctx.src):
        ctx.report.warning(entry.pos, f"{where} points at {entry.link}, outside the book source; it is skipped")
        return None
    if target.is_dir():
        target = target / "README.md"
    if not target.is_file():
        ctx.report.warning(entry.pos, f"{where} points at {entry.link}, which does not exist; it is skipped")
        return None
    if target.suffix.lower() not in (".md", ".markdown"):
        ctx.report.warning(entry.pos, f"{where} points at {entry.link}, which is not a Markdown page; it is skipped")
        return None
    if target in ctx.listed:
        ctx.report.warning(entry.pos, f"{where} lists {entry.link} a second time; only the first is imported")
        return None
    ctx.listed.add(target)
    text = _read_source(target, ctx)
    if text is None:
        return None
    page = GitbookPage(target, entry.title, depth, entry.pos, _source_lines(text))
    ctx.pages[target] = page
    return page


def _read_source(path: Path, ctx: ImportContext) -> str | None:
    """A source file's text; what stops reading it is a warning here (the import goes on)."""
    scratch = Report()
    text = read_text(path, scratch)
    for d in scratch.items:
        ctx.report.warning(d.pos, d.message + ("" if text is not None else "; the page is skipped"))
    return text


def _source_lines(text: str) -> list[SourceLine]:
    """The lines of a page, tabs in indentation expanded, code lines marked (fences at any indent)."""
    out = []
    fence: str | None = None
    for number, raw in enumerate(text.split("\n"), 1):
        indent = raw[: len(raw) - len(raw.lstrip(" \t"))]
        expanded = indent.expandtabs(4)
        body = raw[len(indent):].rstrip()
        hard_break = "  " if body and raw.endswith("  ") else ""  # Markdown's line break: kept
        line = SourceLine(expanded + body + hard_break, number, shift=len(expanded) - len(indent))
        m = _FENCE.match(line.text)
        if fence is None:
            if m and not (m.group(1)[0] == "`" and "`" in m.group(2)):
                fence = m.group(1)
                line.code = True
        else:
            line.code = True
            if m and m.group(1)[0] == fence[0] and len(m.group(1)) >= len(fence) and not m.group(2).strip():
                fence = None
        out.append(line)
    return out


def _assign_slugs(pages: list[GitbookPage], ctx: ImportContext) -> None:
    """Each page's slug: chapter file, topic id and label base. Short (file name) when unique."""
    def short(page: GitbookPage) -> str:
        if page.path is None:
            return _slug(page.title) or "page"
        rel = page.path.relative_to(ctx.src)
        if rel.stem.lower() in ("readme", "index"):
            return (_slug(rel.parent.name) if rel.parent.name else _slug(page.title)) or "page"
        return _slug(rel.stem) or "page"

    def long(page: GitbookPage) -> str:
        if page.path is None:
            return _slug(page.title) or "page"
        rel = page.path.relative_to(ctx.src).with_suffix("")
        return _slug(" ".join(rel.parts)) or "page"

    counts = Counter(short(p) for p in pages)
    for page in pages:
        base = short(page) if counts[short(page)] == 1 else long(page)
        if base in RESERVED_TOPICS:
            base = f"{base}-questions"
        page.slug = ctx.unique_label(f"sec:{base}").removeprefix("sec:")


def _label_headings(page: GitbookPage, ctx: ImportContext) -> None:
    """Give every heading of the page a `sec:` label; map GitBook's anchors (and `{#id}`s) to them.

    The page's first line is its title when it is a heading above all the others; a page that
    opens with the first of several sibling headings gets its SUMMARY title instead.
    """
    found = []  # (index, level, text, is setext)
    i = 0
    while i < len(page.lines):
        heading = _heading_at(page.lines, i)
        if heading:
            found.append((i, *heading))
        i += 2 if heading and heading[2] else 1
    first = next((i for i, line in enumerate(page.lines) if line.text.strip()), None)
    page.titled = bool(found) and found[0][0] == first and all(level > found[0][1] for _, level, _, _ in found[1:])
    seen: Counter = Counter()
    for n, (i, level, text, setext) in enumerate(found):
        title = _heading_text(text)
        if n == 0 and page.titled:
            label = page.label  # reserved with the page's slug
        else:
            label = ctx.unique_label(f"{page.label}-{_slug(title) or 'section'}")
        underline = page.lines[i + 1].number if setext else None
        page.headings.append(PageHeading(page.lines[i].number, level, label, underline))
        anchor = _gitbook_anchor(title)
        seen[anchor] += 1
        page.anchors.setdefault(anchor if seen[anchor] == 1 else f"{anchor}-{seen[anchor] - 1}", label)
        attrs = _TRAILING_ATTRS.search(text)
        custom = re.search(r"#([\w:.-]+)", attrs.group(1)) if attrs else None
        if custom:
            page.anchors.setdefault(custom.group(1).lower(), label)


def _heading_at(lines: list[SourceLine], i: int) -> tuple[int, str, bool] | None:
    """(level, text, is setext) when line `i` is a heading outside code."""
    line = lines[i]
    if line.code:
        return None
    m = _ATX.match(line.text)
    if m:
        return len(m.group(1)), (m.group(2) or "").strip(), False
    if (i + 1 < len(lines) and not lines[i + 1].code and _SETEXT.match(lines[i + 1].text) and line.text.strip()
            and (i == 0 or not lines[i - 1].text.strip()) and not _ITEM.match(line.text)
            and not line.text.lstrip().startswith(("|", "<", ">", "!", "[")) and _width(line.text) < 4):
        return (1 if "=" in lines[i + 1].text else 2), line.text.strip(), True
    return None


# ---------------------------------------------------------------------------------------------
# One page → Markdown for its chapter file, and its questions


class PageConverter:
    """Converts one page: each step rewrites the page's lines, keeping their source line numbers."""

    def __init__(self, page: GitbookPage, ctx: ImportContext):
        self.page = page
        self.ctx = ctx

    def convert(self) -> str:
        if self.page.path is None:
            return f"{'#' * self._title_level()} {self.page.title} {{#{self.page.label}}}\n"
        lines = self._footnotes(self.page.lines)
        lines = self._figures(lines)
        for line in lines:
            if not line.code:
                line.text = _outside_code_spans(line.text, lambda seg, at, ln=line: self._inline(seg, at, ln))
        _convert_math(lines)
        lines = self._headings(lines)
        lines = self._questions(lines)
        return _markdown(lines)

    def warn(self, line: SourceLine, index: int, message: str) -> None:
        self.ctx.warn(self.page.path, line.number, line.col(index), message)

    # --- footnotes: undefined references dropped, unused definitions reported, labels made unique

    def _footnotes(self, lines: list[SourceLine]) -> list[SourceLine]:
        defined: dict[str, tuple[SourceLine, int]] = {}  # label → its definition's line and column
        for line in lines:
            d = None if line.code else _FOOTNOTE_DEF.match(line.text)
            if d:
                defined.setdefault(d.group(2), (line, d.start(2) - 2))
        used: set[str] = set()
        for line in lines:
            if line.code:
                continue
            d = _FOOTNOTE_DEF.match(line.text)
            head = f"{d.group(1)}[^{self._footnote_label(d.group(2))}]:" if d else ""
            offset = d.end() if d else 0
            body = _outside_code_spans(line.text[offset:], lambda segment, at: self._footnote_refs(
                segment, at + offset, line, defined, used))
            line.text = head + body
        for label, (line, col) in defined.items():
            if label not in used:
                self.warn(line, col, f"footnote [^{label}] is defined but never referenced")
        return lines

    def _footnote_refs(self, segment: str, at: int, line: SourceLine, defined: dict, used: set[str]) -> str:
        def reference(m: re.Match) -> str:
            label = m.group(1)
            if label not in defined:
                self.warn(line, at + m.start(), f"footnote [^{label}] has no definition; the reference is dropped")
                return ""
            used.add(label)
            return f"[^{self._footnote_label(label)}]"
        return _FOOTNOTE_REF.sub(reference, segment)

    def _footnote_label(self, label: str) -> str:
        return label if self.page.depth == 0 else f"{self.page.slug}-{label}"

    # --- raw-HTML figures: bookbuild strips raw HTML, so <center><img></center> becomes ![alt](src)

    def _figures(self, lines: list[SourceLine]) -> list[SourceLine]:
        out: list[SourceLine] = []
        i = 0
        while i < len(lines):
            line = lines[i]
            opened = None if line.code else _FIGURE_OPEN.match(line.text)
            end = _closing_line(lines, i, opened.group(1)) if opened else None
            if end is not None:
                block = " ".join(x.text for x in lines[i:end + 1])
                caption = " ".join(_HTML_TAG.sub(" ", block).split())
                images = _HTML_IMG.findall(block)
                if images and len(caption) <= MAX_CAPTION:
                    indent = " " * _width(line.text)
                    for k, attrs in enumerate(images):
                        if k:
                            out.append(SourceLine("", line.number))
                        out.append(SourceLine(indent + _markdown_image(attrs, caption), line.number, shift=line.shift))
                    i = end + 1
                    continue
            out.append(line)
            i += 1
        return out

    # --- inline: <img> tags, images, links (on text outside code spans)

    def _inline(self, segment: str, at: int, line: SourceLine) -> str:
        segment = _HTML_IMG.sub(lambda m: _markdown_image(m.group(1), ""), segment)
        segment = _IMAGE.sub(lambda m: self._image(m, at, line), segment)
        return _LINK.sub(lambda m: self._link(m, at, line), segment)

    def _image(self, m: re.Match, at: int, line: SourceLine) -> str:
        alt, url, attrs = m.group(1), m.group(2), m.group(3) or ""
        index = at + m.start()
        if url.lower().startswith("data:"):
            self.warn(line, index, "image embedded as a data: URL is not imported; it is dropped")
            return ""
        if is_remote(url):
            self.warn(line, index, f"remote image {url} is not copied into the book; it becomes a link")
            return f"[{alt or url}]({url})"
        target = self._local(url)
        if target is None:
            self.warn(line, index, f"image {url} is outside the book source; it is dropped")
            return ""
        if not target.is_file():
            self.warn(line, index, f"image {url} not found; it is dropped")
            return ""
        return f"![{alt}](../images/{self.ctx.image_name(target)}){attrs}"

    def _link(self, m: re.Match, at: int, line: SourceLine) -> str:
        text, url = m.group(1), m.group(2)
        if not url or is_remote(url):
            return m.group(0)
        index = at + m.start()
        path_part, _, anchor = url.partition("#")
        target_page = self.page
        if path_part:
            target = self._local(url)
            if target is None:
                self.warn(line, index, f"link to {url} leaves the book source; its text is kept, the link dropped")
                return text
            if target.is_dir():
                target = target / "README.md"
            target_page = self.ctx.pages.get(target)
            if target_page is None:
                why = ("does not exist" if not target.exists() else "is not in SUMMARY.md"
                       if target.suffix.lower() in (".md", ".markdown") else "is not a page of the book")
                self.warn(line, index, f"link to {url}: the target {why}; its text is kept, the link dropped")
                return text
        label = target_page.label
        if anchor:
            label = target_page.anchors.get(unquote(anchor).lower())
            if label is None:
                self.warn(line, index, f"link to {url}: no heading has the anchor #{anchor}; it points at the page")
                label = target_page.label
        return f"{text} (@{label})" if text.strip() else f"@{label}"

    def _local(self, url: str) -> Path | None:
        """The file a relative URL names (GitBook reads `/x` from the book root); None outside it."""
        path = unquote(url.split("#", 1)[0].split("?", 1)[0])
        base = self.ctx.src if path.startswith("/") else self.page.path.parent
        target = (base / path.lstrip("/")).resolve()
        return target if target.is_relative_to(self.ctx.src) else None

    # --- headings: levels below the chapter's or section's title, every one labelled

    def _title_level(self) -> int:
        return min(self.page.depth + 1, 6)

    def _headings(self, lines: list[SourceLine]) -> list[SourceLine]:
        page = self.page
        headings = {h.number: h for h in page.headings}
        underlines = {h.underline for h in page.headings if h.underline}
        others = [h.level for h in page.headings[1 if page.titled else 0:]]
        shift = (self._title_level() + 1) - min(others, default=0)
        out = []
        if not page.titled:
            out.append(SourceLine(f"{'#' * self._title_level()} {page.title} {{#{page.label}}}", 0))
        for line in lines:
            if line.code:
                out.append(line)
                continue
            if line.number in underlines:
                continue
            h = headings.get(line.number)
            if h and (_ATX.match(line.text) or h.underline):
                is_title = page.titled and h is page.headings[0]
                level = self._title_level() if is_title else min(h.level + shift, 6)
                line = SourceLine(f"{'#' * level} {_heading_text(line.text)} {{#{h.label}}}", line.number)
            out.append(line)
        return out

    # --- question lists → topic questions and questions blocks

    def _questions(self, lines: list[SourceLine]) -> list[SourceLine]:
        lists = []
        i = 0
        while i < len(lines):
            if _starts_list(lines[i]):
                end = _list_end(lines, i)
                items = _parse_list(lines[i:end])
                if any(_tag(x) for item in items for x in (item, *item.descendants())):
                    lists.append((i, end, items))
                i = end
            else:
                i += 1
        if not lists:
            return lines
        tags = _list_tags(lines, [start for start, _, _ in lists])
        out: list[SourceLine] = []
        cursor = 0
        for (start, end, items), tag in zip(lists, tags):
            out.extend(lines[cursor:start])
            collected: list[ImportedQuestion] = []
            self._collect(items, [], collected)
            for q in collected:
                q.tags = [tag] if tag else []
            self.page.questions.extend(collected)
            attrs = f'topic="{self.page.slug}"' + (f' tags="{tag}"' if tag else "")
            number = lines[start].number
            out += [SourceLine(f"::: {{.questions {attrs}}}", number), SourceLine(":::", number)]
            cursor = end
        out.extend(lines[cursor:])
        return out

    def _collect(self, items: list[ListItem], group: list[str], out: list[ImportedQuestion]) -> None:
        """The questions of `items`, in order; untagged items holding questions are groups."""
        for item in items:
            pos = Pos(str(self.page.path), item.line.number, item.col)
            if _HINT.match(item.lines[0]):  # a hint written as the next item: it belongs to the previous one
                if out:
                    out[-1].hint = "\n".join(filter(None, [out[-1].hint, _hint_text(item)]))
                else:
                    self.ctx.report.warning(pos, "a hint with no question before it is dropped")
                continue
            difficulty = _tag(item)
            if difficulty is None and _holds_questions(item):
                self._collect(item.children, [*group, _group_title(item)], out)
                continue
            question = self._question(item, difficulty, pos, group)
            if question.prompt:
                out.append(question)
            else:
                self.ctx.report.warning(pos, "a question with no text is dropped")
            self._collect([c for c in item.children if _tag(c) or _holds_questions(c)], group, out)

    def _question(self, item: ListItem, difficulty: str | None, pos: Pos, group: list[str]) -> ImportedQuestion:
        own = [_TAG.sub("", item.lines[0], count=1), *item.lines[1:]]
        prompt_lines, hints = _split_hint(own)
        sub_items = []
        for child in item.children:
            if _HINT.match(child.lines[0]):
                hints.append(_hint_text(child))
            elif not (_tag(child) or _holds_questions(child)):
                sub_items.append(child)
        if sub_items:
            prompt_lines = [*_trim(prompt_lines), "", *(x for c in sub_items for x in _render_item(c))]
        prompt = _field_text(prompt_lines)
        if difficulty is None and prompt:
            self.ctx.report.warning(pos, "untagged question imported as medium: tag it [E], [M] or [H]")
        hint = "\n".join(h for h in hints if h) or None
        return ImportedQuestion(self._new_id(prompt), difficulty or "medium", prompt,
                                _field_text(hint.split("\n")) if hint else None,
                                " / ".join(group) or None, pos, difficulty is not None)

    def _new_id(self, prompt: str) -> str:
        base = question_id(prompt)
        qid, n = base, 2
        while qid in self.ctx.question_ids:
            qid, n = f"{base}-{n}", n + 1
        self.ctx.question_ids.add(qid)
        return qid


# ---------------------------------------------------------------------------------------------
# Lists


def _starts_list(line: SourceLine) -> bool:
    m = None if line.code else _ITEM.match(line.text)
    return bool(m) and len(m.group("indent")) <= 3


def _list_end(lines: list[SourceLine], start: int) -> int:
    """One past the last line of the list that starts at `start` (CommonMark-like, lenient)."""
    j = start + 1
    while j < len(lines):
        line = lines[j]
        if line.code:
            if _width(line.text) < 2 and not lines[j - 1].code and not lines[j - 1].text.strip():
                break  # an unindented fence after a blank line starts a code block after the list
            while j < len(lines) and lines[j].code:
                j += 1
            continue
        if not line.text.strip():
            k = j + 1
            while k < len(lines) and not lines[k].text.strip():
                k += 1
            if k < len(lines) and (_ITEM.match(lines[k].text) or _width(lines[k].text) >= 2):
                j = k
                continue
            break
        if _ATX.match(line.text) or _FOOTNOTE_DEF.match(line.text):
            break
        j += 1
    while j > start + 1 and not lines[j - 1].text.strip():
        j -= 1
    return j


def _parse_list(lines: list[SourceLine]) -> list[ListItem]:
    """The items of one list, nested by indentation (deeper than the parent's marker = a child)."""
    roots: list[ListItem] = []
    stack: list[ListItem] = []
    blank_before = False
    for line in lines:
        m = None if line.code else _ITEM.match(line.text)
        if m:
            indent = len(m.group("indent"))
            gap = len(m.group("gap"))
            content = indent + len(m.group("marker")) + (gap if 0 < gap <= 4 and m.group("text") else 1)
            while stack and indent <= stack[-1].indent:
                stack.pop()
            item = ListItem(m.group("marker"), indent, content, line, line.col(indent), [m.group("text").strip()])
            (stack[-1].children if stack else roots).append(item)
            stack.append(item)
            blank_before = False
        elif not line.text.strip():
            if stack:
                stack[-1].lines.append("")
            blank_before = not line.code
        else:
            width = _width(line.text)
            if blank_before and not line.code:  # not a lazy continuation: it belongs where it is indented
                while len(stack) > 1 and width <= stack[-1].indent:
                    stack.pop()
                if stack[-1].lines and stack[-1].lines[-1].strip():
                    stack[-1].lines.append("")
            item = stack[-1]
            item.lines.append(_dedent(line.text, min(width, item.content_indent)))
            blank_before = False
    return roots


def _tag(item: ListItem) -> str | None:
    m = _TAG.match(item.lines[0])
    return TAG_DIFFICULTY[m.group(1).upper()] if m else None


def _looks_like_question(item: ListItem) -> bool:
    first = _first_paragraph(item.lines).rstrip("*_ )")
    return first.endswith("?") or any(_HINT.match(c.lines[0]) for c in item.children) or \
        any(_HINT.match(x.strip()) for x in item.lines)


def _holds_questions(item: ListItem) -> bool:
    """Whether an item's sub-items are questions (so an untagged item is a group heading)."""
    return any(_tag(d) for d in item.descendants()) or any(
        _looks_like_question(c) for c in item.children if not _HINT.match(c.lines[0]))


def _group_title(item: ListItem) -> str:
    text = _first_paragraph(item.lines).replace("**", "").replace("__", "")
    return " ".join(text.split()).rstrip(":").strip() or "Questions"


def _first_paragraph(lines: list[str]) -> str:
    out = []
    for line in lines:
        if not line.strip():
            break
        out.append(line.strip())
    return " ".join(out)


def _split_hint(lines: list[str]) -> tuple[list[str], list[str]]:
    """An item's own lines without its `**Hint**:` paragraphs, and the hints."""
    prompt: list[str] = []
    hints: list[str] = []
    in_hint = False
    for line in lines:
        m = _HINT.match(line.strip())
        if m:
            hints.append(line.strip()[m.end():])
            in_hint = True
        elif in_hint and line.strip():
            hints[-1] += " " + line.strip()
        else:
            in_hint = False
            prompt.append(line)
    return prompt, hints


def _hint_text(item: ListItem) -> str:
    first = _HINT.sub("", item.lines[0], count=1)
    return " ".join(x.strip() for x in [first, *item.lines[1:]] if x.strip())


def _render_item(item: ListItem) -> list[str]:
    """A sub-item back to Markdown (kept inside its parent's prompt)."""
    pad = " " * (len(item.marker) + 1)
    lines = [f"{item.marker} {item.lines[0]}", *(pad + x if x.strip() else "" for x in _trim(item.lines)[1:])]
    for child in item.children:
        lines += [pad + x if x.strip() else "" for x in _render_item(child)]
    return lines


def _list_tags(lines: list[SourceLine], starts: list[int]) -> list[str | None]:
    """The tag each list's questions get when a page has several lists: the heading above it."""
    if len(starts) == 1:
        return [None]
    tags: list[str | None] = []
    for start in starts:
        heading = next((_heading_text(lines[i].text) for i in range(start - 1, -1, -1)
                        if not lines[i].code and _ATX.match(lines[i].text)), "")
        base = _slug(heading) or "questions"
        tag, n = base, 2
        while tag in tags:
            tag, n = f"{base}-{n}", n + 1
        tags.append(tag)
    return tags


# ---------------------------------------------------------------------------------------------
# Text conversions


def _convert_math(lines: list[SourceLine]) -> None:
    """GitBook writes all math as $$...$$: alone on its line(s) it is display, in running text
    inline ($...$). A single $ is a dollar sign there, so it is escaped for pandoc."""
    open_span: str | None = None  # "display" or "inline" while a $$ span runs across lines
    for line in lines:
        if line.code:
            continue
        code = [m.span() for m in _CODE_SPAN.finditer(line.text)]
        tokens = [m.start() for m in _DOLLARS.finditer(line.text) if not _inside(m.start(), code)]
        edits: list[tuple[int, int, str]] = []  # (start, end, replacement) on line.text
        math: list[tuple[int, int]] = []  # where the line is TeX
        k = 0
        if open_span:
            if not tokens:
                continue
            math.append((0, tokens[0] + 2))
            if open_span == "inline":
                edits.append((tokens[0], tokens[0] + 2, "$"))
            open_span, k = None, 1
        while k < len(tokens):
            start = tokens[k]
            if k + 1 < len(tokens):
                end = tokens[k + 1]
                math.append((start, end + 2))
                alone = k == 0 and _ALONE_PREFIX.match(line.text[:start]) and not line.text[end + 2:].strip()
                inner = line.text[start + 2:end].strip()
                if not alone and inner:
                    edits.append((start, end + 2, f"${inner}$"))
                k += 2
            else:  # a span that goes on to later lines
                math.append((start, len(line.text)))
                open_span = "display" if _ALONE_PREFIX.match(line.text[:start]) else "inline"
                if open_span == "inline":
                    edits.append((start, start + 2, "$"))
                k += 1
        edits += [(m.start(), m.end(), "\\$") for m in _SINGLE_DOLLAR.finditer(line.text)
                  if not _inside(m.start(), code + math)]
        for start, end, text in sorted(edits, reverse=True):
            line.text = line.text[:start] + text + line.text[end:]


def _inside(index: int, spans: list[tuple[int, int]]) -> bool:
    return any(a <= index < b for a, b in spans)


def _outside_code_spans(text: str, convert) -> str:
    """`text` with `convert(segment, offset)` applied to what lies outside `code spans`."""
    out = []
    last = 0
    for m in _CODE_SPAN.finditer(text):
        out += [convert(text[last:m.start()], last), m.group(0)]
        last = m.end()
    out.append(convert(text[last:], last))
    return "".join(out)


def _closing_line(lines: list[SourceLine], start: int, tag: str) -> int | None:
    close = re.compile(rf"</{tag}\s*>", re.I)
    for j in range(start, min(start + MAX_FIGURE_LINES, len(lines))):
        if lines[j].code:
            return None
        if close.search(lines[j].text):
            return j
    return None


def _markdown_image(attrs: str, caption: str) -> str:
    """An <img> tag's attributes as a Markdown image (alt text, else the figure's caption)."""
    values = {m.group(1).lower(): next(g for g in m.groups()[1:] if g is not None) for m in _HTML_ATTR.finditer(attrs)}
    alt = values.get("alt") or caption or values.get("title") or ""
    width = values.get("width", "")
    size = f"{{width={width}}}" if re.fullmatch(r"\d+(\.\d+)?(%|px)?", width) else ""
    return f"![{_escape_brackets(alt)}]({values.get('src', '')}){size}"


def _markdown(lines: list[SourceLine]) -> str:
    """The page's lines as Markdown, with the blank lines pandoc needs (and GitBook does not)
    around headings, blocks, figures, tables and lists; runs of blank lines made one."""
    out: list[str] = []
    spaced = False  # the previous line wants a blank line after it
    for line in lines:
        if line.code:
            out.append(line.text)
            spaced = False
            continue
        text = line.text if line.text.endswith("  ") and line.text.strip() else line.text.rstrip()
        if not text:
            if out and out[-1]:
                out.append("")
            continue
        block = bool(_ATX.match(text) or text.startswith(":::") or _IMAGE_LINE.match(text))
        previous = out[-1] if out else ""
        opens = (_starts_list(line) and not _ITEM.match(previous) and _width(previous) < 2) or \
            (text.lstrip().startswith("|") and not previous.lstrip().startswith("|"))
        closes_block = text == ":::" and previous.startswith("::: {")
        if previous and (spaced or block or opens) and not closes_block:
            out.append("")
        out.append(text)
        spaced = block and not text.startswith("::: {")
    while out and not out[-1].strip():
        out.pop()
    return "\n".join(out) + "\n"


def _field_text(lines: list[str]) -> str:
    """Lines of a question field as YAML-ready Markdown: trimmed, unable to break out of its block."""
    lines = _trim([x.rstrip() for x in lines])
    if len(lines) > 1:  # continuation lines indented deeper than the item's text: keep their shape only
        lines[1:] = [_dedent(x, min(_width(y) for y in lines[1:] if y)) for x in lines[1:]]
    out = []
    for line in lines:
        heading = _ATX.match(line)
        if heading:  # headings are not allowed in question fields
            line = f"**{_heading_text(line)}**"
        elif line.lstrip().startswith(":::"):
            line = line.replace(":::", "\\:::", 1)
        out.append(line)
    text = "\n".join(out)
    # question text is read from questions/, chapter text from book/chapters/
    return re.sub(r"(!\[(?:[^\[\]\\]|\\.)*\]\()\.\./images/", r"\1../book/images/", text)


def question_id(prompt: str) -> str:
    """A short, readable id from a prompt: its first four significant words."""
    text = re.sub(r"\$[^$]*\$", " ", prompt)
    text = re.sub(r"!?\[((?:[^\[\]\\]|\\.)*)\]\([^)]*\)", r"\1", text)
    text = re.sub(r"@(q|sec|fig|tbl):\S+", " ", text)
    words = re.findall(r"[a-z0-9]+", _ascii(text).lower().replace("'", ""))
    chosen = ([w for w in words if w not in _STOPWORDS] or words)[:4]
    qid = "-".join(chosen) or "question"
    if len(qid) > 40:
        qid = qid[:40].rsplit("-", 1)[0]
    return qid


def _heading_text(line: str) -> str:
    m = _ATX.match(line)
    text = (m.group(2) or "") if m else line
    return _TRAILING_ATTRS.sub("", text).strip()


def _gitbook_anchor(text: str) -> str:
    """The anchor GitBook gives a heading (github-slugger's rule)."""
    text = re.sub(r"!?\[((?:[^\[\]\\]|\\.)*)\]\([^)]*\)", r"\1", _HTML_TAG.sub("", text))
    text = text.replace("*", "").replace("`", "").lower()
    return re.sub(r"[^\w\- ]", "", text).replace(" ", "-")


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", _ascii(text).lower()).strip("-")


def _file_slug(name: str) -> str:
    stem, suffix = os.path.splitext(name)
    return f"{_slug(stem) or 'image'}{suffix.lower()}"


def _ascii(text: str) -> str:
    return unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()


def _plain(text: str) -> str:
    return " ".join(_HTML_TAG.sub("", text).replace("**", "").replace("__", "").split())


def _unescape(text: str) -> str:
    return re.sub(r"\\(.)", r"\1", text)


def _escape_brackets(text: str) -> str:
    return re.sub(r"([\[\]\\])", r"\\\1", " ".join(text.split()))


def _width(text: str) -> int:
    return len(text) - len(text.lstrip(" "))


def _dedent(text: str, n: int) -> str:
    return text[min(n, _width(text)):]


def _trim(lines: list[str]) -> list[str]:
    start, end = 0, len(lines)
    while start < end and not lines[start].strip():
        start += 1
    while end > start and not lines[end - 1].strip():
        end -= 1
    return lines[start:end]


# ---------------------------------------------------------------------------------------------
# What the source holds that the book does not use


def _warn_unlisted_files(ctx: ImportContext) -> None:
    """Pages not in SUMMARY.md and images no imported page uses: reported, not imported."""
    summary = ctx.src / "SUMMARY.md"
    for folder, dirs, files in os.walk(ctx.src):
        dirs[:] = sorted(d for d in dirs if not d.startswith(".") and d not in SKIPPED_DIRS)
        for name in sorted(files):
            path = Path(folder) / name
            resolved = path.resolve()
            if not resolved.is_relative_to(ctx.src) or resolved == summary:
                continue
            suffix = path.suffix.lower()
            if suffix in (".md", ".markdown") and resolved not in ctx.listed:
                ctx.warn(path, 1, 1, "page is not in SUMMARY.md; it is not imported")
            elif suffix in IMAGE_SUFFIXES and resolved not in ctx.images:
                ctx.warn(path, 1, 1, "image is not used by any imported page; it is not copied")


# ---------------------------------------------------------------------------------------------
# Writing the book root


class _Dumper(yaml.SafeDumper):
    """YAML for people: block lists indented, multi-line text as `|` blocks, never an alias."""

    def ignore_aliases(self, data) -> bool:
        return True

    def increase_indent(self, flow=False, indentless=False):
        return super().increase_indent(flow, False)


_Dumper.add_representer(str, lambda dumper, value: dumper.represent_scalar(
    "tag:yaml.org,2002:str", value, style="|" if "\n" in value else None))
_Dumper.add_representer(list, lambda dumper, value: dumper.represent_sequence(
    "tag:yaml.org,2002:seq", value, flow_style=all(isinstance(v, str) and "\n" not in v for v in value)))


def _dump(data: dict, comment: str) -> str:
    """YAML text with `comment` on top; long lines are not folded (a prompt stays one line)."""
    header = "".join(f"# {line}\n" for line in comment.split("\n"))
    return header + yaml.dump(data, Dumper=_Dumper, sort_keys=False, allow_unicode=True, width=10_000)


def _book_yaml(config: dict, config_path: Path, parts: list[ImportedPart], ctx: ImportContext) -> str:
    """book.yaml: book.json's title, author and language; else the README's title, the folder's name."""
    def setting(key: str) -> str | None:
        value = config.get(key)
        return value.strip() if isinstance(value, str) and value.strip() else None

    readme = next((p for part in parts for c in part.chapters for p in c.pages
                   if p.path == ctx.src / "README.md" and p.titled), None)
    title = setting("title") or (readme.display_title if readme else None) or ctx.src.name
    slug = _slug(title) or "book"
    author = setting("author")
    if author is None:  # an EPUB needs a creator
        author = "Unknown author"
        ctx.warn(config_path if config_path.is_file() else ctx.src, 1, 1,
                 f"book.json names no author; book.yaml says {author!r} until you set author:")
    data: dict = {"title": title, "slug": slug, "author": author}
    data["language"] = setting("language") or "en"
    data["identifier"] = f"urn:uuid:{uuid.uuid5(uuid.NAMESPACE_URL, 'bookbuild-import:' + slug)}"
    data["version"] = "0.1.0"
    data["parts"] = [{"title": p.title, "chapters": [c.file for c in p.chapters]} for p in parts]
    # GitBook question books publish questions only: answers can come later, question by question
    data["editions"] = {"release": {"answers": "none"}}
    return _dump(data, "Imported from a GitBook book by `bookbuild import-gitbook`.\n"
                       "Add answers to the questions, then set the release edition's answers to appendix.")


def _topic_files(pages: list[GitbookPage], src: Path) -> dict[str, str]:
    """questions/<page slug>.yaml for every page with questions."""
    files = {}
    for page in pages:
        if page.questions:
            origin = page.path.relative_to(src).as_posix()
            files[f"{page.slug}.yaml"] = _dump(
                {"title": page.display_title, "questions": [q.as_yaml() for q in page.questions]},
                f"Imported from {origin} by `bookbuild import-gitbook`.")
    return files


def _write_book(out: Path, book_yaml: str, chapters: dict[str, str], topics: dict[str, str],
                ctx: ImportContext) -> None:
    """Write the book root beside `out`, then rename it into place: never a half-written book."""
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f"{out.name}-import-", dir=out.parent))
    try:
        (tmp / "book" / "chapters").mkdir(parents=True)
        (tmp / "book" / "images").mkdir()
        (tmp / "questions").mkdir()
        (tmp / "book" / "book.yaml").write_text(book_yaml, encoding="utf-8")
        for name, text in chapters.items():
            (tmp / "book" / "chapters" / name).write_text(text, encoding="utf-8")
        for name, text in topics.items():
            (tmp / "questions" / name).write_text(text, encoding="utf-8")
        for source, name in ctx.images.items():
            shutil.copyfile(source, tmp / "book" / "images" / name)
        tmp.chmod(0o755)
        try:
            os.replace(tmp, out)  # an empty folder may be replaced, a non-empty one not
        except OSError as exc:
            raise BookError(f"cannot move the imported book into {out}: {exc.strerror} "
                            "(was it filled meanwhile?)", ctx.report) from None
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
