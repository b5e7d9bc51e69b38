"""The paperback's cover (issue 20.3): bookbuild/cover.py, templates/cover.html.j2 and cover.css.

Small fixture books (the mini book with a `print:` section) rendered in-process; the PDFs read
with pypdf, poppler's pdftotext (-bbox: each word's box, in points from the bleed's corner) and
pdftoppm, and the barcode decoded with zxing-cpp.
"""

from __future__ import annotations

import datetime as dt
import io
import os
import re
import sys
import shutil
import subprocess
from pathlib import Path

import pypdf
import pytest
from PIL import Image

from bookbuild import cover
from bookbuild.cover import cover_pdf, cover_size, write_cover
from bookbuild.errors import Report
from bookbuild.load import load_book

FIXTURES = Path(__file__).resolve().parent / "fixtures"
DATE = dt.datetime(2026, 1, 15, tzinfo=dt.timezone.utc)
ISBN = "9781402894626"
BLURB = """\
## Pass the interview

**Mini Book** collects the questions *machine learning* interviews ask, with worked answers.

- questions from easy to hard
- full-length sample interviews

Written for candidates and interviewers alike.
"""
PT = 72  # points per inch


def paperback(tmp_path: Path, name: str = "book", **settings) -> Path:
    """A copy of the mini book with a `print:` section (6x9, white, an ISBN, a price, a blurb)."""
    root = tmp_path / name
    shutil.copytree(FIXTURES / "mini", root, ignore=shutil.ignore_patterns("dist", ".bookbuild-cache"))
    values = {"trim": "6x9", "paper": "white", "isbn": "978-1-4028-9462-6", "price": '"$39.99"', "blurb": BLURB,
              **settings}
    lines = ["print:"]
    for key, value in values.items():
        if value is None:
            continue
        if "\n" in str(value):
            lines.append(f"  {key}: |")
            lines.extend(f"    {line}" if line else "" for line in str(value).splitlines())
        else:
            lines.append(f"  {key}: {value}")
    (root / "book" / "book.yaml").write_text((root / "book" / "book.yaml").read_text() + "\n".join(lines) + "\n")
    return root


def load(root: Path):
    book, report = load_book(root)
    assert book is not None and not report.errors, [str(d) for d in report.errors]
    return book


def make(root: Path, pages: int = 200):
    return cover_pdf(load(root), pages, DATE)


def words(pdf: bytes, tmp_path: Path) -> list[tuple[float, float, float, float, str]]:
    """Every word on the cover with its box, in inches from the trim corner of the back."""
    path = tmp_path / "words.pdf"
    path.write_bytes(pdf)
    html = subprocess.run(["pdftotext", "-bbox", str(path), "-"], capture_output=True, text=True, timeout=60,
                          check=True).stdout
    out = []
    for m in re.finditer(r'<word xMin="([\d.]+)" yMin="([\d.]+)" xMax="([\d.]+)" yMax="([\d.]+)">([^<]*)</word>', html):
        x0, y0, x1, y1 = (float(v) / PT - cover.BLEED for v in m.groups()[:4])
        out.append((x0, y0, x1, y1, m.group(5)))
    return out


def text(pdf: bytes) -> str:
    return subprocess.run(["pdftotext", "-", "-"], input=pdf, capture_output=True, timeout=60, check=True).stdout.decode()


def render(pdf: bytes, tmp_path: Path, dpi: int, box: tuple[float, float, float, float] | None = None) -> Image.Image:
    """The cover (or the box x, y, w, h in inches from the trim corner) as pixels."""
    path = tmp_path / "render.pdf"
    path.write_bytes(pdf)
    args = ["pdftoppm", "-png", "-r", str(dpi), "-singlefile"]
    if box:
        x, y, w, h = box
        args += ["-x", str(round((x + cover.BLEED) * dpi)), "-y", str(round((y + cover.BLEED) * dpi)),
                 "-W", str(round(w * dpi)), "-H", str(round(h * dpi))]
    subprocess.run([*args, str(path), str(tmp_path / "render")], check=True, timeout=120)
    with Image.open(tmp_path / "render.png") as image:
        return image.convert("RGB")


def warnings(notices) -> list[str]:
    return [str(n) for n in notices if n.severity == "warning"]


# ---- size -------------------------------------------------------------------------------------

@pytest.mark.parametrize("trim, width, height", [("6x9", 6.0, 9.0), ("a5", 148 / 25.4, 210 / 25.4)])
@pytest.mark.parametrize("pages", [120, 200])
@pytest.mark.parametrize("paper, thickness", [("white", 0.002252), ("cream", 0.0025)])
def test_cover_size_is_the_formula(trim, width, height, pages, paper, thickness):
    w, h, spine = cover_size(trim, pages, paper)
    assert spine == pytest.approx(pages * thickness, abs=1e-6)
    assert w == pytest.approx(0.125 + width + pages * thickness + width + 0.125, abs=1e-6)
    assert h == pytest.approx(0.125 + height + 0.125, abs=1e-6)


def test_cover_size_of_the_issue_example():
    assert cover_size("6x9", 200, "white") == pytest.approx((12.7004, 9.25, 0.4504), abs=1e-9)
    assert cover_size("6x9", 200, "cream") == pytest.approx((12.75, 9.25, 0.5), abs=1e-9)


@pytest.mark.parametrize("args", [("6x9", 0, "white"), ("6x9", 100, "glossy"), ("4x6", 100, "white"),
                                  ("6x9", 10.5, "white")])
def test_cover_size_refuses_what_is_not_a_cover(args):
    with pytest.raises(ValueError):
        cover_size(*args)


# ---- one real cover ---------------------------------------------------------------------------

@pytest.fixture(scope="module")
def built(tmp_path_factory):
    """The 6x9 cover of 200 pages on white paper, with ISBN, price and blurb."""
    tmp = tmp_path_factory.mktemp("cover")
    root = paperback(tmp)
    pdf, notices = make(root, 200)
    return {"root": root, "pdf": pdf, "notices": notices, "tmp": tmp}


def test_mediabox_is_cover_size_and_trimbox_the_wrap(built):
    page = pypdf.PdfReader(io.BytesIO(built["pdf"])).pages
    assert len(page) == 1
    width, height, spine = cover_size("6x9", 200, "white")
    media, trim = page[0].mediabox, page[0].trimbox
    assert float(media.width) == pytest.approx(width * PT, abs=0.01)
    assert float(media.height) == pytest.approx(height * PT, abs=0.01)
    assert float(trim.width) == pytest.approx((2 * 6 + spine) * PT, abs=0.01)
    assert float(trim.height) == pytest.approx(9 * PT, abs=0.01)
    assert float(trim.left) - float(media.left) == pytest.approx(0.125 * PT, abs=0.01)


def test_notes_say_the_size_and_nothing_is_wrong(built):
    assert not warnings(built["notices"])
    notes = [str(n) for n in built["notices"] if n.severity == "note"]
    assert any("12.7004 × 9.2500 in" in n and "0.4504 in" in n for n in notes), notes


def test_barcode_reads_the_isbn(built):
    import zxingcpp

    # the white box at the bottom right of the back, 0.25 in clear of the trim and the spine
    bw, bh = cover.BARCODE_BOX
    box = (6 - 0.25 - bw - 0.1, 9 - 0.25 - bh - 0.1, bw + 0.2, bh + 0.2)
    image = render(built["pdf"], built["tmp"], 600, box)
    found = zxingcpp.read_barcodes(image)
    assert [(r.format.name, r.text) for r in found] == [("EAN13", ISBN)]
    # the box is white paper all round the bars (sampled just inside its edges)
    inset = round(0.15 * 600)
    for xy in [(inset, inset), (image.width - inset, image.height - inset), (inset, image.height - inset)]:
        assert min(image.getpixel(xy)) > 245, xy


def test_blurb_and_price_on_the_back_title_on_the_front(built):
    found = words(built["pdf"], built["tmp"])
    back = " ".join(w for x0, y0, x1, y1, w in found if x1 <= 6)
    front = " ".join(w for x0, y0, x1, y1, w in found if x0 >= 6 + 0.4504)
    assert "Pass the interview" in back and "collects the questions machine learning interviews ask" in back
    assert "$39.99" in back and f"ISBN {ISBN}" in back
    assert front.startswith("Mini Book") and "Test Author" in front
    assert "$39.99" not in front and "collects" not in front


def test_every_word_is_in_the_safe_zone(built):
    spine = 0.4504
    for x0, y0, x1, y1, word in words(built["pdf"], built["tmp"]):
        assert y0 >= 0.25 - 1e-3 and y1 <= 9 - 0.25 + 1e-3, word
        if x1 <= 6:
            panel = (0.25, 6 - 0.25)
        elif x0 >= 6 + spine:
            panel = (6 + spine + 0.25, 12 + spine - 0.25)
        else:
            panel = (6 + cover.SPINE_CLEAR, 6 + spine - cover.SPINE_CLEAR)
        assert panel[0] - 1e-3 <= x0 and x1 <= panel[1] + 1e-3, (word, x0, x1, panel)


def test_spine_text_reads_top_to_bottom(built):
    spine = [(x0, y0, x1, y1, w) for x0, y0, x1, y1, w in words(built["pdf"], built["tmp"]) if 6 < x0 < 6.4504]
    assert [w for *_, w in spine] == ["MINI", "BOOK", "·", "TEST", "AUTHOR"]
    tops = [y0 for _, y0, _, _, _ in spine]
    assert tops == sorted(tops)  # each word below the one before: read from the top down
    assert all(y1 - y0 > x1 - x0 for x0, y0, x1, y1, w in spine if len(w) > 2)  # words run down the spine


def test_identical_bytes_on_two_builds_and_in_another_folder(built, tmp_path):
    again, _ = make(built["root"], 200)
    assert again == built["pdf"]
    moved = tmp_path / "elsewhere"
    shutil.copytree(built["root"], moved)
    assert make(moved, 200)[0] == built["pdf"]
    assert make(built["root"], 202)[0] != built["pdf"]


# ---- spine text -------------------------------------------------------------------------------

@pytest.mark.parametrize("pages, on_spine", [(80, True), (79, False)])
def test_spine_text_from_80_pages_and_a_note_below(tmp_path, pages, on_spine):
    pdf, notices = make(paperback(tmp_path), pages)
    assert ("MINI BOOK · TEST AUTHOR" in text(pdf)) is on_spine
    thin = [n for n in notices if "too thin for text" in n]
    assert not warnings(notices)
    if on_spine:
        assert not thin
    else:
        assert len(thin) == 1 and thin[0].severity == "note" and "79 pages" in thin[0]


def test_a5_cover_on_cream_paper(tmp_path):
    root = paperback(tmp_path, trim="a5", paper="cream", price=None)
    pdf, notices = make(root, 120)
    media = pypdf.PdfReader(io.BytesIO(pdf)).pages[0].mediabox
    width, height, _ = cover_size("a5", 120, "cream")
    assert (float(media.width), float(media.height)) == pytest.approx((width * PT, height * PT), abs=0.01)
    assert not warnings(notices)
    found = text(pdf)
    assert "MINI BOOK · TEST AUTHOR" in found and f"ISBN {ISBN}" in found and "$" not in found


# ---- the front --------------------------------------------------------------------------------

def front_center(pdf: bytes, tmp_path: Path, pages: int = 200) -> tuple[int, int, int]:
    spine = pages * 0.002252
    return render(pdf, tmp_path, 20, (6 + spine + 2.5, 4, 1, 1)).getpixel((10, 10))


@pytest.mark.parametrize("kind", ["png", "jpg", "svg"])
def test_the_books_own_front_image_is_used(tmp_path, kind):
    root = paperback(tmp_path)
    path = root / "book" / "images" / f"print-cover.{kind}"
    if kind == "svg":  # at the proportions of the front with its bleed, 6.125 x 9.25
        path.write_text('<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 612.5 925">'
                        '<rect width="612.5" height="925" fill="#c81e1e"/></svg>')
    else:  # 300 dpi over the front and its bleed
        Image.new("RGB", (1838, 2775), (200, 30, 30)).save(path, quality=95)
    pdf, notices = make(root)
    assert not warnings(notices)
    r, g, b = front_center(pdf, tmp_path)
    assert r > 150 and g < 80 and b < 80, (r, g, b)
    front = [w for x0, *_, w in words(pdf, tmp_path) if x0 >= 6.4504]
    assert front == []  # the image carries the title; nothing is drawn over it
    assert "MINI BOOK · TEST AUTHOR" in text(pdf)  # the spine is still set


def test_front_image_at_other_proportions_or_low_resolution_is_a_warning(tmp_path):
    root = paperback(tmp_path)
    Image.new("RGB", (1600, 2560), (200, 30, 30)).save(root / "book" / "images" / "print-cover.png")
    pdf, notices = make(root)
    found = warnings(notices)
    assert any("book/images/print-cover.png" in w and "proportions of the trim" in w for w in found), found
    assert any("book/images/print-cover.png prints at" in w and "dpi" in w for w in found), found
    assert all(n.pos and n.pos.path.endswith("print-cover.png") for n in notices if n.severity == "warning")
    r, g, b = front_center(pdf, tmp_path)
    assert r > 150 and g < 80, "still used, cropped to fill the front"


def test_front_image_outside_the_book_root_is_not_read(tmp_path):
    outside = tmp_path / "outside.png"
    Image.new("RGB", (1838, 2775), (200, 30, 30)).save(outside)
    root = paperback(tmp_path)
    (root / "book" / "images" / "print-cover.png").symlink_to(outside)
    pdf, notices = make(root)
    found = warnings(notices)
    assert any("outside the book root" in w and "drawn from the title" in w for w in found), found
    r, g, b = front_center(pdf, tmp_path)
    assert not (r > 150 and g < 80), "the outside file must not be on the cover"
    assert "Mini Book" in " ".join(w for x0, *_, w in words(pdf, tmp_path) if x0 >= 6.4504)


def test_long_title_and_author_are_fitted_to_the_front(tmp_path):
    root = paperback(tmp_path)
    yaml = root / "book" / "book.yaml"
    yaml.write_text(yaml.read_text().replace(
        "title: Mini Book", 'title: "Machine Learning Interviews, Second Edition: Questions, Answers and the '
        'Reasoning Behind Every One of Them"').replace(
        "author: Test Author", "author: Alexandra Konstantinopoulou-Whitfield and Jean-Baptiste Ngo"))
    pdf, notices = make(root, 300)
    assert not warnings(notices)
    for x0, y0, x1, y1, word in words(pdf, tmp_path):
        if x0 >= 6 + 300 * 0.002252:
            assert x1 <= 12 + 300 * 0.002252 - 0.25 and 0.25 <= y0 and y1 <= 8.75, word


# ---- the back ---------------------------------------------------------------------------------

def test_blurb_is_book_text_sanitized(tmp_path):
    blurb = ("Plain *text* with {{ 7 * 7 }} kept.\n\n<script>alert(1)</script>\n\n"
             "![a figure](images/dot.svg) and a [link](https://example.org).\n")
    pdf, notices = make(paperback(tmp_path, blurb=blurb))
    found = text(pdf)
    assert "{{ 7 * 7 }} kept" in found and "alert" not in found and "a link" in found
    assert any("blurb's image" in w for w in warnings(notices))


def test_without_isbn_no_barcode_and_a_note(tmp_path):
    pdf, notices = make(paperback(tmp_path, isbn=None))
    assert not warnings(notices)
    assert any("has no isbn" in n and n.severity == "note" for n in notices)
    found = words(pdf, tmp_path)
    assert not any("ISBN" in w for *_, w in found)
    price = [(x0, y0) for x0, y0, x1, y1, w in found if w == "$39.99"]
    assert price and price[0][0] < 6 - 0.25 - cover.BARCODE_BOX[0]  # the barcode's place stays clear


def test_a_books_own_cover_css_is_used(tmp_path):
    root = paperback(tmp_path)
    (root / "templates").mkdir()
    builtin = (Path(cover.__file__).resolve().parent.parent / "templates" / "cover.css").read_text()
    (root / "templates" / "cover.css").write_text(builtin + "\n.field { background: device-cmyk(0 1 1 0); }\n")
    pdf, _ = make(root)
    r, g, b = render(pdf, tmp_path, 20, (1, 8, 0.5, 0.5)).getpixel((5, 5))  # the back, clear of text
    assert r > 200 and g < 60 and b < 60, (r, g, b)


def test_write_cover_writes_the_file_and_reports_warnings(tmp_path):
    root = paperback(tmp_path)
    Image.new("RGB", (600, 900), (200, 30, 30)).save(root / "book" / "images" / "print-cover.png")
    book = load(root)
    report = Report()
    path, notes = write_cover(book, book_pages := 96, DATE, report)
    assert path == root / "dist" / "print" / "mini-book-cover.pdf"
    assert path.read_bytes().startswith(b"%PDF") and not list(path.parent.glob("*.part-*"))
    assert [d.severity for d in report.items] == ["warning"] and "dpi" in report.items[0].message
    assert report.items[0].pos.path.endswith("print-cover.png")
    assert any(f"{book_pages} pages" in n for n in notes)


def test_a_books_broken_cover_template_is_an_error_naming_it(tmp_path):
    from bookbuild.templating import TemplateFailure

    root = paperback(tmp_path)
    (root / "templates").mkdir()
    (root / "templates" / "cover.html.j2").write_text("<html>\n<body>{{ no_such_thing }}</body>\n</html>\n")
    with pytest.raises(TemplateFailure) as failed:
        make(root)
    assert failed.value.path.name == "cover.html.j2" and failed.value.line == 2


def test_the_cover_alone_from_the_command_line(tmp_path):
    root = paperback(tmp_path)
    out = tmp_path / "alone.pdf"
    done = subprocess.run([sys.executable, "-m", "bookbuild.cover", "--book", str(root), "--pages", "64",
                           "--out", str(out)], capture_output=True, text=True, timeout=120,
                          env={**os.environ, "SOURCE_DATE_EPOCH": "1767225600"})
    assert done.returncode == 0, done.stderr
    assert "too thin for text" in done.stdout and str(out) in done.stdout and not done.stderr
    assert out.read_bytes().startswith(b"%PDF")
