"""The HTML site's offline search index: questions and sections, as a classic script.

Browsers refuse `fetch` and ES modules on `file://`, so the index is a plain
`search-index.js` that sets `window.BOOKBUILD_SEARCH`; the site's script loads it with a
`<script>` element the first time the reader searches. Book text is data here: JSON with
`<`, `>` and `&` escaped, shown by the page with `textContent`, never as HTML.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field

import panflute as pf

from .texmath import DOUBLE_STRUCK, FUNCTIONS, GREEK, RELATIONS, SYMBOLS
from .tree import elements

GLOBAL = "BOOKBUILD_SEARCH"
# Containers whose text is indexed elsewhere (questions) or never (answers: no spoilers in results;
# interview prompts repeat questions that are indexed where they are numbered).
_SKIP = {"answer", "interview-question", "hint"}


@dataclass
class SearchEntry:
    kind: str  # question | section
    anchor: str  # the element id the result links to
    title: str
    text: list[str] = field(default_factory=list)
    extra: dict = field(default_factory=dict)

    def record(self, url: str, where: str) -> dict:
        return {"kind": self.kind, "title": self.title, "text": " ".join(" ".join(self.text).split()),
                "url": url, "where": where, **self.extra}


_FRAC = re.compile(r"\\[dt]?frac\s*\{([^{}]*)\}\s*\{([^{}]*)\}")
_SQRT = re.compile(r"\\sqrt\s*\{([^{}]*)\}")
_COMMAND = re.compile(r"\\([A-Za-z]+|.)")
_STYLED = re.compile(r"\\(?:mathbb|mathbf|mathrm|mathit|mathcal|boldsymbol|operatorname|text|textrm)\s*\{([^{}]*)\}")


def math_text(tex: str) -> str:
    """TeX as a reader would type it into a search box: `\\lambda_{\\max}` → `λ_max`."""
    def styled(m: re.Match) -> str:
        inner = m.group(1).strip()
        return DOUBLE_STRUCK.get(inner, inner) if m.group(0).startswith("\\mathbb") else inner

    def command(m: re.Match) -> str:
        name = m.group(1)
        for table in (GREEK, RELATIONS, SYMBOLS):
            if name in table:
                return f" {table[name]} " if table is RELATIONS else table[name]
        if name in FUNCTIONS:
            return name + " "
        return " " if name in (",", ";", ":", "quad", "qquad") else ""  # \left, \big...: layout only

    def group(text: str) -> str:
        text = text.strip()
        return text if re.fullmatch(r"\w+", text) else f"({text})"

    text = _STYLED.sub(styled, tex)
    text = _FRAC.sub(lambda m: f"{group(m.group(1))}/{group(m.group(2))}", text)
    text = _SQRT.sub(lambda m: "√" + group(m.group(1)), text)
    text = _COMMAND.sub(command, re.sub(r"(?<!\\)[{}]", "", text))
    return " ".join(text.split())


def _text(elem: pf.Element) -> str:
    """The words of an element, math included (as text), in reading order."""
    parts: list[str] = []
    for e in elements(elem):  # children before their parent
        if isinstance(e, pf.Math):
            parts.append(math_text(e.text))
        elif isinstance(e, (pf.Str, pf.Code, pf.CodeBlock)):
            parts.append(e.text)
        elif isinstance(e, (pf.Space, pf.SoftBreak, pf.LineBreak, pf.Block)):
            parts.append(" ")
    return " ".join("".join(parts).split())


def _question(div: pf.Div) -> SearchEntry:
    attrs = div.attributes
    number = attrs.get("data-number", "")
    prompt = [_text(b) for b in div.content
              if not (isinstance(b, pf.Div) and ({"question-head"} | _SKIP) & set(b.classes))]
    return SearchEntry("question", div.identifier, f"Question {number}".strip(), prompt,
                       {"id": attrs.get("data-qid", div.identifier[2:]), "number": number,
                        "difficulty": attrs.get("data-difficulty", "")})


def search_entries(doc: pf.Doc) -> list[SearchEntry]:
    """Every question and every section (heading with the prose under it), in book order."""
    entries: list[SearchEntry] = []
    section: SearchEntry | None = None
    in_appendix = False

    def visit(block: pf.Block) -> None:
        nonlocal section, in_appendix
        if isinstance(block, pf.Header):
            if block.level == 1:
                in_appendix = "appendix" in block.classes
            if in_appendix or not block.identifier:
                section = None
                return
            section = SearchEntry("section", block.identifier, _text(block))
            entries.append(section)
        elif in_appendix:
            return
        elif isinstance(block, pf.Div) and "question" in block.classes:
            entries.append(_question(block))
        elif isinstance(block, pf.Div) and _SKIP & set(block.classes):
            return
        elif isinstance(block, pf.Div):
            for child in block.content:
                visit(child)
        elif section is not None:
            section.text.append(_text(block))

    for block in doc.content:
        visit(block)
    return entries


def index_script(entries: list[SearchEntry], page_of: dict[str, str], page_titles: dict[str, str]) -> str:
    """The `search-index.js` text: entries whose anchor is on a page, linked to `page#anchor`."""
    records = []
    for entry in entries:
        page = page_of.get(entry.anchor)
        if page is not None:
            records.append(entry.record(f"{page}#{entry.anchor}", page_titles.get(page, "")))
    return f"window.{GLOBAL} = {script_json({'entries': records})};\n"


def script_json(value, markup: bool = True) -> str:
    """`value` as JSON for a classic script (keys sorted, compact), inert in any context a script
    may end up in: no `</script>`, no `<!--`, no line separators (`<`, `>`, `&` escaped).
    `markup=False` leaves `<`, `>` and `&` as they are, for a script file that only ever loads by
    `src` and holds HTML (the quiz's: a third of its size)."""
    data = json.dumps(value, ensure_ascii=False, sort_keys=True, separators=(",", ":"))
    for char, escape in (("<", "\\u003c"), (">", "\\u003e"), ("&", "\\u0026"),
                         ("\u2028", "\\u2028"), ("\u2029", "\\u2029")):
        if markup or char in "\u2028\u2029":
            data = data.replace(char, escape)
    return data
