"""Reading built outputs in tests: ids and links of the HTML site, the EPUB and the PDF."""

from __future__ import annotations

import posixpath
import zipfile
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote, urlsplit


@dataclass
class Page:
    ids: set[str] = field(default_factory=set)
    links: list[tuple[str, dict]] = field(default_factory=list)  # (href, attrs of the <a>)
    elements: dict[str, tuple[str, dict]] = field(default_factory=dict)  # id -> (tag, attrs)


class _Parser(HTMLParser):
    def __init__(self, page: Page):
        super().__init__(convert_charrefs=True)
        self.page = page

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if "id" in a:
            self.page.ids.add(a["id"])
            self.page.elements[a["id"]] = (tag, a)
        if tag == "a" and "href" in a:
            self.page.links.append((a["href"], a))

    handle_startendtag = handle_starttag


def parse_page(text: str) -> Page:
    page = Page()
    _Parser(page).feed(text)
    return page


def site_pages(folder: Path) -> dict[str, Page]:
    return {p.relative_to(folder).as_posix(): parse_page(p.read_text(encoding="utf-8"))
            for p in sorted(folder.rglob("*.html"))}


def epub_pages(path: Path) -> dict[str, Page]:
    with zipfile.ZipFile(path) as z:
        return {n: parse_page(z.read(n).decode("utf-8")) for n in z.namelist() if n.endswith((".xhtml", ".html"))}


def broken_links(pages: dict[str, Page], files: set[str] | None = None) -> list[str]:
    """Every internal link whose file or fragment does not exist."""
    files = set(pages) | (files or set())
    out = []
    for name, page in pages.items():
        for href, _ in page.links:
            parts = urlsplit(href)
            if parts.scheme or href.startswith("//"):
                continue
            target = posixpath.normpath(posixpath.join(posixpath.dirname(name), unquote(parts.path))) if parts.path else name
            if target not in files:
                out.append(f"{name}: {href} (no file {target})")
            elif parts.fragment and target in pages and unquote(parts.fragment) not in pages[target].ids:
                out.append(f"{name}: {href} (no id {parts.fragment})")
    return out


def find_id(pages: dict[str, Page], ident: str) -> str | None:
    return next((name for name, page in pages.items() if ident in page.ids), None)


@dataclass
class PdfLinks:
    links: list[tuple[int, str]]  # (0-based page, destination name) of every internal link annotation
    dests: dict[str, int]  # named destination -> 0-based page

    def pages_linking_to(self, name: str) -> set[int]:
        return {page for page, target in self.links if target == name}


def pdf_links(path: Path) -> PdfLinks:
    """The PDF's internal link annotations and named destinations."""
    from pypdf import PdfReader

    reader = PdfReader(str(path))
    links = []
    for number, page in enumerate(reader.pages):
        for annot in page.get("/Annots") or []:
            annot = annot.get_object()
            if annot.get("/Subtype") != "/Link":
                continue
            dest = annot.get("/Dest")
            action = annot.get("/A")
            if dest is None and action is not None:
                dest = action.get_object().get("/D")
            if dest is not None and isinstance(dest, str):
                links.append((number, str(dest)))
    dests = {name: reader.get_destination_page_number(d) for name, d in reader.named_destinations.items()}
    return PdfLinks(links, dests)
