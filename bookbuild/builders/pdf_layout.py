"""The PDF laid out on every core: the book is cut where pdf.css starts a new page anyway (part
openers, chapters, the answers to each chapter), the pieces are laid out by WeasyPrint in worker
processes, and the pages are merged with their links, outline and names.

What a reader sees must not change (DESIGN.md): a piece that starts a part or a chapter starts on
a right-hand page (the empty left-hand page before it, when there is one, is added at the merge);
folios continue across pieces; page references ("(p. 143)", the contents) are numbers from the
page map of the whole book, which no piece can know while it is laid out.

So a piece is laid out with placeholders of as many digits as its numbers will have ("(p. 000)"
for a page in the hundreds; the book's figures are tabular, every digit as wide as any other),
and the true numbers are written over them once every piece is laid out. A piece is laid out
again only when a number turns out to have another count of digits than its placeholder: with
the previous build's map, never; without it, the pages are estimated from the text's length, and
the pieces go to the first free worker, the longest of those whose numbers are sure first; one
whose numbers are near page 10 or 100 waits until the pieces laid out before it make them sure
(or nothing else is left: then it is a guess, checked). Links and named destinations are made
from the layout's own anchor and link positions.

Each piece's layout (its pages, anchors, links, outline) is kept in the book's cache by its text
and first page, and its PDF by its numbers too: after an edit, the pieces whose text did not
change are neither laid out nor written again (a piece whose numbers moved is laid out and
written with the new ones).

The front matter (the title page, copyright, contents and front chapters: the first pieces) is
numbered i, ii, … and the main matter again from 1, on a right-hand page: the front matter is
padded to an even count. So the pages of each are counted on their own (a piece's "first page"
is its number in its own sequence: the main matter's numbers never depend on the front
matter's length), and a number's placeholder is its digits in the main matter, and in the front
matter the roman numeral itself (its letters are not of one width, so it is never written over):
the front matter is laid out before the pieces that show its numbers (a reference to the
preface), each front piece as soon as its own numbers are sure. The contents, which show the
whole book's, waits for them as any piece does: laid out on a guess, it would often be laid out
twice in a first build.
"""

from __future__ import annotations

import base64
import dataclasses
import hashlib
import json
import math
import re
import signal
import socket
import subprocess
import sys
from dataclasses import dataclass
from multiprocessing.connection import Connection, wait
from pathlib import Path

from ..cache import code_digest, digest

BODY_MARK = "<!--bookbuild:body-->"
CHUNK_MARK = "<!--bookbuild:chunk-->"
MAX_PASSES = 4
# how far off a page estimated from the text's length may be, as a fraction (seen: 2-4 %)
MARGIN = 0.15
PRIOR = 30
_END_KEY = "bookbuild-end"  # the estimate's last page
_FRONT_END_KEY = "bookbuild-front-end"  # the front matter's last page (before its padding)
# each front chapter (and a draft's "What changed") is wrapped in this, a piece of its own
FRONT_OPEN = '<div class="front-matter-body">'
FRONT_CLOSE = "</div>"
_BOUNDS = (10, 100, 1000, 10000)  # where page numbers gain a digit
PX_TO_PT = 0.75
# text characters on a page, roughly: only to guess how many digits a page number will have
CHARS_PER_PAGE = {"a4": 2400, "letter": 2300, "6x9": 1400}
# page references are numbers from the page map instead of target-counter() (pieces cannot see each other)
# (the [data-page] outweighs pdf.css's [data-front], the front matter's roman numbers)
PAGE_REF_CSS = """
a.xref-q[data-page]::after, a.xref-sec[data-page]::after, a.xref-fig[data-page]::after,
a.xref-tbl[data-page]::after, a.to-question[data-page]::after, a.to-answer[data-page]::after {
  content: " (p. " attr(data-page) ")"; }
.toc a[data-page]::after { content: leader('.') attr(data-page); }
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
_HEADING = re.compile(r"<h([1-6])\b")
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


def join(parts: tuple[str, list[str], str]) -> str:
    """The document `split` cut."""
    head, bodies, tail = parts
    return head + CHUNK_MARK.join(bodies) + tail


def roman(number: int) -> str:
    """A front-matter page's number as it is printed: i, ii, iii, iv, …"""
    out = []
    for value, letters in ((1000, "m"), (900, "cm"), (500, "d"), (400, "cd"), (100, "c"), (90, "xc"),
                           (50, "l"), (40, "xl"), (10, "x"), (9, "ix"), (5, "v"), (4, "iv"), (1, "i")):
        count, number = divmod(number, value)
        out.append(letters * count)
    return "".join(out)


def page_label(number: int, front: bool) -> str:
    """The printed number of a page: roman in the front matter, else decimal."""
    return roman(number) if front else str(number)


def placeholder(number: int, front: bool) -> str:
    """What a page number is laid out as before it is known: zeros, as many as its digits; the
    roman numeral itself in the front matter (its letters differ in width: it is never written over)."""
    return roman(number) if front else "0" * len(str(number))


def front_pieces(bodies: list[str]) -> int:
    """How many of the pieces are front matter: the first (title page, copyright, contents) and
    each that follows it wrapped as front matter (pdf.py wraps the front chapters)."""
    count = 1
    while count < len(bodies) and bodies[count].lstrip().startswith(FRONT_OPEN):
        count += 1
    return count


def front_length(firsts: list[int], pages: list[int], restart: int) -> int:
    """The front matter's pages, padded to an even count: the main matter starts on a right-hand page."""
    last = firsts[restart - 1] + pages[restart - 1] - 1
    return last + last % 2 if restart < len(firsts) else last


def physical_firsts(firsts: list[int], pages: list[int], restart: int) -> list[int]:
    """Each piece's first page in the PDF (1-based), from its number in its own sequence."""
    front = front_length(firsts, pages, restart)
    return [first if i < restart else front + first for i, first in enumerate(firsts)]


def label_ranges(front: int, total: int) -> list[tuple[int, str]]:
    """The PDF's /PageLabels: (first page index, style): roman from the first page, decimal from 1
    where the main matter starts."""
    return [(0, "/r")] + ([(front, "/D")] if 0 < front < total else [])


def with_placeholders(body: str, shapes: dict[str, str]) -> str:
    """Every internal link with a placeholder page number (`placeholder`) of its target's page."""
    return _INTERNAL_LINK.sub(lambda m: f'<a href="#{m.group(1)}" data-page="{shapes.get(m.group(1), "00")}"',
                              body)


def patch_page_numbers(document, labels: dict[str, str], first_page: int) -> None:
    """Write the true numbers over the placeholders: page references, contents and folios.

    Only the digits change, never their count: every text box keeps its width and place. A roman
    number (the front matter's) was laid out as itself: it stays.
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
            if href.startswith("#") and element.get("data-page") and labels.get(href[1:], "").isdigit():
                _set_number(box, int(labels[href[1:]]))


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
            _, jobs, labels, lead, shift = request
            for index, path, identifier, first_page in jobs:
                document = documents.pop(index)  # written once: its memory serves the next one
                patch_page_numbers(document, labels, first_page)
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
    except (EOFError, BrokenPipeError, ConnectionResetError):  # the build is gone
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
        self.store, self.setting = None, ""
        self.remembered: set[int] = set()  # pieces whose layout came from the cache (no worker holds them)
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

    def setup(self, base_url: str, css: str, root: Path | None = None, store=None, setting: str = "") -> None:
        """What the pieces of this book are laid out with; `store`: a cache.Cache where each
        piece's layout and PDF are kept, `setting` what they depend on besides their text."""
        self.store, self.setting = store, digest(code_digest(), css, setting)
        self.remembered = set()  # laid out again with these settings (the print edition's other margin)
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
        busy = [bool(jobs) for jobs in jobs_by_worker]
        for pipe, asked in zip(self.pipes, busy):
            if asked:
                pipe.send((verb, jobs_by_worker[0]))
            del jobs_by_worker[0]
        replies: dict = {}
        for pipe, asked in zip(self.pipes, busy):
            if asked:
                reply = pipe.recv()
                if isinstance(reply, dict):
                    replies.update(reply)
        return replies

    def layout(self, parts: tuple[str, list[str], str], guess: dict[str, int],
               chars_per_page: int = CHARS_PER_PAGE["a4"]) -> tuple[dict[int, Piece], dict[str, int]]:
        """Lay the book out (`split` into parts): the pieces and the page of every anchor.

        `guess`: the previous build's page map, or {}: then the pages are estimated from the
        length of the text before each anchor.
        """
        head, bodies, tail = parts
        self.lead_html = head + LEAD_BODY + tail
        self.any_hand = [i > 0 and bool(_ANY_HAND.match(b)) for i, b in enumerate(bodies)]
        # the front matter's pieces, then the main matter's, each counted from 1
        self.restart = restart = front_pieces(bodies)
        self.front_names = {name for body in bodies[:restart] for name in _ID.findall(body)}
        # a piece of the main matter that starts with a chapter (an h2): its outline entries go
        # under the part's, when a part opened before it (a book without parts has its chapters at
        # the top of the outline; the front matter's are at the top)
        levels = [(_HEADING.search(b) or [None, "1"])[1] for b in bodies]
        self.nested = [i > restart and level != "1" and "1" in levels[restart:i] for i, level in enumerate(levels)]
        estimate = guess or _estimate_pages(bodies, chars_per_page, restart)
        pieces, laid = self._first_pass(parts, estimate, exact=bool(guess))
        for _ in range(MAX_PASSES):
            pages = [pieces[i].pages for i in range(len(bodies))]
            firsts = first_pages(pages, self.any_hand, restart)
            page_map = {name: firsts[i] + page for i, piece in pieces.items()
                        for name, (page, _, _) in piece.anchors.items()}
            page_map.update({_piece_key(i): first for i, first in enumerate(firsts)})
            page_map[_FRONT_END_KEY] = firsts[restart - 1] + pages[restart - 1] - 1
            shapes = {name: placeholder(page, name in self.front_names) for name, page in page_map.items()}
            jobs: list[list] = [[] for _ in self.pipes]
            for i, body in enumerate(bodies):
                piece_html = head + with_placeholders(body, shapes) + tail
                same_folios = (laid[i][1] == firsts[i] if i < restart  # roman folios: the very numbers
                               else _same_digits(laid[i][1], firsts[i], pieces[i].pages))
                if laid[i][0] != _digest(piece_html) or not same_folios:
                    jobs[self.owner[i]].append((i, piece_html, firsts[i]))  # the worker that holds it
                    laid[i] = (_digest(piece_html), firsts[i])
                del piece_html
            if not any(jobs):
                self.firsts, self.pages = firsts, pages
                self.physical = physical_firsts(firsts, pages, restart)
                self.front_pages = front_length(firsts, pages, restart)
                self.labels = {name: page_label(page, name in self.front_names) for name, page in page_map.items()}
                self.laid, self.pieces, self.parts = laid, pieces, parts
                self.refs = [list(dict.fromkeys(_INTERNAL_LINK.findall(body))) for body in bodies]
                return pieces, page_map
            self.remembered.difference_update(i for worker_jobs in jobs for i, _, _ in worker_jobs)
            pieces.update(self._ask(jobs, "layout"))  # only the digests of the pieces' text are kept
        raise NoFixedPoint

    def _first_pass(self, parts: tuple[str, list[str], str], estimate: dict[str, int], exact: bool
                    ) -> tuple[dict[int, Piece], dict[int, tuple[str, int]]]:
        """Every piece laid out once (or its layout taken from the cache), the longest first,
        each by the first worker free; a piece whose page numbers are not yet sure to have the
        digits guessed for them comes after those that are, when the pieces laid out meanwhile
        have made them sure, or as the safest guess when no sure one is left (a worker never waits).

        The pieces and, for each, the digest of the text it was laid out with and its first page.
        """
        head, bodies, tail = parts
        outlook = _Outlook(bodies, estimate, self.any_hand, exact, self.restart, self.front_names)
        todo = sorted(range(len(bodies)), key=lambda i: -outlook.length[i])  # the longest first
        self.owner = [0] * len(bodies)
        idle, running = list(range(len(self.pipes))), {}
        pieces: dict[int, Piece] = {}
        laid: dict[int, tuple[str, int]] = {}
        for i in list(todo) if exact and self.store is not None else ():
            # laid out by an earlier build with the same text and numbers' digits: its layout
            first = outlook.first(i)
            digest_ = _digest(head + with_placeholders(bodies[i], outlook.shapes(i)) + tail)
            known = self._recall_layout(digest_, first)
            if known is not None:
                todo.remove(i)
                pieces[i], laid[i] = known, (digest_, first)
                self.remembered.add(i)
                outlook.laid(i, known)
        while todo or running:
            while idle and todo:
                # the front matter first, each piece once its numbers are sure (its first page
                # known: then its own numbers are known to the pieces that show them); then the
                # longest sure one, else the safest guess (checked after): a worker never waits
                choice = next((i for i in todo if i < self.restart and outlook.safety(i) == math.inf), None)
                if choice is None:
                    choice = next((i for i in todo if outlook.safety(i) == math.inf), None)
                if choice is None:
                    choice = max(todo, key=outlook.safety)
                todo.remove(choice)
                worker = idle.pop(0)
                first = outlook.first(choice)
                piece_html = head + with_placeholders(bodies[choice], outlook.shapes(choice)) + tail
                laid[choice] = (_digest(piece_html), first)
                self.pipes[worker].send(("layout", [(choice, piece_html, first)]))
                del piece_html
                running[worker], self.owner[choice] = choice, worker
            for pipe in wait([self.pipes[w] for w in running]):
                worker = self.pipes.index(pipe)
                index = running.pop(worker)
                idle.append(worker)
                reply = pipe.recv()
                if not isinstance(reply, dict):
                    raise EOFError("a layout worker failed")
                pieces.update(reply)
                outlook.laid(index, reply[index])
        return pieces, laid

    def write(self, count: int, folder: Path, identifier: bytes, shift: float = 0.0, blank: bool = False
              ) -> tuple[list[Path], Path | None]:
        """Each piece as a PDF with its true numbers, and the empty lead page when one is needed
        (the first worker lays that out too). A piece written by an earlier build with the same
        text and numbers is copied from the cache; one whose layout came from the cache but whose
        numbers changed is laid out again first.

        `shift`: inner − outer margin (pt), how far a page's content moves when it changes hands;
        `blank`: the empty page is wanted anyway (the print edition ends with it, to an even count).
        """
        paths = [folder / f"piece-{i:03d}.pdf" for i in range(count)]
        keys = [self._pdf_key(i, identifier, shift) for i in range(count)]
        jobs: list[list] = [[] for _ in self.pipes]
        relay: list[list] = [[] for _ in self.pipes]
        shapes = {name: placeholder(int(label), False) if label.isdigit() else label
                  for name, label in self.labels.items()}
        for i, path in enumerate(paths):
            stored = self.store.get(keys[i]) if self.store is not None else None
            if stored is not None:
                path.write_bytes(base64.b64decode(stored))
                continue
            if i in self.remembered:  # only its layout was kept: lay it out (the same way) now
                head, bodies, tail = self.parts
                relay[i % len(self.pipes)].append((i, head + with_placeholders(bodies[i], shapes) + tail,
                                                   self.firsts[i]))
                self.owner[i] = i % len(self.pipes)
            jobs[self.owner[i]].append((i, str(path), identifier, self.firsts[i]))  # the worker that holds it
        if any(relay):
            self._ask(relay, "layout")
        needs_lead = blank or any(self.physical[i] > self.physical[i - 1] + self.pages[i - 1]
                                  for i in range(1, count))
        lead = folder / "lead.pdf" if needs_lead else None
        for w, (pipe, jobs_of_worker) in enumerate(zip(self.pipes, jobs)):
            extra = (self.lead_html, str(lead), identifier) if lead is not None and w == 0 else None
            pipe.send(("write", jobs_of_worker, self.labels, extra, shift))
        for pipe in self.pipes:
            if pipe.recv() != "written":
                raise EOFError("a layout worker failed")
        if self.store is not None:
            for jobs_of_worker in jobs:
                for i, path, _, _ in jobs_of_worker:
                    self.store.put(keys[i], base64.b64encode(Path(path).read_bytes()).decode("ascii"))
                    if i not in self.remembered:
                        self._keep_layout(i)
        return paths, lead

    # the cache of pieces: a piece's layout by its text and first page, its PDF by its numbers too

    def _layout_key(self, text_digest: str, first: int) -> str:
        return digest("pdf-piece-layout", self.setting, text_digest, str(first))

    def _recall_layout(self, text_digest: str, first: int) -> Piece | None:
        stored = self.store.get(self._layout_key(text_digest, first))
        if stored is None:
            return None
        try:
            return Piece(**json.loads(stored))
        except (TypeError, ValueError):
            return None

    def _keep_layout(self, index: int) -> None:
        # under its true first page (it may have been laid out from a guess with the same digits):
        # what the next build, which starts from this one's page map, looks for
        self.store.put(self._layout_key(self.laid[index][0], self.firsts[index]),
                       json.dumps(dataclasses.asdict(self.pieces[index])))

    def _pdf_key(self, index: int, identifier: bytes, shift: float) -> str:
        numbers = [self.firsts[index]] + [self.labels.get(name) for name in self.refs[index]]
        return digest("pdf-piece", self.setting, self.laid[index][0], json.dumps(numbers), identifier.hex(),
                      repr(shift))


class _Outlook:
    """What is known of the pages while the pieces are laid out: a laid-out piece exactly, the
    others from the estimate, scaled by how the laid-out pieces compared with theirs and give or
    take MARGIN (none when the estimate is the previous build's page map). Pages are counted in
    each piece's own sequence: the front matter's (the first `restart` pieces) and the main
    matter's, each from 1."""

    def __init__(self, bodies: list[str], estimate: dict[str, int], any_hand: list[bool], exact: bool,
                 restart: int | None = None, front_names: set[str] | None = None):
        count = len(bodies)
        self.restart = count if restart is None else restart
        self.front_names = front_names or set()
        starts = [estimate.get(_piece_key(i), 1) for i in range(count)]
        end = estimate.get(_END_KEY, max(estimate.values(), default=1))
        front_end = estimate.get(_FRONT_END_KEY)

        def following(i: int) -> int:  # the page after piece i's last, in its sequence
            if i + 1 == self.restart:
                return (front_end if front_end is not None else end if i + 1 == count else starts[i]) + 1
            return starts[i + 1] if i + 1 < count else end + 1
        self.length = [max(1, following(i) - starts[i]) for i in range(count)]
        self.home: dict[str, tuple[int, int]] = {}  # anchor -> (piece, estimated page within it)
        for i, body in enumerate(bodies):
            for name in _ID.findall(body):
                self.home.setdefault(name, (i, max(0, estimate.get(name, starts[i]) - starts[i])))
        self.refs = [list(dict.fromkeys(_INTERNAL_LINK.findall(body))) for body in bodies]
        self.any_hand, self.exact = any_hand, exact
        self.pages: dict[int, int] = {}  # laid-out piece -> its pages
        # in each sequence, every piece before this one is laid out
        self.settled, self.settled_main = 0, self.restart
        self.sure: set[int] = set()  # pieces whose numbers are sure of their digits (they stay so)
        self.within: dict[str, int] = {}  # anchor in a laid-out piece -> its page within it
        self._ranges()

    def laid(self, index: int, piece: Piece) -> None:
        self.pages[index] = piece.pages
        self.within.update((name, page) for name, (page, _, _) in piece.anchors.items())
        self._ranges()

    def known(self, index: int) -> bool:
        """Whether piece `index`'s first page is known: the pieces before it in its sequence are laid out."""
        return index <= (self.settled if index < self.restart else self.settled_main)

    def _ranges(self) -> None:
        """Each piece's first page: the best guess and the lowest and highest it may be."""
        while self.settled < self.restart and self.settled in self.pages:
            self.settled += 1  # the pieces before this one are all laid out: its first page is known
        while self.settled_main < len(self.length) and self.settled_main in self.pages:
            self.settled_main += 1
        # how the laid-out pieces compare with their estimates, as if PRIOR pages had matched
        self.scale = ((sum(self.pages.values()) + PRIOR) / (sum(self.length[i] for i in self.pages) + PRIOR))
        margin = 0.0 if self.exact else MARGIN
        best_lengths = [self.pages.get(i, round(n * self.scale)) for i, n in enumerate(self.length)]
        self.best = first_pages(best_lengths, self.any_hand, self.restart)
        self.low, self.high = [1], [1]
        for i, n in enumerate(self.length):
            if i + 1 == self.restart:  # the main matter starts again at 1
                self.low.append(1)
                self.high.append(1)
                continue
            low = self.pages.get(i, int(n * self.scale * (1 - margin)))
            high = self.pages.get(i, math.ceil(n * self.scale * (1 + margin)))
            lead = 0 if self.any_hand[i + 1:i + 2] in ([], [True]) else 1  # a blank page before the next
            self.low.append(self.low[-1] + low)
            self.high.append(self.high[-1] + high + lead)
        if len(self.pages) == len(self.length):
            self.low = self.high = self.best

    def first(self, index: int) -> int:
        return self.best[index]

    def _anchor(self, name: str) -> tuple[int, int, int] | None:
        """The best guess, the lowest and the highest page of an anchor (None: not in the book)."""
        if name not in self.home:
            return None
        index, estimated = self.home[name]
        if index in self.pages:
            offset = self.within.get(name, 0)
            return self.best[index] + offset, self.low[index] + offset, self.high[index] + offset
        low, high = (self.best[index],) * 2 if self.known(index) else (self.low[index], self.high[index])
        margin = 0.0 if self.exact else MARGIN
        return (self.best[index] + round(estimated * self.scale), low + int(estimated * self.scale * (1 - margin)),
                high + math.ceil(estimated * self.scale * (1 + margin)))

    def _exact(self, name: str) -> bool:
        """Whether an anchor's page is known for certain: its piece is laid out and its first page known."""
        index = self.home[name][0]
        return index in self.pages and self.known(index)

    def shapes(self, index: int) -> dict[str, str]:
        """The placeholders of the page numbers piece `index` shows, as best known."""
        found = {name: self._anchor(name) for name in self.refs[index]}
        return {name: placeholder(pages[0], name in self.front_names)
                for name, pages in found.items() if pages is not None}

    def safety(self, index: int) -> float:
        """How sure it is that every page number the piece shows (its references and its folios)
        will have the digits it is given now: infinite when sure, else how many pages the best
        guess of the nearest unsure one is from the page where its digits change (a roman
        number, the front matter's, is sure only once it is known)."""
        if self.exact or index in self.sure:
            return math.inf
        nearest = math.inf
        for name in self.refs[index]:
            pages = self._anchor(name)
            if pages is None:
                continue
            if name in self.front_names:
                if not self._exact(name):
                    nearest = min(nearest, 0.5)
            elif len({len(str(p)) for p in pages}) > 1:
                nearest = min(nearest, min(abs(pages[0] - bound + .5) for bound in _BOUNDS))
        if self.known(index):
            if nearest == math.inf:
                self.sure.add(index)
            return nearest  # its first page is known: its folios are
        if index < self.restart:
            return 0.5  # roman folios: sure only once known
        low, high = self.low[index], self.high[index]
        longest = math.ceil(self.length[index] * self.scale * (1 + MARGIN))
        if nearest == math.inf and not any(low < bound <= high + longest for bound in _BOUNDS):
            # the ranges only narrow as pieces are laid out, around a guess that moves little
            self.sure.add(index)
        if any(low < bound <= high + longest for bound in _BOUNDS):
            # a folio's digits may change: by how much the first page must move for that
            best, last = self.best[index], self.best[index] + self.length[index] - 1
            nearest = min([nearest] + [0.5 if best < bound <= last else abs(best - bound + .5) if bound <= best
                                       else bound - last - .5 for bound in _BOUNDS if low < bound <= high + longest])
        return nearest


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def _same_digits(laid_first: int, first: int, pages: int) -> bool:
    """Whether folios counted from `laid_first` have the digits of folios counted from `first`."""
    return all(len(str(laid_first + k)) == len(str(first + k)) for k in range(pages))


def _estimate_pages(bodies: list[str], chars_per_page: int, restart: int | None = None) -> dict[str, int]:
    """Each anchor's page, guessed from the text before it and the page breaks of pdf.css; from
    piece `restart` on (the main matter), counted again from 1.

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
        if i == restart:
            estimate[_FRONT_END_KEY] = page if used else max(1, page - 1)
            page, used = 1, 0
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
    estimate[_END_KEY] = page
    estimate.setdefault(_FRONT_END_KEY, page)
    return estimate


def _has_lead(next_page: int) -> int:
    """1 when the next page is a left-hand one: a piece (a part opener) starts after an empty page."""
    return 1 if next_page % 2 == 0 else 0


def first_pages(content: list[int], any_hand: list[bool] | None = None, restart: int | None = None) -> list[int]:
    """The folio of each piece's first page, given the pages of each piece: a right-hand page,
    or the next page for a piece that may start on either hand; piece `restart` (the main
    matter's first) is page 1 again."""
    firsts, next_page = [], 1
    for i, count in enumerate(content):
        if i == restart:
            next_page = 1
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


def merge(paths: list[Path], pieces: dict[int, Piece], target: Path, info: dict, language: str,
          firsts: list[int], lead: Path | None = None, shift: float = 0.0, nested: list[bool] | None = None,
          front: int = 0, even: bool = False, finish=None, links: bool = True) -> None:
    """One PDF from the pieces, in order, with links, named destinations and outline across them;
    the `lead` page before a piece whose first page in the PDF (`firsts`) is not the next page;
    page labels roman for the `front` pages, then decimal from 1. `even`: the `lead` page after
    the last when the count is odd (the print edition); `finish(writer)`: last touches before
    the PDF is written (the print edition's boxes and PDF/X); `links`: False for none at all (a
    PDF/X has no annotation on its pages).

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
                kept = ArrayObject(a for a in annots if links and not _internal_link(a.get_object()))
                if kept:
                    page[NameObject("/Annots")] = kept
                else:
                    del page[NameObject("/Annots")]
            writer.add_page(page)
    if even and len(writer.pages) % 2:
        writer.add_page(PdfReader(str(lead)).pages[0])

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
            if target_name not in names or not links:
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

    top = None  # the last top-level entry: a piece that starts one level down (a chapter) goes under it
    for i, piece in sorted(pieces.items()):
        if nested and nested[i] and top is not None:
            outline(piece.bookmarks, top, piece=i)
        else:
            top = outline(piece.bookmarks, piece=i) or top
    writer.add_metadata(info)
    writer._root_object[NameObject("/Lang")] = TextStringObject(language)
    if front:
        nums = ArrayObject()
        for start, style in label_ranges(front, len(writer.pages)):
            nums += [NumberObject(start), DictionaryObject({NameObject("/S"): NameObject(style)})]
        writer._root_object[NameObject("/PageLabels")] = DictionaryObject({NameObject("/Nums"): nums})
    writer.page_mode = "/UseOutlines"
    if finish is not None:
        finish(writer)
    with open(target, "wb") as fh:
        writer.write(fh)


def _internal_link(annotation) -> bool:
    if annotation.get("/Subtype") != "/Link":
        return False
    action = annotation.get("/A")
    return "/Dest" in annotation or (action is not None and action.get_object().get("/S") == "/GoTo")

