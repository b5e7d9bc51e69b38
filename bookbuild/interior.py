"""The paperback's interior (`--edition print`, issue 20.2): its page geometry, its colours for
print, PDF/X-3, and what `check` says about images and fonts in the print edition.

- **Geometry.** The page is `print.trim`; `bleed` is `print.bleed` (WeasyPrint writes the
  MediaBox as the trim plus the bleed, the TrimBox as the trim); the outer, top and bottom margins
  are fixed per trim class, the inner (binding) margin is what KDP asks for the page count
  (`BINDING`); a book of more pages than the last step is an error. The PDF builder lays the book
  out with the margin its guess of the page count asks for, and again with another one when the
  count it gets crosses a step. A proof (`--proof`) has room around the bleed (`MARKS_ROOM`)
  for crop marks, drawn there at the trim's lines in black ink (not WeasyPrint's `marks: crop`,
  which draws them in RGB and within the bleed), and every page's BleedBox is set to the trim
  plus the bleed exactly (WeasyPrint's own is "at most 10 pt", which a proof's wider media would
  change). The pages carry no links (no annotation: PDF/X allows none on the printed page).
- **Colours.** `templates/print.css` (on top of pdf.css, overridable like every template) sets
  black text and no link colour. Then every colour left in the stylesheets, in the HTML's own
  `<style>` (pandoc's highlighting) and in SVG images (figures and formulas) is rewritten as
  `device-cmyk()` (`cmyk_css`, `cmyk_svg`): a neutral grey becomes black ink only, a colour with
  transparency is flattened on white. The PDF then has no RGB colour operator.
- **PDF/X-3** with `print.icc_profile`: raster images are converted to CMYK through the profile
  with Pillow's ImageCms (transparency flattened on white; greyscale stays grey), and the PDF gets
  an OutputIntent holding the profile, the PDF/X Info keys and XMP metadata, written once: by a
  WeasyPrint finisher for the book laid out as one document, by `finish_merged` at the merge of the
  parallel layout (the pieces themselves are plain PDFs with DeviceCMYK colours, so the profile is
  not copied once per piece). PDF/X-3, not X-4: WeasyPrint writes a random document id into an
  X-4's XMP, and the interior must be the same bytes on every build.
- **check** (the print edition only): a raster image printing below 300 dpi is a warning (its
  pixel width over the smaller of its natural width, 96 px an inch as WeasyPrint sets it, and the
  text block's width at the narrowest binding margin); a font the PDF would use whose licence
  forbids embedding (OS/2 fsType 2, "restricted") is an error naming the stylesheet's line. The
  fonts are those of `font-family` and `font` in pdf.css and print.css (the book's own when it has
  them): a family of an `@font-face` rule with a `data:` source (the only kind WeasyPrint reads
  in bookbuild, which fetches no file or URL) is read from that source; every other family list
  is matched by fontconfig (`fc-match`, as WeasyPrint's Pango does) in its four styles.
"""

from __future__ import annotations

import base64
import binascii
import functools
import io
import math
import re
import subprocess
from dataclasses import dataclass
from pathlib import Path

from .errors import BookError, Pos, Report
from .model import TRIM_SIZES, Book, PrintSettings

# KDP's inside margin by page count: (most pages, inches)
BINDING = ((150, 0.375), (300, 0.5), (500, 0.625), (700, 0.75), (828, 0.875))
MAX_PAGES = BINDING[-1][0]
BLEED_INCHES = {"none": 0.0, "0.125in": 0.125, "3mm": 3 / 25.4}
MARKS_ROOM = 0.25  # in: a proof's media reaches this far beyond the bleed, for the crop marks
MARKS_GAP = 3.0  # pt: a crop mark starts this far beyond the bleed (so that no trim shows it)
MARKS_WIDTH = 0.25  # pt
# outer, top and bottom margins (in) and the body's font size: small trims as the release's 6x9
SMALL_TRIM = (0.5, 0.6, 0.7, "10pt")
LARGE_TRIM = (0.65, 0.8, 0.85, None)  # 7x10, b5, 8.5x11: pdf.css's own size (10.5pt)
MIN_DPI = 300
CSS_PX_PER_INCH = 96  # an image's natural size: one image pixel a CSS px
RASTER_SUFFIXES = (".png", ".jpg", ".jpeg", ".gif", ".webp")
PDFX_VERSION = "PDF/X-3:2003"
_UNIT = {"in": 1.0, "mm": 1 / 25.4}


class TooManyPages(BookError):
    """The interior has more pages than the services bind (KDP: 828)."""


def trim_inches(trim: str) -> tuple[float, float]:
    width, height = TRIM_SIZES[trim]
    return tuple(float(v[:-2]) * _UNIT[v[-2:]] for v in (width, height))  # type: ignore[return-value]


def binding_margin(pages: int) -> float:
    """The inner margin (in) KDP asks for a book of `pages` pages; ValueError beyond the last step."""
    for most, inches in BINDING:
        if pages <= most:
            return inches
    raise ValueError(f"{pages} pages: more than the {MAX_PAGES} pages print-on-demand services bind")


def _trim_class(trim: str) -> tuple[float, float, float, str | None]:
    return SMALL_TRIM if trim_inches(trim)[0] < 6.5 else LARGE_TRIM


def text_width(trim: str, pages: int = 1) -> float:
    """The text block's width (in) at the binding margin of `pages` pages."""
    outer = _trim_class(trim)[0]
    return trim_inches(trim)[0] - outer - binding_margin(pages)


def _rounded(inches: float) -> float:
    return round(inches, 4)  # the CSS and the boxes use the same figure: the BleedBox stays in the MediaBox


def _length(inches: float) -> str:
    return f"{_rounded(inches):.4f}".rstrip("0").rstrip(".") + "in"


@dataclass(frozen=True)
class Paperback:
    """The print edition's interior as the PDF builder lays it out."""

    settings: PrintSettings
    proof: bool = False
    profile: bytes | None = None  # the CMYK ICC profile (print.icc_profile): PDF/X-3

    @classmethod
    def of(cls, book: Book, proof: bool = False) -> "Paperback":
        settings = book.meta.print or PrintSettings()
        path = (book.root / "book" / settings.icc_profile) if settings.icc_profile else None
        return cls(settings, proof, path.read_bytes() if path else None)

    @property
    def bleed(self) -> float:
        return _rounded(BLEED_INCHES[self.settings.bleed])

    @property
    def media_bleed(self) -> float:
        """How far the PDF's MediaBox reaches beyond the trim: the bleed, and room for marks on a proof."""
        return _rounded(self.bleed + (MARKS_ROOM if self.proof else 0.0))

    def page_css(self, pages: int) -> str:
        """The page geometry for a book of `pages` pages: last in the stylesheet, so that it holds."""
        width, height = trim_inches(self.settings.trim)
        outer, top, bottom, font = _trim_class(self.settings.trim)
        inner = binding_margin(pages)
        return (f"@page {{ size: {_length(width)} {_length(height)}; margin: {_length(top)} {_length(outer)} "
                f"{_length(bottom)} {_length(inner)}; bleed: {_length(self.media_bleed)}; }}\n"
                f"@page :left {{ margin-left: {_length(outer)}; margin-right: {_length(inner)}; }}\n"
                f"@page :right {{ margin-left: {_length(inner)}; margin-right: {_length(outer)}; }}\n"
                + (f"html {{ font-size: {font}; }}\n" if font else ""))

    def shift_pt(self, pages: int) -> float:
        """Inner − outer margin in pt: how far a page's content moves when it changes hands."""
        return (binding_margin(pages) - _trim_class(self.settings.trim)[0]) * 72

    def chars_per_page(self) -> int:
        """Text characters on a page, roughly (to guess page numbers' digits and the first
        layout's binding margin): 1590 on a 6x9 page (the sample book's 480 pages, measured),
        scaled by the text block's area and the font size."""
        width, height = trim_inches(self.settings.trim)
        outer, top, bottom, font = _trim_class(self.settings.trim)
        area = (width - outer - 0.625) * (height - top - bottom)
        return max(400, round(1590 * area / (4.875 * 7.7) * (1.0 if font else (10 / 10.5) ** 2)))

    def too_many(self, book: Book, pages: int) -> TooManyPages:
        report = Report()
        report.error(self.settings.pos or Pos(str(book.meta.path)),
                     f"print: the interior has {pages} pages, more than the {MAX_PAGES} pages print-on-demand "
                     f"services bind as one paperback (KDP's limit; its widest binding margin is "
                     f"{BINDING[-1][1]} in): shorten the book or split it into volumes")
        return TooManyPages("the book has errors", report)

    def setting(self) -> str:
        """What the print PDF depends on besides the book's text (for the cache)."""
        import hashlib
        return repr((self.settings.trim, self.settings.bleed, self.proof,
                     hashlib.sha256(self.profile).hexdigest() if self.profile else None))

    # ---- boxes and PDF/X --------------------------------------------------------------------

    def boxes(self, width_pt: float, height_pt: float) -> tuple[list[float], list[float]]:
        """The TrimBox and BleedBox of a page of the trim, in the PDF's user space (WeasyPrint puts
        the trim's corner at the origin)."""
        b = self.bleed * 72
        return ([0, 0, round(width_pt, 4), round(height_pt, 4)],
                [round(-b, 4), round(-b, 4), round(width_pt + b, 4), round(height_pt + b, 4)])

    def marks(self, width_pt: float, height_pt: float) -> bytes:
        """A proof's crop marks: a content stream drawing, at each corner, the trim's two lines
        from beyond the bleed to the media's edge, in black ink (after the page's own content,
        which a `q` before it keeps from changing the graphics state)."""
        near, far = self.bleed * 72 + MARKS_GAP, self.media_bleed * 72
        lines = []
        for x in (0.0, width_pt):
            for y0, y1 in ((-far, -near), (height_pt + near, height_pt + far)):
                lines.append(f"{x:.3f} {y0:.3f} m {x:.3f} {y1:.3f} l")
        for y in (0.0, height_pt):
            for x0, x1 in ((-far, -near), (width_pt + near, width_pt + far)):
                lines.append(f"{x0:.3f} {y:.3f} m {x1:.3f} {y:.3f} l")
        return f"Q q 0 0 0 1 K {MARKS_WIDTH} w 0 J [] 0 d\n{chr(10).join(lines)}\nS Q\n".encode("ascii")

    def profile_name(self) -> str:
        from PIL import ImageCms

        try:
            profile = ImageCms.ImageCmsProfile(io.BytesIO(self.profile))
            return (ImageCms.getProfileDescription(profile) or "").strip() or "CMYK"
        except (OSError, ImageCms.PyCMSError):
            return "CMYK"

    def finisher(self, labels):
        """A WeasyPrint finisher for the book laid out as one document: `labels` (the page
        labels' finisher), the boxes, and the OutputIntent of a PDF/X-3 (WeasyPrint's pdf/x-3
        variant writes the Info keys and XMP)."""
        def finish(document, pdf):
            import pydyf

            labels(document, pdf)
            marks: dict[tuple[float, float], bytes] = {}
            opening = None
            for obj in list(pdf.objects):
                if isinstance(obj, pydyf.Dictionary) and obj.get("Type") == "/Page":
                    trim = [float(v) for v in obj["TrimBox"]]
                    size = (trim[2] - trim[0], trim[3] - trim[1])
                    trim_box, bleed_box = self.boxes(*size)
                    obj["TrimBox"] = pydyf.Array(trim_box)
                    obj["BleedBox"] = pydyf.Array(bleed_box)
                    if self.proof:
                        if opening is None:
                            opening = pydyf.Stream([b"q"])
                            pdf.add_object(opening)
                        if size not in marks:
                            stream = pydyf.Stream([self.marks(*size)], compress=True)
                            pdf.add_object(stream)
                            marks[size] = stream.reference
                        obj["Contents"] = pydyf.Array([opening.reference, obj["Contents"], marks[size]])
            if self.profile is not None:
                stream = pydyf.Stream([self.profile], pydyf.Dictionary({"N": 4}), compress=True)
                pdf.add_object(stream)
                name = self.profile_name()
                pdf.catalog["OutputIntents"] = pydyf.Array([pydyf.Dictionary({
                    "Type": "/OutputIntent", "S": "/GTS_PDFX", "OutputConditionIdentifier": pydyf.String(name),
                    "Info": pydyf.String(name), "DestOutputProfile": stream.reference})])
        return finish

    def finish_merged(self, writer, info: dict) -> None:
        """The merged PDF of the parallel layout: boxes on every page, and PDF/X-3's OutputIntent,
        Info keys, XMP metadata and version with a profile."""
        from pypdf.generic import (ArrayObject, DecodedStreamObject, DictionaryObject, FloatObject, NameObject,
                                   NumberObject, TextStringObject)

        marks: dict[tuple[float, float], object] = {}
        opening = None
        for page in writer.pages:
            trim = page.trimbox
            size = (float(trim.width), float(trim.height))
            trim_box, bleed_box = self.boxes(*size)
            page[NameObject("/TrimBox")] = ArrayObject(FloatObject(v) for v in trim_box)
            page[NameObject("/BleedBox")] = ArrayObject(FloatObject(v) for v in bleed_box)
            if self.proof:
                if opening is None:
                    opening = DecodedStreamObject()
                    opening.set_data(b"q\n")
                    opening = writer._add_object(opening)
                if size not in marks:
                    stream = DecodedStreamObject()
                    stream.set_data(self.marks(*size))
                    marks[size] = writer._add_object(stream.flate_encode())
                contents = page[NameObject("/Contents")]
                existing = list(contents.get_object()) if isinstance(contents.get_object(), ArrayObject) else [contents]
                page[NameObject("/Contents")] = ArrayObject([opening, *existing, marks[size]])
        if self.profile is None:
            return
        profile = DecodedStreamObject()
        profile.set_data(self.profile)
        profile[NameObject("/N")] = NumberObject(4)
        profile = profile.flate_encode()
        name = self.profile_name()
        intent = DictionaryObject({
            NameObject("/Type"): NameObject("/OutputIntent"), NameObject("/S"): NameObject("/GTS_PDFX"),
            NameObject("/OutputConditionIdentifier"): TextStringObject(name),
            NameObject("/Info"): TextStringObject(name),
            NameObject("/DestOutputProfile"): writer._add_object(profile)})
        writer._root_object[NameObject("/OutputIntents")] = ArrayObject([intent])
        metadata = DecodedStreamObject()
        metadata.set_data(xmp_packet())
        metadata[NameObject("/Type")] = NameObject("/Metadata")
        metadata[NameObject("/Subtype")] = NameObject("/XML")
        writer._root_object[NameObject("/Metadata")] = writer._add_object(metadata)
        writer.add_metadata({"/GTS_PDFXVersion": PDFX_VERSION, "/GTS_PDFXConformance": PDFX_VERSION})
        writer._info.get_object()[NameObject("/Trapped")] = NameObject("/False")
        writer.pdf_header = b"%PDF-1.4"


def xmp_packet() -> bytes:
    """The XMP metadata WeasyPrint writes for a PDF/X-3 (no date, no random id: reproducible)."""
    from weasyprint.pdf.metadata import DocumentMetadata

    header = b'<?xpacket begin="" id="W5M0MpCehiHzreSzNTczkc9d"?>\n<x:xmpmeta xmlns:x="adobe:ns:meta/">'
    footer = b'</x:xmpmeta>\n<?xpacket end="r"?>'
    return b"\n".join((header, DocumentMetadata().generate_rdf_metadata("x", 3, PDFX_VERSION), footer))


# ---- colours -------------------------------------------------------------------------------------

_COLOUR_PROPERTIES = ("color", "background", "border", "outline", "column-rule", "text-decoration", "box-shadow",
                      "text-shadow", "fill", "stroke", "stop-color", "flood-color", "lighting-color", "caret")


def _number(value: float) -> str:
    text = f"{max(0.0, min(1.0, value)):.3f}".rstrip("0").rstrip(".")
    return text or "0"


def cmyk_of(red: float, green: float, blue: float, alpha: float = 1.0) -> str:
    """An sRGB colour (0-1) as `device-cmyk()`: flattened on white paper, greys as black ink only."""
    red, green, blue = (1 - alpha * (1 - c) for c in (red, green, blue))
    black = 1 - max(red, green, blue)
    if black >= 1 - 1e-9:
        return "device-cmyk(0 0 0 1)"
    cyan, magenta, yellow = ((1 - c - black) / (1 - black) for c in (red, green, blue))
    return f"device-cmyk({_number(cyan)} {_number(magenta)} {_number(yellow)} {_number(black)})"


def _convert_token(token):
    """A component value that is an RGB (or HSL, HWB...) colour, as device-cmyk tokens; else None."""
    import tinycss2
    from tinycss2.color5 import parse_color

    try:
        color = parse_color(token)
    except Exception:  # an unusual token tinycss2's colour parser does not expect
        return None
    if color is None or isinstance(color, str) or getattr(color, "space", None) == "device-cmyk":
        return None
    try:
        *channels, alpha = color.to("srgb")
    except Exception:
        return None
    if alpha <= 0:
        return None  # transparent: nothing is painted
    return tinycss2.parse_component_value_list(cmyk_of(*[min(1.0, max(0.0, c)) for c in channels], alpha))


def _convert_values(tokens: list, idents: bool) -> list:
    out = []
    for token in tokens:
        kind = getattr(token, "type", "")
        if kind in ("hash", "function") or (idents and kind == "ident"):
            converted = _convert_token(token)
            if converted is not None:
                out.extend(converted)
                continue
            if kind == "function":
                token.arguments = _convert_values(token.arguments, idents)
        out.append(token)
    return out


def _convert_block(content: list) -> list:
    import tinycss2

    nodes = tinycss2.parse_blocks_contents(content)
    for node in nodes:
        if node.type == "declaration":
            name = node.lower_name
            node.value = _convert_values(node.value, any(p in name for p in _COLOUR_PROPERTIES))
        elif node.type in ("at-rule", "qualified-rule") and node.content is not None:
            node.content = _convert_block(node.content)
    return nodes


def cmyk_css(css: str) -> str:
    """A stylesheet with every colour given in device-cmyk() (see `cmyk_of`)."""
    import tinycss2

    rules = tinycss2.parse_stylesheet(css)
    for rule in rules:
        if rule.type == "qualified-rule":
            rule.content = _convert_block(rule.content)
        elif rule.type == "at-rule" and rule.content is not None:
            if rule.lower_at_keyword in ("media", "supports", "layer", "document", "container"):
                nested = tinycss2.parse_rule_list(rule.content)
                rule.content = tinycss2.parse_component_value_list(cmyk_css(tinycss2.serialize(nested)))
            elif rule.lower_at_keyword != "font-face":
                rule.content = _convert_block(rule.content)
    return tinycss2.serialize(rules)


# an attribute follows white space (matching from there is ten times faster than a look-behind)
_SVG_COLOUR_ATTR = re.compile(r'(\s(?:fill|stroke|stop-color|flood-color|lighting-color|color))'
                              r'(\s*=\s*)("[^"]*"|\'[^\']*\')')
_STYLE_ATTR = re.compile(r'(\sstyle)(\s*=\s*)("[^"]*"|\'[^\']*\')')
_STYLE_ELEMENT = re.compile(r"(<style\b[^>]*>)(.*?)(</style>)", re.S | re.I)
_SVG_ROOT = re.compile(r"<svg\b[^>]*>", re.I)
BLACK = "device-cmyk(0 0 0 1)"


@functools.lru_cache(maxsize=4096)
def _colour_value(text: str) -> str:
    """A presentation attribute's value (`fill="#1a1a1a"`) with its colour in CMYK (formulas
    repeat a handful of values thousands of times: each is converted once)."""
    import tinycss2

    tokens = tinycss2.parse_component_value_list(text)
    return tinycss2.serialize(_convert_values(tokens, True)).strip() if tokens else text


def _declarations(text: str) -> str:
    import tinycss2

    return tinycss2.serialize(_convert_block(tinycss2.parse_component_value_list(text)))


def cmyk_svg(svg: str) -> str:
    """An SVG with its colours in device-cmyk(): presentation attributes, style attributes and
    style elements; black for what it leaves to the default (fill, currentColor)."""
    def attribute(match: re.Match, convert) -> str:
        quote = match.group(3)[0]
        value = match.group(3)[1:-1]
        return f"{match.group(1)}{match.group(2)}{quote}{convert(value).replace(quote, '')}{quote}"

    def style_element(match: re.Match) -> str:
        body = match.group(2)
        cdata = body.strip().startswith("<![CDATA[")
        inner = body.strip()[9:-3] if cdata and body.strip().endswith("]]>") else body
        converted = cmyk_css(inner)
        return match.group(1) + (f"<![CDATA[{converted}]]>" if cdata else converted) + match.group(3)

    svg = _STYLE_ELEMENT.sub(style_element, svg)
    svg = _SVG_COLOUR_ATTR.sub(lambda m: attribute(m, _colour_value), svg)
    svg = _STYLE_ATTR.sub(lambda m: attribute(m, _declarations), svg)
    root = _SVG_ROOT.search(svg)
    if root is not None:
        tag = root.group(0)
        extra = "".join(f' {name}="{BLACK}"' for name in ("fill", "color")
                        if not re.search(rf"(?<![\w:-]){name}\s*=", tag))
        if extra:
            end = len(tag) - (2 if tag.endswith("/>") else 1)
            svg = svg[:root.start()] + tag[:end] + extra + tag[end:] + svg[root.end():]
    return svg


# ---- images --------------------------------------------------------------------------------------

_DATA_URI = re.compile(r"data:(image/[a-z0-9.+-]+);base64,([A-Za-z0-9+/=]+)")


def cmyk_raster(data: bytes, profile: bytes) -> tuple[str, bytes] | None:
    """A raster image for PDF/X-3: (mime, bytes) converted to CMYK through the output profile (a
    JPEG at quality 95, no chroma subsampling) or kept grey (PNG), transparency flattened on
    white; None when Pillow cannot read it (it is left as it is)."""
    from PIL import Image, ImageCms

    try:
        image = Image.open(io.BytesIO(data))
        image.load()
    except Exception:
        return None
    source_profile = image.info.get("icc_profile")
    if image.mode == "CMYK":
        out = io.BytesIO()
        image.save(out, "JPEG", quality=95, subsampling=0)
        return "image/jpeg", out.getvalue()
    if image.mode in ("1", "L", "LA", "I", "I;16") or (image.mode == "P" and _grey_palette(image)):
        grey = image.convert("LA")
        flat = Image.new("L", image.size, 255)
        flat.paste(grey.getchannel("L"), mask=grey.getchannel("A"))
        out = io.BytesIO()
        flat.save(out, "PNG")
        return "image/png", out.getvalue()
    rgba = image.convert("RGBA")
    flat = Image.new("RGB", image.size, (255, 255, 255))
    flat.paste(rgba.convert("RGB"), mask=rgba.getchannel("A"))
    try:
        source = (ImageCms.ImageCmsProfile(io.BytesIO(source_profile)) if source_profile
                  else ImageCms.createProfile("sRGB"))
        target = ImageCms.ImageCmsProfile(io.BytesIO(profile))
        cmyk = ImageCms.profileToProfile(flat, source, target, renderingIntent=ImageCms.Intent.RELATIVE_COLORIMETRIC,
                                         outputMode="CMYK", flags=ImageCms.Flags.BLACKPOINTCOMPENSATION)
    except (ImageCms.PyCMSError, OSError):
        cmyk = flat.convert("CMYK")
    out = io.BytesIO()
    cmyk.save(out, "JPEG", quality=95, subsampling=0)
    return "image/jpeg", out.getvalue()


def _grey_palette(image) -> bool:
    palette = image.getpalette() or []
    return all(palette[i] == palette[i + 1] == palette[i + 2] for i in range(0, len(palette) - 2, 3))


def print_html(html: str, profile: bytes | None) -> str:
    """The book's HTML for print: its <style> elements' colours in CMYK, its SVG images (figures,
    formulas) in CMYK, and with a profile its raster images converted (`cmyk_raster`). Each
    distinct image is converted once."""
    body = html.find("<body")  # pandoc's highlighting CSS is in the head; book text has no <style>
    head, html = (html[:body], html[body:]) if body >= 0 else (html, "")
    html = _STYLE_ELEMENT.sub(lambda m: m.group(1) + cmyk_css(m.group(2)) + m.group(3), head) + html

    @functools.lru_cache(maxsize=None)
    def convert(mime: str, payload: str) -> str:
        try:
            data = base64.b64decode(payload, validate=True)
        except (binascii.Error, ValueError):
            return f"data:{mime};base64,{payload}"
        if mime == "image/svg+xml":
            try:
                text = data.decode("utf-8")
            except UnicodeDecodeError:
                return f"data:{mime};base64,{payload}"
            # and the raster images an SVG holds as data: URLs, as the book's own
            text = _DATA_URI.sub(lambda m: convert(m.group(1), m.group(2)), cmyk_svg(text))
            return "data:image/svg+xml;base64," + base64.b64encode(text.encode("utf-8")).decode("ascii")
        if profile is None:
            return f"data:{mime};base64,{payload}"
        converted = cmyk_raster(data, profile)
        if converted is None:
            return f"data:{mime};base64,{payload}"
        return f"data:{converted[0]};base64," + base64.b64encode(converted[1]).decode("ascii")

    return _DATA_URI.sub(lambda m: convert(m.group(1), m.group(2)), html)


# ---- check -------------------------------------------------------------------------------------

def check_print(book: Book, scans, report: Report) -> None:
    """The print edition's checks: images' resolution and fonts' licences (module docstring)."""
    if book.meta.print is None or book.meta.print.trim not in TRIM_SIZES:
        return
    check_profile(book, report)
    check_resolution(book, scans, report)
    check_fonts(book, report)


def check_profile(book: Book, report: Report) -> None:
    """`print.icc_profile` must be a CMYK profile: a PDF/X-3's OutputIntent describes the press."""
    settings = book.meta.print
    if not settings.icc_profile:
        return
    path = book.root / "book" / settings.icc_profile
    try:
        with open(path, "rb") as fh:
            head = fh.read(128)
    except OSError:
        return  # reported where print: is loaded
    where = settings.pos or Pos(str(book.meta.path))
    if len(head) < 128 or head[36:40] != b"acsp":
        report.error(where, f"print: icc_profile book/{settings.icc_profile} is not an ICC profile")
    elif head[16:20] != b"CMYK":
        space = head[16:20].decode("ascii", "replace").strip()
        report.error(where, f"print: icc_profile book/{settings.icc_profile} is a profile of {space} colours, not "
                     "CMYK: the interior's PDF/X-3 needs the printer's CMYK profile (ask the service, or leave "
                     "icc_profile out for a plain PDF)")


def check_resolution(book: Book, scans, report: Report) -> None:
    """A warning for each raster image that prints below MIN_DPI in the print edition."""
    from PIL import Image

    from .validate import resolve_image

    width = text_width(book.meta.print.trim)
    seen: dict[Path, tuple[int, float] | None] = {}
    for scan, source in scans:
        for image in scan.images:
            if image.in_code or not image.url.lower().endswith(RASTER_SUFFIXES):
                continue
            target, problem = resolve_image(image.url, source, book.root)
            if target is None or problem:
                continue  # reported as an error already
            if target not in seen:
                try:
                    with Image.open(target) as opened:
                        pixels = opened.size[0]
                except Exception:
                    seen[target] = None
                    continue
                printed = min(pixels / CSS_PX_PER_INCH, width)
                seen[target] = (pixels, printed)
            if seen[target] is None:
                continue
            pixels, printed = seen[target]
            dpi = pixels / printed
            if dpi < MIN_DPI:
                report.warning(image.pos, f"image {image.url!r} prints at {dpi:.0f} dpi in the print edition "
                               f"({pixels} pixels across {printed:.2f} in), below the {MIN_DPI} dpi print needs: "
                               f"make it at least {math.ceil(MIN_DPI * width)} pixels wide (the "
                               f"{book.meta.print.trim} text block is {width:.2f} in wide; an image is printed "
                               f"{CSS_PX_PER_INCH} pixels an inch, never wider than the text)")


@dataclass(frozen=True)
class FontUse:
    families: tuple[str, ...]
    pos: Pos


def _families(tokens: list, shorthand: bool) -> tuple[str, ...]:
    """The family names of a `font-family` value, or of a `font` shorthand (after its size)."""
    groups: list[list] = [[]]
    for token in tokens:
        if token.type == "literal" and token.value == ",":
            groups.append([])
        elif token.type not in ("whitespace", "comment"):
            groups[-1].append(token)
    if shorthand:
        first = groups[0]
        cut = max((i for i, t in enumerate(first)
                   if t.type in ("dimension", "percentage", "number") or (t.type == "literal" and t.value == "/")),
                  default=None)
        if cut is None:
            return ()
        groups[0] = first[cut + 1:]
        if groups[0] and groups[0][0].type in ("dimension", "percentage", "number"):
            groups[0] = groups[0][1:]
    names = []
    for group in groups:
        if len(group) == 1 and group[0].type == "string":
            names.append(group[0].value)
        elif group and all(t.type == "ident" for t in group):
            names.append(" ".join(t.value for t in group))
    return tuple(n for n in names if n.lower() not in ("inherit", "initial", "unset", "revert"))


def _font_uses(path: Path) -> tuple[list[FontUse], dict[str, tuple[str, bytes, Pos]]]:
    """Where a stylesheet names fonts, and its @font-face fonts given as data: URLs (by family,
    in lower case: the name as written, the font, the rule's place)."""
    import tinycss2

    try:
        css = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return [], {}
    uses: list[FontUse] = []
    faces: dict[str, tuple[str, bytes, Pos]] = {}

    def walk(nodes) -> None:
        for node in nodes:
            if node.type == "declaration" and node.lower_name in ("font-family", "font"):
                families = _families(node.value, node.lower_name == "font")
                if families:
                    uses.append(FontUse(families, Pos(str(path), node.source_line, node.source_column)))
            elif node.type == "at-rule" and node.lower_at_keyword == "font-face" and node.content is not None:
                family, sources = None, []
                for decl in tinycss2.parse_blocks_contents(node.content, skip_whitespace=True, skip_comments=True):
                    if decl.type != "declaration":
                        continue
                    if decl.lower_name == "font-family":
                        found = _families(decl.value, False)
                        family = found[0] if found else None
                    elif decl.lower_name == "src":
                        sources += [t for t in _tokens(decl.value) if t.type in ("url", "function")]
                for token in sources:
                    if token.type == "url":
                        url = token.value
                    elif token.lower_name == "url":  # url("...") with quotes
                        url = next((a.value for a in token.arguments if a.type == "string"), "")
                    else:
                        url = ""
                    if family and url.startswith("data:") and ";base64," in url[:200]:
                        try:
                            data = base64.b64decode(url.split(";base64,", 1)[1])
                        except (binascii.Error, ValueError):
                            continue
                        faces.setdefault(family.lower(), (family, data, Pos(str(path), node.source_line,
                                                                            node.source_column)))
            elif node.type in ("at-rule", "qualified-rule") and node.content is not None:
                walk(tinycss2.parse_blocks_contents(node.content, skip_whitespace=True, skip_comments=True))

    walk(tinycss2.parse_stylesheet(css, skip_whitespace=True, skip_comments=True))
    return uses, faces


def _tokens(values):
    for token in values:
        yield token
        if getattr(token, "type", "") == "function":
            yield from _tokens(token.arguments)


def embedding_forbidden(data: bytes | None = None, path: str | None = None, index: int = 0) -> bool | None:
    """Whether a font's OS/2 fsType says its licence forbids embedding (2: restricted licence);
    None when the font cannot be read."""
    from fontTools.ttLib import TTFont

    try:
        font = TTFont(io.BytesIO(data) if data is not None else path, fontNumber=index, lazy=True)
        os2 = font["OS/2"] if "OS/2" in font else None
        return bool(os2 is not None and (os2.fsType & 0x000F) == 0x0002)
    except Exception:
        return None


@functools.lru_cache(maxsize=256)
def fontconfig_match(families: tuple[str, ...], bold: bool, italic: bool) -> tuple[str, int] | None:
    """The font file (and face index) fontconfig picks for a family list in a style, as Pango
    does for WeasyPrint; None without fc-match."""
    pattern = ",".join(f.replace("\\", "\\\\").replace(",", "\\,").replace(":", "\\:").replace("-", "\\-")
                       for f in families)
    pattern += ":weight=" + ("bold" if bold else "regular") + ":slant=" + ("italic" if italic else "roman")
    try:
        done = subprocess.run(["fc-match", "-f", "%{file}\t%{index}", pattern], capture_output=True, text=True,
                              timeout=20)
    except (OSError, subprocess.SubprocessError):
        return None
    file, _, index = done.stdout.partition("\t")
    if done.returncode != 0 or not file:
        return None
    return file, int(index) if index.strip().isdigit() else 0


@functools.lru_cache(maxsize=256)
def _file_forbidden(path: str, index: int) -> bool | None:
    return embedding_forbidden(path=path, index=index)


def check_fonts(book: Book, report: Report) -> None:
    """An error for each font pdf.css or print.css uses whose licence forbids embedding."""
    from .templating import find_template

    uses: list[FontUse] = []
    faces: dict[str, tuple[str, bytes, Pos]] = {}
    for name in ("pdf.css", "print.css"):
        try:
            path = find_template(book.root, name)
        except FileNotFoundError:
            continue
        found, own = _font_uses(path)
        uses += found
        for family, face in own.items():
            faces.setdefault(family, face)
    told: set[str] = set()
    for key, (family, data, pos) in faces.items():
        if embedding_forbidden(data=data):
            told.add(key)
            report.error(pos, f"font {family!r} (this @font-face's data: source) forbids embedding: its licence "
                         "(OS/2 fsType 2, restricted) does not let a PDF carry it, and a printer needs every font "
                         "embedded; use a font whose licence allows embedding")
    for use in uses:
        key = use.families[0].lower()
        if key in faces:
            if key in told:
                report.error(use.pos, f"font {use.families[0]!r} forbids embedding (OS/2 fsType 2, restricted "
                             f"licence; its @font-face is at {faces[key][2]})")
            continue
        for bold in (False, True):
            for italic in (False, True):
                match = fontconfig_match(use.families, bold, italic)
                if match is None or match[0] in told:
                    continue
                if _file_forbidden(*match):
                    told.add(match[0])
                    style = " ".join(s for s, on in (("bold", bold), ("italic", italic)) if on) or "regular"
                    report.error(use.pos, f"font {Path(match[0]).name} ({style}), which fontconfig picks for "
                                 f"{', '.join(repr(f) for f in use.families)}, forbids embedding: its licence (OS/2 "
                                 "fsType 2, restricted) does not let a PDF carry it, and a printer needs every "
                                 "font embedded; name another font first")
