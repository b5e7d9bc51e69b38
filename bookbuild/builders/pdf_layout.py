"""The PDF laid out on every core: the book is cut at its part openers, the pieces are laid out by
WeasyPrint in worker processes, and the pages are merged with their links, outline and names.

What a reader sees must not change (DESIGN.md): every piece starts on a right-hand page, as a part
opener does; folios continue across pieces; page references ("(p. 143)", the contents) are written
as numbers from a page map, and the pieces are laid out again until the map they were laid out
with is the map they produce (a fixed point, usually reached in one pass when the previous build's
map is known, two when it is not). Links and named destinations are made from the layout's own
anchor and link positions.
"""

from __future__ import annotations

import multiprocessing
import re
from dataclasses import dataclass
from pathlib import Path

BODY_MARK = "<!--bookbuild:body-->"
CHUNK_MARK = "<!--bookbuild:chunk-->"
MAX_PASSES = 4
PX_TO_PT = 0.75
# page references are numbers from the page map instead of target-counter() (pieces cannot see each other)
PAGE_REF_CSS = """
a.xref-q::after, a.xref-sec::after, a.xref-fig::after, a.xref-tbl::after,
a.to-question::after, a.to-answer::after { content: " (p. " attr(data-page) ")"; }
.toc a::after { content: leader('.') attr(data-page); }
.piece-lead { page: piece-lead; }
@page piece-lead { @top-center { content: none; } @bottom-center { content: none; } }
"""
_INTERNAL_LINK = re.compile(r'<a\s+href="#([^"]+)"')


class NoFixedPoint(Exception):
    """The page map did not settle: the caller lays the book out in one piece instead."""


@dataclass
class Piece:
    """What a worker reports about one laid-out piece (pages are 0-based within the piece)."""

    pages: int
    size: tuple[float, float]  # px
    anchors: dict[str, tuple[int, float, float]]
    links: list[tuple[int, str, tuple[float, float, float, float]]]
    bookmarks: list
    messages: list[str]


def split(html: str) -> tuple[str, list[str], str]:
    """The document head, the bodies of the pieces (front matter first) and the closing tags."""
    head_end = html.index(BODY_MARK) + len(BODY_MARK)
    tail_start = html.rindex("</body>")
    return html[:head_end], html[head_end:tail_start].split(CHUNK_MARK), html[tail_start:]


def with_page_numbers(body: str, page_map: dict[str, int]) -> str:
    return _INTERNAL_LINK.sub(lambda m: f'<a href="#{m.group(1)}" data-page="{page_map.get(m.group(1), "00")}"', body)


def _worker(conn, base_url: str, css: str, root: Path | None) -> None:
    """A worker process: lay out pieces on request, keep them, write them when asked."""
    import weasyprint

    from ..formulas import reuse_svg_drawings, use_cache
    from ..weasy import collect_messages, fetcher

    use_cache(root)
    reuse_svg_drawings()
    stylesheet = weasyprint.CSS(string=css)
    documents = {}
    while True:
        request = conn.recv()
        if request[0] == "stop":
            return
        if request[0] == "layout":
            replies = {}
            for index, html, first_page in request[1]:
                with collect_messages() as messages:
                    start = weasyprint.CSS(string=start_css(first_page))
                    document = weasyprint.HTML(string=html, base_url=base_url, url_fetcher=fetcher()).render(
                        stylesheets=[stylesheet, start])
                documents[index] = document
                replies[index] = Piece(
                    pages=len(document.pages),
                    size=(document.pages[0].width, document.pages[0].height) if document.pages else (0, 0),
                    anchors=_first_anchors(document),
                    links=[(n, target, tuple(rect)) for n, page in enumerate(document.pages)
                           for kind, target, rect, _ in page.links if kind == "internal"],
                    bookmarks=document.make_bookmark_tree(),
                    messages=messages)
            conn.send(replies)
        elif request[0] == "write":
            for index, path, identifier in request[1]:
                documents[index].write_pdf(path, pdf_identifier=identifier)
            conn.send("written")


def _first_anchors(document) -> dict[str, tuple[int, float, float]]:
    """Where each id is: an element split across pages is where it starts."""
    anchors: dict[str, tuple[int, float, float]] = {}
    for n, page in enumerate(document.pages):
        for name, pos in page.anchors.items():
            anchors.setdefault(name, (n, pos[0], pos[1]))
    return anchors


class ParallelLayout:
    """Two (or more) worker processes that lay out and write the pieces of one book."""

    def __init__(self, base_url: str, css: str, workers: int, root: Path | None = None):
        context = multiprocessing.get_context("spawn")  # the build runs threads: never fork them
        self.pipes = []
        self.processes = []
        for _ in range(workers):
            parent, child = context.Pipe()
            process = context.Process(target=_worker, args=(child, base_url, css + PAGE_REF_CSS, root), daemon=True)
            process.start()
            self.pipes.append(parent)
            self.processes.append(process)

    def close(self) -> None:
        for pipe, process in zip(self.pipes, self.processes):
            try:
                pipe.send(("stop",))
            except OSError:
                pass
            process.join(timeout=10)
            if process.is_alive():
                process.kill()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def _ask(self, jobs_by_worker: list[list], verb: str) -> dict:
        for pipe, jobs in zip(self.pipes, jobs_by_worker):
            if jobs:
                pipe.send((verb, jobs))
        replies: dict = {}
        for pipe, jobs in zip(self.pipes, jobs_by_worker):
            if jobs:
                reply = pipe.recv()
                if isinstance(reply, dict):
                    replies.update(reply)
        return replies

    def layout(self, html: str, guess: dict[str, int]) -> tuple[dict[int, Piece], dict[str, int]]:
        """Lay the book out to a fixed point: the pieces and the page of every anchor."""
        head, bodies, tail = split(html)
        owner = self.owner = _balance([len(b) for b in bodies], len(self.pipes))
        page_map = dict(guess)
        firsts = _estimate_firsts(bodies, page_map)
        laid: dict[int, tuple[str, int]] = {}  # piece -> (html, first page) it was laid out with
        pieces: dict[int, Piece] = {}
        for passes in range(MAX_PASSES + 1):
            wanted = {i: (head + lead(firsts[i]) + with_page_numbers(b, page_map) + tail, firsts[i])
                      for i, b in enumerate(bodies)}
            todo = [i for i in wanted if laid.get(i) != wanted[i]]
            if not todo:
                return pieces, page_map
            if passes == MAX_PASSES:
                raise NoFixedPoint
            jobs: list[list] = [[] for _ in self.pipes]
            for i in todo:
                jobs[owner[i]].append((i, *wanted[i]))
                laid[i] = wanted[i]
            pieces.update(self._ask(jobs, "layout"))
            # a piece's own content does not depend on where it starts; only its lead page does
            leads = [_has_lead(laid[i][1]) for i in range(len(bodies))]
            firsts = first_pages([pieces[i].pages - leads[i] for i in range(len(bodies))])
            page_map = {name: firsts[i] + _has_lead(firsts[i]) + page - leads[i]
                        for i, piece in pieces.items() for name, (page, _, _) in piece.anchors.items()}
            page_map.update({_piece_key(i): first for i, first in enumerate(firsts)})
        raise NoFixedPoint

    def write(self, count: int, folder: Path, identifier: bytes) -> list[Path]:
        paths = [folder / f"piece-{i:03d}.pdf" for i in range(count)]
        jobs: list[list] = [[] for _ in self.pipes]
        for i, path in enumerate(paths):
            jobs[self.owner[i]].append((i, str(path), identifier))  # the worker that holds piece i
        self._ask(jobs, "write")
        return paths


def _has_lead(first_page: int) -> int:
    """1 when a piece starting at `first_page` starts on a left-hand page, so with an empty page."""
    return 1 if first_page % 2 == 0 else 0


def first_pages(content: list[int]) -> list[int]:
    """The folio of each piece's first page, given the pages of each piece's own content."""
    firsts, next_page = [], 1
    for count in content:
        firsts.append(next_page)
        next_page += _has_lead(next_page) + count
    return firsts


def start_css(first_page: int) -> str:
    """Folios continue from `first_page`; a piece that starts on a left-hand page starts with one."""
    css = f"@page :first {{ counter-reset: page {first_page} }}"
    return css + (" html { break-before: left }" if _has_lead(first_page) else "")


def lead(first_page: int) -> str:
    """On a left-hand first page, the empty page a single document leaves before a part opener."""
    return '<div class="piece-lead"></div>' if _has_lead(first_page) else ""


def _piece_key(index: int) -> str:
    return f"bookbuild-piece-{index}"  # not an id: ids in books are [a-z0-9-] and never start so


def _estimate_firsts(bodies: list[str], page_map: dict[str, int]) -> list[int]:
    """First pages as the previous build of the same book found them; 1 when there is none."""
    return [page_map.get(_piece_key(i), 1) for i in range(len(bodies))]


def _balance(sizes: list[int], workers: int) -> list[int]:
    """Give each piece to the least loaded worker, largest pieces first."""
    load = [0] * workers
    owner = [0] * len(sizes)
    for i in sorted(range(len(sizes)), key=lambda i: -sizes[i]):
        w = min(range(workers), key=lambda w: load[w])
        owner[i] = w
        load[w] += sizes[i]
    return owner


def merge(paths: list[Path], pieces: dict[int, Piece], target: Path, info: dict, language: str) -> None:
    """One PDF from the pieces, in order, with links, named destinations and outline across them."""
    from pypdf import PdfReader, PdfWriter
    from pypdf.generic import (ArrayObject, Destination, DictionaryObject, Fit, FloatObject, NameObject,
                               NumberObject, TextStringObject)

    writer = PdfWriter()
    index_of_first = []
    for i, path in enumerate(paths):
        index_of_first.append(len(writer.pages))
        for page in PdfReader(str(path)).pages:
            annots = page.get("/Annots")
            if annots is not None:
                # internal links are made again below, from the layout, across pieces
                kept = ArrayObject(a for a in annots if not _internal_link(a.get_object()))
                if kept:
                    page[NameObject("/Annots")] = kept
                else:
                    del page[NameObject("/Annots")]
            writer.add_page(page)

    def place(i: int, page: int, x: float, y: float) -> tuple[int, float, float]:
        height = pieces[i].size[1]
        return index_of_first[i] + page, x * PX_TO_PT, (height - y) * PX_TO_PT

    names = {}
    for i, piece in sorted(pieces.items()):
        for name, (page, x, y) in piece.anchors.items():
            names.setdefault(name, place(i, page, x, y))
    for name, (page, left, top) in sorted(names.items()):
        # at the element itself, as WeasyPrint's own destinations are
        writer.add_named_destination_object(
            Destination(TextStringObject(name), writer.pages[page].indirect_reference, Fit.xyz(left, top, 0)))
    for i, piece in sorted(pieces.items()):
        for page, target_name, (x1, y1, x2, y2) in piece.links:
            if target_name not in names:
                continue
            index, left, top = place(i, page, x1, y1)
            _, _, bottom = place(i, page, x1, y2)
            annotation = DictionaryObject({
                NameObject("/Type"): NameObject("/Annot"), NameObject("/Subtype"): NameObject("/Link"),
                NameObject("/Rect"): ArrayObject([FloatObject(round(v, 3)) for v in (left, bottom, x2 * PX_TO_PT, top)]),
                NameObject("/Border"): ArrayObject([NumberObject(0)] * 3),
                NameObject("/Dest"): TextStringObject(target_name)})
            writer.add_annotation(index, annotation)

    def outline(items, parent=None, piece=0):
        for label, (page, x, y), children, state in items:
            index, left, top = place(piece, page, x, y)
            node = writer.add_outline_item(title=label, page_number=index, parent=parent,
                                           fit=Fit.xyz(left, top, 0), is_open=state == "open")
            outline(children, node, piece)

    for i, piece in sorted(pieces.items()):
        outline(piece.bookmarks, piece=i)
    writer.add_metadata(info)
    writer._root_object[NameObject("/Lang")] = TextStringObject(language)
    writer.page_mode = "/UseOutlines"
    with open(target, "wb") as fh:
        writer.write(fh)


def _internal_link(annotation) -> bool:
    if annotation.get("/Subtype") != "/Link":
        return False
    action = annotation.get("/A")
    return "/Dest" in annotation or (action is not None and action.get_object().get("/S") == "/GoTo")

