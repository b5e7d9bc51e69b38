"""The paperback's interior (issue 20.2): `--edition print`, bookbuild/interior.py, templates/print.css.

The sample book (a copy with a `print:` section: 6x9, 0.125 in of bleed, the CMYK SWOP profile of
Debian's libgs-common) is built once through the command line; the mini book at 5x8 without
bleed (with the profile and an RGBA raster image) in-process, twice for its bytes, once laid out as
one document and once as a proof. PDFs read with pypdf and poppler (pdftotext -bbox: each word's
box, in points from the MediaBox's corner; pdftoppm).
"""

from __future__ import annotations

import base64
import io
import re
import shutil
import subprocess
from pathlib import Path
from types import SimpleNamespace

import pytest
from PIL import Image
from pypdf import PdfReader

from bookbuild import interior
from bookbuild.cover import cover_size
from bookbuild.interior import (BINDING, MAX_PAGES, Paperback, TooManyPages, binding_margin, cmyk_css, cmyk_of,
                                cmyk_raster, cmyk_svg)
from bookbuild.model import PrintSettings
from conftest import EPOCH, FIXTURES, ROOT, run_cli

PROFILE = Path("/usr/share/color/icc/ghostscript/default_cmyk.icc")  # Debian's libgs-common: CMYK SWOP
PT = 72


def need_profile() -> None:
    if not PROFILE.is_file():
        pytest.skip("the CMYK SWOP profile of libgs-common is not installed (make system installs it)")


def with_print(root: Path, settings: dict) -> Path:
    lines = ["print:"] + [f"  {key}: {value}" for key, value in settings.items()]
    path = root / "book" / "book.yaml"
    path.write_text(path.read_text(encoding="utf-8").rstrip("\n") + "\n" + "\n".join(lines) + "\n", encoding="utf-8")
    return root


def mini_paperback(tmp_path: Path, name: str = "mini", **settings) -> Path:
    """The mini book at 5x8 without bleed, with the CMYK profile and an RGBA image in a chapter."""
    root = tmp_path / name
    shutil.copytree(FIXTURES / "mini", root, ignore=shutil.ignore_patterns("dist", ".bookbuild-cache"))
    shutil.copy(PROFILE, root / "book" / "swop.icc")
    image = Image.new("RGBA", (1500, 450), (0, 0, 0, 0))
    for n, colour in enumerate([(220, 30, 30, 255), (30, 160, 60, 255), (30, 60, 220, 128)]):
        image.paste(colour, (n * 500, 0, n * 500 + 500, 450))
    image.save(root / "book" / "images" / "colours.png")
    chapter = root / "book" / "chapters" / "intro.md"
    chapter.write_text(chapter.read_text(encoding="utf-8") + "\n![Three colours.](../images/colours.png)\n",
                       encoding="utf-8")
    return with_print(root, {"trim": "5x8", "bleed": "none", "paper": "cream", "icc_profile": "swop.icc",
                             "isbn": "978-1-4028-9462-6", **settings})


def build_print(root: Path, out: Path, monkeypatch, serial: bool = False, proof: bool = False) -> Path:
    from bookbuild.pipeline import BuildOptions, build

    monkeypatch.setenv("SOURCE_DATE_EPOCH", EPOCH)
    if serial:
        monkeypatch.setenv("BOOKBUILD_PDF_SERIAL", "1")
    else:
        monkeypatch.delenv("BOOKBUILD_PDF_SERIAL", raising=False)
    result = build(BuildOptions(root=root, edition="print", formats=("pdf",), out=out, proof=proof))
    assert not result.report.errors
    return out / "print" / "mini-book.pdf"


def boxes(page) -> tuple:
    return tuple(tuple(round(float(v), 2) for v in box) for box in (page.mediabox, page.trimbox, page.bleedbox))


def rgb_in(reader: PdfReader) -> tuple[int, int]:
    """RGB colour operators (rg, RG) in every content stream and form, and /DeviceRGB images."""
    operators, images, seen = 0, 0, set()

    def stream(data: bytes) -> int:
        return len(re.findall(rb"(?<![A-Za-z])(?:rg|RG)(?![A-Za-z])", data))

    def resources(res) -> None:
        nonlocal operators, images
        res = res.get_object() if res is not None else None
        if not res:
            return
        for x in (res.get("/XObject") or {}).values():
            if x.idnum in seen:
                continue
            seen.add(x.idnum)
            x = x.get_object()
            if x.get("/Subtype") == "/Image":
                images += x.get("/ColorSpace") == "/DeviceRGB"
            else:
                operators += stream(x.get_data())
                resources(x.get("/Resources"))
        for pattern in (res.get("/Pattern") or {}).values():
            pattern = pattern.get_object()
            if hasattr(pattern, "get_data"):
                operators += stream(pattern.get_data())
                resources(pattern.get("/Resources"))
    for page in reader.pages:
        contents = page.get_contents()
        if contents is not None:
            operators += stream(contents.get_data())
        resources(page.get("/Resources"))
    return operators, images


def output_intent(reader: PdfReader):
    intents = reader.trailer["/Root"].get("/OutputIntents")
    assert intents is not None and len(intents) == 1
    intent = intents[0].get_object()
    return intent, intent["/DestOutputProfile"].get_object()


def word_edges(pdf: Path) -> list[tuple[float, float] | None]:
    """Each page's leftmost and rightmost word edge (pt from the MediaBox's left), None when empty."""
    html = subprocess.run(["pdftotext", "-bbox", str(pdf), "-"], capture_output=True, text=True, timeout=120,
                          check=True).stdout
    edges = []
    for page in html.split("<page ")[1:]:
        xs = [(float(a), float(b)) for a, b in re.findall(r'xMin="([\d.]+)" yMin="[\d.]+" xMax="([\d.]+)"', page)]
        edges.append((min(a for a, _ in xs), max(b for _, b in xs)) if xs else None)
    return edges


def openers(reader: PdfReader) -> dict[str, int]:
    """The 0-based page index of each part, front chapter and numbered chapter (its outline entry)."""
    found = {}

    def walk(items, depth):
        for item in items:
            if isinstance(item, list):
                walk(item, depth + 1)
                continue
            title = " ".join(item.title.split())
            if (depth == 0 and not title.startswith(("Answers", "Appendices"))) or (depth == 1 and title[:1].isdigit()):
                found[title] = reader.get_destination_page_number(item)
    walk(reader.outline, 0)
    return found


# ---- the page, margins and colours, without a build -------------------------------------------

@pytest.mark.parametrize("pages, inches", [(1, 0.375), (150, 0.375), (151, 0.5), (300, 0.5), (301, 0.625),
                                           (500, 0.625), (501, 0.75), (700, 0.75), (701, 0.875), (828, 0.875)])
def test_binding_margin_grows_with_the_page_count_as_kdp_asks(pages, inches):
    assert binding_margin(pages) == inches


def test_more_pages_than_the_services_bind_is_an_error_naming_the_limit(tmp_path):
    from bookbuild.builders.pdf import PdfBuilder
    from bookbuild.errors import Pos

    with pytest.raises(ValueError, match="828"):
        binding_margin(MAX_PAGES + 1)
    settings = PrintSettings(trim="6x9", pos=Pos(str(tmp_path / "book.yaml"), 12, 1))
    ctx = SimpleNamespace(book=SimpleNamespace(root=tmp_path, meta=SimpleNamespace(slug="b", path=tmp_path)),
                          out_dir=tmp_path)
    with pytest.raises(TooManyPages) as raised:
        PdfBuilder()._next_count(ctx, Paperback(settings), {}, 800, 832)
    [error] = raised.value.report.errors
    assert error.pos.line == 12 and "832 pages" in error.message and "828" in error.message


def test_a_count_that_crosses_a_step_is_laid_out_again_until_the_margin_holds(tmp_path):
    from bookbuild.builders.pdf import PdfBuilder

    ctx = SimpleNamespace(book=SimpleNamespace(root=tmp_path, meta=SimpleNamespace(slug="b", path=tmp_path)),
                          out_dir=tmp_path)
    paper, builder, tried = Paperback(PrintSettings()), PdfBuilder(), {}
    assert builder._next_count(ctx, paper, tried, 520, 490) == 490  # guessed 0.75 in, 490 pages ask 0.625
    assert builder._next_count(ctx, paper, tried, 490, 506) == 506  # narrower: more pages, back to 0.75
    assert builder._next_count(ctx, paper, tried, 506, 492) is None  # 0.75 stands: 0.625 asked for more
    assert builder._next_count(ctx, paper, {}, 140, 150) is None


def test_page_css_is_the_trim_the_bleed_and_the_step():
    paper = Paperback(PrintSettings(trim="6x9", bleed="0.125in"))
    css = paper.page_css(480)
    assert "size: 6in 9in" in css and "bleed: 0.125in" in css
    assert "@page :right { margin-left: 0.625in; margin-right: 0.5in; }" in css
    assert "@page :left { margin-left: 0.5in; margin-right: 0.625in; }" in css
    proof = Paperback(PrintSettings(trim="a5", bleed="3mm"), proof=True)
    assert "size: 5.8268in 8.2677in" in proof.page_css(100) and "bleed: 0.3681in" in proof.page_css(100)
    assert proof.boxes(100, 200)[1] == pytest.approx([-8.503, -8.503, 108.503, 208.503], abs=0.001)  # not the marks'


def test_colours_become_cmyk_greys_black_ink_only():
    assert cmyk_of(0, 0, 0) == "device-cmyk(0 0 0 1)"
    assert cmyk_of(1, 1, 1) == "device-cmyk(0 0 0 0)"
    assert cmyk_of(1 / 3, 1 / 3, 1 / 3) == "device-cmyk(0 0 0 0.667)"
    assert cmyk_of(200 / 255, 30 / 255, 30 / 255, 0.16) == "device-cmyk(0 0.11 0.11 0.035)"  # flattened on white
    css = cmyk_css('#toc a:link { color: #1f4f8a; border: 1px solid rgba(0, 0, 0, .5); font-family: "Red", serif }\n'
                   "@page { @top-center { color: black; background: transparent } }\n"
                   "@media print { p { color: hsl(0 0% 50%) } }\n.k { color: device-cmyk(0 0 0 1) }")
    assert "#toc a:link" in css and '"Red", serif' in css and "transparent" in css
    assert "device-cmyk(0.775 0.428 0 0.459)" in css and "solid device-cmyk(0 0 0 0.5)" in css
    assert "color: device-cmyk(0 0 0 1)" in css and "p { color: device-cmyk(0 0 0 0.5)" in css
    assert not re.search(r"#[0-9a-f]{6}\b|rgba?\(|hsl\(|\bblack\b", css)


def test_svg_colours_become_cmyk_and_the_default_black_is_ink():
    svg = ('<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10"><style>.a { fill: #ff0000 }</style>'
           '<rect fill="#808080" stroke=\'blue\' style="fill-opacity: 1; stroke: rgb(0,0,0)"/><path d="M0 0"/></svg>')
    out = cmyk_svg(svg)
    assert 'fill="device-cmyk(0 0 0 1)" color="device-cmyk(0 0 0 1)">' in out  # the root's default
    assert ".a { fill: device-cmyk(0 1 1 0) ;}" in out and 'fill="device-cmyk(0 0 0 0.498)"' in out
    assert "stroke='device-cmyk(1 1 0 0)'" in out and "stroke: device-cmyk(0 0 0 1)" in out
    assert not re.search(r"#[0-9a-f]{6}|rgb\(|blue", out)


def test_raster_images_become_cmyk_without_transparency():
    need_profile()
    image = Image.new("RGBA", (20, 10), (255, 0, 0, 0))
    image.paste((0, 0, 255, 255), (10, 0, 20, 10))
    data = io.BytesIO()
    image.save(data, "PNG")
    mime, converted = cmyk_raster(data.getvalue(), PROFILE.read_bytes())
    out = Image.open(io.BytesIO(converted))
    assert mime == "image/jpeg" and out.mode == "CMYK" and out.size == (20, 10)
    assert out.convert("RGB").getpixel((2, 5)) > (240, 240, 240)  # transparent: white paper, no ink
    red, green, blue = out.convert("RGB").getpixel((15, 5))
    assert blue > 100 and red < 100 and green < 100
    grey = io.BytesIO()
    Image.new("LA", (4, 4), (90, 255)).save(grey, "PNG")
    mime, converted = cmyk_raster(grey.getvalue(), PROFILE.read_bytes())
    assert mime == "image/png" and Image.open(io.BytesIO(converted)).mode == "L"  # grey: DeviceGray


# ---- the command line and check ----------------------------------------------------------------

def test_page_size_with_the_print_edition_and_proof_without_it_are_malformed(tmp_path):
    root = with_print(shutil.copytree(FIXTURES / "mini", tmp_path / "mini"), {"trim": "6x9"})
    done = run_cli("--book", str(root), "--edition", "print", "--page-size", "a4", "--out", str(tmp_path / "o"))
    assert done.returncode == 2 and "--page-size" in done.stderr and "print" in done.stderr
    done = run_cli("--book", str(root), "--proof", "--out", str(tmp_path / "o"))
    assert done.returncode == 2 and "--proof" in done.stderr
    assert not (tmp_path / "o").exists()


def test_an_image_below_300_dpi_is_a_warning_with_file_and_line(tmp_path):
    root = with_print(shutil.copytree(FIXTURES / "mini", tmp_path / "mini"), {"trim": "6x9"})
    Image.new("RGB", (600, 200), (200, 200, 200)).save(root / "book" / "images" / "low.png")
    Image.new("RGB", (1800, 600), (200, 200, 200)).save(root / "book" / "images" / "sharp.png")
    chapter = root / "book" / "chapters" / "intro.md"
    text = chapter.read_text(encoding="utf-8")
    chapter.write_text(text + "\n![Low.](../images/low.png)\n\n![Sharp.](../images/sharp.png)\n", encoding="utf-8")
    line = text.count("\n") + 2
    done = run_cli("check", "--book", str(root), "--edition", "print")
    assert done.returncode == 0, done.stderr
    warnings = [w for w in done.stderr.splitlines() if "dpi" in w]
    assert len(warnings) == 1, done.stderr
    # 600 px at 96 px an inch is 6.25 in: the 6x9 text block's 5.125 in (0.5 in outer, 0.375 in inner)
    assert re.match(rf".*intro\.md:{line}:\d+: warning: image '../images/low.png' prints at 117 dpi", warnings[0])
    assert "1538 pixels" in warnings[0]
    done = run_cli("check", "--book", str(root), "--edition", "release")
    assert "dpi" not in done.stderr  # the print edition's concern only


def tiny_font(family: str, fs_type: int) -> bytes:
    from fontTools.fontBuilder import FontBuilder
    from fontTools.pens.ttGlyphPen import TTGlyphPen

    builder = FontBuilder(1000, isTTF=True)
    builder.setupGlyphOrder([".notdef", "A"])
    builder.setupCharacterMap({ord("A"): "A"})
    pen = TTGlyphPen(None)
    pen.moveTo((0, 0))
    pen.lineTo((500, 0))
    pen.lineTo((250, 700))
    pen.closePath()
    builder.setupGlyf({".notdef": TTGlyphPen(None).glyph(), "A": pen.glyph()})
    builder.setupHorizontalMetrics({".notdef": (500, 0), "A": (500, 0)})
    builder.setupHorizontalHeader(ascent=800, descent=-200)
    builder.setupNameTable({"familyName": family, "styleName": "Regular"})
    builder.setupOS2(fsType=fs_type, sTypoAscender=800, usWinAscent=800, usWinDescent=200)
    builder.setupPost()
    out = io.BytesIO()
    builder.save(out)
    return out.getvalue()


def test_a_font_whose_licence_forbids_embedding_is_an_error_with_file_and_line(tmp_path):
    """Both ways a book's print.css can name a font: an @font-face with a data: source (the only
    one WeasyPrint reads in bookbuild), and a family fontconfig finds (here from a fonts.conf
    that adds a folder, as a font installed for the user would be)."""
    root = with_print(shutil.copytree(FIXTURES / "mini", tmp_path / "mini"), {"trim": "6x9"})
    fonts = tmp_path / "fonts"
    fonts.mkdir()
    (fonts / "locked.ttf").write_bytes(tiny_font("Locked Sans", 2))
    (fonts / "open.ttf").write_bytes(tiny_font("Open Sans Test", 0))
    config = tmp_path / "fonts.conf"
    config.write_text(f'<?xml version="1.0"?>\n<fontconfig><include ignore_missing="yes">/etc/fonts/fonts.conf'
                      f"</include><dir>{fonts}</dir><cachedir>{tmp_path / 'cache'}</cachedir></fontconfig>\n")
    data = base64.b64encode(tiny_font("Embedded Lock", 2)).decode("ascii")
    (root / "templates").mkdir()
    (root / "templates" / "print.css").write_text(
        "/* the book's own print layer */\n"
        f'@font-face {{\n  font-family: "Embedded Lock";\n  src: url(data:font/ttf;base64,{data});\n}}\n'
        'h1 { font-family: "Embedded Lock", serif; }\n'
        'h2 { font: bold 12pt/1.2 "Locked Sans", sans-serif; }\n'
        'h3 { font-family: "Open Sans Test", serif; }\n', encoding="utf-8")
    done = run_cli("check", "--book", str(root), "--edition", "print", env={"FONTCONFIG_FILE": str(config)})
    assert done.returncode == 1
    errors = [line for line in done.stderr.splitlines() if ": error: " in line]
    assert len(errors) == 3, done.stderr
    assert re.match(r".*templates/print\.css:2:1: error: font 'Embedded Lock' .*fsType 2", errors[0])
    assert re.match(r".*templates/print\.css:6:6: error: font 'Embedded Lock' forbids embedding", errors[1])
    assert re.match(r".*templates/print\.css:7:6: error: font locked\.ttf .*'Locked Sans'.*fsType 2", errors[2])
    assert "Open Sans Test" not in done.stderr
    # the release edition embeds the same fonts, but only the paperback's printer refuses them
    assert run_cli("check", "--book", str(root), "--edition", "release",
                   env={"FONTCONFIG_FILE": str(config)}).returncode == 0


def test_an_icc_profile_that_is_not_cmyk_is_an_error(tmp_path):
    from bookbuild.pipeline import check

    need_profile()
    root = with_print(shutil.copytree(FIXTURES / "mini", tmp_path / "mini"), {"trim": "6x9", "icc_profile": "p.icc"})
    for data, problem in ((b"not a profile", "is not an ICC profile"),
                          (PROFILE.with_name("srgb.icc").read_bytes(), "a profile of RGB colours, not CMYK")):
        (root / "book" / "p.icc").write_bytes(data)
        _, report = check(root, "print")
        [error] = report.errors
        assert problem in error.message and error.pos.path.endswith("book.yaml") and error.pos.line > 1
    (root / "book" / "p.icc").write_bytes(PROFILE.read_bytes())
    assert not check(root, "print")[1].errors


def test_the_built_in_fonts_may_be_embedded():
    from bookbuild.errors import Report

    report = Report()
    interior.check_fonts(SimpleNamespace(root=ROOT), report)
    assert not report.errors


# ---- the sample book -----------------------------------------------------------------------------

@pytest.fixture(scope="module")
def sample_print(tmp_path_factory) -> dict:
    """The sample book as a 6x9 paperback with 0.125 in of bleed and the CMYK profile, built once."""
    need_profile()
    tmp = tmp_path_factory.mktemp("sample-print")
    root = tmp / "book"
    for folder in ("book", "questions"):
        shutil.copytree(ROOT / folder, root / folder)
    shutil.copy(PROFILE, root / "book" / "swop.icc")
    with_print(root, {"trim": "6x9", "bleed": "0.125in", "paper": "white", "isbn": "978-1-4028-9462-6",
                      "price": '"$39.99"', "icc_profile": "swop.icc", "blurb": "Questions and worked answers."})
    done = run_cli("--book", str(root), "--edition", "print", "--format", "pdf", "--out", str(tmp / "out"))
    assert done.returncode == 0, done.stderr
    folder = tmp / "out" / "print"
    return {"pdf": folder / "ml-interviews.pdf", "cover": folder / "ml-interviews-cover.pdf", "stdout": done.stdout,
            "reader": PdfReader(str(folder / "ml-interviews.pdf"))}


@pytest.mark.slow
def test_sample_every_page_has_the_trim_and_bleed_and_the_count_is_even(sample_print):
    reader = sample_print["reader"]
    assert len(reader.pages) % 2 == 0 and len(reader.pages) > 300
    bleed = 0.125 * PT
    expected = ((-bleed, -bleed, 6 * PT + bleed, 9 * PT + bleed), (0, 0, 6 * PT, 9 * PT),
                (-bleed, -bleed, 6 * PT + bleed, 9 * PT + bleed))
    assert {boxes(page) for page in reader.pages} == {expected}


@pytest.mark.slow
def test_sample_openers_are_on_right_hand_pages(sample_print):
    found = openers(sample_print["reader"])
    assert "Preface" in found and "Part I The interview" in found and "1 Introduction" in found
    assert len(found) > 15
    assert {title: index for title, index in found.items() if index % 2} == {}  # index 0 is page 1, a right-hand page


@pytest.mark.slow
def test_sample_binding_margin_is_its_page_counts_step(sample_print):
    pages = len(sample_print["reader"].pages)
    inner, outer, bleed = binding_margin(pages) * PT, 0.5 * PT, 0.125 * PT
    edges = word_edges(sample_print["pdf"])
    recto = [e for n, e in enumerate(edges) if e and n % 2 == 0]
    verso = [e for n, e in enumerate(edges) if e and n % 2 == 1]
    assert min(left for left, _ in recto) == pytest.approx(bleed + inner, abs=0.5)
    assert max(right for _, right in recto) == pytest.approx(bleed + 6 * PT - outer, abs=0.5)
    assert min(left for left, _ in verso) == pytest.approx(bleed + outer, abs=0.5)
    assert max(right for _, right in verso) == pytest.approx(bleed + 6 * PT - inner, abs=0.5)


@pytest.mark.slow
def test_sample_is_pdf_x3_with_a_cmyk_output_intent_and_no_rgb(sample_print):
    reader = sample_print["reader"]
    intent, profile = output_intent(reader)
    assert intent["/S"] == "/GTS_PDFX" and profile["/N"] == 4 and profile.get_data() == PROFILE.read_bytes()
    assert reader.pdf_header == "%PDF-1.4"
    assert reader.metadata["/GTS_PDFXVersion"] == "PDF/X-3:2003" and reader.metadata["/Trapped"] == "/False"
    assert b"PDF/X-3:2003" in reader.trailer["/Root"]["/Metadata"].get_object().get_data()
    assert rgb_in(reader) == (0, 0)
    assert not any("/Annots" in page for page in reader.pages)  # PDF/X: no annotation on the printed page
    assert reader.outline


@pytest.mark.slow
def test_sample_cover_is_beside_the_interior_for_its_page_count(sample_print):
    pages = len(sample_print["reader"].pages)
    cover = PdfReader(str(sample_print["cover"]))
    width, height, spine = cover_size("6x9", pages, "white")
    box = cover.pages[0].mediabox
    assert (float(box.width), float(box.height)) == pytest.approx((width * PT, height * PT), abs=0.01)
    assert f"a spine of {spine:.4f} in for {pages} pages of white paper" in sample_print["stdout"]
    folder = sample_print["pdf"].parent
    assert sample_print["stdout"].splitlines()[:3] == [str(sample_print["pdf"]), str(folder / "pagemap.json"),
                                                       str(sample_print["cover"])]


# ---- a small paperback at another trim -----------------------------------------------------------

@pytest.mark.slow
def test_mini_at_5x8_without_bleed_same_bytes_twice_cmyk_images(tmp_path, monkeypatch):
    need_profile()
    root = mini_paperback(tmp_path)
    first = build_print(root, tmp_path / "one", monkeypatch)
    shutil.rmtree(root / ".bookbuild-cache")
    again = build_print(root, tmp_path / "two", monkeypatch)
    assert first.read_bytes() == again.read_bytes()
    reader = PdfReader(str(first))
    assert len(reader.pages) % 2 == 0
    trim = (0, 0, 5 * PT, 8 * PT)
    assert {boxes(page) for page in reader.pages} == {(trim, trim, trim)}
    assert output_intent(reader)[1]["/N"] == 4
    assert rgb_in(reader) == (0, 0)
    images = [x.get_object() for page in reader.pages for x in (page["/Resources"].get("/XObject") or {}).values()
              if x.get_object().get("/Subtype") == "/Image"]
    assert "/DeviceCMYK" in [image.get("/ColorSpace") for image in images]
    assert not any("/SMask" in image for image in images)  # no transparency
    assert (tmp_path / "one" / "print" / "mini-book-cover.pdf").is_file()


@pytest.mark.slow
def test_mini_laid_out_in_pieces_reads_and_looks_as_one_document(tmp_path, monkeypatch):
    need_profile()
    from test_pdf import _pixels, _reader_view

    root = mini_paperback(tmp_path, bleed="3mm")
    parallel = build_print(root, tmp_path / "parallel", monkeypatch)
    serial = build_print(root, tmp_path / "serial", monkeypatch, serial=True)
    assert _reader_view(parallel) == _reader_view(serial)
    assert _pixels(parallel) == _pixels(serial)
    for path in (parallel, serial):
        reader = PdfReader(str(path))
        assert output_intent(reader)[1]["/N"] == 4 and rgb_in(reader) == (0, 0)
        assert {boxes(page)[2] for page in reader.pages} == {(-8.5, -8.5, 368.5, 584.5)}
        assert not any("/Annots" in page for page in reader.pages)


@pytest.mark.slow
def test_proof_has_crop_marks_beyond_the_bleed(tmp_path, monkeypatch):
    need_profile()
    root = mini_paperback(tmp_path, bleed="0.125in")
    reader = PdfReader(str(build_print(root, tmp_path / "proof", monkeypatch, proof=True)))
    room = (0.125 + interior.MARKS_ROOM) * PT
    for page in reader.pages:
        media, trim, bleed = boxes(page)
        assert media == (-room, -room, 5 * PT + room, 8 * PT + room)
        assert bleed == (-9, -9, 5 * PT + 9, 8 * PT + 9) and trim == (0, 0, 5 * PT, 8 * PT)
        marks = page.get_contents().get_data()
        assert b"0 0 0 1 K" in marks and b"0.000 -27.000 m 0.000 -12.000 l" in marks
    assert rgb_in(reader) == (0, 0)


def test_binding_steps_end_at_the_limit():
    assert BINDING[-1][0] == MAX_PAGES == 828
