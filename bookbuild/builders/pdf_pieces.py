"""The HTML of an unchanged PDF piece is not written again by pandoc.

The PDF's HTML is one pandoc run over the whole book (4.5 s of a one-answer edit at 3000
questions), though the book is laid out in pieces (pdf_layout.py) cut at the chunk marks the
builder puts where a new page starts anyway. What pandoc's HTML writer makes of a piece depends
on the piece's blocks alone: the contents come from the template's $toc$ (the headings), the
PDF has no notes (they are spans by then) and no math left for pandoc (it is drawn), and ids are
written as they are, but for code blocks (pandoc numbers them across the book: a piece with one
is always given whole). So each piece's HTML is kept in the cache by its blocks; pandoc is given the
book with every piece whose HTML is known cut down to its headings (for the contents), and the
known HTML is put back between the chunk marks. A piece with a heading inside a block is given
whole (its stand-in would lose the heading, and the contents its entry).

The same bytes as a run over the whole book (tests/test_incremental.py compares the PDFs): a
cold build goes the same way with nothing known. Never cut: what comes before the first mark
and the last piece (its HTML runs on into the template's end), a piece with a heading pandoc
must give an id to or a code block (pandoc numbers both across the book), and any book with a
note left.
"""

from __future__ import annotations

import json

from ..cache import code_digest, digest
from .epub_pages import book_blocks, book_json
from .html_pages import HEADING
from .pdf_layout import CHUNK_MARK

MARK_BLOCK = json.dumps({"t": "RawBlock", "c": ["html", CHUNK_MARK]})
_NO_ID_HEADING = '{"t": "Header", "c": ['  # followed by the level, then the attributes: see _has_unnamed


def _has_unnamed(text: str) -> bool:
    """Whether a block holds a heading without an id (pandoc makes one, unique in the book)."""
    at = text.find(_NO_ID_HEADING)
    while at >= 0:
        after = text.find(", ", at + len(_NO_ID_HEADING))
        if text.startswith('[""', after + 2):
            return True
        at = text.find(_NO_ID_HEADING, at + 1)
    return False


class Pieces:
    """The book's blocks in pieces (at the chunk marks), with what the cache knows of each."""

    def __init__(self, payload: str, store, setting: str):
        self.store, self.parts = store, book_blocks(payload) if store is not None else None
        self.pieces: list[list[str]] = []
        self.keys: list[str | None] = []
        self.known: list[str | None] = []
        if self.parts is None or '"t": "Note"' in payload:
            self.parts = None
            return
        for block in self.parts[1]:
            if block == MARK_BLOCK or not self.pieces:
                self.pieces.append([])
            self.pieces[-1].append(block)
        for n, blocks in enumerate(self.pieces):
            middle = 0 < n < len(self.pieces) - 1 and blocks[0] == MARK_BLOCK
            # a heading inside a block (a div's) would be missing from the stand-in, and from the
            # contents; pandoc numbers code blocks across the book (their ids, cb1, cb2...)
            cuttable = middle and not any(_has_unnamed(b) or len(HEADING.findall(b)) != bool(HEADING.match(b))
                                          or '"t": "CodeBlock"' in b for b in blocks)
            key = digest(code_digest(), "pdf-piece-html", setting, *blocks) if cuttable else None
            self.keys.append(key)
            self.known.append(store.get(key) if key else None)

    def payload(self, whole: str) -> str:
        """What pandoc is given: the book, each known piece cut down to its mark and headings."""
        if self.parts is None or not any(self.known):
            return whole
        blocks: list[str] = []
        for piece, known in zip(self.pieces, self.known):
            blocks.extend([piece[0], *(b for b in piece[1:] if HEADING.match(b))] if known is not None else piece)
        return book_json(self.parts[0], blocks)

    def put_back(self, html: str) -> str | None:
        """pandoc's HTML with each known piece's HTML in its place, new ones kept in the cache;
        None when the HTML is not cut as planned (then the caller renders the whole book)."""
        if self.parts is None:
            return html
        split = html.split(CHUNK_MARK)
        # the text before the first mark, then one part after each mark
        marks = sum(1 for piece in self.pieces if piece[0] == MARK_BLOCK)
        if len(split) != marks + 1:
            return None
        offset = 0 if self.pieces[0][0] == MARK_BLOCK else 1  # the first piece is before any mark
        for n, (key, known) in enumerate(zip(self.keys, self.known)):
            if key is None:
                continue
            at = n + 1 - offset
            if known is None:
                self.store.put(key, split[at])
            else:
                split[at] = known
        return CHUNK_MARK.join(split)
