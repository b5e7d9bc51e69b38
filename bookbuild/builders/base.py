"""What every output builder gets, and the one method it has."""

from __future__ import annotations

import io
from dataclasses import dataclass, field
from pathlib import Path

import panflute as pf

from ..dates import BuildDate
from ..model import Book, Edition
from ..tree import to_json_text


# the EPUB's cover, when the book has one of its own (the build's key reads it too)
COVER_IMAGES = ("book/images/cover.png", "book/images/cover.jpg", "book/images/cover.jpeg")


@dataclass(frozen=True)
class BuildContext:
    book: Book
    edition: Edition
    answers: str
    doc_json: str  # the filtered document, as pandoc JSON
    out_dir: Path  # dist/<edition>
    date: BuildDate
    page_size: str
    pdf_variant: str | None = None
    pdf_workers: object | None = None  # builders.pdf.EarlyWorkers, started by the build
    spare: list = field(default_factory=list, compare=False)  # the filtered document, for one builder alone
    cache: object | None = None  # the book's cache.Cache: builders keep what they may reuse there

    @property
    def flat(self) -> bool:
        """A book without parts (top-level `chapters:` in book.yaml): its chapters, level-2 headings as
        in a book with parts, have no level-1 heading above them."""
        return all(part.title is None for part in self.book.meta.parts)

    def document(self) -> pf.Doc:
        """A copy of the filtered document for a builder to change (the document itself for the
        first builder to ask, when it was made in this build: loading it again from JSON takes
        a seventh of a second on a 300-question book)."""
        try:
            return self.spare.pop()
        except IndexError:
            return pf.load(io.StringIO(self.doc_json))

    def wait_for_pandoc(self) -> None:
        """Before a builder's pandoc run on the whole book: the PDF's, when it is being made, first."""
        if self.pdf_workers is not None:
            self.pdf_workers.pandoc_free.wait()


def chapters_at_top(doc: pf.Doc) -> set[str]:
    """For the EPUB and the HTML site: a chapter heading that no part heading is above (front
    matter, a draft's "What changed", and every chapter of a book without parts) becomes a
    level-1 heading; the rest keeps its level. The ids of the headings promoted.

    pandoc splits both at level 2 and below, but its EPUB writer puts a heading of its own, the
    book's title, before a book that does not start with a level-1 heading (an empty chapter file,
    with the front matter, or every chapter of a book without parts, under it in the contents), and
    its chunked HTML writer counts levels from the highest heading there is (in a book without a
    level-1 heading every section would be a page). As level-1 headings, these chapters start a
    file or page each, their sections (level 3) do not, and the answers' chapters (level 2) stay
    under their "Answers" (level 1). Their sections keep level 3 in the document: the site moves
    them up on the page (html.finish_pages), as a level 2 would start a page of its own."""
    promoted: set[str] = set()
    under_part = False
    for block in doc.content:
        if not isinstance(block, pf.Header):
            continue
        if block.level == 1:
            under_part = "part" in block.classes
        elif block.level == 2 and not under_part and {"chapter", "front-matter"} & set(block.classes):
            block.level = 1
            promoted.add(block.identifier)
    return promoted


def dump(doc: pf.Doc) -> str:
    """The document as pandoc JSON (what `json.dumps(doc.to_json())` gives, written faster)."""
    return to_json_text(doc)


class Builder:
    """One output format."""

    name = ""
    writes_folder = False  # its target is a folder (the site), not files

    def targets(self, ctx: BuildContext) -> list[Path]:
        """What `build` writes (the cache checks these)."""
        slug = ctx.book.meta.slug
        return {"html": [ctx.out_dir / "html"], "epub": [ctx.out_dir / f"{slug}.epub"],
                "pdf": [ctx.out_dir / f"{slug}.pdf", ctx.out_dir / "pagemap.json"]}[self.name]

    def takes_document(self, ctx: BuildContext) -> bool:
        """Whether `build` changes a copy of the book (`ctx.document()`)."""
        return True

    def build(self, ctx: BuildContext) -> list[Path]:
        raise NotImplementedError
