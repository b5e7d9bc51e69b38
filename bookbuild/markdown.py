"""Scanning pandoc Markdown source for what validation needs, with exact positions.

pandoc's `markdown` reader gives no source positions, so references, labels, images and
raw HTML are found here in the source text itself (outside code).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from .errors import Pos

REF_KINDS = ("q", "sec", "fig", "tbl")
_REF = re.compile(r"(?<![\w@.])@(q|sec|fig|tbl):([A-Za-z0-9_](?:[A-Za-z0-9_:.-]*[A-Za-z0-9_])?)")
_LABEL = re.compile(r"\{[^{}\n]*?#(sec|fig|tbl):([A-Za-z0-9_-]+)[^{}\n]*\}")
_IMAGE = re.compile(r"!\[(?:[^\]\\]|\\.)*\]\(\s*<?([^)\s>]+)>?(?:\s+\"[^\"]*\")?\s*\)")
_LINK = re.compile(r"(?<!!)\[(?:[^\]\\]|\\.)*\]\(\s*<?([^)\s>]+)")
_TAG = re.compile(r"<(/?)([A-Za-z][A-Za-z0-9-]*)(?=[\s/>])[^>]*>|<!--")
_HEADING = re.compile(r"^(#{1,6})[ \t]+(.*?)[ \t]*$")
_FENCE = re.compile(r"^( {0,3})(`{3,}|~{3,})(.*)$")
_CODESPAN = re.compile(r"(`+)(?!`)(.+?)(?<!`)\1(?!`)")
_MATH = re.compile(r"\$\$.+?\$\$|(?<![\\$])\$(?![\s$])[^$\n]*?(?<![\s\\])\$(?!\d)")
_COLONS = re.compile(r"^\s*:{3,}")
_UNSAFE_SCHEME = re.compile(r"^\s*(javascript|vbscript|data|file):", re.I)
_REMOTE = re.compile(r"^[a-zA-Z][a-zA-Z0-9+.-]*:")
_QUOTES = re.compile(r"^(?:\s*>)+")
MAX_DEPTH = 64


@dataclass(frozen=True)
class Ref:
    kind: str
    target: str
    pos: Pos


@dataclass(frozen=True)
class Label:
    kind: str
    id: str
    pos: Pos


@dataclass(frozen=True)
class ImageRef:
    url: str
    pos: Pos


@dataclass(frozen=True)
class Heading:
    level: int
    text: str
    pos: Pos
    line: int  # 0-based line in the scanned text


@dataclass
class Scan:
    refs: list[Ref] = field(default_factory=list)
    labels: list[Label] = field(default_factory=list)
    images: list[ImageRef] = field(default_factory=list)
    headings: list[Heading] = field(default_factory=list)
    problems: list[tuple[Pos, str, str]] = field(default_factory=list)  # (pos, severity, message)


def _blank(match: re.Match) -> str:
    return " " * len(match.group(0))


def is_remote(url: str) -> bool:
    return bool(_REMOTE.match(url)) or url.startswith("//")


def code_lines(text: str) -> tuple[list[bool], int | None]:
    """For each line, whether it is in (or fences) a code block; and the line of a fence never closed."""
    flags = []
    fence: tuple[str, int] | None = None
    opened = 0
    for line in text.split("\n"):
        m = _FENCE.match(line)
        if fence is None:
            if m and not (m.group(2)[0] == "`" and "`" in m.group(3)):
                fence = (m.group(2)[0], len(m.group(2)))
                opened = len(flags)
                flags.append(True)
                continue
            flags.append(False)
        else:
            flags.append(True)
            if m and m.group(2)[0] == fence[0] and len(m.group(2)) >= fence[1] and not m.group(3).strip():
                fence = None
    return flags, (opened if fence else None)


def scan(text: str, origin: Pos, *, in_field: str | None = None) -> Scan:
    """Find references, labels, images, headings and unsafe constructs in Markdown `text`.

    `origin` is where the text's first line starts; `in_field` names the question field the
    text comes from (prompt, answer...), where block structure is restricted.
    """
    out = Scan()
    lines = text.split("\n")
    in_code, unclosed = code_lines(text)
    indent = origin.col - 1

    def at(i: int, col: int) -> Pos:
        return Pos(origin.path, origin.line + i, indent + col + 1)

    for i, line in enumerate(lines):
        if in_code[i]:
            continue
        quotes = _QUOTES.match(line)
        depth = max(quotes.group(0).count(">") if quotes else 0, (len(line) - len(line.lstrip(" "))) // 2)
        if depth > MAX_DEPTH:
            out.problems.append((at(i, 0), "error", f"Markdown nested deeper than {MAX_DEPTH} levels"))
            continue
        if in_field and _COLONS.match(line):
            out.problems.append((at(i, 0), "error",
                                 f"a line starting with ':::' in a question's {in_field} would end its "
                                 "block; remove it or indent it"))
        m = _HEADING.match(line)
        if m:
            if in_field:
                out.problems.append((at(i, 0), "error",
                                     f"headings are not allowed in a question's {in_field}; use **bold** text"))
            else:
                out.headings.append(Heading(len(m.group(1)), m.group(2), at(i, 0), i))
        clean = _CODESPAN.sub(_blank, line)
        clean = _MATH.sub(_blank, clean)
        for m in _REF.finditer(clean):
            out.refs.append(Ref(m.group(1), m.group(2), at(i, m.start())))
        for m in _LABEL.finditer(clean):
            out.labels.append(Label(m.group(1), m.group(2), at(i, m.start(1) - 1)))
        for m in _IMAGE.finditer(clean):
            out.images.append(ImageRef(m.group(1), at(i, m.start())))
        for m in _LINK.finditer(clean):
            if _UNSAFE_SCHEME.match(m.group(1)):
                out.problems.append((at(i, m.start(1)), "warning",
                                     f"link to {m.group(1).split(':')[0]}: URL removed from the output"))
        for m in _TAG.finditer(clean):
            tag = "<!--" if m.group(0) == "<!--" else f"<{m.group(1)}{m.group(2).lower()}>"
            out.problems.append((at(i, m.start()), "warning",
                                 f"raw HTML {tag} is not allowed in book sources; it is removed from every output"))
    if unclosed is not None:
        # a fence never closed would swallow everything after it, the block's end included
        out.problems.append((at(unclosed, 0), "error", "code block is never closed (no closing fence)"))
    return out
