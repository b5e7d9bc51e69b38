"""The HTML of an unchanged PDF piece is not written again by pandoc.

The PDF's HTML is one pandoc run over the whole book (4.5 s of a one-answer edit at 3000
questions), though the book is laid out in pieces (pdf_layout.py) cut at the chunk marks the
builder puts where a new page starts anyway. What pandoc's HTML writer makes of a piece depends
on the piece's blocks alone: the contents come from the template's $toc$ (the headings), the
PDF has no notes (they are spans by then) and no math left for pandoc (it is drawn), and ids are
written as they are, but for code blocks and headings without one (pandoc numbers both across
the book: a piece with either is always given whole). So each piece's HTML is kept in the cache
by its blocks; pandoc is given the book with every piece whose HTML is known cut down to its
headings (for the contents), and the known HTML is put back between the chunk marks. A piece
with a heading inside a block is given whole too (its stand-in would lose the heading, and the
contents its entry).

The same bytes as a run over the whole book (tests/test_incremental.py compares the PDFs): a
cold build goes the same way with nothing known. The pieces are found in the JSON text by their
marks (a raw block only the builder writes), and only a known piece is decoded, for its
headings: a cold build decodes nothing. Never cut: what comes before the first mark, the last
piece (its HTML runs on into the template's end), and any book with a note left.
"""

from __future__ import annotations

import json

from ..cache import code_digest, digest
from ..tree import json_blocks
from .html_pages import HEADING, UNNAMED_HEADING
from .pdf_layout import CHUNK_MARK

MARK_BLOCK = json.dumps({"t": "RawBlock", "c": ["html", CHUNK_MARK]})
_SEPARATOR = ", " + MARK_BLOCK  # a mark after another block, as tree.to_json_text writes the book


def _stand_in(text: str) -> str | None:
    """A known piece as pandoc is given it: its mark and its headings; None when it must be given
    whole (a heading inside a block or without an id, a code block)."""
    if '"t": "CodeBlock"' in text:
        return None
    try:
        blocks, _ = json_blocks(text)
    except ValueError:
        return None
    headings = [b for b in blocks if HEADING.match(b)]
    if len(HEADING.findall(text)) != len(headings) or any(UNNAMED_HEADING.match(b) for b in headings):
        return None
    return ", ".join([blocks[0], *headings])


class Pieces:
    """The book's JSON cut at the chunk marks, with what the cache knows of each piece. Only what
    the book's text gives is kept of it (the cut-down book, if any piece is known), not a copy."""

    def __init__(self, payload: str, store, setting: str):
        self.store, self.count = store, 0
        self.keys: list[str | None] = []
        self.known: list[str | None] = []
        self.cut: str | None = None
        if store is None or '"t": "Note"' in payload:
            return
        parts = payload.split(_SEPARATOR)
        # parts[0]: the book's head and the blocks before the first mark (a book may open with one);
        # each next one, a piece from its mark (given back by the split) to the next; the last runs on
        # to the book's end
        self.count, self.lead = len(parts), parts[0].count(MARK_BLOCK)
        self.kept = ['"t": "CodeBlock"' not in part for part in parts]  # a code block: never cut, not kept
        for n, part in enumerate(parts):
            key = digest(code_digest(), "pdf-piece-html", setting, part) if 0 < n < len(parts) - 1 else None
            known = store.get(key) if key and self.kept[n] else None
            stand_in = _stand_in(MARK_BLOCK + part) if known is not None else None
            self.keys.append(key)
            self.known.append(known if stand_in is not None else None)
            if stand_in is not None:
                parts[n] = stand_in[len(MARK_BLOCK):]
        if any(self.known):
            self.cut = _SEPARATOR.join(parts)

    def payload(self, whole: str) -> str:
        """What pandoc is given: the book, each known piece cut down to its mark and headings."""
        return self.cut or whole

    def put_back(self, html: str) -> str | None:
        """pandoc's HTML with each known piece's HTML in its place, new ones kept in the cache;
        None when the HTML is not cut as planned (then the caller renders the whole book)."""
        if not self.count:
            return html
        split = html.split(CHUNK_MARK)
        if len(split) != self.count + self.lead:  # the text before the first mark, then one part after each
            return None
        for n, (key, known) in enumerate(zip(self.keys, self.known)):
            if key is None:
                continue
            if known is None:
                if self.kept[n]:
                    self.store.put(key, split[n + self.lead])
            else:
                split[n + self.lead] = known
        # nothing put back (a cold build): pandoc's HTML as it is, not a copy of it
        return CHUNK_MARK.join(split) if any(self.known) else html
