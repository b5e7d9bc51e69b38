"""The EPUB's file of an unchanged chapter is not written again by pandoc.

pandoc's EPUB writer cuts the book into one XHTML file per page (a heading of level 1 or 2
starts one, as html_pages.py cuts the site) and writes each from that page's blocks alone,
with three things from elsewhere: its file's number (chNNN.xhtml, in its <title>), the file
that holds the target of each of its links to an `#id` (the first file whose divs, spans,
headings, tables, links, images or raw HTML carry that id), and the name it gives each image
(media/fileN.ext: images are numbered in the order pandoc first meets their URLs in the book).
Footnotes are numbered in each file anew. So a chapter file is kept in the cache, keyed by its
page's blocks and by those three; pandoc is given the book with every page whose file is known
cut down to a stand-in, and the known files are put back into the zip it wrote.

A page's stand-in is its headings (the contents and landmarks, and pandoc's files, stay as they
were), its images in their order (pandoc names and packs them as before, and the manifest lists
them) and an empty anchor for each of its ids (links from the pages written in full find their
file). What pandoc decides from a whole file, the `properties` of its manifest item (mathml,
svg), is kept beside the file and put back with it.

One answer edited: pandoc writes the chapter it is in, not the other hundred. The EPUB is the
same, byte for byte, as a run over the whole book gives (tests/test_epub_incremental.py); a book
this plan does not fit (see html_pages.cut_blocks; raw HTML that names an image or other media,
which pandoc packs too and a stand-in does not keep) is written whole every time, and a chapter
with a heading inside a block or a heading without an id is written in full every time.
"""

from __future__ import annotations

import html
import json
import re
import zipfile
from pathlib import Path

from ..cache import code_digest, digest
from ..tree import IMAGE_NODE, json_blocks
from .html_pages import HEADING, UNNAMED_HEADING, Page, anchors, cut_blocks, page_ids

CHAPTER_FILE = re.compile(r"^EPUB/text/(ch[0-9]+\.xhtml)$")
MANIFEST = "EPUB/content.opf"
_FIRST_SECTION = re.compile(r'<body\b[^>]*>\s*<section id="([^"]*)"')
_ITEM = re.compile(r'(<item id="[^"]*" href="text/(ch[0-9]+\.xhtml)" media-type="application/xhtml\+xml")'
                   r'((?: properties="[^"]*")?)( />)')
_RAW = re.compile(r'\{"t": "Raw(?:Block|Inline)", "c": \["(?:html|html4|html5)", ')
_RAW_MEDIA = re.compile(r"<(?:img|video|audio|source)\b", re.I)

Entries = list[tuple[zipfile.ZipInfo, bytes]]


def book_blocks(payload: str) -> tuple[str, list[str]] | None:
    """The book's JSON, as `tree.to_json_text` writes it, as the text before its blocks and the
    text of each block; None when it is written otherwise."""
    decoder = json.JSONDecoder()
    start = payload.find('"meta": ')
    if start < 0:
        return None
    try:
        _, at = decoder.raw_decode(payload, start + len('"meta": '))
        opening = ', "blocks": ['
        if not payload.startswith(opening, at):
            return None
        head = payload[:at + len(opening) - 1]
        blocks, at = json_blocks(payload, at + len(opening))
    except ValueError:
        return None
    return (head, blocks) if payload[at:] == "]}" else None


def book_json(head: str, blocks: list[str]) -> str:
    """The book's JSON again from `book_blocks`'s parts (with other blocks, if so)."""
    return f"{head}[{', '.join(blocks)}]}}"


def cut(blocks: list[str]) -> list[Page] | None:
    """The book's pages as pandoc's EPUB writer makes its files (html_pages.cut_blocks), or None."""
    pages = cut_blocks(blocks)
    if pages is None:
        return None
    for page in pages:
        for text in page.blocks:
            if any(_RAW_MEDIA.search(text, m.end()) for m in _RAW.finditer(text)):
                return None  # media in raw HTML: pandoc names and packs them too
            if UNNAMED_HEADING.search(text):
                page.whole = True  # pandoc makes its id, unique among the book's headings
    return pages


def _images(text: str) -> list[tuple[str, str]]:
    """The images of a block, outermost only (an image inside another's text goes with it), in
    order: each as (its pandoc JSON as it stands in the text, its URL)."""
    decoder = json.JSONDecoder()
    found: list[tuple[str, str]] = []
    end = 0
    for match in IMAGE_NODE.finditer(text):
        if match.start() < end:
            continue
        node, end = decoder.raw_decode(text, match.start())
        found.append((text[match.start():end], node["c"][2][0]))
    return found


def plan(pages: list[Page], store, setting: str) -> None:
    """Find each page's file in the cache; set each page's stand-in.

    A file's key: the page's blocks, its number (and the level of the book's first heading: above a
    level 2, pandoc puts a chapter of its own), the page of each of its links' targets, the URL
    of every image from the book's start to its own last one (when it has images), and `setting`
    (pandoc's options and the book's language)."""
    holder: dict[str, int] = {}  # an id: the first page that has it
    media = ""  # the URLs of every image so far
    parts = []
    for number, page in enumerate(pages):
        content = digest(*page.blocks)
        outline_key = digest(code_digest(), "epub-page-outline", content)
        known = store.get(outline_key)
        outline = json.loads(known) if known is not None else None
        if not (isinstance(outline, list) and len(outline) == 2):
            links: list[str] = []
            outline = [page_ids(page.blocks, links), links]
            store.put(outline_key, json.dumps(outline))
        page.ids, links = outline
        for ident in page.ids:
            holder.setdefault(ident, number)
        stand_in: list[str] = []
        urls: list[str] = []
        for text in page.blocks:
            images = _images(text)
            urls.extend(url for _, url in images)
            if text.startswith('{"t": "Header", '):
                stand_in.append(text)
            elif images:
                stand_in.append('{"t": "Plain", "c": [%s]}' % ", ".join(node for node, _ in images))
        page.stand_in = stand_in + anchors(page.ids)
        if urls:
            media = digest(media, *urls)
        parts.append((content, links, media if urls else ""))
    first = HEADING.match(pages[0].headings[0]).group(1) if pages else ""
    for number, (page, (content, links, images)) in enumerate(zip(pages, parts)):
        targets = [holder.get(target, -1) for target in links]
        page.key = digest(code_digest(), "epub-page-file", setting, content, json.dumps([first, number, targets]),
                          images)
        page.body = None if page.whole else store.get(page.key)


def read_epub(path: Path) -> Entries:
    """The entries of an EPUB, in order, each with its data."""
    with zipfile.ZipFile(path) as z:
        return [(info, z.read(info)) for info in z.infolist()]


def write_epub(path: Path, entries: Entries) -> None:
    """Write the entries as they came (order, dates, compression, attributes): every build, the
    same bytes for the same entries (pandoc's own zip is written again, cold or not)."""
    with zipfile.ZipFile(path, "w") as z:
        for info, data in entries:
            copy = zipfile.ZipInfo(info.filename, info.date_time)
            copy.compress_type, copy.external_attr, copy.create_system = \
                info.compress_type, info.external_attr, info.create_system
            z.writestr(copy, data)


def put_back(entries: Entries, pages: list[Page], store) -> bool:
    """Known files into the EPUB pandoc wrote (and their manifest items' properties), the files
    pandoc wrote in full into the cache; False when a page's file is not found as planned (then
    the caller has pandoc write the whole book)."""
    files: dict[str, int] = {}  # a page's id: its file's place in `entries`
    for at, (info, data) in enumerate(entries):
        if CHAPTER_FILE.match(info.filename):
            first = _FIRST_SECTION.search(data.decode("utf-8"))
            if first:
                ident = html.unescape(first.group(1))
                if ident in files:
                    return False
                files[ident] = at
    manifest = next((at for at, (info, _) in enumerate(entries) if info.filename == MANIFEST), None)
    if manifest is None or any(page.ident not in files for page in pages):
        return False
    opf = entries[manifest][1].decode("utf-8")
    properties = {m.group(2): m.group(3) for m in _ITEM.finditer(opf)}
    known: list[tuple[int, dict]] = []
    for page in pages:
        if page.whole:
            continue
        at = files[page.ident]
        name = CHAPTER_FILE.match(entries[at][0].filename).group(1)
        if name not in properties:
            return False
        if page.body is None:
            continue
        try:
            kept = json.loads(page.body)
            known.append((at, {"file": str(kept["file"]), "properties": str(kept["properties"])}))
        except (ValueError, KeyError, TypeError):
            return False
    for page in pages:
        if not page.whole and page.body is None:
            info, data = entries[files[page.ident]]
            name = CHAPTER_FILE.match(info.filename).group(1)
            store.put(page.key, json.dumps({"file": data.decode("utf-8"), "properties": properties[name]},
                                           ensure_ascii=False))
    for at, kept in known:
        info = entries[at][0]
        entries[at] = (info, kept["file"].encode("utf-8"))
        properties[CHAPTER_FILE.match(info.filename).group(1)] = kept["properties"]
    opf = _ITEM.sub(lambda m: m.group(1) + properties[m.group(2)] + m.group(4), opf)
    entries[manifest] = (entries[manifest][0], opf.encode("utf-8"))
    return True
