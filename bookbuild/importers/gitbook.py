"""Import a GitBook or HonKit book as a bookbuild book root (`bookbuild import-gitbook SRC --out DIR`).

A GitBook source is a SUMMARY.md (the table of contents) and Markdown pages whose questions are
nested lists tagged [E], [M] or [H]. The import reads top to bottom:

    SUMMARY.md → every page it lists, read with pandoc's CommonMark reader (pages.read_page)
    → the book's shape: front matter, parts (with their introductions), chapters, appendices
    → each page's AST changed with panflute: raw HTML, images, links, math, headings, questions
    → every chapter, question and footnote written by pandoc's Markdown writer, in one run
    → each page checked: its blocks as bookbuild reads the chapter against the source's
    → book.yaml, chapters, topic files and images written into a fresh folder, renamed into place

Every warning names the file and line of the source.

Decisions where GitBook and bookbuild differ:

- Shape. SUMMARY.md's parts come two ways: a `## Heading` (no page), or an entry titled
  "Part I. Overview" (its page, when it has text besides its title, is the part's `intro:`; its
  sub-entries, and the top-level entries after it, are its chapters). Top-level entries before
  the first part or numbered chapter ("Chapter 5. Math", "5. Math") are front matter, each page
  its own unnumbered chapter. An entry titled "Appendix" (or a `## Appendix` heading) starts the
  appendices: its sub-entries, and the entries after it, are lettered appendices ("A. For
  interviewers"); the Appendix page itself is dropped when it holds only its title. A page with
  questions cannot be front matter or a part's introduction (bookbuild refuses questions there):
  it becomes a chapter, with a warning. A SUMMARY with neither parts nor numbered chapters keeps
  the older reading: a top-level entry with sub-entries is a part, its page the introduction;
  consecutive entries without sub-entries are gathered into a part named after the first of
  them; and with no such entry the book has no parts (book.yaml's top-level `chapters:`).
- Sections. A chapter's sub-entries are its sections: their pages follow the chapter's page in
  the chapter file, their titles one heading level below it (`##` for 5.1, `###` for 5.1.4).
- Numbers. The number written in a title (SUMMARY's or the page's own heading: "Part II",
  "Chapter 5.", "5.1.4", "A.") is compared with the number bookbuild prints (chapters 1, 2…
  across parts, appendices A, B…, sections N.M and N.M.K), then taken out of the title; a
  disagreement is a warning with file and line. A number at a depth bookbuild does not number
  (5.2.1.1) stays in the title. In a chapter whose source numbers its sections, a heading the
  source leaves unnumbered ("Notation") is marked `.unnumbered`, so the numbers stay the source's.
- Headings. A page's first block, when it is a heading above all the page's others, is its
  title; otherwise the SUMMARY title is added as a heading. The other headings are shifted to
  sit below the title; one shifted below level 6 is set at 6, with a warning. Every heading gets a
  `{#sec:...}` label (`sec:<page>` for the title); GitBook's anchors (`page.md#anchor`) map to them.
- Markdown. A page is read as CommonMark (GFM tables, footnotes), so a `----` line, `1)` lists,
  indented code, HTML blocks and backslash escapes mean what they meant in GitBook, and the
  chapter is written by pandoc's Markdown writer in the dialect bookbuild reads.
- Math: `$$...$$` alone on its line(s) stays display math; inside running text it becomes inline
  math. A single `$` is a dollar sign in GitBook, and stays one. Display math whose lines are
  split by `\\` outside any environment (KaTeX sets them as centred lines) is put in a
  `gathered` environment, which pandoc's MathML and the PDF's typesetter both read.
- Raw HTML (which bookbuild removes from its outputs) is read by pandoc's HTML reader: what GitBook
  showed becomes Markdown. An HTML block holding only images (`<center><img></center>`) becomes a
  figure per image, captioned with the text beside the image, else its alt text. Inline `<b>`,
  `<i>`, `<sup>`, `<sub>`, `<code>`, `<a>`, `<br>` and `<img>` become their Markdown; other tags
  are dropped, their text kept.
- Questions. A list holding at least one tagged item is a question list. A tagged item is a
  question: its untagged sub-items stay in its prompt as a sub-list, its tagged ones become
  questions of their own after it. An untagged item whose sub-items hold questions (tagged, or
  ending with '?') is a group: its text, joined to its enclosing groups' with " / ", is the
  `group:` of the questions below it. Any other untagged item of a question list is imported
  as a medium question, with a warning. `**Hint**:` (a paragraph or line of the item, or a
  sub-item) is `hint:`.
- Placement. Each question list becomes one questions block where the list was. On a page with
  several lists, each list's questions are tagged with the slug of the heading above it, and its
  block takes them with `tags=`.
- Ids: the prompt's first four significant words, slugified; `-2`, `-3`... on collision.
- Footnotes keep their labels; a section page's are renamed `<page>-<label>` (a chapter file holds
  several pages). A footnote in a question goes with the question (its definition ends the
  prompt). A reference with no definition is dropped, a definition never referenced reported.
- Links to another page become "text (@sec:label)". Links that cannot be followed (missing,
  outside the source, not in SUMMARY.md) keep their text only.
- Images are copied flat into book/images/ (a name taken twice gets its folder as a prefix).
  Remote images become links; missing or outside ones are dropped.
- Check. Each page's headings, lists, tables, code blocks, math and images, counted as bookbuild
  reads the imported chapter, must equal the source page's once the changes above are counted in
  (questions moved to the bank, HTML made Markdown, a title added, images dropped); a page that
  differs is a warning naming the page and the kind of block.
- book.yaml: title from --title, else book.json, else the README's first heading, else the
  folder's name; author from --author, else book.json, else "Unknown author" with a warning (an
  EPUB needs a creator); language from book.json. The summary says where each came from. The
  imported book publishes questions only: `editions: {release: {answers: none}}`.
"""

from __future__ import annotations

import io
import json
import os
import re
import secrets
import shutil
import tempfile
import unicodedata
import uuid
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import unquote

import panflute as pf
import yaml

from ..errors import BookError, Pos, Report, plural
from ..markdown import is_remote
from ..model import DIFFICULTIES
from ..sources import read_text
from ..validate import IMAGE_SUFFIXES  # what a book may show is what an import may bring
from . import pages as P

SKIPPED_DIRS = {"_book", "node_modules"}  # GitBook's build output and its plugins
RESERVED_TOPICS = {"interviews", "discarded"}  # questions/<name>.yaml has another meaning
TAG_DIFFICULTY = {"E": "easy", "M": "medium", "H": "hard"}
MAX_LEVEL = 6

_ATX = re.compile(r"^ {0,3}(#{1,6})(?:[ \t]+(.*?))?(?:[ \t]+#+)?[ \t]*$")
_FENCE = re.compile(r"^\s*(`{3,}|~{3,})(.*)$")
_SUMMARY_ITEM = re.compile(r"^(?P<indent>[ \t]*)(?:[-*+]|\d{1,9}[.)])[ \t]+(?P<text>.*?)\s*$")
_SUMMARY_LINK = re.compile(r"^\[((?:[^\]\\]|\\.)*)\]\(\s*<?([^)>]*?)>?\s*\)")
_HTML_TAG = re.compile(r"<[^>]+>")
_TAG = re.compile(r"^\[([EMH])\]\s*", re.I)
_HINT = re.compile(r"^hint\s*:\s*", re.I)
_FOOTNOTE_DEF = re.compile(r"^(?: {0,3}(?:>\s?)*)\[\^([^\]\s]+)\]:")
_FOOTNOTE_REF = re.compile(r"\[\^([^\]\s]+)\]")
_DASH = r"[.:\-\u2013\u2014)]"
_PART_TITLE = re.compile(rf"^part\s+(?P<num>[ivxlcdm]+|\d+)(?![\w])\s*{_DASH}?\s*(?P<rest>.*)$", re.I)
_CHAPTER_TITLE = re.compile(rf"^(?:chapter\s+(?P<num>\d+)(?!\w)\s*{_DASH}?|(?P<bare>\d+)[.:])\s*(?P<rest>.*)$", re.I)
_SECTION_TITLE = re.compile(r"^(?P<num>(?:\d+|[A-Z])(?:\.\d+)+)\.?\s+(?P<rest>\S.*)$")
_APPENDIX_ZONE = re.compile(r"^appendi(?:x|ces)\s*:?$", re.I)
_APPENDIX_TITLE = re.compile(rf"^(?:appendix\s+(?P<a>[A-Z])(?![\w])\s*{_DASH}?|(?P<b>[A-Z])[.:)])\s*(?P<rest>.*)$")
# a file name's leading number ("5.1.1-vectors", "chapter-1.-ml-jobs", "part-i.-overview", "a.-for-x"):
# the book prints its own numbers, and ids outlive renumbering
_NUMBERED_NAME = re.compile(r"^(?:(?:chapter|part|appendix)[-_ ]+(?:\d+|[ivxlcdm]+|[a-z])\.?|\d+(?:\.\d+)*\.?|[a-z]\.)"
                            r"[-_ ]+", re.I)
_ROMAN = re.compile(r"^M{0,3}(CM|CD|D?C{0,3})(XC|XL|L?X{0,3})(IX|IV|V?I{0,3})$")
_STOPWORDS = frozenset("""
    a an the of to in on for and or not is are was were be been being do does did what whats which who
    whom whose why how when where can could would should will shall may might must you your we our us it
    its this that these those given if as at by with from into than then there their they them i me my s t
    some any such one two about explain describe
""".split())


# ---------------------------------------------------------------------------------------------
# The model of an import


@dataclass
class SummaryEntry:
    title: str
    link: str | None  # as written in SUMMARY.md; None for an entry without a page
    pos: Pos
    children: list["SummaryEntry"] = field(default_factory=list)
    page: "GitbookPage | None" = None  # the page it names, read (None: no page, or skipped)


@dataclass
class SummaryPart:
    title: str | None  # None: the entries before the first `##` heading
    pos: Pos | None
    entries: list[SummaryEntry]


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
    prompt_blocks: list = field(default_factory=list, repr=False)
    hint_blocks: list = field(default_factory=list, repr=False)

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
class SourceNumber:
    """A number written in a title: what it says, where, and the title's inlines without it."""

    text: str  # "5", "5.1.4", "A", "II"
    pos: Pos


@dataclass
class GitbookPage:
    """A page of the source (or, with no path, a SUMMARY entry that is only a heading)."""

    path: Path | None
    title: str  # the SUMMARY title, its number taken out
    pos: Pos  # its SUMMARY entry
    depth: int = 0  # 0: a chapter; 1, 2...: a section of it
    parsed: P.ParsedPage | None = None
    slug: str = ""
    summary_number: SourceNumber | None = None  # the number in its SUMMARY title
    blocks: list = field(default_factory=list)
    questions: list[ImportedQuestion] = field(default_factory=list)
    anchors: dict[str, str] = field(default_factory=dict)  # GitBook anchor → label
    title_header: pf.Header | None = None
    titled: bool = False  # its first block is a heading above all the others
    source_counts: Counter = field(default_factory=Counter)
    adjust: Counter = field(default_factory=Counter)  # the importer's deliberate changes, by kind
    note_labels: dict[int, str] = field(default_factory=dict)  # id(Note) → its label in the source
    numbers: dict[int, SourceNumber] = field(default_factory=dict)  # id(Header) → the number it carried

    @property
    def label(self) -> str:
        return f"sec:{self.slug}"

    @property
    def display_title(self) -> str:
        if self.title_header is not None:
            return pf.stringify(self.title_header).strip() or self.title
        return self.title

    def has_text(self) -> bool:
        """Whether the page holds anything besides its title heading."""
        if self.parsed is None:
            return False
        blocks = list(self.parsed.doc.content)
        if blocks and isinstance(blocks[0], pf.Header):
            blocks = blocks[1:]
        return bool(blocks)

    def has_questions(self) -> bool:
        return self.parsed is not None and any(
            isinstance(b, (pf.BulletList, pf.OrderedList)) and _list_has_tags(b) for b in self.parsed.doc.content)


@dataclass
class ImportedChapter:
    pages: list[GitbookPage]  # the chapter's own page first, then its sections in order
    role: str = "main"  # front | intro | main | appendix
    number: str | None = None  # what bookbuild prints: "5", "A"; None when unnumbered
    source_number: SourceNumber | None = None
    keeps_numbers: bool = False  # the source numbers its sections: bookbuild's numbers must follow

    @property
    def file(self) -> str:
        return f"{self.pages[0].slug}.md"


@dataclass
class ImportedPart:
    title: str
    pos: Pos | None
    chapters: list[ImportedChapter]
    intro: ImportedChapter | None = None
    source_number: SourceNumber | None = None
    implicit: bool = False  # gathered from entries without sub-entries (the older reading)


@dataclass
class BookPlan:
    front: list[ImportedChapter] = field(default_factory=list)
    parts: list[ImportedPart] = field(default_factory=list)
    flat: list[ImportedChapter] = field(default_factory=list)  # a book without parts
    appendices: list[ImportedChapter] = field(default_factory=list)
    absorbed: list[GitbookPage] = field(default_factory=list)  # pages that hold only a title

    def chapters(self) -> list[ImportedChapter]:
        out = list(self.front)
        for part in self.parts:
            out += ([part.intro] if part.intro else []) + part.chapters
        return out + self.flat + self.appendices

    def main(self) -> list[ImportedChapter]:
        return [c for c in self.chapters() if c.role == "main"]


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
        self.report.warning(Pos(str(path), max(line, 1), max(col, 1)), message)

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
    plan: BookPlan
    title_source: str = ""
    author_source: str = ""

    @property
    def parts(self) -> list[ImportedPart]:
        return self.plan.parts

    @property
    def pages(self) -> list[GitbookPage]:
        return [p for c in self.plan.chapters() for p in c.pages if p.path] + self.plan.absorbed

    @property
    def questions(self) -> list[ImportedQuestion]:
        return [q for c in self.plan.chapters() for p in c.pages for q in p.questions]

    def by_difficulty(self) -> dict[str, int]:
        counts = Counter(q.difficulty for q in self.questions)
        return {d: counts[d] for d in DIFFICULTIES}

    def summary(self) -> str:
        plan = self.plan
        shape = [plural(len(plan.front), "front chapter") if plan.front else "",
                 plural(len(plan.parts), "part") if plan.parts else "",
                 plural(len(plan.main()), "chapter"),
                 plural(len(plan.appendices), "appendix", "appendices") if plan.appendices else ""]
        counts = ", ".join(f"{n} {d}" for d, n in self.by_difficulty().items())
        warnings = len(self.report.warnings)
        return (f"imported {plural(len(self.pages), 'page')} into {self.out}: {', '.join(s for s in shape if s)}, "
                f"{plural(len(self.questions), 'question')} ({counts}); {plural(warnings, 'warning')}\n"
                f"title from {self.title_source}; author from {self.author_source}\n"
                f"next: python build.py check --book {self.out}")


# ---------------------------------------------------------------------------------------------
# The import, top to bottom


def import_gitbook(src: Path, out: Path, title: str | None = None, author: str | None = None) -> ImportResult:
    """Import the GitBook book at `src` into the new book root `out`; BookError if it cannot."""
    src_root, config, config_path = _source_root(src)
    out = _target(out, src_root)
    ctx = ImportContext(src_root, Report())
    summary = read_summary(src_root / "SUMMARY.md", ctx)
    _read_pages(summary, ctx)
    plan = plan_book(summary, ctx)
    chapters = plan.chapters()
    if not chapters:
        raise BookError(f"no page listed in {src_root / 'SUMMARY.md'} could be imported", ctx.report)
    _number_titles(plan, ctx)
    pages = [p for c in chapters for p in c.pages]
    _assign_slugs(pages, ctx)
    _convert_raw_html(pages)
    for page in pages:
        _label_headings(page, ctx)
    for page in pages:
        PageConverter(page, ctx).convert()
    for chapter in chapters:
        _shape_chapter(chapter, ctx)
    texts, topics = _write_texts(chapters, ctx)
    _compare_blocks(chapters, texts, ctx)
    _warn_unlisted_files(ctx)
    meta, title_source, author_source = _book_meta(config, config_path, title, author, ctx)
    result = ImportResult(out, ctx.report, plan, title_source, author_source)
    _write_book(out, _book_yaml(meta, plan), texts, topics, ctx)
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
# SUMMARY.md and the pages it lists


def read_summary(path: Path, ctx: ImportContext) -> list[SummaryPart]:
    """SUMMARY.md as parts (one per `##` heading) of nested entries."""
    text = _read_source(path, ctx) or ""
    parts = [SummaryPart(None, None, [])]
    stack: list[tuple[int, SummaryEntry]] = []
    fence: str | None = None
    for number, raw in enumerate(text.split("\n"), 1):
        indent_raw = raw[: len(raw) - len(raw.lstrip(" \t"))]
        line = indent_raw.expandtabs(4) + raw[len(indent_raw):].rstrip()
        shift = len(indent_raw.expandtabs(4)) - len(indent_raw)
        m = _FENCE.match(line)
        if fence is not None:
            if m and m.group(1)[0] == fence[0] and len(m.group(1)) >= len(fence) and not m.group(2).strip():
                fence = None
            continue
        if m:
            fence = m.group(1)
            continue
        heading = _ATX.match(line)
        if heading:
            if len(heading.group(1)) > 1:  # `# Summary` is the file's own title
                parts.append(SummaryPart(_plain(heading.group(2) or ""), Pos(str(path), number, 1), []))
                stack = []
            continue
        m = _SUMMARY_ITEM.match(line)
        if not m:
            continue
        indent = len(m.group("indent"))
        pos = Pos(str(path), number, max(1, indent + 1 - shift))
        link = _SUMMARY_LINK.match(m.group("text"))
        if link:
            entry = SummaryEntry(_plain(_unescape(link.group(1))), link.group(2).strip() or None, pos)
        else:
            entry = SummaryEntry(_plain(m.group("text")), None, pos)
        while stack and indent <= stack[-1][0]:
            stack.pop()
        (stack[-1][1].children if stack else parts[-1].entries).append(entry)
        stack.append((indent, entry))
    return [p for p in parts if p.entries or p.title]


def _entries(summary: list[SummaryPart]):
    def visit(entries):
        for e in entries:
            yield e
            yield from visit(e.children)
    for part in summary:
        yield from visit(part.entries)


def _read_pages(summary: list[SummaryPart], ctx: ImportContext) -> None:
    """Every page SUMMARY.md names, read (or warned about) once, then parsed (two at a time)."""
    for entry in _entries(summary):
        entry.page = _page(entry, ctx)
    pages = [e.page for e in _entries(summary) if e.page is not None]

    def parse(page: GitbookPage) -> P.ParsedPage | str:
        try:
            return P.read_page(page.parsed_text)
        except BookError as exc:  # pandoc gave up on it (a timeout): the import goes on without it
            return str(exc)

    with ThreadPoolExecutor(max_workers=2) as pool:
        for page, parsed in zip(pages, pool.map(parse, pages)):
            del page.parsed_text
            if isinstance(parsed, str):
                ctx.warn(page.path, 1, 1, f"the page cannot be read ({parsed}); it is skipped")
                continue
            page.parsed = parsed
            page.source_counts = P.block_counts(parsed.doc.content)  # what the source page shows, as CommonMark
    for entry in _entries(summary):
        if entry.page is not None and entry.page.parsed is None:
            ctx.pages.pop(entry.page.path, None)
            entry.page = None


def _page(entry: SummaryEntry, ctx: ImportContext) -> GitbookPage | None:
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
    page = GitbookPage(target, entry.title, entry.pos)
    page.parsed_text = text  # parsed with the others in _read_pages
    ctx.pages[target] = page
    return page


def _read_source(path: Path, ctx: ImportContext) -> str | None:
    """A source file's text; what stops reading it is a warning here (the import goes on)."""
    scratch = Report()
    text = read_text(path, scratch)
    for d in scratch.items:
        ctx.report.warning(d.pos, d.message + ("" if text is not None else "; the page is skipped"))
    return text


# ---------------------------------------------------------------------------------------------
# The book's shape: front matter, parts, chapters, appendices


def _is_part(title: str) -> bool:
    m = _PART_TITLE.match(title)
    return bool(m) and (m.group("num").isdigit() or bool(_ROMAN.match(m.group("num").upper())))


def _is_numbered_chapter(title: str) -> bool:
    return bool(_CHAPTER_TITLE.match(title))


def plan_book(summary: list[SummaryPart], ctx: ImportContext) -> BookPlan:
    """Front matter, parts, chapters and appendices, from SUMMARY.md's headings, titles and nesting."""
    plan = BookPlan()
    seq: list[tuple[str, object]] = []
    for part in summary:
        if part.title is not None:
            seq.append(("heading", part))
        seq += [("entry", e) for e in part.entries]
    tops = [e for kind, e in seq if kind == "entry"]
    headings = [p for kind, p in seq if kind == "heading" and not _APPENDIX_ZONE.match(p.title)]
    explicit = bool(headings) or any(_is_part(e.title) or _is_numbered_chapter(e.title) for e in tops)
    implicit = not explicit and any(e.children for e in tops)  # the older reading: entries with children are parts
    has_parts = bool(headings) or any(_is_part(e.title) for e in tops) or implicit
    state = "front" if (explicit or implicit) else "main"
    current: ImportedPart | None = None

    def chapter(entry: SummaryEntry, role: str = "main") -> ImportedChapter | None:
        pages: list[GitbookPage] = []

        def visit(e: SummaryEntry, depth: int) -> None:
            page = e.page
            if page is None and e.children:  # keep the entry's title as the heading of its sub-pages
                page = GitbookPage(None, e.title, e.pos)
            if page is not None:
                page.depth = depth
                pages.append(page)
            for child in e.children:
                visit(child, depth + 1)

        visit(entry, 0)
        return ImportedChapter(pages, role) if any(p.path for p in pages) else None

    def add_main(entry: SummaryEntry) -> None:
        nonlocal current
        c = chapter(entry)
        if c is None:
            return
        if not has_parts:
            plan.flat.append(c)
            return
        if current is None or (implicit and not current.implicit):
            current = ImportedPart(entry.title, entry.pos, [], implicit=True)
            plan.parts.append(current)
        current.chapters.append(c)

    def add_part(title: str, pos: Pos | None, page: GitbookPage | None, children) -> None:
        nonlocal current
        current = ImportedPart(title, pos, [])
        plan.parts.append(current)
        if page is not None:
            if page.has_questions():
                ctx.warn(page.path, 1, 1, "this part's page holds questions, which a part's introduction cannot: "
                                          "it is imported as the part's first chapter")
                current.chapters.append(ImportedChapter([page]))
            elif page.has_text():
                current.intro = ImportedChapter([page], "intro")
            else:
                plan.absorbed.append(page)
        current.chapters += [c for c in map(chapter, children) if c]

    def add_appendix(entry: SummaryEntry) -> None:
        c = chapter(entry, "appendix")
        if c is not None:
            plan.appendices.append(c)

    for kind, item in seq:
        if kind == "heading":
            if _APPENDIX_ZONE.match(item.title):
                state = "appendix"
            else:
                if plan.appendices:
                    ctx.report.warning(item.pos, f"part {item.title!r} comes after the appendices; bookbuild "
                                                 "prints the appendices after the last part")
                add_part(item.title, item.pos, None, [])
                state = "main"
            continue
        entry = item
        if state == "appendix" or _APPENDIX_TITLE.match(entry.title) and entry.title.lower().startswith("appendix "):
            state = "appendix"
            add_appendix(entry)
            continue
        if _APPENDIX_ZONE.match(entry.title):
            state = "appendix"
            page = entry.page
            if page is not None:
                if page.has_text():
                    ctx.warn(page.path, 1, 1, "the Appendix page has text besides its title: it is imported as "
                                              "an appendix of its own, before the lettered ones")
                    plan.appendices.append(ImportedChapter([page], "appendix"))
                else:
                    plan.absorbed.append(page)
            for child in entry.children:
                add_appendix(child)
            continue
        if _is_part(entry.title) or (implicit and entry.children):
            if plan.appendices:
                ctx.report.warning(entry.pos, f"part {entry.title!r} comes after the appendices; bookbuild "
                                              "prints the appendices after the last part")
            add_part(entry.title, entry.pos, entry.page, entry.children)
            state = "main"
            continue
        if state == "front" and not _is_numbered_chapter(entry.title):
            front = _front_chapters(entry, chapter)
            if any(p.has_questions() for c in front for p in c.pages):
                page = next(p for c in front for p in c.pages if p.has_questions())
                ctx.warn(page.path, 1, 1, "this page holds questions, which front matter cannot: it is imported "
                                          "as a numbered chapter, and the front matter ends before it")
                state = "main"
                add_main(entry)
                continue
            plan.front += front
            continue
        state = "main"
        add_main(entry)
    return plan


def _front_chapters(entry: SummaryEntry, chapter) -> list[ImportedChapter]:
    """Each page of a front-matter entry (and of its sub-entries) as its own unnumbered chapter."""
    out = []

    def visit(e: SummaryEntry) -> None:
        if e.page is not None:
            e.page.depth = 0
            out.append(ImportedChapter([e.page], "front"))
        for child in e.children:
            visit(child)

    visit(entry)
    return out


# ---------------------------------------------------------------------------------------------
# Numbers written in titles


def _number_titles(plan: BookPlan, ctx: ImportContext) -> None:
    """What bookbuild prints for each part and chapter, compared with the number in its title."""
    for n, part in enumerate(plan.parts, 1):
        m = _PART_TITLE.match(part.title)
        if m and (m.group("num").isdigit() or _ROMAN.match(m.group("num").upper())):
            written = m.group("num").upper()
            value = int(written) if written.isdigit() else _roman_value(written)
            if value != n and part.pos is not None:
                ctx.report.warning(part.pos, f"the title says part {written}; bookbuild prints it as part "
                                             f"{_roman(n)}")
            part.source_number = SourceNumber(written, part.pos)
            part.title = m.group("rest").strip() or part.title
    main = 0
    appendix = 0
    for c in plan.chapters():
        first = c.pages[0]
        if c.role == "main":
            main += 1
            c.number = str(main)
        elif c.role == "appendix":
            appendix += 1
            c.number = _appendix_letter(appendix)
        for page in c.pages:
            page.summary_number = _title_number(page.title, page.depth, c)
            if page.summary_number and page.depth == 0:  # a section's stays until its number is known
                page.title = _strip_number(page.title, page.depth, c)
        if first.summary_number and c.number and first.summary_number.text != c.number:
            kind = "appendix" if c.role == "appendix" else "chapter"
            ctx.report.warning(first.pos, f"the title says {kind} {first.summary_number.text}; bookbuild prints "
                                          f"it as {kind} {c.number}")
        c.source_number = first.summary_number
        c.keeps_numbers = bool(c.number) and any(p.summary_number for p in c.pages)


def _title_number(title: str, depth: int, chapter: ImportedChapter) -> SourceNumber | None:
    """The number a SUMMARY title or page title carries at its place in the book, if any."""
    if chapter.role in ("front",):
        return None
    if chapter.role == "intro":
        m = _PART_TITLE.match(title)
        return SourceNumber(m.group("num").upper(), None) if m else None
    if depth == 0:
        if chapter.role == "appendix":
            m = _APPENDIX_TITLE.match(title)
            return SourceNumber(m.group("a") or m.group("b"), None) if m and m.group("rest").strip() else None
        m = _CHAPTER_TITLE.match(title)
        return SourceNumber(m.group("num") or m.group("bare"), None) if m and m.group("rest").strip() else None
    m = _SECTION_TITLE.match(title)
    return SourceNumber(m.group("num"), None) if m else None


def _strip_number(title: str, depth: int, chapter: ImportedChapter) -> str:
    if chapter.role == "intro":
        m = _PART_TITLE.match(title)
    elif depth == 0:
        m = (_APPENDIX_TITLE if chapter.role == "appendix" else _CHAPTER_TITLE).match(title)
    else:
        m = _SECTION_TITLE.match(title)
    return m.group("rest").strip() if m and m.group("rest").strip() else title


def _roman_value(text: str) -> int:
    values = {"I": 1, "V": 5, "X": 10, "L": 50, "C": 100, "D": 500, "M": 1000}
    total = 0
    for i, ch in enumerate(text):
        v = values[ch]
        total += -v if i + 1 < len(text) and values[text[i + 1]] > v else v
    return total


def _roman(n: int) -> str:
    out = ""
    for value, letters in ((1000, "M"), (900, "CM"), (500, "D"), (400, "CD"), (100, "C"), (90, "XC"),
                           (50, "L"), (40, "XL"), (10, "X"), (9, "IX"), (5, "V"), (4, "IV"), (1, "I")):
        while n >= value:
            out, n = out + letters, n - value
    return out


def _appendix_letter(n: int) -> str:
    letters = ""
    while n:
        n, rest = divmod(n - 1, 26)
        letters = chr(ord("A") + rest) + letters
    return letters


# ---------------------------------------------------------------------------------------------
# Slugs, labels and anchors


def _assign_slugs(pages: list[GitbookPage], ctx: ImportContext) -> None:
    """Each page's slug: chapter file, topic id and label base. Short (file name) when unique."""
    def short(page: GitbookPage) -> str:
        if page.path is None:
            return _slug(page.title) or "page"
        rel = page.path.relative_to(ctx.src)
        if rel.stem.lower() in ("readme", "index"):
            return (_slug(rel.parent.name) if rel.parent.name else _slug(page.title)) or "page"
        return _slug(_NUMBERED_NAME.sub("", rel.stem)) or _slug(rel.stem) or "page"

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


def _headers(blocks) -> list[pf.Header]:
    found: list[pf.Header] = []
    for block in blocks:
        block.walk(lambda e, d: found.append(e) if isinstance(e, pf.Header) else None)
    return found


def _label_headings(page: GitbookPage, ctx: ImportContext) -> None:
    """Give every heading of the page a `sec:` label; map GitBook's anchors (and `{#id}`s) to them.

    The page's first block is its title when it is a heading above all the others; a page that
    opens with the first of several sibling headings gets its SUMMARY title instead.
    """
    if page.parsed is None:
        return
    blocks = list(page.parsed.doc.content)
    headers = _headers(blocks)
    page.titled = bool(blocks) and isinstance(blocks[0], pf.Header) and all(
        h.level > blocks[0].level for h in headers if h is not blocks[0])
    seen: Counter = Counter()
    for h in headers:
        title = pf.stringify(h).strip()
        if page.titled and h is blocks[0]:
            label = page.label  # reserved with the page's slug
            page.title_header = h
        else:
            words = m.group("rest") if (m := _SECTION_TITLE.match(title)) else title  # "2.1 Proofs": proofs
            label = ctx.unique_label(f"{page.label}-{_slug(words) or 'section'}")
        for anchor in (h.identifier.lower(), _gitbook_anchor(title)):
            if anchor:
                seen[anchor] += 1
                page.anchors.setdefault(anchor if seen[anchor] == 1 else f"{anchor}-{seen[anchor] - 1}", label)
                page.anchors.setdefault(anchor, label)
        h.identifier = label
        h.classes = []
        h.attributes = {}


# ---------------------------------------------------------------------------------------------
# Raw HTML, book-wide in one pandoc run


def _convert_raw_html(pages: list[GitbookPage]) -> None:
    """Every HTML block becomes what pandoc's HTML reader makes of it (bookbuild strips raw HTML)."""
    found: list[tuple[GitbookPage, pf.RawBlock]] = []
    for page in pages:
        if page.parsed is None:
            continue
        page.parsed.doc.walk(lambda e, d, page=page: found.append((page, e))
                             if isinstance(e, pf.RawBlock) and e.format == "html" else None)
    if not found:
        return
    converted = P.html_blocks([raw.text for _, raw in found])
    for (page, raw), blocks in zip(found, converted):
        blocks = _figures(_unwrap_divs(blocks))
        where = page.parsed.where.get(id(raw))
        for block in blocks:
            if where:
                page.parsed.where[id(block)] = where
                page.parsed.keep.append(block)
        page.adjust.update(P.block_counts(blocks))
        parent = raw.parent
        siblings = list(parent.content)
        index = next(i for i, b in enumerate(siblings) if b is raw)
        parent.content = siblings[:index] + blocks + siblings[index + 1:]


def _unwrap_divs(blocks: list[pf.Block]) -> list[pf.Block]:
    out: list[pf.Block] = []
    for block in blocks:
        if isinstance(block, pf.Div):
            out += _unwrap_divs(list(block.content))
        else:
            out.append(block)
    return out


def _figures(blocks: list[pf.Block]) -> list[pf.Block]:
    """An HTML block holding only images (and a caption beside them) as figures."""
    if not blocks or any(not isinstance(b, (pf.Para, pf.Plain)) for b in blocks):
        return blocks
    inlines = [x for b in blocks for x in b.content]
    images = [x for x in inlines if isinstance(x, pf.Image)]
    allowed = (pf.Image, pf.Str, pf.Space, pf.SoftBreak, pf.LineBreak, pf.Emph, pf.Strong)
    if not images or any(not isinstance(x, allowed) for x in inlines):
        return blocks
    text = [x for x in inlines if not isinstance(x, pf.Image)]
    caption = " ".join(pf.stringify(pf.Plain(*[x for x in text if not isinstance(x, pf.LineBreak)])).split())
    figures = []
    for image in images:
        image.title = ""
        alt = pf.stringify(image).strip()
        words = caption if caption and len(images) == 1 else alt
        if not alt:
            image.content = P.words(words)
        figures.append(pf.Figure(pf.Plain(image), caption=pf.Caption(pf.Plain(*P.words(words))) if words else None))
    return figures


# ---------------------------------------------------------------------------------------------
# One page: footnotes, HTML, images, links, math, questions


class PageConverter:
    """Converts one page's AST in place; its blocks end in `page.blocks`."""

    def __init__(self, page: GitbookPage, ctx: ImportContext):
        self.page = page
        self.ctx = ctx
        self.parsed = page.parsed

    def convert(self) -> None:
        if self.parsed is None:
            return
        doc = self.parsed.doc
        self._footnotes(doc)
        doc.walk(self._inline_html)
        doc.walk(self._images)
        doc.walk(_drop_emptied)
        doc.walk(self._links)
        doc.walk(self._math)
        self.page.blocks = self._questions(list(doc.content))

    def warn(self, elem, message: str, pos: tuple[int, int] | None = None) -> None:
        line, col = pos or self.parsed.pos(elem)
        self.ctx.warn(self.page.path, line, col, message)

    # --- footnotes: labels as written, undefined references dropped, unused definitions reported

    def _footnotes(self, doc: pf.Doc) -> None:
        used: set[str] = set()

        def note(elem, d):
            if isinstance(elem, pf.Note):
                w = self.parsed.where.get(id(elem))
                m = _FOOTNOTE_REF.search(self.parsed.source(w)) if w else None
                label = m.group(1) if m else f"note-{len(self.page.note_labels) + 1}"
                self.page.note_labels[id(elem)] = label
                self.parsed.keep.append(elem)
                used.add(label.lower())
            elif isinstance(elem, pf.Str) and "[^" in elem.text:
                def drop(m: re.Match) -> str:
                    self.warn(elem, f"footnote [^{m.group(1)}] has no definition; the reference is dropped",
                              self.parsed.str_pos(elem, m.start()))
                    return ""
                elem.text = _FOOTNOTE_REF.sub(drop, elem.text)
                if not elem.text:
                    return []
            return None

        doc.walk(note)
        code = self._code_lines(doc)
        for n, line in enumerate(self.parsed.lines, 1):
            m = None if n in code else _FOOTNOTE_DEF.match(line)
            if m and m.group(1).lower() not in used:
                self.ctx.warn(self.page.path, n, m.start(1) - 1,
                              f"footnote [^{m.group(1)}] is defined but never referenced")

    def _code_lines(self, doc: pf.Doc) -> set[int]:
        lines: set[int] = set()
        for elem in P._elements(doc):
            if isinstance(elem, (pf.CodeBlock, pf.RawBlock)):
                w = self.parsed.where.get(id(elem))
                if w:
                    lines.update(range(w.line, w.end_line + 1))
        return lines

    # --- inline raw HTML

    def _inline_html(self, elem, doc):
        content = getattr(elem, "content", None)
        if not isinstance(content, pf.ListContainer) or not any(isinstance(x, pf.RawInline) for x in content):
            return None
        before = P.block_counts([elem])
        new, changed = P.convert_inline_html(list(content))
        if changed:
            elem.content = new
            self.page.adjust.update(P.block_counts([elem]))
            self.page.adjust.subtract(before)
        return None

    # --- images: copied into book/images, or dropped with a warning

    def _images(self, elem, doc):
        if not isinstance(elem, pf.Image):
            return None
        url = elem.url
        elem.title = ""
        elem.attributes = {k: v for k, v in elem.attributes.items() if k in ("width", "height")}
        if url.lower().startswith("data:"):
            return self._drop_image(elem, "image embedded as a data: URL is not imported; it is dropped")
        if is_remote(url):
            self.warn(elem, f"remote image {url} is not copied into the book; it becomes a link")
            self.page.adjust["images"] -= 1
            return pf.Link(*(list(elem.content) or [pf.Str(url)]), url=url)
        target = self._local(url)
        if target is None:
            return self._drop_image(elem, f"image {url} is outside the book source; it is dropped")
        if not target.is_file():
            return self._drop_image(elem, f"image {url} not found; it is dropped")
        if target.suffix.lower() not in IMAGE_SUFFIXES:
            return self._drop_image(elem, f"image {url} is not an image bookbuild can show; it is dropped")
        elem.url = f"../images/{self.ctx.image_name(target)}"
        return None

    def _drop_image(self, elem, message: str):
        self.warn(elem, message)
        self.page.adjust["images"] -= 1
        return []

    # --- links between pages: "text (@sec:label)"

    def _links(self, elem, doc):
        if not isinstance(elem, pf.Link):
            return None
        url = elem.url
        if not url or is_remote(url):
            return None
        path_part, _, anchor = url.partition("#")
        target_page = self.page
        text = list(elem.content)
        if path_part:
            target = self._local(url)
            if target is None:
                self.warn(elem, f"link to {url} leaves the book source; its text is kept, the link dropped")
                return text
            if target.is_dir():
                target = target / "README.md"
            target_page = self.ctx.pages.get(target)
            if target_page is not None and not target_page.slug:  # a part or Appendix page with only a title
                self.warn(elem, f"link to {url}: the target holds only its title and is not a chapter of the "
                                "book; its text is kept, the link dropped")
                return text
            if target_page is None:
                why = ("does not exist" if not target.exists() else "is not in SUMMARY.md"
                       if target.suffix.lower() in (".md", ".markdown") else "is not a page of the book")
                self.warn(elem, f"link to {url}: the target {why}; its text is kept, the link dropped")
                return text
        label = target_page.label
        if anchor:
            label = target_page.anchors.get(unquote(anchor).lower())
            if label is None:
                self.warn(elem, f"link to {url}: no heading has the anchor #{anchor}; it points at the page")
                label = target_page.label
        cite = pf.Cite(pf.Str(f"@{label}"), citations=[pf.Citation(label, mode="AuthorInText")])
        if not pf.stringify(pf.Span(*text)).strip():
            return cite
        return [*text, pf.Space(), pf.Str("("), cite, pf.Str(")")]

    def _local(self, url: str) -> Path | None:
        """The file a relative URL names (GitBook reads `/x` from the book root); None outside it."""
        path = unquote(url.split("#", 1)[0].split("?", 1)[0])
        base = self.ctx.src if path.startswith("/") else self.page.path.parent
        target = (base / path.lstrip("/")).resolve()
        return target if target.is_relative_to(self.ctx.src) else None

    # --- math: $$...$$ in running text is inline math

    def _math(self, elem, doc):
        if not isinstance(elem, pf.Math) or elem.format != "DisplayMath":
            return None
        w = self.parsed.where.get(id(elem))
        if w is None or self._alone(w):
            return _display_lines(elem)
        return pf.Math(" ".join(elem.text.split()), format="InlineMath")

    def _alone(self, w: P.Where) -> bool:
        """Whether the source's `$$...$$` at `w` has its lines to itself (list and quote markers aside)."""
        lines = self.parsed.lines
        if not (1 <= w.line <= len(lines) and 1 <= w.end_line <= len(lines)):
            return True
        first, last = lines[w.line - 1], lines[w.end_line - 1]
        before = first[:self.parsed._index(first, w.col)]
        after = last[self.parsed._index(last, w.end_col):]
        return bool(re.fullmatch(r"\s*(?:>\s*)*(?:(?:[-*+]|\d{1,9}[.)])\s+)?", before)) and not after.strip()

    # --- question lists → topic questions and questions blocks

    def _questions(self, blocks: list[pf.Block]) -> list[pf.Block]:
        lists = [i for i, b in enumerate(blocks) if isinstance(b, (pf.BulletList, pf.OrderedList)) and _list_has_tags(b)]
        if not lists:
            return blocks
        tags = self._list_tags(blocks, lists)
        out = list(blocks)
        for i, tag in zip(lists, tags):
            self.page.adjust.subtract(P.block_counts([blocks[i]]))  # moved to the bank, on purpose
            collected: list[ImportedQuestion] = []
            self._collect(list(blocks[i].content), [], collected)
            for q in collected:
                q.tags = [tag] if tag else []
            self.page.questions.extend(collected)
            attrs = {"topic": self.page.slug, **({"tags": tag} if tag else {})}
            out[i] = pf.Div(classes=["questions"], attributes=attrs)
        return out

    def _list_tags(self, blocks: list[pf.Block], lists: list[int]) -> list[str | None]:
        """The tag each list's questions get when a page has several lists: the heading above it."""
        if len(lists) == 1:
            return [None]
        tags: list[str | None] = []
        for i in lists:
            heading = next((pf.stringify(blocks[j]) for j in range(i - 1, -1, -1) if isinstance(blocks[j], pf.Header)), "")
            base = _slug(heading) or "questions"
            tag, n = base, 2
            while tag in tags:
                tag, n = f"{base}-{n}", n + 1
            tags.append(tag)
        return tags

    def _collect(self, items: list[pf.ListItem], group: list[str], out: list[ImportedQuestion]) -> None:
        """The questions of `items`, in order; untagged items holding questions are groups."""
        for item in items:
            line, col = self.parsed.pos(item.content[0] if item.content else item)
            pos = Pos(str(self.page.path), line, col)
            if _hint_block(_first_block(item)):  # a hint written as the next item: it belongs to the previous one
                hint = _strip_hint(_first_block(item))
                if out:
                    out[-1].hint_blocks += [pf.Para(*hint.content), *item.content[1:]]
                else:
                    self.ctx.report.warning(pos, "a hint with no question before it is dropped")
                continue
            difficulty = _tag(item)
            if difficulty is None and _holds_questions(item):
                self._collect(_sub_items(item), [*group, _group_title(item)], out)
                continue
            question = self._question(item, difficulty, pos, group)
            if question.prompt_blocks:
                out.append(question)
            else:
                self.ctx.report.warning(pos, "a question with no text is dropped")
            self._collect([c for c in _sub_items(item) if _tag(c) or _holds_questions(c)], group, out)

    def _question(self, item: pf.ListItem, difficulty: str | None, pos: Pos, group: list[str]) -> ImportedQuestion:
        blocks = list(item.content)
        if difficulty and blocks:
            _strip_tag(blocks[0])
        prompt: list[pf.Block] = []
        hints: list[pf.Block] = []
        for block in blocks:
            if isinstance(block, (pf.BulletList, pf.OrderedList)):
                kept = []
                for child in block.content:
                    if _hint_block(_first_block(child)):
                        hints += [pf.Para(*_strip_hint(_first_block(child)).content), *child.content[1:]]
                    elif not (_tag(child) or _holds_questions(child)):
                        kept.append(child)
                if kept:
                    block.content = kept
                    prompt.append(block)
            elif _hint_block(block):
                hints.append(pf.Para(*_strip_hint(block).content))
            elif isinstance(block, (pf.Para, pf.Plain)):
                head, hint = _split_hint(block)
                if head is not None:
                    prompt.append(pf.Para(*head.content) if isinstance(head, pf.Plain) else head)
                if hint is not None:
                    hints.append(hint)
            else:
                prompt.append(block)
        while prompt and isinstance(prompt[0], (pf.Para, pf.Plain)) and not pf.stringify(prompt[0]).strip() \
                and not any(isinstance(x, (pf.Image, pf.Math)) for x in P._elements(prompt[0])):
            prompt.pop(0)
        if difficulty is None and prompt:
            self.ctx.report.warning(pos, "untagged question imported as medium: tag it [E], [M] or [H]")
        return ImportedQuestion("", difficulty or "medium", "", None, " / ".join(group) or None, pos,
                                difficulty is not None, prompt_blocks=prompt, hint_blocks=hints)


def _drop_emptied(elem, doc):
    """A figure whose image was dropped goes with it; so does a paragraph left empty."""
    if isinstance(elem, pf.Figure) and not any(isinstance(x, pf.Image) for x in P._elements(elem)):
        return []
    if isinstance(elem, (pf.Para, pf.Plain)) and not len(elem.content) and isinstance(elem.parent, pf.Doc):
        return []
    return None


def _display_lines(math: pf.Math) -> None:
    """GitBook's KaTeX and MathJax set display math with `\\\\` between lines as centred lines; TeX,
    and pandoc's MathML, want an environment around them: `gathered`, the same centred lines."""
    text = math.text
    depth = 0
    top_breaks = 0
    for m in re.finditer(r"\\begin\{|\\end\{|\\\\|\\.", text):
        token = m.group()
        if token == "\\begin{":
            depth += 1
        elif token == "\\end{":
            depth = max(0, depth - 1)
        elif token == "\\\\" and depth == 0:
            top_breaks += 1
    if top_breaks:
        body = re.sub(r"\\\\\s*$", "", text.strip()).strip()  # a last line break ends nothing
        math.text = f"\n\\begin{{gathered}}\n{body}\n\\end{{gathered}}\n"


def _first_block(item: pf.ListItem) -> pf.Block | None:
    return item.content[0] if len(item.content) else None


def _sub_items(item: pf.ListItem) -> list[pf.ListItem]:
    return [child for b in item.content if isinstance(b, (pf.BulletList, pf.OrderedList)) for child in b.content]


def _descendants(item: pf.ListItem):
    for child in _sub_items(item):
        yield child
        yield from _descendants(child)


def _tag(item: pf.ListItem) -> str | None:
    block = _first_block(item)
    if not isinstance(block, (pf.Para, pf.Plain)) or not block.content:
        return None
    first = block.content[0]
    if isinstance(first, (pf.Strong, pf.Emph)) and len(first.content) == 1 and isinstance(first.content[0], pf.Str):
        first = first.content[0]
        m = _TAG.fullmatch(first.text)
    else:
        m = _TAG.match(first.text) if isinstance(first, pf.Str) else None
    return TAG_DIFFICULTY[m.group(1).upper()] if m else None


def _strip_tag(block: pf.Block) -> None:
    first = block.content[0]
    if isinstance(first, (pf.Strong, pf.Emph)):
        del block.content[0]
    else:
        first.text = _TAG.sub("", first.text, count=1)
        if not first.text:
            del block.content[0]
    while len(block.content) and isinstance(block.content[0], (pf.Space, pf.SoftBreak)):
        del block.content[0]


def _list_has_tags(block: pf.Block) -> bool:
    return any(_tag(item) or any(_tag(d) for d in _descendants(item)) for item in block.content)


def _hint_start(inlines: list) -> int | None:
    """How many leading inlines spell "Hint:" (as **Hint**:, **Hint:**, *Hint*:, Hint:), or None."""
    if not inlines:
        return None
    first = inlines[0]
    if isinstance(first, (pf.Strong, pf.Emph, pf.Underline)):
        text = pf.stringify(first).strip()
        if re.fullmatch(r"hint\s*:", text, re.I):
            return 1
        if re.fullmatch(r"hint", text, re.I) and len(inlines) > 1 and isinstance(inlines[1], pf.Str) \
                and inlines[1].text.startswith(":"):
            return 1
        return None
    if isinstance(first, pf.Str) and _HINT.match(first.text):
        return 0
    if isinstance(first, pf.Str) and first.text.lower() == "hint" and len(inlines) > 1 and isinstance(inlines[1], pf.Str) \
            and inlines[1].text.startswith(":"):
        return 0
    return None


def _hint_block(block) -> bool:
    return isinstance(block, (pf.Para, pf.Plain)) and _hint_start(list(block.content)) is not None


def _strip_hint(block: pf.Block) -> pf.Block:
    """The block without its "Hint:" opening."""
    inlines = list(block.content)
    if _hint_start(inlines) == 1:  # **Hint**: or **Hint:**
        rest = inlines[1:]
        if rest and isinstance(rest[0], pf.Str) and rest[0].text.startswith(":"):
            rest = ([pf.Str(rest[0].text[1:])] if rest[0].text[1:] else []) + rest[1:]
    else:  # Hint: (one Str, or "Hint" then ":...")
        rest = inlines[1:] if inlines[0].text.lower() == "hint" else inlines
        text = re.sub(r"^(?:hint)?\s*:\s*", "", rest[0].text, flags=re.I) if rest else ""
        rest = ([pf.Str(text)] if text else []) + rest[1:]
    while rest and isinstance(rest[0], (pf.Space, pf.SoftBreak, pf.LineBreak)):
        rest = rest[1:]
    return type(block)(*rest)


def _split_hint(block: pf.Block) -> tuple[pf.Block | None, pf.Block | None]:
    """A paragraph whose later line starts with "Hint:": (the lines before, the hint)."""
    inlines = list(block.content)
    for i, x in enumerate(inlines):
        if isinstance(x, (pf.SoftBreak, pf.LineBreak)) and _hint_start(inlines[i + 1:]) is not None:
            head = type(block)(*inlines[:i])
            return head, _strip_hint(pf.Para(*inlines[i + 1:]))
    return block, None


def _looks_like_question(item: pf.ListItem) -> bool:
    first = _first_block(item)
    text = pf.stringify(first).strip().rstrip("*_ )") if first is not None else ""
    return text.endswith("?") or any(_hint_block(_first_block(c)) for c in _sub_items(item)) or any(
        _hint_block(b) or (isinstance(b, (pf.Para, pf.Plain)) and _split_hint(b)[1] is not None) for b in item.content)


def _holds_questions(item: pf.ListItem) -> bool:
    """Whether an item's sub-items are questions (so an untagged item is a group heading)."""
    return any(_tag(d) for d in _descendants(item)) or any(
        _looks_like_question(c) for c in _sub_items(item) if not _hint_block(_first_block(c)))


def _group_title(item: pf.ListItem) -> str:
    first = _first_block(item)
    text = pf.stringify(first) if isinstance(first, (pf.Para, pf.Plain)) else ""
    return " ".join(text.split()).rstrip(":").strip() or "Questions"


# ---------------------------------------------------------------------------------------------
# A chapter: its pages' headings at their levels, their numbers the source's


def _shape_chapter(chapter: ImportedChapter, ctx: ImportContext) -> None:
    for page in chapter.pages:
        _page_headings(page, chapter, ctx)
    _section_numbers(chapter, ctx)
    for page in chapter.pages:
        _protect_lone_images(page.blocks)


def _page_headings(page: GitbookPage, chapter: ImportedChapter, ctx: ImportContext) -> None:
    """The page's title at its depth's level (added from SUMMARY when the page has none), its other
    headings shifted below it, and the numbers the titles carry noted for _section_numbers."""
    title_level = page.depth + 1
    if title_level > MAX_LEVEL:
        ctx.report.warning(page.pos, f"the page {page.title!r} is nested {page.depth} levels below its chapter: "
                                     f"its title is set at heading level {MAX_LEVEL}")
        title_level = MAX_LEVEL
    summary_number = page.summary_number if page.depth else None  # a chapter's is checked by _number_titles
    if page.title_header is None:
        header = pf.Header(*P.words(page.title), level=title_level, identifier=page.label)
        page.title_header = header
        page.blocks = [header, *page.blocks]
        if page.path is not None:
            page.adjust["headings"] += 1  # added on purpose
        if summary_number:
            page.numbers[id(header)] = [SourceNumber(summary_number.text, page.pos)]
    else:
        page.title_header.level = title_level
        found = _header_number(page.title_header, page.depth, chapter)
        numbers = [SourceNumber(found.text, None)] if found else []
        if summary_number and (not found or found.text != summary_number.text):
            numbers.append(SourceNumber(summary_number.text, page.pos))
        if numbers:
            page.numbers[id(page.title_header)] = numbers
    others = [h for h in _headers(page.blocks) if h is not page.title_header]
    if not others:
        return
    shift = (title_level + 1) - min(h.level for h in others)
    for h in others:
        level = h.level + shift
        if level > MAX_LEVEL:
            line, col = page.parsed.pos(h) if page.parsed else (1, 1)
            ctx.warn(page.path, line, col, f"heading {pf.stringify(h)!r} would be at level {level} once its page "
                                           f"is a section of its chapter: it is set at level {MAX_LEVEL}")
            level = MAX_LEVEL
        h.level = max(level, 1)
        found = _header_number(h, None, chapter)
        if found:
            page.numbers[id(h)] = [found]


def _chapter_number(chapter: ImportedChapter) -> str | None:
    """The chapter's number as its source writes it (else as bookbuild prints it)."""
    return chapter.source_number.text if chapter.source_number else chapter.number


def _number_pattern(depth: int | None, chapter: ImportedChapter) -> re.Pattern:
    if depth == 0:
        return {"intro": _PART_TITLE, "appendix": _APPENDIX_TITLE}.get(chapter.role, _CHAPTER_TITLE)
    return _SECTION_TITLE


def _header_number(h: pf.Header, depth: int | None, chapter: ImportedChapter) -> SourceNumber | None:
    """The number a heading's text carries. `depth`: the heading is the title of a page that deep
    (any number of its kind counts); None: a heading inside a page (a section number counts when
    its first part is the chapter's own number)."""
    if chapter.role == "front" or (chapter.role == "intro" and depth != 0):
        return None
    text = _inline_text(h.content).strip()
    if depth is not None:
        return _title_number(text, depth, chapter)
    m = _SECTION_TITLE.match(text)
    if m and chapter.number and m.group("num").split(".")[0] == _chapter_number(chapter):
        return SourceNumber(m.group("num"), None)
    return None


def _section_numbers(chapter: ImportedChapter, ctx: ImportContext) -> None:
    """Compare each numbered heading with what bookbuild prints and take the number out of its text.
    In a chapter whose source numbers its titles, a heading the source leaves unnumbered stays so."""
    numbered = chapter.number is not None and (chapter.source_number is not None or any(p.numbers for p in chapter.pages))
    sections: list[int] = []
    for page in chapter.pages:
        for h in _headers(page.blocks):
            found = page.numbers.get(id(h), [])
            if h is chapter.pages[0].title_header:
                if found:
                    _strip_header_number(h, _number_pattern(0, chapter))
                for number in found:
                    if chapter.number and number.text != chapter.number:
                        kind = "appendix" if chapter.role == "appendix" else "chapter"
                        _warn_number(page, h, number, ctx, f"the heading says {kind} {number.text}; bookbuild "
                                                           f"prints it as {kind} {chapter.number}")
                continue
            if chapter.number is None or not 2 <= h.level <= 3 or "unnumbered" in h.classes:
                continue  # bookbuild prints no number here: a number in the title stays in it
            if numbered and not found:
                h.classes.append("unnumbered")  # the source does not number it: neither does the book
                continue
            depth = h.level - 1
            sections = sections[:depth] + [0] * (depth - len(sections[:depth]))
            sections[-1] += 1
            printed = ".".join([chapter.number, *map(str, sections)])
            if found:
                _strip_header_number(h, _SECTION_TITLE)
            for number in found:
                if not _same_section(number.text, printed, chapter):
                    _warn_number(page, h, number, ctx, f"the title says section {number.text}; bookbuild prints "
                                                       f"it as section {printed}")


def _same_section(written: str, printed: str, chapter: ImportedChapter) -> bool:
    """Whether a section number agrees with bookbuild's: "2.3" in a chapter the source numbers 2 and
    bookbuild 1 agrees with "1.3" (the chapter's own number is reported once, with the chapter)."""
    head, _, rest = written.partition(".")
    return written == printed or (head == _chapter_number(chapter) and rest == printed.partition(".")[2])


def _warn_number(page: GitbookPage, h: pf.Header, number: SourceNumber, ctx: ImportContext, message: str) -> None:
    if number.pos is not None:
        ctx.report.warning(number.pos, message)
        return
    line, col = page.parsed.pos(h) if page.parsed else (1, 1)
    ctx.warn(page.path, line, col, message)


def _inline_text(inlines) -> str:
    return "".join(" " if isinstance(x, (pf.Space, pf.SoftBreak, pf.LineBreak)) else
                   x.text if isinstance(x, pf.Str) else pf.stringify(x) for x in inlines)


def _strip_header_number(h: pf.Header, pattern: re.Pattern) -> None:
    """Take the leading number ("Chapter 5.", "5.1.4", "A.", "Part II:") out of a heading's inlines."""
    inlines = list(h.content)
    while inlines and isinstance(inlines[0], (pf.Space, pf.SoftBreak)):
        inlines.pop(0)
    m = pattern.match(_inline_text(inlines))
    if not m or not m.group("rest").strip():
        return
    cut = m.start("rest")
    while inlines and cut > 0:
        length = len(_inline_text([inlines[0]]))
        if length <= cut:
            inlines.pop(0)
            cut -= length
        elif isinstance(inlines[0], pf.Str):
            inlines[0].text = inlines[0].text[cut:]
            cut = 0
        else:
            break
    while inlines and isinstance(inlines[0], (pf.Space, pf.SoftBreak)):
        inlines.pop(0)
    h.content = inlines


def _protect_lone_images(blocks: list[pf.Block]) -> None:
    """An image alone in its paragraph is an inline image in GitBook; bookbuild's reader would make
    it a figure. A no-break space after it keeps it what it was (pandoc's own advice)."""
    def action(elem, doc):
        if isinstance(elem, pf.Para) and len(elem.content) == 1 and isinstance(elem.content[0], pf.Image):
            elem.content.append(pf.Str("\u00a0"))
    for block in blocks:
        block.walk(action)


# ---------------------------------------------------------------------------------------------
# Writing every chapter, question and footnote in one pandoc run


def _write_texts(chapters: list[ImportedChapter], ctx: ImportContext) -> tuple[dict[str, str], dict[str, str]]:
    """Every chapter file's text and every topic file's, from one run of pandoc's Markdown writer.

    Footnotes are written here, not by pandoc (which numbers them per document and puts them at
    its end): each note becomes a placeholder, its text a piece of its own, its definition goes
    after the piece that refers to it (the chapter, or the question) under its source label."""
    nonce = secrets.token_hex(6)
    pieces: list[list[pf.Block]] = []
    notes: list[tuple[str, int]] = []  # (label, the piece holding its text)
    owners: dict[int, list[int]] = {}  # piece → the notes it refers to

    def add_piece(blocks: list[pf.Block], page: GitbookPage, taken: set[str]) -> int:
        index = len(pieces)
        pieces.append([])

        def action(elem, doc):
            if not isinstance(elem, pf.Note):
                return None
            source = page.note_labels.get(id(elem), "note")
            label = re.sub(r"[^\w-]", "-", source if page.depth == 0 else f"{page.slug}-{source}")
            base, n = label, 2
            while label in taken:
                label, n = f"{base}-{n}", n + 1
            taken.add(label)
            body = add_piece(list(elem.content), page, taken)
            notes.append((label, body))
            owners.setdefault(index, []).append(len(notes) - 1)
            return pf.Str(P.note_placeholder(nonce, len(notes) - 1))

        doc = pf.Doc(*blocks)
        doc.walk(action)
        pieces[index] = list(doc.content)
        return index

    chapter_piece: dict[str, int] = {}
    field_piece: list[tuple[ImportedQuestion, str, int]] = []
    for chapter in chapters:
        taken: set[str] = set()  # footnote labels are per chapter file (its questions are placed in it)
        chapter_piece[chapter.file] = add_piece([b for page in chapter.pages for b in page.blocks],
                                                chapter.pages[0], taken)
        for page in chapter.pages:
            for q in page.questions:
                for name, blocks in (("prompt", q.prompt_blocks), ("hint", q.hint_blocks)):
                    if blocks:
                        _protect_lone_images(blocks)
                        field_piece.append((q, name, add_piece(_question_images(blocks), page, taken)))
    texts = P.write_markdown(pieces)

    def resolve(piece: int) -> str:
        text = texts[piece]
        definitions = []
        for index in owners.get(piece, []):
            label, body = notes[index]
            text = text.replace(P.note_placeholder(nonce, index), f"[^{label}]")
            lines = resolve(body).split("\n")
            definitions.append("\n".join([f"[^{label}]: {lines[0]}", *("    " + x if x.strip() else "" for x in lines[1:])]))
        if definitions:
            text = text.rstrip("\n") + "\n\n" + "\n\n".join(definitions)
        return text

    chapter_texts = {name: resolve(i).rstrip("\n") + "\n" for name, i in chapter_piece.items()}
    for q, name, i in field_piece:
        setattr(q, name, _neutralise(resolve(i).strip("\n")))
    topics = {}
    for chapter in chapters:
        for page in chapter.pages:
            for q in page.questions:
                q.id = _new_id(q.prompt, ctx)
            if page.questions:
                origin = page.path.relative_to(ctx.src).as_posix()
                topics[f"{page.slug}.yaml"] = _dump(
                    {"title": page.display_title, "questions": [q.as_yaml() for q in page.questions]},
                    f"Imported from {origin} by `bookbuild import-gitbook`.")
    return chapter_texts, topics


def _question_images(blocks: list[pf.Block]) -> list[pf.Block]:
    """Question text is read from questions/, chapter text from book/chapters/."""
    def action(elem, doc):
        if isinstance(elem, pf.Image) and elem.url.startswith("../images/"):
            elem.url = "../book/images/" + elem.url.removeprefix("../images/")
    doc = pf.Doc(*blocks)
    doc.walk(action)
    return list(doc.content)


def _neutralise(text: str) -> str:
    """Question text cannot open or close a block: a line of colons is escaped."""
    return "\n".join(("\\" + line if line.lstrip().startswith(":::") else line) for line in text.split("\n"))


def _new_id(prompt: str, ctx: ImportContext) -> str:
    base = question_id(prompt)
    qid, n = base, 2
    while qid in ctx.question_ids:
        qid, n = f"{base}-{n}", n + 1
    ctx.question_ids.add(qid)
    return qid


def question_id(prompt: str) -> str:
    """A short, readable id from a prompt: its first four significant words."""
    text = re.sub(r"\$[^$]*\$", " ", prompt)
    text = re.sub(r"!?\[((?:[^\[\]\\]|\\.)*)\]\([^)]*\)", r"\1", text)
    text = re.sub(r"@(q|sec|fig|tbl):\S+", " ", text)
    text = re.sub(r"\[\^[^\]]*\]", " ", text)
    words = re.findall(r"[a-z0-9]+", _ascii(text).lower().replace("'", "").replace("\u2019", ""))
    chosen = ([w for w in words if w not in _STOPWORDS] or words)[:4]
    qid = "-".join(chosen) or "question"
    if len(qid) > 40:
        qid = qid[:40].rsplit("-", 1)[0]
    return qid


# ---------------------------------------------------------------------------------------------
# The check: each page's blocks, as bookbuild reads the chapter, against the source's


def _compare_blocks(chapters: list[ImportedChapter], texts: dict[str, str], ctx: ImportContext) -> None:
    from ..assemble import parse_markdown  # bookbuild's own reader, as assemble runs it

    work = [(c, texts[c.file]) for c in chapters]
    with ThreadPoolExecutor(max_workers=2) as pool:
        parsed = list(pool.map(lambda item: parse_markdown(item[1]), work))
    for (chapter, _), data in zip(work, parsed):
        doc = pf.load(io.StringIO(data))
        sections = _split_pages(list(doc.content), [p.label for p in chapter.pages])
        for page in chapter.pages:
            if page.path is None:
                continue
            expected = page.source_counts + Counter()  # drops zero and negative counts
            expected.update(page.adjust)
            actual = P.block_counts(sections.get(page.label, []))
            differ = [f"{kind}: {max(expected[kind], 0)} in the source, {actual[kind]} imported"
                      for kind in P.KINDS if max(expected[kind], 0) != actual[kind]]
            if differ:
                ctx.warn(page.path, 1, 1, f"the imported page differs from the source ({'; '.join(differ)}): "
                                          f"compare book/chapters/{chapter.file} with the page")


def _split_pages(blocks: list[pf.Block], labels: list[str]) -> dict[str, list[pf.Block]]:
    """The chapter's blocks by page: each page runs from its title heading to the next page's."""
    out: dict[str, list[pf.Block]] = {}
    current = None
    wanted = set(labels)
    for block in blocks:
        if isinstance(block, pf.Header) and block.identifier in wanted:
            current = block.identifier
        if current is not None:
            out.setdefault(current, []).append(block)
    return out


# ---------------------------------------------------------------------------------------------
# Small text helpers


def _gitbook_anchor(text: str) -> str:
    """The anchor GitBook gives a heading (github-slugger's rule)."""
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


def _book_meta(config: dict, config_path: Path, title: str | None, author: str | None,
               ctx: ImportContext) -> tuple[dict, str, str]:
    """Title, author and language, and where the title and author came from."""
    def setting(key: str) -> str | None:
        value = config.get(key)
        return value.strip() if isinstance(value, str) and value.strip() else None

    title = (title or "").strip() or None
    author = (author or "").strip() or None
    if title:
        title_source = "--title"
    elif setting("title"):
        title, title_source = setting("title"), "book.json"
    elif (heading := _readme_heading(ctx)) is not None:
        title, title_source = heading, "README.md's first heading"
    else:
        title, title_source = ctx.src.name, "the source folder's name"
    if author:
        author_source = "--author"
    elif setting("author"):
        author, author_source = setting("author"), "book.json"
    else:  # an EPUB needs a creator
        author, author_source = "Unknown author", "nowhere (no --author, none in book.json)"
        ctx.warn(config_path if config_path.is_file() else ctx.src, 1, 1,
                 f"book.json names no author; book.yaml says {author!r} until you set author: "
                 "(or import with --author)")
    return {"title": title, "author": author, "language": setting("language") or "en"}, title_source, author_source


def _readme_heading(ctx: ImportContext) -> str | None:
    """The text of README.md's first heading (GitBook's introduction page)."""
    page = ctx.pages.get(ctx.src / "README.md")
    if page is not None and page.parsed is not None:
        source = page.parsed
    else:
        path = ctx.src / "README.md"
        if not path.is_file():
            return None
        text = read_text(path, Report())
        if text is None:
            return None
        source = P.read_page(text)
    for block in source.doc.content:
        if isinstance(block, pf.Header):
            text = " ".join(pf.stringify(block).split())
            return text or None
    return None


def _book_yaml(meta: dict, plan: BookPlan) -> str:
    slug = _slug(meta["title"]) or "book"
    data: dict = {"title": meta["title"], "slug": slug, "author": meta["author"], "language": meta["language"]}
    data["identifier"] = f"urn:uuid:{uuid.uuid5(uuid.NAMESPACE_URL, 'bookbuild-import:' + slug)}"
    data["version"] = "0.1.0"
    if plan.front:
        data["front"] = [c.file for c in plan.front]
    if plan.parts:
        data["parts"] = [{"title": p.title, **({"intro": p.intro.file} if p.intro else {}),
                          "chapters": [c.file for c in p.chapters]} for p in plan.parts]
    else:
        data["chapters"] = [c.file for c in plan.flat]
    if plan.appendices:
        data["appendices"] = [c.file for c in plan.appendices]
    # GitBook question books publish questions only: answers can come later, question by question
    data["editions"] = {"release": {"answers": "none"}}
    return _dump(data, "Imported from a GitBook book by `bookbuild import-gitbook`.\n"
                       "Add answers to the questions, then set the release edition's answers to appendix.")


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
