"""The PDF reads like a printed book: outline, contents with true page numbers, no TeX left, metadata."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest
from pypdf import PdfReader

from bookbuild.pipeline import BuildOptions, build
from conftest import EPOCH, ROOT

TEX = re.compile(r"\\(frac|sum|mathbf|mathbb|operatorname|sqrt|left|right|begin|hat|bar)\b|\$")


def outline_titles(reader: PdfReader) -> list[tuple[int, str]]:
    out = []

    def walk(items, depth):
        for item in items:
            if isinstance(item, list):
                walk(item, depth + 1)
            else:
                out.append((depth, " ".join(item.title.split())))
    walk(reader.outline, 0)
    return out


def build_mini_pdf(root: Path, **kwargs) -> Path:
    os.environ["SOURCE_DATE_EPOCH"] = EPOCH
    build(BuildOptions(root=root, formats=("pdf",), **kwargs))
    return root / "dist" / "release" / "mini-book.pdf"


def test_mini_pdf_outline_metadata_fonts(mini):
    reader = PdfReader(str(build_mini_pdf(mini)))
    titles = outline_titles(reader)
    assert (0, "Part I Guide") in titles and (1, "1 Introduction") in titles and (2, "1.1 How to read") in titles
    assert (0, "Part II Questions") in titles and (1, "2 Basics") in titles
    meta = reader.metadata
    assert meta.title == "Mini Book" and meta.author == "Test Author"
    assert reader.trailer["/Root"]["/Lang"] == "en"
    for page in reader.pages:
        fonts = page["/Resources"].get("/Font") or {}
        for font in fonts.values():
            font = font.get_object()
            descriptor = (font.get("/FontDescriptor") or font["/DescendantFonts"][0].get_object()["/FontDescriptor"]).get_object()
            assert any(k in descriptor for k in ("/FontFile", "/FontFile2", "/FontFile3")), font.get("/BaseFont")


@pytest.mark.parametrize("size, points", [("letter", (612, 792)), ("6x9", (432, 648))])
def test_page_sizes(mini, size, points):
    reader = PdfReader(str(build_mini_pdf(mini, page_size=size)))
    box = reader.pages[0].mediabox
    assert (round(float(box.width)), round(float(box.height))) == points


def test_tagged_pdf_variant(mini):
    reader = PdfReader(str(build_mini_pdf(mini, pdf_variant="pdf/ua-1")))
    root = reader.trailer["/Root"]
    assert "/StructTreeRoot" in root and root["/MarkInfo"]["/Marked"]


def toc_entries(reader: PdfReader) -> dict[str, str]:
    """Contents lines 'Title .... 12' (or '.... v' in the front matter) read from the pages before
    the first part opener."""
    entries = {}
    for page in reader.pages[:8]:
        for line in page.extract_text().splitlines():
            m = re.match(r"^(.*?)[\s.]*?\.{3,}\s*(\d+|[ivxlc]+)$", line.strip())
            if m:
                entries[" ".join(m.group(1).split())] = m.group(2)
    return entries


@pytest.mark.slow
def test_sample_pdf_reads_like_a_book(sample_builds):
    pdf = sample_builds["appendix"] / "ml-interviews.pdf"
    reader = PdfReader(str(pdf))
    from bookbuild.load import load_book
    from bookbuild.model import chapter_labels
    book, _ = load_book(ROOT)
    numbers = chapter_labels(book)  # front chapters have none: they are entered by their title
    entries = {chapter.file: f"{numbers[chapter.file]} {chapter.title}" if chapter.file in numbers else chapter.title
               for chapter in book.chapters}
    titles = outline_titles(reader)
    for chapter in book.chapters:
        depth = 0 if chapter.role == "front" else 1
        assert (depth, entries[chapter.file]) in titles, chapter.title
    # the contents' page numbers are the printed numbers (the labels) of the pages where the chapters start
    from outputs import pdf_links
    dests = pdf_links(pdf).dests
    toc = toc_entries(reader)
    labels = list(reader.page_labels)
    for chapter in book.chapters:
        key = entries[chapter.file]
        assert key in toc, (key, sorted(toc)[:20])
        stem = chapter.file.removesuffix(".md")
        anchor = f"sec-{stem}" if f"sec-{stem}" in dests else f"chapter-{stem}"
        assert toc[key] == labels[dests[anchor]], (key, toc[key], labels[dests[anchor]])
        # and the printed folio on that page is the same number
        assert re.search(rf"(^|\n)\s*{toc[key]}\s*$", reader.pages[dests[anchor]].extract_text())
    text = "\n".join(page.extract_text() for page in reader.pages)
    leftovers = TEX.findall(text)
    assert not leftovers, leftovers[:10]
    assert reader.metadata.title == "Machine Learning Interviews"
    assert "(p. " in text


def _reader_view(path: Path) -> dict:
    """What a reader sees and follows: each page's text, the outline, the links and where they go."""
    from outputs import pdf_links
    reader = PdfReader(str(path))
    links = pdf_links(path)
    return {"pages": [" ".join(p.extract_text().split()) for p in reader.pages],
            "outline": outline_titles(reader),
            "links": sorted(set(links.links)),
            "dests": {k: v for k, v in links.dests.items() if not k.startswith("bookbuild-")},
            "sizes": [tuple(round(float(v)) for v in p.mediabox) for p in reader.pages]}


@pytest.mark.parametrize("edition", ["release", "draft"])
def test_parallel_layout_matches_one_document(mini, monkeypatch, edition):
    """The book laid out in pieces on every core reads exactly as the book laid out in one piece."""
    os.environ["SOURCE_DATE_EPOCH"] = EPOCH
    build(BuildOptions(root=mini, edition=edition, formats=("pdf",), out=mini / "parallel"))
    monkeypatch.setenv("BOOKBUILD_PDF_SERIAL", "1")
    build(BuildOptions(root=mini, edition=edition, formats=("pdf",), out=mini / "serial"))
    parallel = _reader_view(mini / "parallel" / edition / "mini-book.pdf")
    serial = _reader_view(mini / "serial" / edition / "mini-book.pdf")
    assert parallel == serial
    assert (mini / "parallel" / edition / "pagemap.json").read_text() == (mini / "serial" / edition / "pagemap.json").read_text()
    # and looks the same, pixel for pixel: page numbers written over placeholders, pieces that
    # start on a left-hand page moved to that hand, empty pages before part openers
    assert _pixels(mini / "parallel" / edition / "mini-book.pdf") == _pixels(mini / "serial" / edition / "mini-book.pdf")


def _pixels(pdf: Path) -> list[bytes]:
    import subprocess
    import tempfile
    with tempfile.TemporaryDirectory() as folder:
        subprocess.run(["pdftoppm", "-r", "60", "-gray", str(pdf), f"{folder}/p"], check=True)
        return [path.read_bytes() for path in sorted(Path(folder).glob("p-*.pgm"))]


def test_repeated_formulas_are_drawn_once_and_look_the_same(tmp_path):
    """A formula set three times is one form XObject placed three times; the page is pixel-identical."""
    import subprocess

    import weasyprint
    from weasyprint.images import SVGImage

    from bookbuild.formulas import math_image, reuse_svg_drawings

    uri, width, height, depth = math_image(r"\frac{1}{n}\sum_{i=1}^{n} x_i^2", False)
    img = f'<img src="{uri}" style="width:{width}px;height:{height}px">'
    html = f"<p>One {img}, two {img}, and three {img}.</p><p>Again {img}.</p>"
    reuse_svg_drawings()
    patched = SVGImage.draw
    pdfs = {}
    try:
        for name, draw in (("plain", patched.__wrapped__), ("reused", patched)):
            SVGImage.draw = draw
            pdfs[name] = tmp_path / f"{name}.pdf"
            weasyprint.HTML(string=html).write_pdf(pdfs[name], pdf_identifier=b"test")
    finally:
        SVGImage.draw = patched
    page = PdfReader(str(pdfs["reused"])).pages[0]
    forms = page["/Resources"]["/XObject"]
    assert len(forms) == 1
    assert page.get_contents().get_data().count(b" Do") == 4
    assert pdfs["reused"].stat().st_size < pdfs["plain"].stat().st_size
    pixels = {}
    for name, path in pdfs.items():
        subprocess.run(["pdftoppm", "-r", "100", "-gray", "-singlefile", str(path), str(tmp_path / name)], check=True)
        pixels[name] = (tmp_path / f"{name}.pgm").read_bytes()
    assert pixels["plain"] == pixels["reused"]


def test_parallel_layout_with_answers_on_a_left_hand_page(tmp_path, monkeypatch):
    """A synthetic book whose answers to one chapter start on a left-hand page (p. 36), laid out
    cold (page numbers guessed, then written over): the same pages as one document, pixel for pixel."""
    import json

    from bookbuild.bench import generate

    book = generate(tmp_path / "book", 90)
    os.environ["SOURCE_DATE_EPOCH"] = EPOCH
    build(BuildOptions(root=book, formats=("pdf",), out=tmp_path / "parallel"))
    pages = json.loads((book / ".bookbuild-cache" / "pdf-pages.json").read_text())
    firsts = [page for name, page in next(iter(pages.values())).items() if name.startswith("bookbuild-piece-")]
    assert any(first % 2 == 0 for first in firsts), firsts  # the case this test is for
    monkeypatch.setenv("BOOKBUILD_PDF_SERIAL", "1")
    build(BuildOptions(root=book, formats=("pdf",), out=tmp_path / "serial"))
    parallel, serial = (tmp_path / kind / "release" / "benchmark-book.pdf" for kind in ("parallel", "serial"))
    assert _reader_view(parallel) == _reader_view(serial)
    assert _pixels(parallel) == _pixels(serial)


def test_unchanged_pieces_come_from_the_cache_and_the_pdf_is_the_same(tmp_path, monkeypatch):
    """After one answer changes, only the piece it is in is laid out again (the others' layouts
    and PDFs come from the cache): the PDF is the same, byte for byte, as a build from scratch."""
    import shutil

    from bookbuild.bench import generate
    from bookbuild.builders import pdf_layout

    book = generate(tmp_path / "book", 60)
    os.environ["SOURCE_DATE_EPOCH"] = EPOCH
    build(BuildOptions(root=book, formats=("pdf",)))
    bank = book / "questions" / "topic-002.yaml"
    bank.write_text(bank.read_text().replace("    answer: |\n      ", "    answer: |\n      Edited. ", 1))
    laid_out = []
    real = pdf_layout.ParallelLayout._first_pass

    def first_pass(self, *args, **kwargs):
        result = real(self, *args, **kwargs)
        laid_out.append(len(result[0]) - len(self.remembered))
        return result
    monkeypatch.setattr(pdf_layout.ParallelLayout, "_first_pass", first_pass)
    build(BuildOptions(root=book, formats=("pdf",)))
    assert laid_out == [1]  # the answers to chapter 2
    fresh = tmp_path / "fresh"
    shutil.copytree(book, fresh, ignore=shutil.ignore_patterns("dist", ".bookbuild-cache"))
    build(BuildOptions(root=fresh, formats=("pdf",)))
    name = "release/benchmark-book.pdf"
    assert (book / "dist" / name).read_bytes() == (fresh / "dist" / name).read_bytes()
