"""The PDF edition: pandoc → HTML → WeasyPrint, math as SVG, images embedded."""

from __future__ import annotations

import base64
import hashlib
import json
import mimetypes
import os
import re
import tempfile
import threading
from pathlib import Path

import panflute as pf

from ..errors import Located, Pos, clip, shorten
from ..formulas import math_image, reuse_svg_drawings, use_cache
from ..interior import MAX_PAGES, Paperback, binding_margin, cmyk_css, print_html
from ..output import give_back_memory, temp_beside, write_atomic
from ..pandoc import run_pandoc
from ..templating import find_template
from ..texmath import tex_to_html
from ..tree import rewrite, text_length
from ..weasy import collect_messages, fetcher
from .base import BuildContext, Builder, dump
from .pdf_pieces import Pieces
from .pdf_layout import (_END_KEY, _FRONT_END_KEY, BODY_MARK, CHARS_PER_PAGE, CHUNK_MARK, FRONT_CLOSE, FRONT_OPEN,
                         NoFixedPoint, ParallelLayout, _estimate_pages, front_pieces, join, label_ranges, merge,
                         page_label, split)

# page size; top, bottom; inner (binding) and outer margins: mirrored for print
PAGE_CSS = {"a4": ("A4", "22mm", "24mm", "24mm", "17mm"),
            "letter": ("letter", "20mm", "22mm", "24mm", "17mm"),
            "6x9": ("6in 9in", "15mm", "18mm", "19mm", "13mm")}
SHORT = 700  # characters: answers shorter than this are never split across pages
MAX_DISPLAY_PX = 400  # no sane formula is taller than a third of a page


def _html_escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace('"', "&quot;")


class Places:
    """Where the elements of a book's document were written, for the messages about them. Given
    every element in document order, parents first (as `rewrite` goes), it knows the chapter it
    is in; an element inside a question's div (data-qid) is in that question's text."""

    def __init__(self, book):
        self.book, self.chapter = book, None
        self.chapters = {c.file: c for c in book.chapters}

    def visit(self, elem: pf.Element) -> None:
        if isinstance(elem, pf.Header) and "data-file" in elem.attributes:
            self.chapter = self.chapters.get(elem.attributes["data-file"], self.chapter)

    def of(self, elem: pf.Element, needle: str) -> Pos:
        """Where `needle` (what the source says of `elem`: a file name, a formula) is written:
        in its question's fields, else its chapter; else the chapter's start (or book.yaml)."""
        parent = elem.parent
        while parent is not None and not isinstance(parent, pf.Doc):
            question = self.book.questions.get(parent.attributes.get("data-qid", "")) \
                if isinstance(parent, pf.Div) else None
            if question is not None:
                for _, text in question.texts():
                    found = _find(text.value, needle, text.pos)
                    if found is not None:
                        return found
                break
            parent = parent.parent
        if self.chapter is None:
            return self.book.meta.pos
        return _find(self.chapter.text, needle, self.chapter.pos) or self.chapter.pos


def _find(text: str, needle: str, origin: Pos) -> Pos | None:
    """The place of `needle` in `text`, which starts at `origin` (a field's lines indented as its
    first), or None."""
    at = text.find(needle) if needle else -1
    if at < 0:
        return None
    line = text.count("\n", 0, at)
    return Pos(origin.path, origin.line + line, origin.col + at - (text.rfind("\n", 0, at) + 1))


def typeset_math(doc: pf.Doc, problems: list[str], places: Places | None = None) -> None:
    """Replace every Math element by an SVG image (WeasyPrint renders no MathML); `places`: where
    the formulas are, for the problems."""
    def action(elem):
        if places is not None:
            places.visit(elem)
        if not isinstance(elem, pf.Math):
            return None
        display = elem.format == "DisplayMath"
        if not display:
            text = tex_to_html(elem.text)
            if text is not None:
                return pf.RawInline(f'<span class="math-text">{text}</span>', format="html")
        rendered = math_image(elem.text, display)
        if display and rendered is not None and rendered[2] > MAX_DISPLAY_PX:
            # ziamath 0.13 stretches \left( ... \right) around a sum with limits to a page-high
            # bracket in display style; the text style is right, and the image is still centred
            rendered = math_image(elem.text, False)
        if rendered is None:
            message = f"cannot typeset the formula {shorten(elem.text)}; it is printed as code"
            problems.append(message if places is None else Located(message, places.of(elem, elem.text)))
            return pf.Code(elem.text, classes=["math-source"])
        uri, width, height, depth = rendered
        cls = "math display" if display else "math"
        style = f"width:{width:.2f}px;height:{height:.2f}px"
        if not display:
            style += f";vertical-align:{-depth:.2f}px"
        return pf.RawInline(f'<img class="{cls}" alt="{_html_escape(elem.text)}" src="{uri}" style="{style}" />',
                            format="html")
    rewrite(doc, action)


def data_uri(url: str, root: Path) -> str:
    """An image's url (relative to the book root) as a data: URI of its bytes."""
    if url.startswith("data:"):
        return url
    path = root / url
    mime = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
    return f"data:{mime};base64," + base64.b64encode(path.read_bytes()).decode("ascii")


def embed_images(doc: pf.Doc, root: Path, places: Places | None = None,
                 found: dict[str, tuple[str, Pos]] | None = None) -> None:
    """Images as data: URIs: no file access from WeasyPrint, and the same bytes wherever the book is.
    With `places`, `found` gets each image's file and where the book shows it, by its URI's digest
    (for what WeasyPrint says about an image, which names it by its URI)."""
    def action(elem):
        if places is not None:
            places.visit(elem)
        if isinstance(elem, pf.Image):
            url, elem.url = elem.url, data_uri(elem.url, root)
            if places is not None and found is not None:
                found.setdefault(_digest(elem.url), (url, places.of(elem, Path(url).name)))
    rewrite(doc, action)


def _digest(uri: str) -> str:
    return hashlib.blake2b(uri.encode("utf-8", "surrogatepass"), digest_size=16).hexdigest()


_DATA_URI = re.compile(r"data:[^\s'\"()<>]*")


def layout_message(message: str, images: dict[str, tuple[str, Pos]]) -> str:
    """What WeasyPrint said, as a warning: a data: URI it quotes cut short (an image's is its file),
    at the place the book shows the image when it names one (a Located message)."""
    pos = None

    def short(m: re.Match) -> str:
        nonlocal pos
        known = images.get(_digest(m.group(0)))
        if known is None:
            return clip(m.group(0), 40)
        pos = pos or known[1]
        return known[0]
    text = "PDF layout: " + _DATA_URI.sub(short, message).rstrip(": ")  # "...at 'x': " gives no reason
    return Located(text, pos) if pos is not None else text


def footnotes_in_margin(doc: pf.Doc) -> None:
    """Notes become spans that CSS floats to the page foot (`float: footnote`)."""
    def action(elem):
        if isinstance(elem, pf.Note):
            inlines: list[pf.Inline] = []
            for block in elem.content:
                if inlines:
                    inlines.append(pf.Space())
                if hasattr(block, "content") and block.content and isinstance(block.content[0], pf.Inline):
                    inlines.extend(block.content)
                else:
                    inlines.append(pf.Str(pf.stringify(block)))
            return pf.Span(*inlines, classes=["footnote"])
        return None
    rewrite(doc, action)


def page_css(size: str) -> str:
    name, top, bottom, inner, outer = PAGE_CSS[size]
    return (f"@page {{ size: {name}; margin: {top} {outer} {bottom} {inner}; }}\n"
            f"@page :left {{ margin-left: {outer}; margin-right: {inner}; }}\n"
            f"@page :right {{ margin-left: {inner}; margin-right: {outer}; }}\n"
            + ("html { font-size: 10pt; }\n" if size == "6x9" else ""))


def mark_short_blocks(doc: pf.Doc) -> None:
    """Short answers (and questions) get the class `short`: CSS keeps them on one page."""
    def action(elem):
        if isinstance(elem, pf.Div) and {"answer", "question"} & set(elem.classes):
            if text_length(elem) < SHORT:
                elem.classes.append("short")
    rewrite(doc, action)


def mark_front_matter(doc: pf.Doc) -> None:
    """The front matter (front chapters, a draft's "What changed": headings with the class
    `front-matter`, before the first part or chapter) and the main matter, for pdf.css: each
    front chapter is wrapped in a `front-matter-body` block (its pages are the `front` pages, with
    roman folios), and the first heading of the main matter gets the class `main-matter` (its
    page is 1 again). In a book with parts, a front chapter is at the top of the outline, as the
    parts are (the class `front-top`)."""
    parts = any(isinstance(b, pf.Header) and b.level == 1 and "part" in b.classes for b in doc.content)
    out: list[pf.Block] = []
    open_ = False
    for index, block in enumerate(doc.content):
        if isinstance(block, pf.Header) and block.level <= 2:
            if open_:
                out.append(pf.RawBlock(FRONT_CLOSE, format="html"))
                open_ = False
            if "front-matter" not in block.classes:
                block.classes.append("main-matter")
                out.extend(doc.content[index:])
                break
            out.append(pf.RawBlock(FRONT_OPEN, format="html"))
            open_ = True
            if parts and block.level == 2:
                block.classes.append("front-top")
        out.append(block)
    else:
        if open_:
            out.append(pf.RawBlock(FRONT_CLOSE, format="html"))
    doc.content = out


_MAIN_START = re.compile(r'<h[12]\b[^>]*\bclass="[^"]*\bmain-matter\b')
_ID = re.compile(r'\sid="([^"]+)"')
_LINK = re.compile(r'<a href="#([^"]+)"')


def mark_front_links(html: str) -> str:
    """Links to the front matter get `data-front`: pdf.css prints their page numbers in roman.

    For the book laid out as one document: the parallel layout writes every number itself (as
    `data-page`), and rewriting the whole book's HTML costs a tenth of a second."""
    start = html.find(BODY_MARK)
    main = _MAIN_START.search(html, max(start, 0))
    front = set(_ID.findall(html, max(start, 0), main.start() if main else len(html)))
    if not front:
        return html
    return _LINK.sub(lambda m: m.group(0) + ' data-front=""' if m.group(1) in front else m.group(0), html)


def mark_pieces(doc: pf.Doc) -> int:
    """Mark where the book may be cut for parallel layout: where pdf.css starts a new page anyway,
    before each front chapter, each part opener and each chapter (right-hand pages) and before
    the answers to each chapter (a new page), but the first, which follows its part opener."""
    marks = 0
    for i in reversed(range(len(doc.content))):
        block = doc.content[i]
        if isinstance(block, pf.RawBlock) and block.text == FRONT_OPEN:
            doc.content.insert(i, pf.RawBlock(CHUNK_MARK, format="html"))
            marks += 1
            continue
        if not isinstance(block, pf.Header) or "front-matter" in block.classes:
            continue
        opener = (block.level == 1 and "part" in block.classes) or (block.level == 2 and "chapter" in block.classes)
        answers = (block.level == 2 and "answers-chapter" in block.classes
                   and not (i and isinstance(doc.content[i - 1], pf.Header) and doc.content[i - 1].level == 1))
        if opener or answers:
            doc.content.insert(i, pf.RawBlock(CHUNK_MARK, format="html"))
            marks += 1
    return marks


def margin_shift_pt(size: str) -> float:
    """How far a page's content moves when the page changes sides: inner margin − outer margin."""
    _, _, _, inner, outer = PAGE_CSS[size]
    return (float(inner.removesuffix("mm")) - float(outer.removesuffix("mm"))) * 72 / 25.4


def is_print(ctx: BuildContext) -> bool:
    """Whether this is the paperback's interior: the print edition of a book with `print:`."""
    return ctx.edition.name == "print" and ctx.book.meta.print is not None


class PdfBuilder(Builder):
    name = "pdf"
    proof = False  # the print edition: crop marks (--proof); the build sets it

    def build(self, ctx: BuildContext) -> list[Path]:
        root = ctx.book.root
        target = ctx.out_dir / f"{ctx.book.meta.slug}.pdf"
        paper = Paperback.of(ctx.book, self.proof) if is_print(ctx) else None
        doc = ctx.document()
        problems: list[str] = []
        images: dict[str, tuple[str, Pos]] = {}
        use_cache(root)
        footnotes_in_margin(doc)
        mark_short_blocks(doc)
        typeset_math(doc, problems, Places(ctx.book))
        embed_images(doc, root, Places(ctx.book), images)
        mark_front_matter(doc)
        pieces = mark_pieces(doc)
        payload, doc = dump(doc), None  # the builders run side by side: hold one copy, not two
        give_back_memory()
        if ctx.pdf_workers is not None:
            ctx.pdf_workers.handed_over.set()  # the rest is pandoc's: the others may prepare meanwhile
        try:
            args = ["-f", "json", "-t", "html5", "--standalone", "--wrap=none", "--toc", "--toc-depth=2",
                    f"--template={find_template(root, 'pdf.html')}",
                    "-V", f"version={ctx.book.meta.version}", "-V", f"year={ctx.date.when.year}"]
            known = Pieces(payload, ctx.cache, json.dumps(args[:7]))  # pieces whose HTML is kept (pdf_pieces.py)
            html = known.put_back(run_pandoc(args, known.payload(payload)))
            if html is None:  # not cut as planned: the whole book
                html = run_pandoc(args, payload)
        finally:
            if ctx.pdf_workers is not None:
                ctx.pdf_workers.pandoc_free.set()
        del payload, known
        if paper is None:
            css = find_template(root, "pdf.css").read_text(encoding="utf-8") + "\n" + page_css(ctx.page_size)
        else:
            # the print layer on pdf.css, every colour in CMYK; the page geometry is added per page count
            css = cmyk_css(find_template(root, "pdf.css").read_text(encoding="utf-8") + "\n"
                           + find_template(root, "print.css").read_text(encoding="utf-8"))
            html = print_html(html, paper.profile)
        parallel = wants_parallel(ctx.pdf_variant) and pieces > 0 and BODY_MARK in html
        tmp = temp_beside(target)
        try:
            if parallel:
                parts, html = split(html), ""  # the book's text is held once, in its pieces
                messages, page_map, labels = self._parallel(ctx, parts, css, tmp, paper)
            else:
                messages, page_map, labels = self._serial(ctx, html, css, tmp, paper)
            os.replace(tmp, target)
        finally:
            tmp.unlink(missing_ok=True)
        # each question's page as it is printed (a decimal one, as every question's is, a number)
        pagemap = {name[2:]: int(label) if label.isdigit() else label
                   for name, label in sorted(labels.items()) if name.startswith("q-")}
        pagemap_path = ctx.out_dir / "pagemap.json"
        write_atomic(pagemap_path, json.dumps(pagemap, indent=1) + "\n")
        _remember_pages(root, target, page_map)
        # WeasyPrint also reports CSS it ignores (pandoc's highlighting CSS has some): not the author's concern
        self.warnings = problems + sorted({layout_message(m, images) for m in messages if not m.startswith("Ignored")})
        return [target, pagemap_path]

    def _serial(self, ctx: BuildContext, html: str, css: str, tmp: Path, paper: Paperback | None = None
                ) -> tuple[list[str], dict[str, int], dict[str, str]]:
        """The whole book in one WeasyPrint document (also the tagged PDF/UA variant).

        What WeasyPrint reports, the page of every anchor in its own sequence (the front matter's,
        the main matter's, each from 1, as the parallel layout counts them) and its printed label.

        The print edition (`paper`) is laid out with the binding margin of its page count (again
        when the count crosses a step), padded to an even count with a blank page."""
        import weasyprint

        reuse_svg_drawings()
        html = mark_front_links(html)
        with collect_messages() as messages:
            laid_with = self._first_count(ctx, paper, html) if paper is not None else 0
            tried: dict[float, int] = {}
            while True:
                sheet = css if paper is None else css + "\n" + paper.page_css(laid_with)
                document = weasyprint.HTML(string=html, base_url=ctx.book.root.as_uri() + "/",
                                           url_fetcher=fetcher()).render(stylesheets=[weasyprint.CSS(string=sheet)])
                if paper is None:
                    break
                count = len(document.pages) + len(document.pages) % 2
                again = self._next_count(ctx, paper, tried, laid_with, count)
                if again is None:
                    break
                laid_with = again
            if paper is not None and len(document.pages) % 2:
                blank = weasyprint.HTML(string="<html><body></body></html>").render(stylesheets=[
                    weasyprint.CSS(string=sheet + "\n" + BLANK_CSS)])
                document.pages.append(blank.pages[0])
            if paper is not None:
                for page in document.pages:
                    page.links = []  # paper has no links, and a PDF/X no annotation on its pages
            # the main matter starts (at 1) on the page pdf.css names so
            front = next((n for n, page in enumerate(document.pages)
                          if page._page_box.page_type.name == MAIN_START_PAGE), len(document.pages))
            options = {"pdf_variant": ctx.pdf_variant} if ctx.pdf_variant else {}
            finisher = _page_labels(front)
            if paper is not None:
                finisher = paper.finisher(finisher)
                if paper.profile is not None:
                    options["pdf_variant"] = "pdf/x-3"
            document.write_pdf(tmp, pdf_identifier=_identifier(ctx), finisher=finisher, **options)
        page_map: dict[str, int] = {}
        labels: dict[str, str] = {}
        for number, page in enumerate(document.pages, 1):
            for anchor in page.anchors:
                if anchor not in page_map:
                    page_map[anchor] = number if number <= front else number - front
                    labels[anchor] = page_label(page_map[anchor], number <= front)
        return messages, page_map, labels

    def _parallel(self, ctx: BuildContext, parts: tuple[str, list[str], str], css: str, tmp: Path,
                  paper: Paperback | None = None) -> tuple[list[str], dict[str, int], dict[str, str]]:
        """The book cut where a new page starts anyway, laid out on every core, merged.

        The print edition (`paper`) is laid out with the binding margin of its page count (again
        when the count crosses a step; the pieces are laid out anew then), padded to an even count."""
        meta = ctx.book.meta
        guess = _recall_pages(ctx.book.root, ctx.out_dir / f"{meta.slug}.pdf")
        # the workers the build started early, or new ones
        started = ctx.pdf_workers.take() if ctx.pdf_workers is not None else None
        shift = margin_shift_pt(ctx.page_size) if paper is None else 0.0
        chars = CHARS_PER_PAGE[ctx.page_size] if paper is None else paper.chars_per_page()
        laid_with = self._first_count(ctx, paper, parts=parts) if paper is not None else 0
        with tempfile.TemporaryDirectory(prefix="bookbuild-pdf-") as folder:
            with (started or ParallelLayout(os.cpu_count() or 1)) as layout:
                sheet = css if paper is None else css + "\n" + paper.page_css(laid_with)
                layout.setup(ctx.book.root.as_uri() + "/", sheet, ctx.book.root, ctx.cache)
                try:
                    pieces, page_map = layout.layout(parts, guess, chars)
                    tried: dict[float, int] = {}
                    odd = False  # the print edition: a blank page after the last makes the count even
                    while paper is not None:
                        count = layout.physical[-1] + layout.pages[-1] - 1
                        odd = count % 2 == 1
                        again = self._next_count(ctx, paper, tried, laid_with, count + odd)
                        if again is None:
                            shift = paper.shift_pt(laid_with)
                            break
                        # another margin: every piece is laid out again (the last map is the guess)
                        laid_with = again
                        layout.setup(ctx.book.root.as_uri() + "/", css + "\n" + paper.page_css(laid_with),
                                     ctx.book.root, ctx.cache)
                        pieces, page_map = layout.layout(parts, page_map, chars)
                    paths, lead = layout.write(len(pieces), Path(folder), _identifier(ctx), shift, blank=odd)
                except (NoFixedPoint, EOFError, OSError):
                    # no fixed point, or a worker failed
                    pieces, page_map = None, {}
            # the workers are gone here: the memory they held is free for what follows
            if pieces is None:
                return self._serial(ctx, join(parts), css, tmp, paper)
            stamp = ctx.date.when.strftime("D:%Y%m%d")  # as WeasyPrint writes the template's dcterms dates
            info = {"/Title": meta.title, "/Subject": f"{meta.title}, version {meta.version}", "/Creator": "bookbuild",
                    "/Producer": "bookbuild (WeasyPrint, pypdf)", "/CreationDate": stamp, "/ModDate": stamp}
            if meta.author:
                info["/Author"] = meta.author
            merge(paths, pieces, tmp, info, meta.language, layout.physical, lead, shift, layout.nested,
                  layout.front_pages, even=paper is not None, links=paper is None,
                  finish=(lambda writer: paper.finish_merged(writer, info)) if paper is not None else None)
        messages = [m for piece in pieces.values() for m in piece.messages]
        return messages, page_map, layout.labels

    def _first_count(self, ctx: BuildContext, paper: Paperback, html: str | None = None,
                     parts: tuple[str, list[str], str] | None = None) -> int:
        """The page count the print edition is first laid out for (its binding margin's step): the
        last build's, else one estimated from the text's length."""
        known = _recall_count(ctx.book.root, ctx.out_dir / f"{ctx.book.meta.slug}.pdf")
        if known:
            return min(known, MAX_PAGES)
        bodies = (parts or split(html))[1] if parts or BODY_MARK in (html or "") else [html or ""]
        estimate = _estimate_pages(bodies, paper.chars_per_page(), front_pieces(bodies))
        front = estimate.get(_FRONT_END_KEY, 0)
        return max(1, min(MAX_PAGES, front + front % 2 + estimate.get(_END_KEY, 1)))

    def _next_count(self, ctx: BuildContext, paper: Paperback, tried: dict[float, int], laid_with: int,
                    count: int) -> int | None:
        """After a layout for `laid_with` pages gave `count`: the count to lay out for again (its
        binding margin), or None when this layout stands: its margin is the count's, or wider than
        the count asks when the narrower one was tried and asked for more. Too many pages: an error."""
        if count > MAX_PAGES:
            raise paper.too_many(ctx.book, count)
        have, want = binding_margin(laid_with), binding_margin(count)
        tried[have] = count
        if want == have or (want < have and want in tried):
            _remember_count(ctx.book.root, ctx.out_dir / f"{ctx.book.meta.slug}.pdf", count)
            return None
        return count


BLANK_CSS = "@page { @top-center { content: none; } @bottom-center { content: none; } }"


def wants_parallel(pdf_variant: str | None) -> bool:
    """Whether the PDF is laid out in pieces on every core (the tagged variant is one document)."""
    return (os.cpu_count() or 1) > 1 and not pdf_variant and not os.environ.get("BOOKBUILD_PDF_SERIAL")


class EarlyWorkers:
    """PDF layout workers started when the build starts, to import WeasyPrint while the book is
    assembled; the PDF builder takes them, or they are stopped when the build ends."""

    def __init__(self):
        self._layout: ParallelLayout | None = None
        self._lock = threading.Lock()
        # set when the PDF's preparation in this process is done and its HTML is pandoc's to make:
        # the other builders start then, not to slow the PDF's way to its workers
        self.handed_over = threading.Event()
        # set when that pandoc is done: the others run theirs after it (each holds the whole
        # book, some 200 MB) and it has a core of its own meanwhile
        self.pandoc_free = threading.Event()

    def start(self) -> None:
        with self._lock:
            if self._layout is None:
                try:
                    self._layout = ParallelLayout(os.cpu_count() or 1)
                except (OSError, RuntimeError):  # e.g. no way to start a process: the builder tries again
                    self._layout = None

    def take(self) -> ParallelLayout | None:
        with self._lock:
            layout, self._layout = self._layout, None
            return layout

    def close(self) -> None:
        layout = self.take()
        if layout is not None:
            layout.close()


MAIN_START_PAGE = "main-start"  # pdf.css's page for the main matter's first heading


def _page_labels(front: int):
    """A WeasyPrint finisher: the PDF's /PageLabels, roman for the `front` pages, then decimal from 1."""
    def finish(document, pdf):
        import pydyf

        nums = pydyf.Array()
        for start, style in label_ranges(front, len(document.pages)):
            nums.extend([start, pydyf.Dictionary({"S": style})])
        pdf.catalog["PageLabels"] = pydyf.Dictionary({"Nums": nums})
    return finish


def _identifier(ctx: BuildContext) -> bytes:
    return ctx.book.meta.identifier.encode("utf-8")[:32]


def _pages_file(root: Path) -> Path:
    return root / ".bookbuild-cache" / "pdf-pages.json"


def _recall_pages(root: Path, target: Path) -> dict[str, int]:
    """The page of every anchor in the last build of this PDF: the first guess of the next layout."""
    try:
        return json.loads(_pages_file(root).read_text()).get(str(target), {})
    except (OSError, ValueError):
        return {}


def _recall_count(root: Path, target: Path) -> int | None:
    """The print edition's page count in the last build (the guess of its binding margin)."""
    count = _recall_pages(root, target.with_name(target.name + "#pages")).get("pages")
    return count if isinstance(count, int) and count > 0 else None


def _remember_count(root: Path, target: Path, count: int) -> None:
    _remember_pages(root, target.with_name(target.name + "#pages"), {"pages": count})


def _remember_pages(root: Path, target: Path, page_map: dict[str, int]) -> None:
    try:
        known = json.loads(_pages_file(root).read_text())
    except (OSError, ValueError):
        known = {}
    known[str(target)] = page_map
    write_atomic(_pages_file(root), json.dumps(known, sort_keys=True))
