"""The PDF edition: pandoc → HTML → WeasyPrint, math as SVG, images embedded."""

from __future__ import annotations

import base64
import functools
import json
import logging
import mimetypes
import os
import re
from pathlib import Path

import panflute as pf

from ..output import temp_beside, write_atomic
from ..pandoc import run_pandoc
from ..templating import find_template
from ..texmath import tex_to_html
from .base import Builder, BuildContext, dump

# page size; top, bottom; inner (binding) and outer margins: mirrored for print
PAGE_CSS = {"a4": ("A4", "22mm", "24mm", "24mm", "17mm"),
            "letter": ("letter", "20mm", "22mm", "24mm", "17mm"),
            "6x9": ("6in 9in", "15mm", "18mm", "19mm", "13mm")}
SHORT = 700  # characters: answers shorter than this are never split across pages
MATH_PX = 15.0  # ziamath size (px) matching the 10.5 pt body text


@functools.lru_cache(maxsize=None)
def math_image(tex: str, display: bool) -> tuple[str, float, float, float] | None:
    """A formula as an SVG data URI, its width and height and its depth below the baseline (px); cached."""
    import ziamath
    ziamath.config.svg2 = False  # plain paths, no <symbol>/<use>: WeasyPrint draws them faster
    try:
        svg = ziamath.Math.fromlatex(tex, size=MATH_PX, inline=not display).svg()
    except Exception:  # ziamath raises many kinds of errors on TeX it cannot read
        return None
    box = re.search(r'viewBox="([-\d.]+) ([-\d.]+) ([-\d.]+) ([-\d.]+)"', svg)
    if box is None:
        return None
    _, min_y, width, height = (float(v) for v in box.groups())
    uri = "data:image/svg+xml;base64," + base64.b64encode(svg.encode("utf-8")).decode("ascii")
    return uri, width, height, height + min_y  # the baseline is at y = 0 in the SVG


def _html_escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace('"', "&quot;")


def typeset_math(doc: pf.Doc, problems: list[str]) -> None:
    """Replace every Math element by an SVG image (WeasyPrint renders no MathML)."""
    def action(elem, d):
        if not isinstance(elem, pf.Math):
            return None
        display = elem.format == "DisplayMath"
        if not display:
            text = tex_to_html(elem.text)
            if text is not None:
                return pf.RawInline(f'<span class="math-text">{text}</span>', format="html")
        rendered = math_image(elem.text, display)
        if rendered is None:
            problems.append(f"cannot typeset the formula {elem.text!r}; it is printed as code")
            return pf.Code(elem.text, classes=["math-source"])
        uri, width, height, depth = rendered
        cls = "math display" if display else "math"
        style = f"width:{width:.2f}px;height:{height:.2f}px"
        if not display:
            style += f";vertical-align:{-depth:.2f}px"
        return pf.RawInline(f'<img class="{cls}" alt="{_html_escape(elem.text)}" src="{uri}" style="{style}" />',
                            format="html")
    doc.walk(action)


def embed_images(doc: pf.Doc, root: Path) -> None:
    """Images as data: URIs: no file access from WeasyPrint, and the same bytes wherever the book is."""
    def action(elem, d):
        if isinstance(elem, pf.Image) and not elem.url.startswith("data:"):
            path = root / elem.url
            mime = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
            elem.url = f"data:{mime};base64," + base64.b64encode(path.read_bytes()).decode("ascii")
    doc.walk(action)


def footnotes_in_margin(doc: pf.Doc) -> None:
    """Notes become spans that CSS floats to the page foot (`float: footnote`)."""
    def action(elem, d):
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
    doc.walk(action)


def page_css(size: str) -> str:
    name, top, bottom, inner, outer = PAGE_CSS[size]
    return (f"@page {{ size: {name}; margin: {top} {outer} {bottom} {inner}; }}\n"
            f"@page :left {{ margin-left: {outer}; margin-right: {inner}; }}\n"
            f"@page :right {{ margin-left: {inner}; margin-right: {outer}; }}\n"
            + ("html { font-size: 10pt; }\n" if size == "6x9" else ""))


def mark_short_blocks(doc: pf.Doc) -> None:
    """Short answers (and questions) get the class `short`: CSS keeps them on one page."""
    def action(elem, d):
        if isinstance(elem, pf.Div) and {"answer", "question"} & set(elem.classes):
            if len(pf.stringify(elem)) < SHORT:
                elem.classes.append("short")
    doc.walk(action)


def _fetcher_class():
    from weasyprint.urls import URLFetcher

    class DataOnlyFetcher(URLFetcher):
        """Everything the PDF needs is embedded; any other URL is refused (no files, no network)."""

        def fetch(self, url, headers=None):
            if url.startswith("data:"):
                return super().fetch(url, headers)
            raise ValueError(f"refused to fetch {url!r}: outputs use only embedded resources")
    return DataOnlyFetcher


class _Collect(logging.Handler):
    def __init__(self):
        super().__init__(logging.WARNING)
        self.messages: list[str] = []

    def emit(self, record):
        self.messages.append(record.getMessage())


class PdfBuilder(Builder):
    name = "pdf"

    def build(self, ctx: BuildContext) -> list[Path]:
        import weasyprint

        root = ctx.book.root
        target = ctx.out_dir / f"{ctx.book.meta.slug}.pdf"
        doc = ctx.document()
        problems: list[str] = []
        footnotes_in_margin(doc)
        mark_short_blocks(doc)
        typeset_math(doc, problems)
        embed_images(doc, root)
        html = run_pandoc(["-f", "json", "-t", "html5", "--standalone", "--toc", "--toc-depth=2",
                           f"--template={find_template(root, 'pdf.html')}",
                           "-V", f"version={ctx.book.meta.version}", "-V", f"year={ctx.date.when.year}"],
                          dump(doc))
        css = find_template(root, "pdf.css").read_text(encoding="utf-8")
        css += "\n" + page_css(ctx.page_size)
        handler = _Collect()
        logger = logging.getLogger("weasyprint")
        logger.addHandler(handler)
        try:
            document = weasyprint.HTML(string=html, base_url=root.as_uri() + "/",
                                       url_fetcher=_fetcher_class()()).render(
                stylesheets=[weasyprint.CSS(string=css)])
            pagemap = {}
            for number, page in enumerate(document.pages, 1):
                for anchor in page.anchors:
                    if anchor.startswith("q-"):
                        pagemap.setdefault(anchor[2:], number)
            tmp = temp_beside(target)
            try:
                options = {"pdf_variant": ctx.pdf_variant} if ctx.pdf_variant else {}
                document.write_pdf(tmp, pdf_identifier=ctx.book.meta.identifier.encode("utf-8")[:32], **options)
                os.replace(tmp, target)
            finally:
                tmp.unlink(missing_ok=True)
        finally:
            logger.removeHandler(handler)
        pagemap_path = ctx.out_dir / "pagemap.json"
        write_atomic(pagemap_path, json.dumps(dict(sorted(pagemap.items())), indent=1) + "\n")
        # WeasyPrint also reports CSS it ignores (pandoc's highlighting CSS has some): not the author's concern
        self.warnings = problems + [f"PDF layout: {m}" for m in handler.messages if not m.startswith("Ignored")]
        return [target, pagemap_path]
