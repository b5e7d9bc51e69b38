"""The EPUB 3 edition, split into one file per chapter, with a cover and pop-up answers."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import panflute as pf

from ..filters._text import words

from ..output import give_back_memory, temp_beside
from ..pandoc import run_pandoc
from ..templating import find_template
from ..tree import change_image_urls, rewrite
from .base import BuildContext, Builder, chapters_at_top, dump
from .pdf import data_uri, embed_images

# A cover of the book's own, if it has one; else one is drawn from the title.
COVER_IMAGES = ("book/images/cover.png", "book/images/cover.jpg", "book/images/cover.jpeg")
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


class EpubBuilder(Builder):
    name = "epub"

    def takes_document(self, ctx: BuildContext) -> bool:
        # else the book goes to pandoc as it is, images aside
        return ctx.answers == "inline" or ctx.flat

    def build(self, ctx: BuildContext) -> list[Path]:
        root = ctx.book.root
        target = ctx.out_dir / f"{ctx.book.meta.slug}.epub"
        tmp = temp_beside(target)
        # images travel inside the document (data: URIs, which pandoc unpacks into the EPUB), so pandoc
        # reads no file that book text names; it runs in an empty folder with our CSS and cover only
        if self.takes_document(ctx):
            doc = ctx.document()
            if ctx.flat:
                chapters_at_top(doc)
            if ctx.answers == "inline":
                answers_as_notes(doc)
            embed_images(doc, root)
            payload, doc = dump(doc), None  # the builders run side by side: hold one copy, not two
            give_back_memory()
        else:  # nothing else changes: the book's JSON as it is, without loading it
            payload = change_image_urls(ctx.doc_json, lambda url: data_uri(url, root))
        try:
            with tempfile.TemporaryDirectory(prefix="bookbuild-epub-") as scratch:
                cover = cover_image(ctx, Path(scratch))
                ctx.wait_for_pandoc()
                run_pandoc(["-f", "json", "-t", "epub3", "-o", str(tmp), "--split-level=2", "--toc",
                            "--toc-depth=2", "--mathml", f"--css={find_template(root, 'epub.css')}",
                            f"--epub-cover-image={cover}", f"--resource-path={scratch}",
                            "-M", f"rights=© {ctx.date.when.year} {ctx.book.meta.author}"],
                           payload, cwd=scratch, env={"SOURCE_DATE_EPOCH": str(ctx.date.epoch)})
            os.replace(tmp, target)
        finally:
            tmp.unlink(missing_ok=True)
        return [target]
