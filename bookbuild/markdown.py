"""Scanning pandoc Markdown source for what validation needs, with exact positions.

pandoc's `markdown` reader gives no source positions, so references, labels, images and
raw HTML are found here in the source text itself (outside code).

Book text is untrusted, so where this scanner and pandoc could disagree it errs towards seeing
more: every image pandoc would find must be found here (and checked), never the reverse.
"""

from __future__ import annotations

import bisect
import html
import re
from collections import defaultdict, deque
from dataclasses import dataclass, field

from .errors import Pos, clip, plural, shorten
from .sources import NOT_XML, char_problem

REF_KINDS = ("q", "sec", "fig", "tbl")
_REF = re.compile(r"(?<![\w@.])@(q|sec|fig|tbl):([A-Za-z0-9_](?:[A-Za-z0-9_:.-]*[A-Za-z0-9_])?)")
# `@q:` before what cannot start an id: pandoc reads `@q` alone, a reference to nothing
_REF_WITHOUT_ID = re.compile(r"(?<![\w@.])@(q|sec|fig|tbl):(?![A-Za-z0-9_])")
_LABEL = re.compile(r"\{[^{}\n]*?#(sec|fig|tbl):([A-Za-z0-9_-]+)[^{}\n]*\}")
# patterns below stay linear on hostile lines: no `.*?` that could run to the end from every start
_TAG = re.compile(r"<(/?)([A-Za-z][A-Za-z0-9-]*)(?=[\s/>])[^<>]*>|<!--")
_HEADING = re.compile(r"^(#{1,6})[ \t]+(.*)$")
_FENCE = re.compile(r"^( {0,3})(`{3,}|~{3,})(.*)$")
_MATH = re.compile(r"\$\$.+?\$\$|(?<![\\$])\$(?![\s$])[^$]*?(?<![\s\\])\$(?!\d)", re.S)
_COLONS = re.compile(r"^\s*:{3,}")
_UNSAFE_SCHEME = re.compile(r"^(javascript|vbscript|data|file):", re.I)
_REMOTE = re.compile(r"^[a-zA-Z][a-zA-Z0-9+.-]*:")
_CONTAINER = re.compile(r"[ \t]*(?:>|[-+*](?=[ \t]|$)|\d{1,9}[.)](?=[ \t]|$))")  # > - + * 1. 1)
_CONTAINER_RUN = re.compile(f"(?:{_CONTAINER.pattern})*")
# an info string pandoc surely takes: a language, attributes {.class #id key=value =format}, or both
_FENCE_INFO = re.compile(r"""^[ \t]*[\w+#.-]*[ \t]*(?:\{[ \t]*(?:(?:[.#=][\w:.-]+|[\w-]+=(?:"[^"]*"|'[^']*'|[^\s"'{}]+))[ \t]*)+\})?[ \t]*$""")
_RAW_FENCE = re.compile(r"^\s*\{\s*=\s*([\w-]+)\s*\}\s*$")  # ```{=html}
_RAW_INLINE = re.compile(r"`\{=([\w-]+)\}")  # `<b>`{=html}
_TEX = re.compile(r"\\([A-Za-z]+)")
_JINJA = re.compile(r"\{\{[^{}\n]*\}\}|\{%[^{}\n]*%\}")
_EVENT_ATTR = re.compile(r"\{[^{}\n]*?(?<![\w-])(on[a-z]+)\s*=", re.I)
_AUTOLINK = re.compile(r"<([A-Za-z][A-Za-z0-9+.-]{1,31}:[^\s<>]*)>")
_DEFINITION = re.compile(r"\[((?:[^\[\]\\\n]|\\.)+)\]:[ \t]*(\S*)")
_RAW_OPEN = re.compile(r"<!--|<\?|<!\[cdata\[|<!(?=[a-z])|<([a-z][a-z0-9-]*)(?![a-z0-9-])")  # lower-cased
_ANY_HTML = re.compile(r"<[/!?a-z]")  # lower-cased
_VERBATIM_END = {"<!--": "-->", "<?": "?>", "<![cdata[": "]]>", "<!": ">"}
_VERBATIM_TAGS = {"script", "pre", "style", "textarea"}
_ESCAPE = re.compile(r"\\([!-/:-@\[-`{-~])")
_TICKS = re.compile(r"`+")
_SPACE_TO_TARGET = re.compile(r"[ \t]*\n?[ \t]*")
_REF_LABEL = re.compile(r"[ \t]?\[((?:[^\[\]\\]|\\.)*)\]")
_NEXT_LINE_URL = re.compile(r"[ \t]*\n[ \t]*(\S+)")
MAX_URL = 512  # characters of an image target looked at; a longer one is refused
_TARGET = re.compile(r"(?:[^\s()\\]|\\.|\((?:[^\s()\\]|\\.)*\)){0,%d}" % MAX_URL)
_LINK_TARGET = re.compile(r"(?:[^\s()\\]|\\.|\((?:[^\s()\\]|\\.)*\)){0,64}")
_TITLE_TAIL = re.compile(r"""\s*(?:"[^"\n]*"|'[^'\n]*'|\([^()\n]*\))?\s*\)""")
_SPECIAL = re.compile(r"\n|!\\*\[|\[|\]")
_BRACKETS = re.compile(r"[\[\]]")
_CONTROLS = re.compile(r"[\x00-\x20\x7f]+")
_CHAR_REF = re.compile(r"&#(?:[xX]([0-9a-fA-F]{1,8})|([0-9]{1,10}));")
MAX_DEPTH = 64
MAX_PROBLEMS = 200  # per text: a hostile file must not print a million lines
# pandoc's reader takes time exponential in the nesting of brackets (12 levels: minutes)
MAX_BRACKETS = 6
# and each '[' costs pandoc ~0.03 ms at the top, four times more one level down: a text may hold
# brackets worth 100,000 of the top level's (3 s), e.g. 100,000 `[a]`, or 1,500 at four levels
MAX_BRACKET_WORK = 100_000
# ziamath (the PDF's math) takes time exponential in the nesting of a formula's groups ({...},
# \left...\right: 8 levels ~1 s, 12 levels minutes) and quadratic in its length (2,000 characters ~2 s)
MAX_MATH_DEPTH = 8
# pandoc looks for the end of an HTML tag, a comment or a raw TeX command's group, and for the ')'
# of a link's target, as far as it takes: the rest of the chapter (tags, comments, TeX) or of the
# paragraph (links), once per opener: 800 unclosed `[a](` on a line took 168 s, one `x <y` before
# 2 MB of text 3 s. These must close, and tags and TeX groups soon (measured in tests/test_safety.py)
MAX_TAG_SPAN = 1000  # characters from '<' to its '>' (a tag may run over lines), and of a TeX group
_LINK_OPEN = re.compile(r"\]\(")
_PAREN = re.compile(r"\\[()]|[()]")
_TAG_START = re.compile(r"<(?:[A-Za-z/?]|!(?!--))")
_COMMENT_START = re.compile(r"<!--")
_SPAN_ATTRS = re.compile(r"\]\{")
_TEX_GROUP = re.compile(r"(?<!\\)\\([A-Za-z]+)\*?[ \t]*([{\[])")
# pandoc reads a paragraph's inlines in time that grows faster than its length: a paragraph (a list
# item, a table row) is limited; and each single quote that opens (`'word`) and never closes makes
# pandoc read the rest of its paragraph again (50 in each paragraph of 5,000 characters: 70 s for
# 5 MB), so they are limited by the text they make pandoc read again
MAX_PARAGRAPH = 20_000
MAX_REREAD = 200_000  # characters, per paragraph: 40 open quotes in a paragraph of 5,000
MAX_REREAD_TEXT = 5_000_000  # characters, per text (a chapter, a question's field)
_UNIT_START = re.compile(r"[ \t]*(?:[-+*][ \t]|\d{1,9}[.)][ \t]|\||#)")
# emphasis, strikeout, super- and subscript openers that nothing closes make pandoc try every way
# of pairing them: its time doubles with every two in a paragraph (20 `__c ~~d`: minutes)
# raw HTML tags and TeX commands cost pandoc 0.1-0.2 ms each (and are removed anyway)
MAX_RAW = 2000  # per text
MAX_OPEN_DELIMITERS = 10  # per paragraph (~15 ms; 20: over a second, 40: minutes)
MAX_DELIMITER_WORK = 20_000  # per text: the sum over paragraphs of 2 ** (open marks / 2) - 1 (10 open: 31, ~15 ms)
_DELIMITER_RUN = re.compile(r"\*+|_+|~+|\^+")
_TEX_BEGIN = re.compile(r"(?<!\\)\\begin\{([^{}\n]*)\}")
MAX_MATH_CHARS = 2000
_MATH_GROUP = re.compile(r"\\[{}]|\\(?:left|right|begin|end)(?![A-Za-z])|[{}]")


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
    url: str  # as pandoc reads it: escapes and entities decoded
    pos: Pos
    in_code: bool = False  # written in code that pandoc may read as text after all


@dataclass(frozen=True)
class ImageUse:
    """A reference-style image, `![alt][label]` or `![label]`: its URL is in a definition somewhere."""

    label: str  # normalised, see `label_key`
    pos: Pos
    in_code: bool = False


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
    image_uses: list[ImageUse] = field(default_factory=list)
    definitions: dict[str, list[ImageRef]] = field(default_factory=dict)  # `[label]: url`, by label
    fragments: list[ImageRef] = field(default_factory=list)  # links to `#id` (the id, without '#')
    headings: list[Heading] = field(default_factory=list)
    problems: list[tuple[Pos, str, str]] = field(default_factory=list)  # (pos, severity, message)


def _blank(match: re.Match) -> str:
    return re.sub(r"[^\n]", " ", match.group(0))


def is_remote(url: str) -> bool:
    return bool(_REMOTE.match(url)) or url.startswith("//")


def label_key(label: str) -> str:
    """A reference label as pandoc matches it: case and runs of spaces do not count."""
    return " ".join(html.unescape(_ESCAPE.sub(r"\1", label)).split()).casefold()


def destination(raw: str) -> str:
    """A link or image target as pandoc reads it: <...> removed, escapes and entities decoded."""
    if raw.startswith("<") and raw.endswith(">"):
        raw = raw[1:-1]
    return html.unescape(_ESCAPE.sub(r"\1", raw))


def unsafe_scheme(url: str) -> str | None:
    """The scheme of a URL that must not reach an output (javascript:, file: ...), else None.

    Browsers ignore control characters and spaces inside a scheme: so does this check.
    """
    m = _UNSAFE_SCHEME.match(_CONTROLS.sub("", url))
    return m.group(1).lower() if m else None


def blank_code_spans(line: str) -> str:
    """`line` with its code spans blanked; a backslash-escaped backtick opens none (as in pandoc)."""
    if "`" not in line:
        return line
    runs = [(m.start(), m.end()) for m in _TICKS.finditer(line)]
    later: dict[int, deque] = defaultdict(deque)  # run length -> indices of runs of that length
    for k, (s, e) in enumerate(runs):
        later[e - s].append(k)
    out = list(line)
    done, k = 0, 0
    while k < len(runs):
        s, e = runs[k]
        slashes = 0
        while s - slashes - 1 >= done and line[s - slashes - 1] == "\\":
            slashes += 1
        s += slashes % 2  # an escaped backtick is text; the rest of the run may open a span
        queue = later[e - s]
        while queue and queue[0] <= k:
            queue.popleft()
        if e > s and queue:
            close = queue.popleft()
            out[s:runs[close][1]] = " " * (runs[close][1] - s)
            done, k = runs[close][1], close + 1
        else:
            k += 1
    return "".join(out)


@dataclass
class _Lines:
    """What each line of a text is: in a fenced code block, in a raw HTML region, or text."""

    code: list[bool]
    trusted: list[bool]  # code that pandoc surely reads as code too (see `_classify`)
    raw: list[bool]  # inside a comment, <script>, <pre>, <style>, <textarea> or a tag opened above
    raw_fences: list[tuple[int, str]]  # (line, format) of ```{=format} blocks
    unclosed_fence: int | None
    unclosed_raw: tuple[int, str] | None  # (line, what) of a raw HTML region never closed


def _classify(text: str, starts_block: bool = True) -> _Lines:
    """Fences and raw HTML regions, line by line.

    A fence is *trusted* (pandoc surely reads it as one) only if it starts at column 0 after a
    blank line (or the text's start, when the text starts a block), no fence before it was
    doubtful and no raw HTML came before: a multi-line tag, code span or link target can hide a
    fence from pandoc (a blank line ends every one of those), and an HTML block tag can start one
    in the middle of a line.
    """
    lines = text.split("\n")
    code, trusted, raw = [], [], []
    raw_fences: list[tuple[int, str]] = []
    fence: tuple[str, int, bool] | None = None  # (character, length, trusted)
    opened = 0
    doubtful = False
    state: tuple | None = None  # the raw HTML region open, see _raw_state
    for i, line in enumerate(lines):
        if fence is not None:
            code.append(True)
            trusted.append(fence[2])
            raw.append(False)
            m = _FENCE.match(line)
            if m and m.group(2)[0] == fence[0] and len(m.group(2)) >= fence[1] and not m.group(3).strip():
                fence = None
            continue
        code.append(False)
        trusted.append(False)
        raw.append(state is not None)
        m = _FENCE.match(line)
        if state is None and m and not (m.group(2)[0] == "`" and "`" in m.group(3)):
            after_blank = (i == 0 and starts_block) or (i > 0 and not lines[i - 1].strip())
            doubtful = doubtful or m.group(1) != "" or not after_blank or not _FENCE_INFO.match(m.group(3))
            fence = (m.group(2)[0], len(m.group(2)), not doubtful)
            opened = i
            code[-1], trusted[-1] = True, not doubtful
            r = _RAW_FENCE.match(m.group(3))
            if r:
                raw_fences.append((i, r.group(1)))
            continue
        # `<` in math ($y_{<t}$) is math to pandoc, not a tag (math over lines: see _unclosed_raw)
        lowered = _MATH.sub(_blank, blank_code_spans(line)).lower()
        if (state is not None and m) or _ANY_HTML.search(lowered):
            # pandoc opens no fence inside a comment or a tag, and may open one after `<div>` on the
            # same line: after raw HTML, no fence is sure
            doubtful = True
        state = _raw_state(lowered, i, state)
    unclosed = (state[0], state[1]) if state else None
    return _Lines(code, trusted, raw, raw_fences, opened if fence else None, unclosed)


def _raw_state(line: str, i: int, state: tuple | None) -> tuple | None:
    """The raw HTML region still open after `line` (lower-cased), one that pandoc reads unparsed.

    A region is (line, opener, closer, quote): a comment, <script>/<pre>/<style>/<textarea>
    up to its end tag, or a tag whose `>` is on a later line (quotes respected).
    """
    at = 0
    while True:
        if state is not None:
            if state[2] == ">":
                end, quote = _tag_end(line, at, state[3])
                if end < 0:
                    return (state[0], state[1], ">", quote)
            else:
                end = line.find(state[2], at)
                if end < 0:
                    return state
                end += len(state[2])
            at, state = end, None
        m = _RAW_OPEN.search(line, at)
        if m is None:
            return None
        if m.group(1):  # a tag: only its end matters, unless it opens <script>, <pre>...
            end, quote = _tag_end(line, m.end(), None)
            if end < 0:
                state, at = (i, f"<{m.group(1)}", ">", quote), len(line)
                continue
            if m.group(1) in _VERBATIM_TAGS:
                state, at = (i, f"<{m.group(1)}>", f"</{m.group(1)}>", None), end
            else:
                at = end
            continue
        opener = m.group(0)
        state, at = (i, opener, _VERBATIM_END[opener], None), m.end()


def _tag_end(line: str, at: int, quote: str | None) -> tuple[int, str | None]:
    """Where a tag that is open at `at` ends (just after its `>`), or -1 and the quote still open."""
    for j in range(at, len(line)):
        c = line[j]
        if quote:
            if c == quote:
                quote = None
        elif c in "\"'":
            quote = c
        elif c == ">":
            return j + 1, None
    return -1, quote


def code_lines(text: str) -> tuple[list[bool], int | None]:
    """For each line, whether it is in (or fences) a code block; and the line of a fence never closed."""
    kinds = _classify(text)
    return kinds.code, kinds.unclosed_fence


def raw_lines(text: str) -> list[bool]:
    """For each line, whether it is inside a raw HTML region (a comment, <script>, <pre>...)."""
    return _classify(text).raw


def scan(text: str, origin: Pos, *, in_field: str | None = None, starts_block: bool = True) -> Scan:
    """Find references, labels, images, headings and unsafe constructs in Markdown `text`.

    `origin` is where the text's first line starts; `in_field` names the question field the
    text comes from (prompt, answer...), where block structure is restricted; `starts_block`
    is false for text a template puts after other text on its first line (a hint).
    """
    out = Scan()
    lines = text.split("\n")
    kinds = _classify(text, starts_block)
    indent = origin.col - 1

    def at(i: int, col: int) -> Pos:
        return Pos(origin.path, origin.line + i, indent + col + 1)

    hidden: list[tuple[Pos, str]] = []

    def add(pos: Pos, severity: str, message: str) -> None:
        if len(out.problems) < MAX_PROBLEMS:
            out.problems.append((pos, severity, message))
        else:
            hidden.append((pos, severity))

    def problem(i: int, col: int, severity: str, message: str) -> None:
        add(at(i, col), severity, message)

    def fatal(i: int, col: int, severity: str, message: str) -> None:
        """A problem shown even past MAX_PROBLEMS (one per text: what makes it unreadable in time)."""
        out.problems.append((at(i, col), severity, message))

    spans = [blank_code_spans(line) for line in lines]
    clean = _blank_math(spans, kinds.code)
    _check_math(spans, kinds.code, fatal)
    raw = 0
    for i, line in enumerate(lines):
        if kinds.code[i]:
            continue
        if _scan_structure(line, i, in_field, problem, out, at):
            continue
        _scan_line(line, spans[i], clean[i], i, problem, out, at)
        if raw <= MAX_RAW and ("<" in spans[i] or "\\" in clean[i]):
            raw += len(_TAG.findall(spans[i])) + len(_TEX.findall(clean[i]))
            if raw > MAX_RAW:
                fatal(i, 0, "error", f"more than {MAX_RAW:,} raw HTML tags and TeX commands in this text: each "
                        "costs pandoc time, and all are removed from the outputs; take them out")
    for i, fmt in kinds.raw_fences:
        problem(i, 0, "warning", f"raw {{={clip(fmt)}}} block is not allowed in book sources; it is removed from every "
                "output")
    # images are looked for in code too (pandoc might not read it as code); trusted fences aside
    image_lines = ["" if t else line for line, t in zip(lines, kinds.trusted)]

    def in_code(i: int, col: int) -> bool:
        return kinds.code[i] or (col < len(spans[i]) and spans[i][col] == " " and lines[i][col] != " ")

    _scan_links(image_lines, in_code, out, at, add)
    _check_brackets(clean, kinds.code, fatal)
    _check_openers(clean, kinds.code, problem, fatal, in_field)
    _check_joined_labels(lines, clean, kinds.code, problem)
    if kinds.unclosed_fence is not None:
        # a fence never closed would swallow everything after it, the block's end included
        problem(kinds.unclosed_fence, 0, "error", "code block is never closed (no closing fence)")
    # looked at again with math blanked over lines, only when the line-by-line pass found one open
    unclosed = _unclosed_raw(clean, kinds.code) if in_field and kinds.unclosed_raw is not None else None
    if unclosed is not None:
        line, what = unclosed[0], unclosed[1]
        problem(line, 0, "error", f"raw HTML {shorten(what)} opened here is never closed in this {in_field}; "
                "it would hide the rest of the chapter (write a literal '<' as '&lt;')")
    if hidden:
        severity = "error" if any(s == "error" for _, s in hidden) else "warning"
        out.problems.append((hidden[0][0], severity, f"{plural(len(hidden), 'more problem')} in this text "
                             f"{'is' if len(hidden) == 1 else 'are'} not shown; fix the ones above first"))
    return out


def _unclosed_raw(clean: list[str], code: list[bool]) -> tuple | None:
    """The raw HTML region left open by lines with code and math blanked (math over several
    lines too, which `_classify`, going line by line, cannot blank), or None."""
    state = None
    for i, line in enumerate(clean):
        if not code[i]:
            state = _raw_state(line.lower(), i, state)
    return state


def _blank_math(spans: list[str], code: list[bool]) -> list[str]:
    """Lines with code spans and math blanked; math may run over lines within a paragraph."""
    out = list(spans)
    for start, text in _paragraphs(spans, code):
        blanked = _MATH.sub(_blank, text).split("\n")
        out[start:start + len(blanked)] = blanked
    return out


def _check_math(spans: list[str], code: list[bool], problem) -> None:
    """Formulas the PDF could not typeset in reasonable time: see MAX_MATH_DEPTH, MAX_MATH_CHARS."""
    for start, text in _paragraphs(spans, code):
        if "$" in text:
            for m in _MATH.finditer(text):
                col = m.start() - (text.rfind("\n", 0, m.start()) + 1)
                formula = m.group(0).strip("$")
                if len(formula) > MAX_MATH_CHARS:
                    problem(_line_at(text, start, m.start()), col, "error", f"formula is {len(formula):,} characters "
                            f"long; formulas are limited to {MAX_MATH_CHARS:,} (typesetting one takes time that grows "
                            "with the square of its length): split it")
                    continue
                depth = deepest = 0
                for g in _MATH_GROUP.finditer(formula):
                    token = g.group(0)
                    if token in ("{", "\\left", "\\begin"):
                        depth += 1
                        deepest = max(deepest, depth)
                    elif token in ("}", "\\right", "\\end"):
                        depth = max(0, depth - 1)
                if deepest > MAX_MATH_DEPTH:
                    problem(_line_at(text, start, m.start()), col, "error", f"formula nests groups ({{...}}, "
                            f"\\left...\\right) {deepest} deep; formulas are limited to {MAX_MATH_DEPTH} levels "
                            "(typesetting takes time that doubles with each level): check its braces")


def _line_at(text: str, start: int, at: int) -> int:
    """The line of offset `at` in a paragraph `text` that starts at line `start`: counted only for
    what is reported (a paragraph may hold thousands of formulas)."""
    return start + text.count("\n", 0, at)


def slow_parts(text: str) -> list[tuple[int, int, str]]:
    """What in `text` would take pandoc (or the PDF's math) too long, as `scan` finds it in a
    source: (line, column, message) of each, both from 0; for text check cannot read as a source
    (what a book's template wrote)."""
    found: list[tuple[int, int, str]] = []

    def note(i: int, col: int, severity: str, message: str) -> None:
        if severity == "error":
            found.append((i, col, message))
    kinds = _classify(text)
    spans = [blank_code_spans(line) for line in text.split("\n")]
    clean = _blank_math(spans, kinds.code)
    _check_math(spans, kinds.code, note)
    _check_brackets(clean, kinds.code, note)
    _check_openers(clean, kinds.code, note, note)
    return found


def _scan_structure(line: str, i: int, in_field, problem, out: Scan, at) -> bool:
    """Nesting, ':::' lines and headings; True if the line is too deep to look at further."""
    depth = len(_CONTAINER.findall(_CONTAINER_RUN.match(line).group(0)))
    depth = max(depth, (len(line) - len(line.lstrip(" "))) // 2)
    if depth > MAX_DEPTH:
        problem(i, 0, "error", f"Markdown nested deeper than {MAX_DEPTH} levels (block quotes, lists); "
                "book sources never need that much")
        return True
    if in_field and _COLONS.match(line):
        problem(i, 0, "error", f"a line starting with ':::' in a question's {in_field} would end its "
                "block; remove it or indent it")
    m = _HEADING.match(line)
    if m:
        if in_field:
            problem(i, 0, "error", f"headings are not allowed in a question's {in_field}; use **bold** text")
        else:
            out.headings.append(Heading(len(m.group(1)), m.group(2).rstrip(), at(i, 0), i))
    return False



def _scan_line(line: str, spans: str, clean: str, i: int, problem, out: Scan, at) -> None:
    """References, labels and what is removed from the output, on one line outside code."""
    if "@" in clean:
        for m in _REF.finditer(clean):
            out.refs.append(Ref(m.group(1), m.group(2), at(i, m.start())))
        for m in _REF_WITHOUT_ID.finditer(clean):
            after = clean[m.end():m.end() + 20].split()[0] if clean[m.end():m.end() + 20].strip() else ""
            problem(i, m.start(), "error", f"reference @{m.group(1)}: is followed by "
                    + (f"{after!r}, which is not an id" if after and not clean[m.end()].isspace() else "no id")
                    + f": write @{m.group(1)}:id (lower-case letters, digits and dashes), or \\@ for a literal '@'")
    if "{" in clean:
        for m in _LABEL.finditer(clean):
            out.labels.append(Label(m.group(1), m.group(2), at(i, m.start(1) - 1)))
        for m in _RAW_INLINE.finditer(line):
            problem(i, m.start(), "warning", f"raw {{={clip(m.group(1))}}} text is not allowed in book sources; "
                    "it is removed from every output")
        for m in _EVENT_ATTR.finditer(clean):
            problem(i, m.start(1), "warning", f"event handler attribute {clip(m.group(1))}= is not allowed in book "
                    "sources; it is removed from every output")
        for m in _JINJA.finditer(clean):
            problem(i, m.start(), "warning", f"{m.group(0)[:40]!r} is printed as written: book text is never "
                    "run as a template (put it in `code` to silence this)")
    if "&#" in clean:
        for m in _CHAR_REF.finditer(clean):
            code = int(m.group(1), 16) if m.group(1) else int(m.group(2))
            # pandoc reads &#0; and surrogates as U+FFFD; the others XML forbids reach the output
            if 0 < code <= 0xFFFF and not 0xD800 <= code <= 0xDFFF and NOT_XML.match(chr(code)):
                # written on purpose, unlike a raw one: the build leaves it out (assemble.py), with a warning
                problem(i, m.start(), "warning", char_problem(chr(code), written=m.group(0))
                        .replace("; remove it", "; it is left out of every output"))
    if "<" in spans:
        _scan_html(spans, i, problem)
    if "\\" in clean:
        for m in _TEX.finditer(clean):
            if m.start() and clean[m.start() - 1] == "\\":
                continue  # `\\` then a letter: an escaped backslash
            problem(i, m.start(), "warning", f"raw TeX \\{clip(m.group(1))} is not allowed in book sources; it is "
                    "removed from every output (no file is read): write math between $...$, or escape the backslash")


def _scan_html(spans: str, i: int, problem) -> None:
    for m in _TAG.finditer(spans):
        if m.group(1) or m.group(0) == "<!--":
            continue  # the opening tag is reported; a comment is an author's note, removed like any raw HTML
        tag = f"<{clip(m.group(2).lower())}>"
        problem(i, m.start(), "warning", f"raw HTML {tag} is not allowed in book sources; "
                "it is removed from every output")
    for m in _AUTOLINK.finditer(spans):
        scheme = unsafe_scheme(destination(m.group(1)))
        if scheme:
            problem(i, m.start(1), "warning", f"link to a {scheme}: URL; it is removed from the output")


def _scan_links(lines: list[str], in_code, out: Scan, at, add) -> None:
    """Images, links and reference definitions: brackets matched the way pandoc matches them.

    Lines of trusted code are "". Backslash escapes are not honoured (pandoc drops them inside
    ^superscript^ and ~subscript~): `\\![a](x)` counts as an image. Paragraphs are matched
    whole, so an image's text or target may run over lines.
    """
    text = "\n".join(lines)
    starts = [0]
    for line in lines:
        starts.append(starts[-1] + len(line) + 1)

    def where(offset: int) -> tuple[int, int]:
        line = bisect.bisect_right(starts, offset) - 1
        return line, offset - starts[line]

    for m in _DEFINITION.finditer(text):
        url = m.group(2)
        if not url:  # the target may start the next line
            nxt = _NEXT_LINE_URL.match(text, m.end())
            url = nxt.group(1) if nxt else ""
        if url:
            line, col = where(m.start())
            ref = ImageRef(destination(url), at(line, col), in_code(line, col))
            out.definitions.setdefault(label_key(m.group(1)), []).append(ref)
            _check_link(ref, add)
    stack: list[tuple[int, int, bool]] = []  # (start, start of the text inside, image)
    for m in _SPECIAL.finditer(text):
        token = m.group(0)
        if token == "\n":
            end = text.find("\n", m.end())
            if not text[m.end():end if end >= 0 else len(text)].strip():
                stack.clear()  # brackets never span paragraphs
        elif token.endswith("["):
            stack.append((m.start(), m.end(), token.startswith("!")))
        elif stack:
            start, inside, image = stack.pop()
            line, col = where(start)
            _after_brackets(text, inside, m.start(), image, out, at(line, col), in_code(line, col), add)


def _after_brackets(text: str, inside: int, close: int, image: bool, out: Scan, pos: Pos, code: bool,
                    add) -> None:
    """Handle what follows `[...]`: an inline target, a reference label, or nothing."""
    after = close + 1
    while text.startswith("\\", after):
        after += 1
    if text.startswith("(", after):
        raw, whole = _inline_target(text, after + 1, MAX_URL if image else 64)
        if not image:
            if ":" in raw:
                _check_link(ImageRef(destination(raw), pos), add)
            if not code and whole:  # an unclosed target is no link to pandoc (_check_openers says so)
                _check_target(destination(raw).strip(), pos, out, add)
        elif whole:
            out.images.append(ImageRef(destination(raw), pos, code))
        else:
            # checking a prefix of the path pandoc reads would be checking another file
            add(pos, "error", f"image path is longer than {MAX_URL} characters, or has spaces or nested "
                "parentheses; name the image file plainly")
        return
    if image:
        label = text[inside:close]
        m = _REF_LABEL.match(text, after)
        if m and m.group(1).strip():
            label = m.group(1)
        out.image_uses.append(ImageUse(label_key(label), pos, code))


def _inline_target(text: str, i: int, limit: int) -> tuple[str, bool]:
    """The raw destination of `(...)` starting at `i` (after the parenthesis); whether it is whole.

    At most `limit` characters are looked at: a link needs only its scheme, an image its path.
    """
    i = _SPACE_TO_TARGET.match(text, i).end()
    if text.startswith("<", i):
        end = text.find(">", i, i + limit)
        if end >= 0 and "\n" not in text[i:end]:
            return text[i:end + 1], True
    end = (_TARGET if limit == MAX_URL else _LINK_TARGET).match(text, i).end()
    if end < len(text) and text[end].isspace():
        # pandoc takes "a b.png" whole (spaces and all): only a title may follow a space
        return text[i:end], bool(_TITLE_TAIL.match(text, end))
    return text[i:end], end == len(text) or text[end] == ")"


def _check_target(url: str, pos: Pos, out: Scan, add) -> None:
    """A link goes to a web (or mail) address or to a place in the book: the outputs hold no other
    file, and a relative path, `@q:id` as a target, `?x` or `%zz` make a link no reader can follow."""
    if not url or url.startswith("//") or _REMOTE.match(url):
        return
    if url.startswith("#"):
        out.fragments.append(ImageRef(url[1:], pos))
        return
    ref = _REF.match(url)
    if ref:
        add(pos, "error", f"link to {url[:64]!r}: a reference is not a link target; write @{ref.group(1)}:"
            f"{clip(ref.group(2))} in the text, which becomes a link")
        return
    add(pos, "error", f"link to {url[:64]!r}: the outputs hold no such file; link to a web address (https://...), "
        "or refer to a place in the book with @sec:id or @q:id")


def _check_link(ref: ImageRef, add) -> None:
    """A warning for a link that sanitize will remove (javascript:, file: ...)."""
    scheme = unsafe_scheme(ref.url)
    if scheme:
        add(ref.pos, "warning", f"link to a {scheme}: URL; it is removed from the output")


def _paragraphs(clean: list[str], code: list[bool], units: bool = False):
    """(first line, text) of each run of lines outside code between blank lines; with `units`,
    a line that starts a list item or a table row starts a run of its own (pandoc reads each apart)."""
    start = 0
    while start < len(clean):
        if code[start] or not clean[start].strip():
            start += 1
            continue
        end = start + 1
        while end < len(clean) and not code[end] and clean[end].strip() \
                and not (units and _UNIT_START.match(clean[end])):
            end += 1
        yield start, "\n".join(clean[start:end])
        start = end


# what pandoc does not join to a paragraph line after it: a rule or setext underline, a table row,
# a reference definition (not a footnote's), raw HTML, an indented code line
_NOT_JOINED = re.compile(r" {0,3}(?:([-*_=])(?: *\1)+ *$|\||\[(?!\^)[^\]]+\]:\s|<)| {4}|\t")
_DIV_OPEN = re.compile(r":{3,}[ \t]*(?:\{[^{}]*\}|[\w-]+)[ \t]*:*[ \t]*$")
_DIV_CLOSE = re.compile(r":{3,}[ \t]*$")
_FIGURE_LINE = re.compile(r"[ \t]*!\[.*\)\{[^{}]*\}[ \t]*$")


def _check_joined_labels(lines: list[str], clean: list[str], code: list[bool], problem) -> None:
    """A labelled heading, or figure, on a line pandoc joins to the paragraph next to it is text
    to pandoc, and its label labels nothing (a reference to it would find nothing): an error.
    pandoc joins a line to a paragraph line above it (a heading or figure needs a blank line
    before it), and a figure to a line below it; a ':::' that closes no div is a paragraph line.
    `clean`: the lines with code spans and math blanked."""
    depth = 0
    stray: set[int] = set()  # lines of ':::' that close no div
    for i, line in enumerate(lines):
        if code[i]:
            continue
        if _DIV_OPEN.match(line):
            depth += 1
        elif _DIV_CLOSE.match(line):
            if depth:
                depth -= 1
            else:
                stray.add(i)

    def joins(j: int) -> bool:
        line = lines[j]
        if not line.strip() or code[j] or _HEADING.match(line) or _NOT_JOINED.match(line):
            return False
        return j in stray or not (_DIV_OPEN.match(line) or _DIV_CLOSE.match(line))

    for i, line in enumerate(clean):
        if code[i] or "#" not in line:
            continue
        label = next((m for m in _LABEL.finditer(line) if not line[m.end():].strip()), None)
        heading = _HEADING.match(line)
        if label is None or not (heading or _FIGURE_LINE.match(line)):
            continue
        what, name = ("heading" if heading else "figure"), f"{{#{label.group(1)}:{clip(label.group(2))}}}"
        if i > 0 and joins(i - 1):
            above = ("the ':::' above closes no div, so pandoc reads it as text and joins this line to it"
                     if i - 1 in stray else f"pandoc joins this line to the text above it (a {what} needs a blank "
                     "line before it)")
            problem(i, 0, "error", f"{above}: this {what} would be text, and {name} would label nothing")
        elif not heading and i + 1 < len(lines) and lines[i + 1].strip() and not (code[i + 1] or lines[
                i + 1].lstrip().startswith("<") or (_DIV_CLOSE.match(lines[i + 1]) and i + 1 not in stray)):
            problem(i, 0, "error", "pandoc joins this line to the line below it (a figure needs a blank line after "
                    f"it): this figure would be text, and {name} would label nothing")


def _check_openers(clean: list[str], code: list[bool], problem, fatal, in_field: str | None = None) -> None:
    """What pandoc would search far for, once per opener: see MAX_TAG_SPAN. Lines as `clean`
    gives them (code spans and math blanked); one error of each kind per paragraph."""
    whole = "\n".join(line if not code[i] else "" for i, line in enumerate(clean))
    offsets = [0]
    for line in clean:
        offsets.append(offsets[-1] + len(line) + 1)

    def where(first: int, text: str, at: int) -> tuple[int, int]:
        return first + text.count("\n", 0, at), at - (text.rfind("\n", 0, at) + 1)

    reread, work = 0, 0.0
    for first, text in _paragraphs(clean, code, units=True):
        if len(text) > MAX_PARAGRAPH:
            fatal(first, 0, "error", f"paragraph of {len(text):,} characters (no blank line); paragraphs are "
                    f"limited to {MAX_PARAGRAPH:,}: pandoc's time grows faster than their length; add blank lines")
            return
        if any(c in text for c in "*_~^"):
            opened = _open_delimiters(text)
            work += 2 ** (len(opened) / 2) - 1  # nothing for a paragraph whose marks all close
            if opened and (len(opened) > MAX_OPEN_DELIMITERS or work > MAX_DELIMITER_WORK):
                fatal(*where(first, text, opened[0]), "error",
                      f"{len(opened)} emphasis marks (*, _, ~, ^) open and never close in "
                        + ("this paragraph" if len(opened) > MAX_OPEN_DELIMITERS else "this paragraph, and the text "
                           "holds many such")
                        + ": pandoc would try every way of pairing them and take minutes; close them, or escape "
                        "them ('\\*')")
                return
        if "'" in text:
            opened = _open_quotes(text)
            cost = sum(len(text) - at for at in opened)
            reread += cost
            if opened and (cost > MAX_REREAD or reread > MAX_REREAD_TEXT):
                fatal(*where(first, text, opened[0]), "error",
                      f"{len(opened)} single quotes open ('word) and never close in "
                        + ("this paragraph" if cost > MAX_REREAD else "this text, up to this paragraph")
                        + ": pandoc would read the text after each again and take minutes; close them, or "
                        "write an apostrophe as ’")
                return
    for first, text in _paragraphs(clean, code):
        if "](" in text:
            stack: list[int | None] = []  # for each '(' open: where its link target starts, or None
            for m in _PAREN.finditer(text):
                token = m.group(0)
                if token == "(":
                    stack.append(m.start() if m.start() and text[m.start() - 1] == "]" else None)
                elif token == ")" and stack:
                    stack.pop()
            unclosed = [at for at in stack if at is not None]
            if unclosed:
                problem(*where(first, text, unclosed[0] - 1), "error",
                        f"link target opened with '](' is never closed in this paragraph"
                        + (f" ({len(unclosed)} are not)" if len(unclosed) > 1 else "")
                        + ": pandoc would take minutes to read text like this; close it with ')', or write "
                        "the bracket as '\\]'")
        if "]{" in text:
            for m in _SPAN_ATTRS.finditer(text):
                line_end = text.find("\n", m.end())
                if text.find("}", m.end(), line_end if line_end >= 0 else len(text)) < 0:
                    problem(*where(first, text, m.start() + 1), "error",
                            "attributes opened with ']{' do not close ('}') on their line: pandoc would look for the "
                            "end through the rest of the paragraph, from every one; close them, or write '\\{'")
                    break
        if "<" in text and not in_field:  # in a question's field, scan() refuses any raw HTML left open
            for m in _TAG_START.finditer(text):
                if text.find(">", m.end(), m.start() + MAX_TAG_SPAN) < 0:
                    problem(*where(first, text, m.start()), "error",
                            f"'<' starts an HTML tag that does not end ('>') within {MAX_TAG_SPAN} characters: "
                            "pandoc would search the rest of the chapter for its end; write a literal '<' as "
                            "'&lt;' (or put math between $...$)")
                    break
            start = offsets[first]
            for m in _COMMENT_START.finditer(text):
                if whole.find("-->", start + m.end()) < 0:
                    problem(*where(first, text, m.start()), "error",
                            "HTML comment '<!--' is never closed ('-->'): pandoc would search the rest of the "
                            "chapter for its end; close it, or write '&lt;!--'")
                    break
        if "\\" in text:
            for m in _TEX_GROUP.finditer(text):
                if not _group_closes(text, m.start(2), m.group(2)):
                    problem(*where(first, text, m.start()), "error",
                            f"raw TeX \\{clip(m.group(1))} opens a '{m.group(2)}' group that does not close within "
                            f"{MAX_TAG_SPAN} characters: pandoc would search the rest of the chapter for its end; "
                            "close it, or escape the backslash")
                    break
            for m in _TEX_BEGIN.finditer(text):
                if whole.find(f"\\end{{{m.group(1)}}}", offsets[first] + m.end()) < 0:
                    problem(*where(first, text, m.start()), "error",
                            f"raw TeX \\begin{{{clip(m.group(1))}}} has no \\end{{{clip(m.group(1))}}} after it: "
                            "pandoc would search the rest of the chapter for it; close it, or escape the backslash")
                    break


def _open_delimiters(text: str) -> list[int]:
    """Where runs of *, _, ~ or ^ open emphasis (before a non-space; `_` not inside a word) that no
    run of the same character closes (after a non-space), in a paragraph."""
    stacks: dict[str, list[int]] = {}
    for m in _DELIMITER_RUN.finditer(text):
        c = m.group(0)[0]
        before = text[m.start() - 1] if m.start() else " "
        after = text[m.end()] if m.end() < len(text) else " "
        if before == "\\":
            continue
        stack = stacks.setdefault(c, [])
        closes = not before.isspace() and (c != "_" or not after.isalnum())
        opens = not after.isspace() and (c != "_" or not before.isalnum())
        if closes and stack:
            stack.pop()
        elif opens:
            stack.append(m.start())
    return sorted(at for stack in stacks.values() for at in stack)


def _open_quotes(text: str) -> list[int]:
    """Where single quotes open (`'word`, after a space or punctuation) that nothing closes (a
    quote after a non-space that no letter or digit follows, `word'`), in a paragraph."""
    opened: list[int] = []
    at = text.find("'")
    while at >= 0:
        before = text[at - 1] if at else " "
        after = text[at + 1] if at + 1 < len(text) else " "
        if opened and not before.isspace() and not after.isalnum():
            opened.pop()
        elif not before.isalnum() and before not in "'’" and not after.isspace() and after != "'":
            opened.append(at)
        at = text.find("'", at + 1)
    return opened


def _group_closes(text: str, at: int, opener: str) -> bool:
    """Whether the `{` or `[` at `at` closes (nesting counted) within MAX_TAG_SPAN characters."""
    closer = "}" if opener == "{" else "]"
    depth = 0
    for i in range(at, min(len(text), at + MAX_TAG_SPAN)):
        c = text[i]
        if c == opener and (i == 0 or text[i - 1] != "\\"):
            depth += 1
        elif c == closer and (i == 0 or text[i - 1] != "\\"):
            depth -= 1
            if not depth:
                return True
    return False


_LONE_LT = re.compile(r"<(?![A-Za-z!?/])")


def escape_lone_lt(text: str) -> str:
    """`text` with each '<' that cannot start a tag, a comment or an autolink (`x < y`, `<=`)
    written `\\<`: the same character to pandoc, which would otherwise look for a tag's end from
    every one, through the rest of the chapter. Code, math, raw HTML, attributes `{...}` and
    indented lines (maybe code) are left as they are."""
    if not _LONE_LT.search(text):
        return text
    lines = text.split("\n")
    kinds = _classify(text)
    spans = [blank_code_spans(line) for line in lines]
    clean = _blank_math(spans, kinds.code)
    for i, line in enumerate(lines):
        if kinds.code[i] or kinds.raw[i] or "<" not in clean[i] or line[:4].isspace() or line.startswith("\t"):
            continue
        braces = _braced(clean[i])
        marks = [m.start() for m in _LONE_LT.finditer(clean[i])
                 if not braces[m.start()] and not _escaped(line, m.start())]
        for at in reversed(marks):
            line = line[:at] + "\\" + line[at:]
        lines[i] = line
    return "\n".join(lines)


def _braced(line: str) -> list[bool]:
    """For each character of a line, whether it is inside `{...}`."""
    out, depth = [], 0
    for c in line:
        if c == "{":
            depth += 1
        out.append(depth > 0)
        if c == "}" and depth:
            depth -= 1
    return out


def _escaped(line: str, at: int) -> bool:
    slashes = 0
    while at - slashes - 1 >= 0 and line[at - slashes - 1] == "\\":
        slashes += 1
    return slashes % 2 == 1


def _check_brackets(clean: list[str], code: list[bool], problem) -> None:
    """Brackets open at once within a paragraph (math and code aside) are limited: see MAX_BRACKETS.

    An escaped bracket counts: inside ^superscript^ pandoc reads `\\[` as a bracket all the same.
    """
    depth = 0
    work = 0
    for i, line in enumerate(clean):
        if code[i] or not line.strip():
            depth = 0
            continue
        for m in _BRACKETS.finditer(line):
            if m.group(0) == "[":
                depth += 1
                work += 4 ** (depth - 1)
                if work > MAX_BRACKET_WORK:
                    problem(i, m.start(), "error", f"too many brackets in this text, or brackets nested too often: "
                            "pandoc's time grows four times with each level of '[' inside '[' (this text would take "
                            "it minutes); nest fewer, or write a literal one as '&#91;'")
                    return
                if depth > MAX_BRACKETS:
                    problem(i, m.start(), "error", f"more than {MAX_BRACKETS} '[' open at once in one paragraph: "
                            "pandoc would take minutes to read it; close them, write a literal one as '&#91;', "
                            "or write intervals as math ($[0, 1)$)")
                    return
            elif m.group(0) == "]" and depth:
                depth -= 1
