"""The paperback's cover (`dist/print/<slug>-cover.pdf`): back, spine and front on one sheet.

What the print pipeline calls, once the interior's page count is known:

- `cover_size(trim, pages, paper)` → (width, height, spine) in inches: width = bleed + back +
  spine + front + bleed, height = bleed + trim height + bleed, spine = pages × the paper's
  thickness per page (model.PAPER_INCHES_PER_PAGE); the bleed is always 0.125 in, as the
  services require on covers whatever the interior's bleed.
- `cover_pdf(book, pages, date)` → (PDF bytes, notices). Each notice is a `Notice`: a str with a
  `severity` ("note" for what the build did, such as the cover's size, or "warning" for what
  the author should fix) and a `pos` (book.yaml's `print:`, or the front image).
- `write_cover(book, pages, date, report, folder)` does both and writes the file atomically: the
  warnings go into `report` (with their positions), the notes are returned for stdout.
- Alone: `python -m bookbuild.cover --book DIR --pages N [--out FILE]`.

Decisions:
- **Geometry** is computed here, in inches from the trim corner of the back (x to the right, y
  down), and handed to the template: `templates/cover.html.j2` and `templates/cover.css` (a book's
  own templates/ override them by name, as every template). The page is the trim of the whole
  wrap, `bleed: 0.125in` around it, so the PDF has a TrimBox (the wrap) and a BleedBox = MediaBox
  (the sheet the services ask for: `cover_size`).
- **The safe zone**: every text element is at least 0.25 in inside the trim and the spine's folds
  (the layout keeps 0.5 in, the barcode box exactly 0.25 in, where KDP puts its own); spine text
  keeps 0.0625 in from each fold and is set only from SPINE_TEXT_PAGES pages (thinner spines get a
  note, not a warning: nothing is wrong). The dark field runs over back, spine and front alike, so
  a spine that drifts in binding shows no edge.
- **Fitting**: the title, the author, the blurb and the spine line have box sizes; their font
  sizes start at sizes scaled to the trim and shrink until WeasyPrint's own layout fits them in
  their boxes (a few renders of one page). A text that does not fit at its smallest size is
  clipped (the blurb) or left to overflow, with a warning saying what to shorten.
- **The front** is `book/images/print-cover.{png,jpg,jpeg,svg}` when the book has one (found,
  resolved and checked as chapter images are: inside the book root, the format its name says,
  no scripts in an SVG), scaled to cover the front panel with its bleed and anchored at the spine;
  at other proportions than the trim's (beyond PROPORTION_TOLERANCE), or printing below 300 dpi,
  a warning names the file. Without one, the front is drawn in vector text and shapes.
- **The back**: the blurb (pandoc Markdown) rendered as sheets render book text (pandoc with
  `--sandbox`, the sanitize filter, formulas as SVG), without images, ids or attributes (a cover
  prints text); the EAN-13 of the ISBN (python-barcode as SVG, bars 100 % black) in a white box at
  the bottom right, with the ISBN above it and the price line when given. Without an ISBN the box's
  place is left clear (KDP prints its own barcode there when it gives the ISBN) and a note says so.
- **Colours** are DeviceCMYK (`device-cmyk()` in cover.css): the services print CMYK, and a
  barcode in pure black scans better than the rich black an RGB black becomes.
- **Reproducible bytes**: images and the barcode are data: URIs, the PDF identifier is derived
  from the book identifier, and the only date is the build date given.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import io
import re
import sys
from dataclasses import dataclass
from pathlib import Path
from xml.etree import ElementTree

from markupsafe import Markup

from .errors import BookError, Pos, Report
from .model import PAPER_INCHES_PER_PAGE, TRIM_SIZES, Book, PrintSettings
from .output import write_atomic

BLEED = 0.125  # in: every service asks this of a cover, whatever the interior's bleed
SAFE = 0.25  # in: no text nearer the trim or a fold than this
MARGIN = 0.5  # in: where the layout puts text on back and front (inside SAFE)
SPINE_CLEAR = 0.0625  # in: spine text keeps this far from each fold (KDP)
SPINE_TEXT_PAGES = 80  # from this many pages the spine carries the title and author
BARCODE_BOX = (2.0, 1.2)  # in: the white box the services want at the bottom right of the back
PROPORTION_TOLERANCE = 0.02  # a front image's width:height may differ this much from the trim's
MIN_DPI = 300
FRONT_IMAGES = ("print-cover.png", "print-cover.jpg", "print-cover.jpeg", "print-cover.svg")
FIELDS = ("title", "author", "blurb", "spine")
_UNIT = {"in": 1.0, "mm": 1 / 25.4, "cm": 1 / 2.54, "pt": 1 / 72, "px": 1 / 96}


class Notice(str):
    """A note or a warning from making the cover: the text, its severity and where it points."""

    severity: str
    pos: Pos | None

    def __new__(cls, text: str, severity: str = "note", pos: Pos | None = None):
        self = super().__new__(cls, text)
        self.severity, self.pos = severity, pos
        return self


# ---- the public API ---------------------------------------------------------------------------

def inches(length: str) -> float:
    """A CSS length of TRIM_SIZES ("6in", "148mm") in inches."""
    m = re.fullmatch(r"\s*([0-9.]+)\s*(in|mm|cm|pt|px)\s*", length)
    if not m:
        raise ValueError(f"not a length: {length!r}")
    return float(m.group(1)) * _UNIT[m.group(2)]


def trim_inches(trim: str) -> tuple[float, float]:
    """A trim size's width and height in inches."""
    if trim not in TRIM_SIZES:
        raise ValueError(f"unknown trim {trim!r}; one of {', '.join(TRIM_SIZES)}")
    width, height = TRIM_SIZES[trim]
    return inches(width), inches(height)


def spine_width(pages: int, paper: str) -> float:
    """The spine's width in inches: pages × the paper's thickness per page."""
    if paper not in PAPER_INCHES_PER_PAGE:
        raise ValueError(f"unknown paper {paper!r}; one of {', '.join(PAPER_INCHES_PER_PAGE)}")
    if isinstance(pages, bool) or not isinstance(pages, int) or pages < 1:
        raise ValueError(f"a page count is a whole number of at least 1, not {pages!r}")
    return round(pages * PAPER_INCHES_PER_PAGE[paper], 6)


def cover_size(trim: str, pages: int, paper: str) -> tuple[float, float, float]:
    """(width, height, spine) of the cover sheet in inches, bleed included: width = 0.125 + back
    + spine + front + 0.125, height = 0.125 + trim height + 0.125."""
    width, height = trim_inches(trim)
    spine = spine_width(pages, paper)
    return round(BLEED + width + spine + width + BLEED, 6), round(BLEED + height + BLEED, 6), spine


def cover_pdf(book: Book, pages: int, date) -> tuple[bytes, list[Notice]]:
    """The cover as PDF bytes, and its notes and warnings (see Notice). `date` is the build date:
    a dates.BuildDate, a datetime, a date or an ISO date string."""
    settings = book.meta.print or PrintSettings()
    width, height = trim_inches(settings.trim)
    spine = spine_width(pages, settings.paper)
    where = settings.pos or Pos(str(book.meta.path))
    notices: list[Notice] = []
    full_w, full_h, _ = cover_size(settings.trim, pages, settings.paper)
    notices.append(Notice(f"cover: {full_w:.4f} × {full_h:.4f} in with bleed ({settings.trim} trim, a spine of "
                          f"{spine:.4f} in for {pages} pages of {settings.paper} paper)", "note", where))
    if pages < 24:
        notices.append(Notice(f"print: {pages} pages: too few for a paperback (KDP binds them from 24 pages, "
                              "Lulu from 32)", "warning", where))
    spine_text = pages >= SPINE_TEXT_PAGES
    if not spine_text:
        notices.append(Notice(f"cover: the spine ({spine:.3f} in for {pages} pages) is too thin for text; the "
                              f"services set spine text from {SPINE_TEXT_PAGES} pages, so it is left plain",
                              "note", where))
    front = front_image(book, width, height, notices)
    blurb = render_blurb(book, settings.blurb, notices, where) if settings.blurb else Markup("")
    barcode = barcode_svg(settings.isbn) if settings.isbn else None
    if not settings.isbn:
        notices.append(Notice("cover: print: has no isbn, so the back has no barcode; its place at the bottom right "
                              "is left clear (KDP prints its own there when it gives the ISBN; IngramSpark and "
                              "Lulu need yours)", "note", where))
    context = dict(
        book=book.meta, print=settings, pages=pages, date=_date_text(date), blurb=blurb,
        isbn=settings.isbn, isbn_text=f"ISBN {settings.isbn}" if settings.isbn else "",
        price=settings.price or "", barcode=barcode and _data_uri(barcode.encode("utf-8"), "image/svg+xml"),
        front_image=front, spine_text=spine_text,
    )
    return _render_fitted(book, context, width, height, spine, notices, where)


def write_cover(book: Book, pages: int, date, report: Report, folder: Path | None = None) -> tuple[Path, list[str]]:
    """Make the cover and write `<folder>/<slug>-cover.pdf` (folder: `<book root>/dist/print`):
    its warnings go into `report`, its notes are returned (for stdout)."""
    data, notices = cover_pdf(book, pages, date)
    path = (folder or book.root / "dist" / "print") / f"{book.meta.slug}-cover.pdf"
    notes = []
    for notice in notices:
        if notice.severity == "warning":
            report.warning(notice.pos or Pos(str(book.meta.path)), str(notice))
        else:
            notes.append(str(notice))
    try:
        write_atomic(path, data)
    except OSError as exc:
        raise BookError(f"cannot write {path}: {exc.strerror or exc}; choose another --out", report) from None
    return path, notes


# ---- the front --------------------------------------------------------------------------------

def front_image(book: Book, width: float, height: float, notices: list[Notice]) -> dict | None:
    """The book's own front (book/images/print-cover.*) as a data: URI and how it fits, or None."""
    from .validate import resolve_image

    root = book.root.resolve()
    images = root / "book" / "images"
    present = []
    for name in FRONT_IMAGES:
        try:
            if (images / name).is_symlink() or (images / name).exists():
                present.append(name)
        except OSError:
            continue
    if not present:
        return None
    name = present[0]
    shown = f"book/images/{name}"
    pos = Pos(str(images / name))
    if len(present) > 1:
        notices.append(Notice(f"cover: {shown} is the front; " + ", ".join(f"book/images/{n}" for n in present[1:])
                              + " not used (keep one print-cover image)", "warning", pos))
    target, problem = resolve_image(f"images/{name}", root / "book" / "book.yaml", root)
    if problem or target is None:
        notices.append(Notice(f"cover: {problem or shown + ' cannot be read'}; the front is drawn from the title "
                              "instead", "warning", pos))
        return None
    data = target.read_bytes()
    # the front panel with its bleed: the image covers it, anchored at the spine
    box_w, box_h = width + BLEED, height + 2 * BLEED
    if name.endswith(".svg"):
        size = _svg_size(data)
        mime = "image/svg+xml"
        if size is None:
            notices.append(Notice(f"cover: {shown} has no viewBox nor width and height: its proportions cannot be "
                                  "checked; give its <svg> a viewBox", "warning", pos))
    else:
        from PIL import Image

        with Image.open(io.BytesIO(data)) as image:
            size = image.size
        mime = "image/png" if name.endswith(".png") else "image/jpeg"
        dpi = min(size[0] / box_w, size[1] / box_h)  # scaled to cover the box: the smaller of the two
        if dpi < MIN_DPI - 0.5:
            notices.append(Notice(f"cover: {shown} prints at {dpi:.0f} dpi; the services ask for {MIN_DPI}: make it "
                                  f"{round(box_w * MIN_DPI)} × {round(box_h * MIN_DPI)} pixels or more",
                                  "warning", pos))
    if size is not None:
        ratio, trim_ratio = size[0] / size[1], width / height
        if abs(ratio / trim_ratio - 1) > PROPORTION_TOLERANCE:
            notices.append(Notice(
                f"cover: {shown} is {_num(size[0])} × {_num(size[1])} (width:height 1:{size[1] / size[0]:.3f}), not "
                f"at the proportions of the trim, {width:.3f} × {height:.3f} in (1:{height / width:.3f}): it is "
                f"cropped to fill the front; make it {box_w:.3f} × {box_h:.3f} in with the bleed "
                f"({round(box_w * MIN_DPI)} × {round(box_h * MIN_DPI)} pixels at {MIN_DPI} dpi)", "warning", pos))
    return {"uri": _data_uri(data, mime), "name": shown}


def _svg_size(data: bytes) -> tuple[float, float] | None:
    """An SVG's width and height from its viewBox, else its width and height attributes."""
    try:
        root = ElementTree.fromstring(data)  # resolve_image refused entities and scripts
    except ElementTree.ParseError:
        return None
    box = (root.get("viewBox") or "").replace(",", " ").split()
    try:
        if len(box) == 4 and float(box[2]) > 0 and float(box[3]) > 0:
            return float(box[2]), float(box[3])
        w, h = (float(re.sub(r"[a-z%]+$", "", root.get(k, "").strip())) for k in ("width", "height"))
        return (w, h) if w > 0 and h > 0 and "%" not in root.get("width", "") + root.get("height", "") else None
    except ValueError:
        return None


def _num(value: float) -> str:
    return f"{value:.0f}" if value == int(value) else f"{value:.2f}"


# ---- the back ---------------------------------------------------------------------------------

def render_blurb(book: Book, text: str, notices: list[Notice], where: Pos) -> Markup:
    """The blurb's Markdown as safe HTML, as book text is rendered for sheets: pandoc with
    --sandbox, the sanitize filter, formulas as SVG; no images, ids or attributes."""
    import panflute as pf

    from bookbuild.filters import sanitize

    from .assemble import READER
    from .builders.base import dump
    from .builders.pdf import footnotes_in_margin, typeset_math
    from .pandoc import run_pandoc
    from .tree import rewrite

    doc = pf.load(io.StringIO(run_pandoc(["--sandbox", "-f", READER + "-auto_identifiers", "-t", "json"], text)))
    sanitize.main(doc)  # book text is untrusted: no raw HTML, scripts or unsafe links
    dropped = []

    def plain(elem):
        if isinstance(elem, pf.Image):
            dropped.append(elem.url)
            return pf.Span()
        if isinstance(elem, pf.Link):  # nothing to follow on paper
            return pf.Span(*elem.content)
        if hasattr(elem, "identifier"):
            elem.identifier = ""
        if getattr(elem, "attributes", None):
            elem.attributes = {}
        return None
    rewrite(doc, plain)
    if dropped:
        notices.append(Notice(f"cover: the blurb's image{'s' if len(dropped) > 1 else ''} "
                              f"({', '.join(repr(u[:60]) for u in dropped)}) not printed: the back cover takes text",
                              "warning", where))
    problems: list[str] = []
    typeset_math(doc, problems)
    footnotes_in_margin(doc)  # a note stays beside its text (cover.css puts it in brackets)
    for problem in problems:
        notices.append(Notice(f"cover: the blurb: {problem}", "warning", where))
    html = run_pandoc(["-f", "json", "-t", "html5", "--wrap=none"], dump(doc))
    return Markup(html.strip())


def barcode_svg(isbn: str) -> str:
    """The EAN-13 of an ISBN as an SVG document: bars in pure black (DeviceCMYK), no DOCTYPE."""
    from barcode.ean import EAN13
    from barcode.writer import SVGWriter

    code = EAN13(isbn, writer=SVGWriter(), guardbar=True)
    if code.get_fullcode().replace(" ", "").rstrip(">") != isbn:
        raise ValueError(f"the barcode of {isbn} reads {code.get_fullcode()}")
    out = io.BytesIO()
    # 0.33 mm modules: the EAN-13's 100 % size; bars shortened (as books print them) to fit the box
    code.write(out, options={"module_width": 0.33, "module_height": 16.0, "quiet_zone": 3.63,
                             "font_size": 9, "text_distance": 2.5, "compress": False,
                             "foreground": "black", "background": "white"})
    svg = out.getvalue().decode("utf-8")
    svg = re.sub(r"<\?xml[^>]*\?>\s*|<!DOCTYPE[^>]*>\s*|<!--.*?-->\s*", "", svg, flags=re.S)
    svg = svg.replace("fill:black", "fill:device-cmyk(0 0 0 1)").replace("fill:white", "fill:device-cmyk(0 0 0 0)")
    return svg.replace("<text ", '<text font-family="Noto Sans, DejaVu Sans, sans-serif" ')


# ---- layout -----------------------------------------------------------------------------------

def start_sizes(width: float, height: float, spine: float) -> dict[str, tuple[float, float]]:
    """Each fitted text's (largest, smallest) font size in pt, scaled to the trim."""
    spine_max = max(0.0, min(15.0, (spine - 2 * SPINE_CLEAR) / 0.95 * 72))
    return {"title": (round(width * 7.0, 2), 16.0), "author": (round(width * 2.6, 2), 9.0),
            "blurb": (round(min(11.0, max(8.5, width * 1.75)), 2), 7.0),
            "spine": (round(spine_max, 2), round(min(4.0, spine_max), 2))}


def geometry(width: float, height: float, spine: float, sizes: dict[str, float]) -> dict:
    """Every box the template places, in inches from the trim corner of the back."""
    def box(x, y, w, h):
        return {"x": round(x, 6), "y": round(y, 6), "w": round(w, 6), "h": round(h, 6),
                "right": round(x + w, 6), "bottom": round(y + h, 6)}

    front = width + spine
    bw, bh = BARCODE_BOX
    barcode = box(width - SAFE - bw, height - SAFE - bh, bw, bh)
    blurb_top = MARGIN + 0.25
    line = sizes["spine"] / 72  # the spine line's height: its font size
    length = height - 2 * MARGIN
    return {
        "bleed": BLEED, "trim_width": round(2 * width + spine, 6), "height": round(height, 6),
        "width": round(width, 6), "spine_width": round(spine, 6), "safe": SAFE,
        "sheet": box(-BLEED, -BLEED, 2 * width + spine + 2 * BLEED, height + 2 * BLEED),
        "back": box(-BLEED, -BLEED, width + BLEED, height + 2 * BLEED),
        "spine": box(width, -BLEED, spine, height + 2 * BLEED),
        "front": box(front, -BLEED, width + BLEED, height + 2 * BLEED),
        "blurb": box(MARGIN, blurb_top, width - 2 * MARGIN, barcode["y"] - 0.35 - blurb_top),
        "barcode": barcode,
        # without a barcode, the price goes bottom left: the box's place stays clear for KDP's own barcode
        "price": box(MARGIN, height - SAFE - 0.3, bw, 0.3),
        "spine_text": box(width + spine / 2 - length / 2, height / 2 - line / 2, length, line),
        "title": box(front + MARGIN + 0.1, MARGIN + 0.5, width - 2 * MARGIN - 0.2, height * 0.62 - MARGIN - 0.5),
        "author": box(front + MARGIN + 0.1, height - MARGIN - 1.0, width - 2 * MARGIN - 0.2, 0.8),
    }


def _render_fitted(book: Book, context: dict, width: float, height: float, spine: float,
                   notices: list[Notice], where: Pos) -> tuple[bytes, list[Notice]]:
    """Render, shrinking each text that overflows its box, then write the PDF."""
    import weasyprint

    from .formulas import reuse_svg_drawings
    from .templating import find_template, html_env
    from .weasy import collect_messages, fetcher

    limits = start_sizes(width, height, spine)
    sizes = {name: top for name, (top, _) in limits.items()}
    css = find_template(book.root, "cover.css").read_text(encoding="utf-8")
    template = html_env(book.root).get_template("cover.html.j2")
    reuse_svg_drawings()
    with collect_messages() as messages:
        for _ in range(12):
            html = template.render(**context, g=geometry(width, height, spine, sizes),
                                   sizes={k: round(v, 2) for k, v in sizes.items()},
                                   css=Markup(css.replace("</", "<\\/")))
            document = weasyprint.HTML(string=html, url_fetcher=fetcher()).render()
            over = overflows(document)
            shrink = {name: ratio for name, ratio in over.items() if sizes[name] > limits[name][1] + 0.01}
            if not shrink:
                break
            for name, ratio in shrink.items():
                sizes[name] = max(limits[name][1], sizes[name] * min(0.97, max(0.6, ratio)))
        pdf = document.write_pdf(pdf_identifier=_pdf_identifier(book))
    what = {"title": "the title does not fit the front cover; shorten it (or give the book a print-cover image)",
            "author": "the author line does not fit the front cover",
            "blurb": "the blurb does not fit the back cover and is cut; shorten it",
            "spine": "the title and author do not fit on the spine; shorten them"}
    for name in over:
        notices.append(Notice(f"cover: {what[name]} (at {sizes[name]:.1f} pt)", "warning", where))
    for message in dict.fromkeys(messages):  # each render logs them again
        notices.append(Notice(f"cover layout: {message}", "warning", where))
    return pdf, notices


def overflows(document) -> dict[str, float]:
    """The fitted texts (data-fit="...") whose content goes past their box, each with the ratio
    of room to need (below 1). WeasyPrint's layout boxes, read after rendering."""
    found: dict[str, float] = {}

    def extent(box, x0, y0):
        right, bottom = x0, y0
        stack = list(getattr(box, "children", []))
        while stack:
            child = stack.pop()
            right = max(right, child.position_x + child.margin_width())
            bottom = max(bottom, child.position_y + child.margin_height())
            stack.extend(getattr(child, "children", []))
        return right, bottom

    def visit(box):
        element = getattr(box, "element", None)
        name = element.get("data-fit") if element is not None and hasattr(element, "get") else None
        if name in FIELDS and name not in found:
            x0, y0 = box.content_box_x(), box.content_box_y()
            right, bottom = extent(box, x0, y0)
            ratio = 1.0
            if right > x0 + box.width + 0.5:
                ratio = min(ratio, box.width / max(1e-6, right - x0))
            if bottom > y0 + box.height + 0.5:
                ratio = min(ratio, (box.height / max(1e-6, bottom - y0)) ** 0.5)
            found[name] = ratio
            return
        for child in getattr(box, "children", []):
            visit(child)

    try:
        for page in document.pages:
            visit(page._page_box)
    except AttributeError:  # a WeasyPrint whose layout boxes differ: nothing is fitted, nothing breaks
        return {}
    return {name: ratio for name, ratio in found.items() if ratio < 1.0}


def _pdf_identifier(book: Book) -> bytes:
    # WeasyPrint would draw a random identifier: a fixed one keeps the bytes reproducible
    return hashlib.sha256(f"{book.meta.identifier} cover".encode("utf-8")).hexdigest()[:32].encode("ascii")


def _data_uri(data: bytes, mime: str) -> str:
    return f"data:{mime};base64," + base64.b64encode(data).decode("ascii")


def _date_text(date) -> str:
    when = getattr(date, "when", date)  # a dates.BuildDate
    if isinstance(when, dt.datetime):
        return when.astimezone(dt.timezone.utc).date().isoformat() if when.tzinfo else when.date().isoformat()
    if isinstance(when, dt.date):
        return when.isoformat()
    return str(when)


# ---- alone ------------------------------------------------------------------------------------

def main(argv: list[str] | None = None) -> int:
    """`python -m bookbuild.cover --book DIR --pages N [--out FILE]`: the cover alone."""
    import argparse

    from .dates import build_date
    from .load import load_book

    parser = argparse.ArgumentParser(prog="python -m bookbuild.cover", description=main.__doc__)
    parser.add_argument("--book", type=Path, default=Path("."))
    parser.add_argument("--pages", type=int, required=True, help="the interior's page count")
    parser.add_argument("--out", type=Path, help="default: <book>/dist/print/<slug>-cover.pdf")
    args = parser.parse_args(argv)
    if args.pages < 1:
        parser.error("--pages: at least 1")
    book, report = load_book(args.book)
    for d in report.sorted():
        print(d, file=sys.stderr)
    if book is None or report.errors:
        return 1
    try:
        data, notices = cover_pdf(book, args.pages, build_date(book.root, book.meta.date))
    except BookError as exc:
        print(f"error: {exc.message}", file=sys.stderr)
        return 1
    path = args.out or book.root / "dist" / "print" / f"{book.meta.slug}-cover.pdf"
    write_atomic(path, data)
    for notice in notices:
        if notice.severity == "warning":
            print(f"{notice.pos or book.meta.path}: warning: {notice}", file=sys.stderr)
        else:
            print(notice)
    print(path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
