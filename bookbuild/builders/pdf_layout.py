"""The PDF laid out on every core: the book is cut at its part openers, the pieces are laid out by
WeasyPrint in worker processes, and the pages are merged with their links, outline and names.

What a reader sees must not change (DESIGN.md): every piece starts on a right-hand page, as a part
opener does (the empty left-hand page before it, when there is one, is added at the merge);
folios continue across pieces; page references ("(p. 143)", the contents) are numbers from the
page map of the whole book, which no piece can know while it is laid out.

So a piece is laid out with placeholders of as many digits as its numbers will have ("(p. 000)"
for a page in the hundreds; the book's figures are tabular, every digit as wide as any other),
and the true numbers are written over them once every piece is laid out. A piece is laid out
again only when a number turns out to have another count of digits than its placeholder: with
the previous build's map, never; without it, when the estimate from the text's length was wrong
near page 10 or 100. One layout instead of two, and every page the same as when laid out with
the true numbers. Links and named destinations are made from the layout's own anchor and link
positions.
"""

from __future__ import annotations

import hashlib
import re
import signal
import socket
import subprocess
import sys
from dataclasses import dataclass
from multiprocessing.connection import Connection
from pathlib import Path

BODY_MARK = "<!--bookbuild:body-->"
CHUNK_MARK = "<!--bookbuild:chunk-->"
MAX_PASSES = 4
PX_TO_PT = 0.75
# text characters on a page, roughly: only to guess how many digits a page number will have
CHARS_PER_PAGE = {"a4": 2400, "letter": 2300, "6x9": 1400}
# page references are numbers from the page map instead of target-counter() (pieces cannot see each other)
PAGE_REF_CSS = """
a.xref-q::after, a.xref-sec::after, a.xref-fig::after, a.xref-tbl::after,
a.to-question::after, a.to-answer::after { content: " (p. " attr(data-page) ")"; }
.toc a::after { content: leader('.') attr(data-page); }
.piece-lead { page: piece-lead; }
@page piece-lead { @top-center { content: none; } @bottom-center { content: none; } }
"""
# a piece that starts with the answers to a chapter starts on a new page, of either hand
_ANY_HAND = re.compile(r'\s*<h2\b[^>]*\bclass="[^"]*\banswers-chapter\b')
# the empty left-hand page before a part opener, laid out once (a draft's watermark is on it too)
LEAD_BODY = '<div class="piece-lead"></div>'
LEAD_CSS = "html { break-before: left }"
_INTERNAL_LINK = re.compile(r'<a\s+href="#([^"]+)"')
_ID = re.compile(r'\sid="([^"]+)"')
_CLASS = re.compile(r'\sclass="([^"]*)"')
_EVENT = re.compile(r"<(/?)([a-zA-Z][a-zA-Z0-9]*)\b([^>]*)>")
# the page breaks of templates/pdf.css, by class: (before, after), each "page", "right" or None
BREAKS = {"title-page": (None, "page"), "copyright-page": (None, "right"), "toc": (None, "right"),
          "part": ("right", "page"), "chapter": ("right", None), "answers-chapter": ("page", None),
          "front-matter": ("right", None)}
_TAG = re.compile(r"<[^>]*>")
_DIGITS = re.compile(r"\d+")


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


def with_placeholders(body: str, digits: dict[str, int]) -> str:
    """Every internal link with a page number of zeros, as many as its target's page will have."""
    return _INTERNAL_LINK.sub(lambda m: f'<a href="#{m.group(1)}" data-page="{"0" * digits.get(m.group(1), 2)}"',
                              body)


def patch_page_numbers(document, page_map: dict[str, int], first_page: int) -> None:
    """Write the true numbers over the placeholders: page references, contents and folios.

    Only the digits change, never their count: every text box keeps its width and place.
    """
    for index, page in enumerate(document.pages):
        page_box = page._page_box
        for child in page_box.children:
            if getattr(child, "at_keyword", None) == "@bottom-center":  # the folio
                for box in child.descendants():
                    _set_number(box, first_page + index)
        for box in page_box.descendants():
            element = getattr(box, "element", None)
            if (element is None or not hasattr(box, "text")
                    or not str(getattr(box, "element_tag", "")).endswith("::after")):
                continue
            href = element.get("href") or ""
            if href.startswith("#") and element.get("data-page") and href[1:] in page_map:
                _set_number(box, page_map[href[1:]])


def flip(first_page: int, page: int, shift: float) -> float:
    """How far (pt) page `page` of a piece that starts at `first_page` moves: a piece laid out from
    a right-hand page that starts on a left-hand one has every page on the other hand, with the
    same lines and the inner and outer margins swapped."""
    if first_page % 2:
        return 0.0
    return -shift if page % 2 == 0 else shift


def to_other_hand(document, first_page: int, shift: float) -> None:
    """Move every page of a piece that starts on a left-hand page to its true hand (before writing)."""
    for number, page in enumerate(document.pages):
        dx = flip(first_page, number, shift) / PX_TO_PT
        if dx:
            page._page_box.translate(dx, 0)
            page.links = [(kind, target, (x1 + dx, y1, x2 + dx, y2), box)
                          for kind, target, (x1, y1, x2, y2), box in page.links]


def _set_number(box, number: int) -> None:
    text = getattr(box, "text", None)
    if not text or not _DIGITS.search(text):
        return
    new = _DIGITS.sub(str(number), text, count=1)
    if len(new) != len(text):
        raise ValueError(f"page number {number} does not fit its placeholder {text!r}")
    box.text = new
    layout = box.pango_layout  # drawing sets the layout's text again (reactivate): change it there too
    layout.text = _DIGITS.sub(str(number), layout.text, count=1)


def _worker(conn) -> None:
    """A worker process: lay out pieces on request, keep them, write them when asked.

    It imports WeasyPrint first of all, while the build is still preparing the book.
    """
    import weasyprint

    from ..formulas import reuse_svg_drawings, use_cache
    from ..weasy import collect_messages, fetcher

    reuse_svg_drawings()
    stylesheet, base_url = None, None
    documents = {}
    while True:
        request = conn.recv()  # the build kills the worker when it is done with it
        if request[0] == "setup":
            _, base_url, css, root = request
            use_cache(root)
            stylesheet = weasyprint.CSS(string=css)
            documents.clear()
        elif request[0] == "layout":
            replies = {}
            for index, html, first_page in request[1]:
                documents.pop(index, None)  # laid out again: let the first layout go before
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
            _, jobs, page_map, lead, shift = request
            for index, path, identifier, first_page in jobs:
                document = documents.pop(index)  # written once: its memory serves the next one
                patch_page_numbers(document, page_map, first_page)
                to_other_hand(document, first_page, shift)
                document.write_pdf(path, pdf_identifier=identifier)
                del document
            if lead is not None:
                html, path, identifier = lead
                weasyprint.HTML(string=html, base_url=base_url, url_fetcher=fetcher()).render(
                    stylesheets=[stylesheet, weasyprint.CSS(string=LEAD_CSS)]).write_pdf(path, pdf_identifier=identifier)
            conn.send("written")


def _start_worker() -> tuple[subprocess.Popen, Connection]:
    """A worker process, and the connection to it.

    A plain `python -c` rather than multiprocessing's spawn: that would import the command line
    (the main module) in each worker and start a resource tracker process besides.
    """
    ours, theirs = socket.socketpair()
    try:
        package_parent = str(Path(__file__).resolve().parents[2])
        code = (f"import sys; sys.path.insert(0, {package_parent!r}); "
                f"from bookbuild.builders.pdf_layout import serve; serve({theirs.fileno()})")
        process = subprocess.Popen([sys.executable, "-c", code], pass_fds=[theirs.fileno()],
                                   stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL)
    except BaseException:
        ours.close()
        raise
    finally:
        theirs.close()
    return process, Connection(ours.detach())


def serve(fd: int) -> None:
    """A worker's life: requests from the build until it is killed or the build's end closes."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the build's to handle: it kills us
    try:
        _worker(Connection(fd))
    except EOFError:  # the build is gone
        pass


def _first_anchors(document) -> dict[str, tuple[int, float, float]]:
    """Where each id is: an element split across pages is where it starts."""
    anchors: dict[str, tuple[int, float, float]] = {}
    for n, page in enumerate(document.pages):
        for name, pos in page.anchors.items():
            anchors.setdefault(name, (n, pos[0], pos[1]))
    return anchors


class ParallelLayout:
    """Two (or more) worker processes that lay out and write the pieces of one book."""

    def __init__(self, workers: int):
        """Start the workers: they import WeasyPrint meanwhile (the build starts them early)."""
        self.pipes: list[Connection] = []
        self.processes: list[subprocess.Popen] = []
        try:
            for _ in range(workers):
                process, pipe = _start_worker()
                self.processes.append(process)
                self.pipes.append(pipe)
        except BaseException:
            self.close()
            raise

    def setup(self, base_url: str, css: str, root: Path | None = None) -> None:
        """What the pieces of this book are laid out with."""
        for pipe in self.pipes:
            pipe.send(("setup", base_url, css + PAGE_REF_CSS, root))

    def close(self) -> None:
        # nothing is left to do: a worker ends at once rather than free its documents (~1 s)
        for process in self.processes:
            process.kill()
        for process in self.processes:
            process.wait()
        for pipe in self.pipes:
            pipe.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def _ask(self, jobs_by_worker: list[list], verb: str) -> dict:
        """Send each worker its jobs and gather the replies. Empties `jobs_by_worker` once sent:
        the pieces' text is not held here while they are laid out."""
        busy = []
        for pipe, jobs in zip(self.pipes, jobs_by_worker):
            busy.append(bool(jobs))
            if jobs:
                pipe.send((verb, jobs))
        jobs_by_worker.clear()
        replies: dict = {}
        for pipe, asked in zip(self.pipes, busy):
            if asked:
                reply = pipe.recv()
                if isinstance(reply, dict):
                    replies.update(reply)
        return replies

    def layout(self, html: str, guess: dict[str, int], chars_per_page: int = CHARS_PER_PAGE["a4"]
               ) -> tuple[dict[int, Piece], dict[str, int]]:
        """Lay the book out: the pieces and the page of every anchor.

        `guess`: the previous build's page map, or {}: then the pages are estimated from the
        length of the text before each anchor.
        """
        head, bodies, tail = split(html)
        self.lead_html = head + LEAD_BODY + tail
        self.any_hand = [i > 0 and bool(_ANY_HAND.match(b)) for i, b in enumerate(bodies)]
        owner = self.owner = _balance([len(b) for b in bodies], len(self.pipes))
        page_map = dict(guess) or _estimate_pages(bodies, chars_per_page)
        firsts = [page_map.get(_piece_key(i), 1) for i in range(len(bodies))]
        laid: dict[int, tuple[str, int]] = {}  # piece -> (digest of its html, first page) it was laid out with
        pieces: dict[int, Piece] = {}
        for _ in range(MAX_PASSES):
            digits = {name: len(str(page)) for name, page in page_map.items()}
            jobs: list[list] = [[] for _ in self.pipes]
            for i, body in enumerate(bodies):
                piece_html = head + with_placeholders(body, digits) + tail
                wanted = (hashlib.sha256(piece_html.encode()).hexdigest(), firsts[i])
                if i not in laid or laid[i][0] != wanted[0] or not _same_digits(laid[i][1], firsts[i], pieces[i].pages):
                    jobs[owner[i]].append((i, piece_html, firsts[i]))
                    laid[i] = wanted
            if not any(jobs):
                self.firsts, self.pages = firsts, [pieces[i].pages for i in range(len(bodies))]
                return pieces, page_map
            pieces.update(self._ask(jobs, "layout"))  # only the digests of the pieces' text are kept
            firsts = first_pages([pieces[i].pages for i in range(len(bodies))], self.any_hand)
            page_map = {name: firsts[i] + page for i, piece in pieces.items()
                        for name, (page, _, _) in piece.anchors.items()}
            page_map.update({_piece_key(i): first for i, first in enumerate(firsts)})
        raise NoFixedPoint

    def write(self, count: int, folder: Path, identifier: bytes, page_map: dict[str, int], shift: float = 0.0
              ) -> tuple[list[Path], Path | None]:
        """Each piece as a PDF with its true numbers, and the empty lead page when one is needed
        (the first worker lays that out too).

        `shift`: inner − outer margin (pt), how far a page's content moves when it changes hands.
        """
        paths = [folder / f"piece-{i:03d}.pdf" for i in range(count)]
        jobs: list[list] = [[] for _ in self.pipes]
        for i, path in enumerate(paths):
            jobs[self.owner[i]].append((i, str(path), identifier, self.firsts[i]))  # the worker that holds it
        needs_lead = any(self.firsts[i] > self.firsts[i - 1] + self.pages[i - 1] for i in range(1, count))
        lead = folder / "lead.pdf" if needs_lead else None
        for w, (pipe, jobs_of_worker) in enumerate(zip(self.pipes, jobs)):
            extra = (self.lead_html, str(lead), identifier) if lead is not None and w == 0 else None
            pipe.send(("write", jobs_of_worker, page_map, extra, shift))
        for pipe in self.pipes:
            pipe.recv()
        return paths, lead


def _same_digits(laid_first: int, first: int, pages: int) -> bool:
    """Whether folios counted from `laid_first` have the digits of folios counted from `first`."""
    return all(len(str(laid_first + k)) == len(str(first + k)) for k in range(pages))


def _estimate_pages(bodies: list[str], chars_per_page: int) -> dict[str, int]:
    """Each anchor's page, guessed from the text before it and the page breaks of pdf.css.

    Only a guess: a number whose digits it gets wrong costs its piece a second layout.
    """
    estimate: dict[str, int] = {}
    page, used = 1, 0  # the current page and the characters already on it
    after: list[tuple[str, str]] = []  # elements open now that end with a page break: (tag, kind)

    def break_page(kind: str) -> None:
        nonlocal page, used
        if used:
            page, used = page + 1, 0
        if kind == "right" and page % 2 == 0:
            page += 1

    for i, body in enumerate(bodies):
        break_page("page")  # and the piece's first element may ask for a right-hand page
        position = 0
        for match in _EVENT.finditer(body):
            used += len(_TAG.sub("", body[position:match.start()]).strip())
            page, used = page + used // chars_per_page, used % chars_per_page
            position = match.end()
            closing, tag, attributes = match.groups()
            if closing:
                if after and after[-1][0] == tag:
                    break_page(after.pop()[1])
                continue
            classes = (_CLASS.search(attributes) or [None, ""])[1].split()
            for name in classes:
                before, end = BREAKS.get(name, (None, None))
                if before:
                    break_page(before)
                if end:
                    after.append((tag, end))
            estimate.setdefault(_piece_key(i), page)
            for name in _ID.findall(attributes):
                estimate.setdefault(name, page)
        used += len(_TAG.sub("", body[position:]).strip())
        page, used = page + used // chars_per_page, used % chars_per_page
        estimate.setdefault(_piece_key(i), page)
    return estimate


def _has_lead(next_page: int) -> int:
    """1 when the next page is a left-hand one: a piece (a part opener) starts after an empty page."""
    return 1 if next_page % 2 == 0 else 0


def first_pages(content: list[int], any_hand: list[bool] | None = None) -> list[int]:
    """The folio of each piece's first page, given the pages of each piece: a right-hand page,
    or the next page for a piece that may start on either hand."""
    firsts, next_page = [], 1
    for i, count in enumerate(content):
        if not (any_hand and any_hand[i]):
            next_page += _has_lead(next_page)
        firsts.append(next_page)
        next_page += count
    return firsts


def start_css(first_page: int) -> str:
    """Folios continue from `first_page` (its digits count; the numbers are written at the end)."""
    return f"@page :first {{ counter-reset: page {first_page} }}"


def _piece_key(index: int) -> str:
    return f"bookbuild-piece-{index}"  # not an id: ids in books are [a-z0-9-] and never start so


def _balance(sizes: list[int], workers: int) -> list[int]:
    """Give each piece to the least loaded worker, largest pieces first."""
    load = [0] * workers
    owner = [0] * len(sizes)
    for i in sorted(range(len(sizes)), key=lambda i: -sizes[i]):
        w = min(range(workers), key=lambda w: load[w])
        owner[i] = w
        load[w] += sizes[i]
    return owner


def merge(paths: list[Path], pieces: dict[int, Piece], target: Path, info: dict, language: str,
          firsts: list[int], lead: Path | None = None, shift: float = 0.0, nested: list[bool] | None = None) -> None:
    """One PDF from the pieces, in order, with links, named destinations and outline across them;
    the `lead` page before a piece whose first page (`firsts`) is not the next page.

    A piece that starts on a left-hand page was moved to the other hand as it was written
    (`flip`); its links and names move with it here.
    """
    from pypdf import PdfReader, PdfWriter
    from pypdf.generic import (ArrayObject, Destination, DictionaryObject, Fit, FloatObject, NameObject,
                               NumberObject, TextStringObject)

    def moved(i: int, page: int) -> float:
        return flip(firsts[i], page, shift)

    writer = PdfWriter()
    index_of_first = []
    for i, path in enumerate(paths):
        if len(writer.pages) + 1 < firsts[i]:  # as a break to a right-hand page leaves it: no folio
            writer.add_page(PdfReader(str(lead)).pages[0])
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
        return index_of_first[i] + page, x * PX_TO_PT + moved(i, page), (height - y) * PX_TO_PT

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
                NameObject("/Rect"): ArrayObject([FloatObject(round(v, 3)) for v in
                                                  (left, bottom, x2 * PX_TO_PT + moved(i, page), top)]),
                NameObject("/Border"): ArrayObject([NumberObject(0)] * 3),
                NameObject("/Dest"): TextStringObject(target_name)})
            writer.add_annotation(index, annotation)

    def outline(items, parent=None, piece=0):
        node = None
        for label, (page, x, y), children, state in items:
            index, left, top = place(piece, page, x, y)
            node = writer.add_outline_item(title=label, page_number=index, parent=parent,
                                           fit=Fit.xyz(left, top, 0), is_open=state == "open")
            outline(children, node, piece)
        return node

    top = None  # the last top-level entry: a piece of answers (its headings one level down) goes under it
    for i, piece in sorted(pieces.items()):
        if nested and nested[i] and top is not None:
            outline(piece.bookmarks, top, piece=i)
        else:
            top = outline(piece.bookmarks, piece=i) or top
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

