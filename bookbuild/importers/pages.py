"""GitBook pages as pandoc ASTs: read with pandoc's CommonMark reader, written back as pandoc Markdown.

GitBook and HonKit read CommonMark with GFM tables, so a page is read with `commonmark_x` less
the extensions GitBook lacks, with source positions. What that reader produces is what the
page meant; the importer changes the AST with panflute (gitbook.py) and `write_markdown`
writes it in one pandoc run, in the dialect bookbuild reads (assemble.READER).

Positions: `+sourcepos` wraps blocks and inlines in Divs and Spans carrying `data-pos`. They are
taken off here (the tree is left as the reader would give it without positions) and kept in
`ParsedPage.where`, by element. Adjacent Str elements are merged ("[", "E", "]" → "[E]"),
each merged piece keeping its position.

Dollars: GitBook writes math as `$$...$$`, in running text and alone; a single `$` is a dollar
sign there. The reader's `tex_math_dollars` also takes `$...$` as math: when a page has such
a span, every single `$` outside code, raw HTML and `$$` math is escaped and the page read again.
"""

from __future__ import annotations

import html
import io
import re
import secrets
from collections import Counter
from dataclasses import dataclass, field
from html.parser import HTMLParser

import panflute as pf

from ..pandoc import run_pandoc

GITBOOK_READER = "commonmark_x-smart-emoji-fenced_divs-subscript-superscript"
READ_ARGS = ["--sandbox", "-f", GITBOOK_READER + "+sourcepos", "-t", "json"]
# the writer's dialect is bookbuild's reader's; less `smart` (the reader makes quotes and dashes
# typographic, so the writer need not escape them) and the table kinds a book author rarely writes
WRITE_ARGS = ["--sandbox", "-f", "json", "-t", "markdown-smart-simple_tables-multiline_tables", "--wrap=preserve"]
HTML_ARGS = ["--sandbox", "-f", "html", "-t", "json"]
TAB = 4  # the CommonMark reader's tab stop, in its columns

# what the block comparison counts, in the order it reports them
KINDS = ("headings", "lists", "tables", "code blocks", "math", "images")


@dataclass(frozen=True)
class Where:
    """A source range as the reader gives it: 1-based lines, columns with tabs expanded."""

    line: int
    col: int
    end_line: int
    end_col: int


_POS = re.compile(r"(?:.*@)?(\d+):(\d+)-(\d+):(\d+)")


def _parse_pos(value: str) -> Where | None:
    ranges = [m for m in (_POS.fullmatch(part.strip()) for part in value.split(";")) if m]
    if not ranges:
        return None
    starts = sorted((int(m.group(1)), int(m.group(2))) for m in ranges)
    ends = sorted((int(m.group(3)), int(m.group(4))) for m in ranges)
    return Where(*starts[0], *ends[-1])


@dataclass
class ParsedPage:
    """One page read as GitBook reads it: its AST and where each element came from."""

    text: str
    doc: pf.Doc
    where: dict[int, Where] = field(default_factory=dict)  # id(element) → its source range
    pieces: dict[int, list[tuple[int, Where]]] = field(default_factory=dict)  # merged Str → (offset, range)
    inserted: dict[int, list[int]] = field(default_factory=dict)  # line → source indexes escaped with "\"
    keep: list = field(default_factory=list)  # the elements `where` names, kept alive (ids stay unique)

    @property
    def lines(self) -> list[str]:
        return self.text.split("\n")

    def pos(self, elem: pf.Element | None) -> tuple[int, int]:
        """(line, column) of an element in the source file; the page's start when unknown."""
        while elem is not None and not isinstance(elem, pf.Doc):
            w = self.where.get(id(elem))
            if w:
                return w.line, self.char_col(w.line, w.col)
            elem = elem.parent
        return 1, 1

    def str_pos(self, elem: pf.Str, offset: int) -> tuple[int, int]:
        """(line, column) of character `offset` of a (merged) Str."""
        pieces = self.pieces.get(id(elem))
        if not pieces:
            return self.pos(elem)
        start, w = max((p for p in pieces if p[0] <= offset), default=pieces[0], key=lambda p: p[0])
        col = self.char_col(w.line, w.col) + max(0, offset - start)
        return w.line, col

    def char_col(self, line: int, col: int) -> int:
        """The 1-based character column of the reader's column `col` (tabs expanded) on `line`."""
        lines = self.lines
        if not 1 <= line <= len(lines):
            return max(col, 1)
        text = lines[line - 1]
        visual = 1
        index = 0
        while index < len(text) and visual < col:
            visual = visual + TAB - (visual - 1) % TAB if text[index] == "\t" else visual + 1
            index += 1
        escaped = self.inserted.get(line, [])
        return index + 1 - sum(1 for i in escaped if i < index)

    def source(self, w: Where) -> str:
        """The source text of a range (columns as the reader counts them)."""
        lines = self.lines
        out = []
        for n in range(w.line, w.end_line + 1):
            if not 1 <= n <= len(lines):
                break
            text = lines[n - 1]
            a = self._index(text, w.col) if n == w.line else 0
            b = self._index(text, w.end_col) if n == w.end_line else len(text)
            out.append(text[a:b])
        return "\n".join(out)

    @staticmethod
    def _index(text: str, col: int) -> int:
        visual, index = 1, 0
        while index < len(text) and visual < col:
            visual = visual + TAB - (visual - 1) % TAB if text[index] == "\t" else visual + 1
            index += 1
        return index


# ---------------------------------------------------------------------------------------------
# Reading


def read_page(text: str) -> ParsedPage:
    """A page's AST as GitBook reads it (CommonMark, GFM tables, `$$` math, `$` as a dollar)."""
    page = _read(text)
    if any(isinstance(e, pf.Math) and e.format == "InlineMath" for e in _elements(page.doc)):
        escaped, inserted = _escape_single_dollars(page)
        page = _read(escaped)
        page.text = text
        page.inserted = inserted
    return page


def _read(text: str) -> ParsedPage:
    doc = pf.load(io.StringIO(run_pandoc(READ_ARGS, text)))
    page = ParsedPage(text, doc)
    _take_positions(page)
    _merge_strs(page)
    return page


def _elements(root: pf.Element):
    """Every element under `root`, in document order (notes, captions and table parts included)."""
    found: list[pf.Element] = []
    root.walk(lambda e, d: found.append(e) and None)
    return found


def _take_positions(page: ParsedPage) -> None:
    """Unwrap the reader's position Divs and Spans, recording each element's range."""
    def action(elem, doc):
        attrs = getattr(elem, "attributes", None)
        if not attrs or "data-pos" not in attrs:
            return None
        w = _parse_pos(attrs["data-pos"])
        if attrs.get("wrapper") == "1" and isinstance(elem, (pf.Div, pf.Span)):
            children = list(elem.content)
            for child in children:
                if w and id(child) not in page.where:
                    page.where[id(child)] = w
                    page.keep.append(child)
            return children
        del attrs["data-pos"]
        if w:
            page.where[id(elem)] = w
            page.keep.append(elem)
        return None

    page.doc = page.doc.walk(action)


def _merge_strs(page: ParsedPage) -> None:
    """Adjacent Str elements as one, as the reader gives them without positions."""
    def action(elem, doc):
        content = getattr(elem, "content", None)
        if not isinstance(content, pf.ListContainer) or not any(isinstance(x, pf.Str) for x in content):
            return None
        merged: list[pf.Element] = []
        for item in list(content):
            if isinstance(item, pf.Str) and merged and isinstance(merged[-1], pf.Str):
                head = merged[-1]
                pieces = page.pieces.setdefault(id(head), [(0, page.where[id(head)])] if id(head) in page.where else [])
                if id(item) in page.where:
                    pieces.append((len(head.text), page.where[id(item)]))
                head.text += item.text
            else:
                merged.append(item)
        if len(merged) != len(content):
            elem.content = merged
        return None

    page.doc.walk(action)


def _escape_single_dollars(page: ParsedPage) -> tuple[str, dict[int, list[int]]]:
    """The page's text with every single `$` outside code, raw HTML, autolinks and `$$` math escaped."""
    lines = page.lines
    protected: dict[int, list[tuple[int, int]]] = {}  # line → [start, end) character indexes
    for elem in _elements(page.doc):
        w = page.where.get(id(elem))
        if w is None:
            continue
        protect = isinstance(elem, (pf.Code, pf.CodeBlock, pf.RawBlock, pf.RawInline)) or (
            isinstance(elem, pf.Math) and elem.format == "DisplayMath") or (
            isinstance(elem, pf.Link) and page.source(w).startswith("<"))
        if not protect:
            continue
        for n in range(w.line, w.end_line + 1):
            if 1 <= n <= len(lines):
                text = lines[n - 1]
                a = page._index(text, w.col) if n == w.line else 0
                b = page._index(text, w.end_col) if n == w.end_line else len(text)
                protected.setdefault(n, []).append((a, b))
    inserted: dict[int, list[int]] = {}
    out = []
    for n, text in enumerate(lines, 1):
        spans = protected.get(n, [])
        chars = []
        for m in re.finditer(r"\$+", text):
            backslashes = len(text[:m.start()]) - len(text[:m.start()].rstrip("\\"))
            if len(m.group()) == 1 and backslashes % 2 == 0 and not any(a <= m.start() < b for a, b in spans):
                chars.append(m.start())
        for i in reversed(chars):
            text = text[:i] + "\\" + text[i:]
        if chars:
            inserted[n] = chars
        out.append(text)
    return "\n".join(out), inserted


# ---------------------------------------------------------------------------------------------
# Raw HTML: what GitBook showed, as pandoc elements (bookbuild removes raw HTML from its outputs)

VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "param", "source", "track", "wbr"}


class _Shape(HTMLParser):
    """Whether an HTML fragment has text or images, and whether its tags are balanced."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.stack: list[str] = []
        self.balanced = True
        self.content = False

    def handle_starttag(self, tag, attrs):
        if tag in ("img", "hr", "table", "iframe", "video", "svg", "math"):
            self.content = True
        if tag not in VOID:
            self.stack.append(tag)

    def handle_startendtag(self, tag, attrs):
        if tag in ("img", "hr"):
            self.content = True

    def handle_endtag(self, tag):
        if tag in VOID:
            return
        if self.stack and self.stack[-1] == tag:
            self.stack.pop()
        else:
            self.balanced = False

    def handle_data(self, data):
        if data.strip():
            self.content = True


def html_shape(fragment: str) -> tuple[bool, bool]:
    """(has content, is balanced) of an HTML fragment."""
    shape = _Shape()
    try:
        shape.feed(fragment)
        shape.close()
    except Exception:  # noqa: BLE001 (html.parser is lenient; anything odd is "unbalanced")
        return True, False
    return shape.content, shape.balanced and not shape.stack


def html_blocks(fragments: list[str]) -> list[list[pf.Block]]:
    """Each HTML fragment as pandoc blocks (pandoc's HTML reader: scripts, styles and comments go)."""
    results: list[list[pf.Block]] = [[] for _ in fragments]
    batch = []
    for i, fragment in enumerate(fragments):
        content, balanced = html_shape(fragment)
        if not content:
            continue
        if balanced:
            batch.append(i)
        else:  # on its own: its open tags must not swallow the others
            results[i] = _html_to_blocks(fragment)
    if batch:
        nonce = secrets.token_hex(6)
        text = "".join(f"<p>bbsplit{nonce}n{i}</p>\n{fragments[i]}\n" for i in batch)
        current: list[pf.Block] | None = None
        for block in _html_to_blocks(text):
            marker = re.fullmatch(rf"bbsplit{nonce}n(\d+)", pf.stringify(block).strip()) if isinstance(block, pf.Para) else None
            if marker:
                current = results[int(marker.group(1))]
            elif current is not None:
                current.append(block)
    return results


def _html_to_blocks(text: str) -> list[pf.Block]:
    doc = pf.load(io.StringIO(run_pandoc(HTML_ARGS, text)))
    return list(doc.content)


class _Tag(HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.found: tuple[str, str, dict] | None = None

    def handle_starttag(self, tag, attrs):
        self.found = ("start", tag, {k: v or "" for k, v in attrs})

    def handle_startendtag(self, tag, attrs):
        self.found = ("void", tag, {k: v or "" for k, v in attrs})

    def handle_endtag(self, tag):
        self.found = ("end", tag, {})

    def handle_comment(self, data):
        self.found = ("comment", "", {})


def parse_tag(raw: str) -> tuple[str, str, dict]:
    """One raw inline HTML tag: ("start" | "end" | "void" | "comment" | "other", tag name, attributes)."""
    parser = _Tag()
    try:
        parser.feed(raw)
        parser.close()
    except Exception:  # noqa: BLE001
        return "other", "", {}
    kind, tag, attrs = parser.found or ("other", "", {})
    if kind == "start" and tag in VOID:
        kind = "void"
    return kind, tag, attrs


INLINE_TAGS = {
    "b": pf.Strong, "strong": pf.Strong, "i": pf.Emph, "em": pf.Emph, "cite": pf.Emph, "var": pf.Emph,
    "sup": pf.Superscript, "sub": pf.Subscript, "u": pf.Underline, "ins": pf.Underline,
    "s": pf.Strikeout, "del": pf.Strikeout, "strike": pf.Strikeout,
}


def image_from_attrs(attrs: dict) -> pf.Image:
    """An `<img>` tag's attributes as an Image (its alt text as the image's text)."""
    size = {k: attrs[k] for k in ("width", "height") if re.fullmatch(r"\d+(\.\d+)?(%|px)?", attrs.get(k, "").strip())}
    alt = " ".join((attrs.get("alt") or "").split())
    return pf.Image(*words(alt), url=attrs.get("src", ""), attributes=size)


def words(text: str) -> list[pf.Inline]:
    out: list[pf.Inline] = []
    for i, word in enumerate(text.split()):
        if i:
            out.append(pf.Space())
        out.append(pf.Str(word))
    return out


def convert_inline_html(content: list[pf.Inline]) -> tuple[list[pf.Inline], bool]:
    """Inline raw HTML tags as pandoc inlines: <b>…</b> → Strong, <br> → LineBreak, <img> → Image,
    <a href> → Link, <code> → Code; other tags and comments are dropped, their text kept.
    Returns the new inlines and whether anything changed."""
    if not any(isinstance(x, pf.RawInline) for x in content):
        return list(content), False
    # frames: (tag, attrs, inlines collected since its open tag)
    frames: list[tuple[str, dict, list[pf.Inline]]] = [("", {}, [])]
    for item in content:
        if not isinstance(item, pf.RawInline):
            frames[-1][2].append(item)
            continue
        if item.format != "html":
            continue  # raw TeX and the like: GitBook shows no such thing
        kind, tag, attrs = parse_tag(item.text)
        if kind == "void" or (kind == "start" and tag in VOID):
            if tag == "br":
                frames[-1][2].append(pf.LineBreak())
            elif tag == "img" and attrs.get("src"):
                frames[-1][2].append(image_from_attrs(attrs))
        elif kind == "start":
            frames.append((tag, attrs, []))
        elif kind == "end" and any(f[0] == tag for f in frames[1:]):
            while frames[-1][0] != tag:  # tags left open inside it: dropped, their text kept
                _, _, inner = frames.pop()
                frames[-1][2].extend(inner)
            _, open_attrs, inner = frames.pop()
            frames[-1][2].extend(_wrap(tag, open_attrs, inner))
    while len(frames) > 1:
        _, _, inner = frames.pop()
        frames[-1][2].extend(inner)
    return frames[0][2], True


def _wrap(tag: str, attrs: dict, inner: list[pf.Inline]) -> list[pf.Inline]:
    if tag in INLINE_TAGS:
        return [INLINE_TAGS[tag](*inner)] if inner else []
    if tag in ("code", "kbd", "tt", "samp"):
        return [pf.Code(pf.stringify(pf.Span(*inner)))] if inner else []
    if tag == "a" and attrs.get("href"):
        return [pf.Link(*inner, url=attrs["href"])]
    return inner


# ---------------------------------------------------------------------------------------------
# Counting blocks (the import check)


def block_counts(elements) -> Counter:
    """Headings, lists, tables, code blocks, math and images under `elements`, by kind.
    Questions blocks (placeholders whose questions went to the bank) are not looked into."""
    counts: Counter = Counter()

    def visit(elem):
        if isinstance(elem, pf.Div) and "questions" in elem.classes:
            return
        kind = _KIND.get(type(elem))
        if kind:
            counts[kind] += 1
        for child in _children(elem):
            visit(child)

    for elem in elements:
        visit(elem)
    return counts


_KIND = {pf.Header: "headings", pf.BulletList: "lists", pf.OrderedList: "lists", pf.Table: "tables",
         pf.CodeBlock: "code blocks", pf.Math: "math", pf.Image: "images"}


def _children(elem) -> list:
    out = []
    content = getattr(elem, "content", None)
    if isinstance(content, pf.ListContainer):
        out.extend(content)
    if isinstance(elem, pf.DefinitionItem):
        out.extend(elem.term)
        out.extend(elem.definitions)
    if isinstance(elem, pf.Table):
        out += [elem.head, *elem.content, elem.foot, elem.caption]
    if isinstance(elem, pf.Figure):
        out.append(elem.caption)
    if isinstance(elem, pf.Image):  # its alt text: nothing counted there, but keep walking uniform
        pass
    return [x for x in out if x is not None]


# ---------------------------------------------------------------------------------------------
# Writing


def write_markdown(pieces: list[list[pf.Block]]) -> list[str]:
    """Each list of blocks as pandoc Markdown, all in one pandoc run (split by marker paragraphs)."""
    if not pieces:
        return []
    nonce = secrets.token_hex(6)
    blocks: list[pf.Block] = []
    for i, piece in enumerate(pieces):
        blocks.append(pf.Para(pf.Str(f"bbsplit{nonce}n{i}")))
        blocks.extend(piece)
    doc = pf.Doc(*blocks)
    buffer = io.StringIO()
    pf.dump(doc, buffer)
    text = run_pandoc(WRITE_ARGS, buffer.getvalue())
    out = [""] * len(pieces)
    current = None
    chunk: list[str] = []
    for line in text.split("\n") + [f"bbsplit{nonce}n-1"]:
        m = re.fullmatch(rf"bbsplit{nonce}n(-?\d+)", line)
        if m:
            if current is not None:
                out[current] = "\n".join(chunk).strip("\n")
            current, chunk = int(m.group(1)), []
        else:
            chunk.append(line)
    return out


def note_placeholder(nonce: str, n: int) -> str:
    return f"bbnote{nonce}n{n}z"


def unescape_entities(text: str) -> str:
    return html.unescape(text)
