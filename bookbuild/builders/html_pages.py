"""The HTML pages of an unchanged chapter are not written again by pandoc.

pandoc's chunked HTML writer turns the whole book into pages in one run, about half of an
HTML rebuild. But the body of a page depends only on its own part of the book, where every
id of the book lives (links to another page name that page) and how the headings before it are
numbered. So each page's body is kept in the cache, keyed by its part of the book and by that
outline of the whole book; and pandoc is given the book with every page whose body is known
cut down to its headings and empty anchors for its ids (the sidebar contents, the previous and
next links and the link targets stay exactly as they were), then the known bodies are put back.

One answer edited: pandoc writes one page in full instead of fifty. The pages are the same,
byte for byte, as a run over the whole book gives (tests/test_html_site.py); a book this plan
does not fit (text before the first heading, a page-starting heading inside a block, a template
without the body marks) is written whole, every time.

The EPUB's chapter files are cut the same way (epub_pages.py, with keys of its own): `cut_blocks`,
`page_ids`, `anchors` and `blocks_for_pandoc` serve both.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path

import panflute as pf

from ..cache import code_digest, digest
from ..tree import block_json

SPLIT_LEVEL = 2  # --split-level: a heading of this level or above starts a page
BODY_START, BODY_END = "<!--bookbuild:body-->\n", "<!--bookbuild:/body-->\n"
HEADING = re.compile(r'\{"t": "Header", "c": \[([0-9]+), ')
UNNAMED_HEADING = re.compile(r'\{"t": "Header", "c": \[[0-9]+, \["", ')  # pandoc makes its id, unique in the book
_RAW_ID = re.compile(r"""<[a-zA-Z][^>]*?\sid\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s"'>]+))""")


@dataclass
class Page:
    ident: str  # the id of the heading that starts it (its file is <id>.html)
    blocks: list[str]  # its blocks as pandoc JSON
    headings: list[str]  # its top-level headings as pandoc JSON
    whole: bool = False  # always given to pandoc whole (it has a heading inside a block)
    ids: list[str] | None = None  # every id in it that pandoc links to
    stand_in: list[str] | None = None  # what pandoc is given instead of its blocks when its body is known
    key: str = ""  # its body in the cache
    body: str | None = None  # from the cache


def marked(template: Path) -> bool:
    """Whether the template marks the body, so that a page's body can be found and replaced."""
    text = template.read_text(encoding="utf-8")
    return f"\n{BODY_START}$body$\n{BODY_END}" in text


def cut(doc: pf.Doc) -> list[Page] | None:
    """The book's pages as pandoc's writer makes them, or None when the book is not cut simply."""
    return cut_blocks([block_json(block) for block in doc.content.list])


def cut_blocks(blocks: list[str]) -> list[Page] | None:
    """`cut` for the book's blocks as pandoc JSON, each as `block_json` writes it."""
    pages: list[Page] = []
    for text in blocks:
        header = text.startswith('{"t": "Header", ')
        starts = False
        if header:
            top, (ident, _, _), _ = json.loads(text)["c"]
            starts = top <= SPLIT_LEVEL
        if starts:
            if not ident or "/" in ident or "\\" in ident:
                return None
            pages.append(Page(ident, [], []))
        elif not pages:
            return None  # text before the first heading: pandoc's own preamble page
        levels = [int(m.group(1)) for m in HEADING.finditer(text)]
        if sum(1 for level in levels if level <= SPLIT_LEVEL) != int(starts):
            return None  # a heading that starts a page inside another block: pandoc cuts there too
        if len(levels) != header:
            # a heading inside a block: in the contents and numbered as pandoc sees fit, so
            # this page is always given whole
            pages[-1].whole = True
        pages[-1].blocks.append(text)
        if header:
            pages[-1].headings.append(text)
    return pages


def page_ids(blocks_json: list[str], links: list[str] | None = None) -> list[str]:
    """Every id pandoc's writer sees in these blocks (its chunk link map: divs, headings, tables,
    spans, links, images, and the id attributes of raw HTML), in order. The EPUB writer's map of
    ids to chapter files takes the same (checked on pandoc 3.9: neither takes the ids of code
    blocks and figures). `links`: where to add the target of every link to `#id`, in order."""
    ids: list[str] = []

    def visit(node):
        if isinstance(node, list):
            for item in node:
                visit(item)
        elif isinstance(node, dict):
            kind, content = node.get("t"), node.get("c")
            if kind in ("Div", "Span", "Table", "Link", "Image") and content and content[0][0]:
                ids.append(content[0][0])
            elif kind == "Header" and content[1][0]:
                ids.append(content[1][0])
            elif kind in ("RawBlock", "RawInline") and content[0] in ("html", "html4", "html5"):
                ids.extend(next(g for g in m.groups() if g is not None) for m in _RAW_ID.finditer(content[1]))
            if kind == "Link" and links is not None and content[2][0].startswith("#"):
                links.append(content[2][0][1:])
            if content is not None and not isinstance(content, str):
                visit(content)
    visit([json.loads(text) for text in blocks_json])
    return ids


def anchors(ids: list[str]) -> list[str]:
    """An empty div for each id, as pandoc JSON: where pandoc's writers find the id's page."""
    return ['{"t": "Div", "c": [[%s, [], []], []]}' % json.dumps(ident, ensure_ascii=False) for ident in ids]


def plan(pages: list[Page], store, setting: str) -> str:
    """Find each page's body in the cache; the outline key (headings and ids of every page).

    `setting`: what else a body depends on (pandoc's options)."""
    outline = []
    for page in pages:
        content = digest(*page.blocks)
        ids_key = digest(code_digest(), "html-page-ids", content)
        known = store.get(ids_key)
        ids = json.loads(known) if known is not None else None
        if ids is None:
            ids = page_ids(page.blocks)
            store.put(ids_key, json.dumps(ids))
        outline.append((page.headings, ids))
        page.ids, page.key = ids, content
        page.stand_in = [*page.headings, *anchors(ids)]
    structure = digest(code_digest(), setting, json.dumps(outline))
    for page in pages:
        page.key = digest("html-page-body", structure, page.key)
        page.body = None if page.whole else store.get(page.key)
    return structure


def blocks_for_pandoc(pages: list[Page]) -> list[str]:
    """The book's blocks, each page whose body is known cut down to its stand-in."""
    out: list[str] = []
    for page in pages:
        out.extend(page.blocks if page.body is None else page.stand_in)
    return out


def put_back(folder: Path, pages: list[Page], store) -> bool:
    """Known bodies into their pages, new bodies into the cache; False when a page is not where
    it should be or lacks the body marks (then the caller writes the whole book again)."""
    for page in pages:
        path = folder / f"{page.ident}.html"
        try:
            text = path.read_text(encoding="utf-8")
        except OSError:
            return False
        start = text.find(BODY_START)
        end = text.find(BODY_END, start)
        if start < 0 or end < 0:
            return False
        start += len(BODY_START)
        if page.whole:
            continue
        if page.body is None:
            store.put(page.key, text[start:end])
        else:
            path.write_text(text[:start] + page.body + text[end:], encoding="utf-8")
    return True
