"""The EPUB 3 edition, split into one file per chapter, with a cover and pop-up answers; after an
edit pandoc writes only the chapter files that changed (epub_pages.py)."""

from __future__ import annotations

import json
import os
import re
import tempfile
from pathlib import Path

import panflute as pf

from ..filters._text import words

from ..output import give_back_memory, temp_beside
from ..pandoc import run_pandoc
from ..templating import find_template
from ..tree import change_image_urls, rewrite
from .base import COVER_IMAGES, BuildContext, Builder, chapters_at_top, dump
from .epub_pages import CHAPTER_FILE, Entries, book_blocks, book_json, cut, plan, put_back, read_epub, write_epub
from .html_pages import blocks_for_pandoc
from .pdf import data_uri, embed_images

# what every pandoc run for the EPUB is told (with the output, CSS, cover and rights of the build)
PANDOC_ARGS = ["-f", "json", "-t", "epub3", "--split-level=2", "--toc", "--toc-depth=2", "--mathml"]

# A cover of the book's own, if it has one; else one is drawn from the title.
COVER_SIZE = (1600, 2560)  # the 1:1.6 portrait most stores ask for
COVER_FONTS = {
    "bold": ("/usr/share/fonts/truetype/noto/NotoSans-Bold.ttf",
             "/usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf"),
    "regular": ("/usr/share/fonts/truetype/noto/NotoSans-Regular.ttf",
                "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf"),
}


def _font(style: str, size: int):
    from PIL import ImageFont

    for path in COVER_FONTS[style]:
        if os.path.exists(path):
            return ImageFont.truetype(path, size)
    return ImageFont.load_default(size)


def _wrap(draw, text: str, font, width: int) -> list[str]:
    lines, line = [], ""
    for word in text.split():
        trial = f"{line} {word}".strip()
        if line and draw.textlength(trial, font=font) > width:
            lines.append(line)
            line = word
        else:
            line = trial
    return [*lines, line]


def _fit(draw, text: str, style: str, width: int, sizes: range, max_lines: int):
    """The largest font from `sizes` at which `text` wraps into `max_lines` lines of `width` pixels."""
    for size in sizes:
        font = _font(style, size)
        lines = _wrap(draw, text, font, width)
        if len(lines) <= max_lines and all(draw.textlength(line, font=font) <= width for line in lines):
            break
    return font, lines


def draw_cover(path: Path, title: str, author: str, version: str) -> None:
    """A plain typographic cover: the title, the author and the version on a dark field."""
    from PIL import Image, ImageDraw

    width, height = COVER_SIZE
    margin = 150
    image = Image.new("RGB", COVER_SIZE, "#17324f")
    draw = ImageDraw.Draw(image)
    draw.rectangle([0, 0, width, 40], fill="#f0b35a")
    font, lines = _fit(draw, title, "bold", width - 2 * margin, range(190, 60, -10), 5)
    line_height = int(font.size * 1.18)
    y = 620
    for line in lines:
        draw.text((margin, y), line, font=font, fill="#ffffff")
        y += line_height
    y += 60
    draw.rectangle([margin, y, margin + 260, y + 14], fill="#f0b35a")
    small, author_lines = _fit(draw, author, "regular", width - 2 * margin, range(90, 30, -6), 3)
    y = height - 420
    for line in author_lines:
        draw.text((margin, y), line, font=small, fill="#e6e7ea")
        y += int(small.size * 1.25)
    if version:
        draw.text((margin, height - 220), f"Version {version}", font=_font("regular", 56), fill="#a9bed6")
    image.save(path, format="PNG", optimize=False)


def cover_image(ctx: BuildContext, scratch: Path) -> Path:
    """The book's own cover image, or one drawn from its title."""
    root = ctx.book.root.resolve()
    for name in COVER_IMAGES:
        candidate = (root / name).resolve()
        if candidate.is_file() and candidate.is_relative_to(root):
            return candidate
    path = scratch / "cover.png"
    meta = ctx.book.meta
    draw_cover(path, meta.title, meta.author, meta.version)
    return path


def _flatten_notes(answer: pf.Div) -> None:
    """A footnote inside an answer cannot live inside the answer's own note: inline it, in brackets."""
    def action(elem):
        if isinstance(elem, pf.Note):
            return pf.Span(pf.Str("["), *words(pf.stringify(elem)), pf.Str("]"), classes=["inline-note"])
        return None
    rewrite(answer, action)


def answers_as_notes(doc: pf.Doc) -> None:
    """Inline answers become pop-up notes: pandoc writes a Note as `<aside epub:type="footnote">`
    and its reference as an `epub:type="noteref"` link, here after "Answer" in the question head."""
    def action(elem):
        if not (isinstance(elem, pf.Div) and "question" in elem.classes):
            return None
        answer = next((b for b in elem.content if isinstance(b, pf.Div) and "answer" in b.classes), None)
        head = next((b for b in elem.content if isinstance(b, pf.Div) and "question-head" in b.classes), None)
        if answer is None or head is None or not head.content or not isinstance(head.content[0], (pf.Para, pf.Plain)):
            return None
        number = elem.attributes.get("data-number", "")
        elem.content.remove(answer)
        _flatten_notes(answer)
        # readers without pop-ups show the note at the chapter's end: give them a way back
        answer.content.append(pf.Para(pf.Link(*words(f"Back to question {number}"), url="#" + elem.identifier,
                                              classes=["to-question"])))
        head.content[0].content.extend([pf.Space(), pf.Span(pf.Str("Answer"), pf.Note(answer), classes=["answer-ref"])])
        return None
    rewrite(doc, action)


# A chapter file's place in the book, from the classes of the section it holds: front matter, the
# back matter (the appendices, their heading, the answers), or else the body (parts and chapters).
_BODY = re.compile(r'<body epub:type="bodymatter">(\s*<section id="[^"]*" class="([^"]*)")')
_LANDMARKS = re.compile(r'(<nav epub:type="landmarks"[^>]*>.*?)(\s*</ol>\s*</nav>)', re.S)
LANDMARKS = (("frontmatter", "Front Matter"), ("bodymatter", "Start of Content"), ("backmatter", "Back Matter"))


def _matter(classes: set[str]) -> str:
    if "front-matter" in classes:
        return "frontmatter"
    if {"appendix", "appendices", "answers-chapter"} & classes:
        return "backmatter"
    return "bodymatter"


def book_matters(entries: Entries) -> dict[str, str]:
    """Mark the front, body and back matter, which pandoc does not tell apart (every chapter file's
    body says bodymatter, and nav.xhtml's landmarks are the title page, cover and contents only):
    each chapter file's `<body epub:type>` says which it belongs to, and the landmarks point at the
    first file of each (the back matter starts at the appendices' own heading in a book with parts,
    else at the first appendix, else at the answers). Changes the EPUB's entries (`read_epub`) in
    place. The first file of each matter, as `{epub:type: href from nav.xhtml}`."""
    first: dict[str, str] = {}
    for at, (info, data) in enumerate(entries):
        if CHAPTER_FILE.match(info.filename):
            text = data.decode("utf-8")
            m = _BODY.search(text)
            if m:
                matter = _matter(set(m.group(2).split()))
                first.setdefault(matter, info.filename.removeprefix("EPUB/"))
                if matter != "bodymatter":
                    text = text[:m.start()] + f'<body epub:type="{matter}">' + m.group(1) + text[m.end():]
                    entries[at] = (info, text.encode("utf-8"))
    marks = "".join(f'\n    <li>\n      <a href="{first[kind]}" epub:type="{kind}">{label}</a>\n    </li>'
                    for kind, label in LANDMARKS if kind in first)
    for at, (info, data) in enumerate(entries):
        if info.filename == "EPUB/nav.xhtml":
            text, found = _LANDMARKS.subn(lambda m: m.group(1) + marks + m.group(2), data.decode("utf-8"), count=1)
            if not found:
                raise RuntimeError("pandoc's nav.xhtml has no landmarks list to add to")
            entries[at] = (info, text.encode("utf-8"))
    return first


class EpubBuilder(Builder):
    name = "epub"

    def takes_document(self, ctx: BuildContext) -> bool:
        # else the book goes to pandoc as it is, images aside
        # or chapters that no part is above: front matter, or every chapter of a book without parts
        return ctx.answers == "inline" or ctx.flat or bool(ctx.book.meta.front)

    def build(self, ctx: BuildContext) -> list[Path]:
        root = ctx.book.root
        target = ctx.out_dir / f"{ctx.book.meta.slug}.epub"
        tmp = temp_beside(target)
        # images travel inside the document (data: URIs, which pandoc unpacks into the EPUB), so pandoc
        # reads no file that book text names; it runs in an empty folder with our CSS and cover only
        if self.takes_document(ctx):
            doc = ctx.document()
            chapters_at_top(doc)
            if ctx.answers == "inline":
                answers_as_notes(doc)
            embed_images(doc, root)
            payload, doc = dump(doc), None  # the builders run side by side: hold one copy, not two
            give_back_memory()
        else:  # nothing else changes: the book's JSON as it is, without loading it
            payload = change_image_urls(ctx.doc_json, lambda url: data_uri(url, root))
        # a chapter whose file is known is cut down for pandoc and its file put back (epub_pages.py)
        parts = book_blocks(payload) if ctx.cache is not None else None
        pages = cut(parts[1]) if parts is not None else None
        cut_down = False
        if pages is not None:
            head, payload = parts[0], None  # the book is held as its pages' blocks from here
            plan(pages, ctx.cache, json.dumps([*PANDOC_ARGS, ctx.book.meta.language]))
            cut_down = any(page.body is not None for page in pages)
            payload = book_json(head, blocks_for_pandoc(pages) if cut_down else parts[1])
        parts = None
        try:
            with tempfile.TemporaryDirectory(prefix="bookbuild-epub-") as scratch:
                cover = cover_image(ctx, Path(scratch))
                options = [*PANDOC_ARGS, "-o", str(tmp), f"--css={find_template(root, 'epub.css')}",
                           f"--epub-cover-image={cover}", f"--resource-path={scratch}",
                           "-M", f"rights=© {ctx.date.when.year} {ctx.book.meta.author}"]
                env = {"SOURCE_DATE_EPOCH": str(ctx.date.epoch)}
                ctx.wait_for_pandoc()
                run_pandoc(options, payload, cwd=scratch, env=env)
                entries = read_epub(tmp)
                if pages is not None and not put_back(entries, pages, ctx.cache) and cut_down:
                    # not cut as planned: pandoc writes every file
                    run_pandoc(options, book_json(head, [block for page in pages for block in page.blocks]),
                               cwd=scratch, env=env)
                    entries = read_epub(tmp)
            del payload
            book_matters(entries)
            write_epub(tmp, entries)
            os.replace(tmp, target)
        finally:
            tmp.unlink(missing_ok=True)
        return [target]
