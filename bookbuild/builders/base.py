"""What every output builder gets, and the one method it has."""

from __future__ import annotations

import io
import json
from dataclasses import dataclass
from pathlib import Path

import panflute as pf

from ..dates import BuildDate
from ..model import Book, Edition


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

    def document(self) -> pf.Doc:
        """A fresh copy of the filtered document for a builder to change."""
        return pf.load(io.StringIO(self.doc_json))


def rewrite(root: pf.Element, action) -> None:
    """`action(elem)` on every element under `root`, parents before children; an element it
    returns takes the place of the one it was given (and is gone through in turn).

    Changes the tree in place. panflute's `walk` rebuilds every list it passes through, which
    costs a second per walk on a 300-question book; this touches only what changes.
    Metadata is not gone through.
    """
    stack = [root]
    while stack:
        elem = stack.pop()
        for name in elem._children:
            if name == "metadata":
                continue
            value = getattr(elem, name, None)
            if isinstance(value, pf.ListContainer):
                children = []
                for i, child in enumerate(value):
                    new = action(child)
                    if new is not None and new is not child:
                        value[i] = new
                        child = new
                    children.append(child)
                stack.extend(reversed(children))
            elif isinstance(value, pf.Element):
                new = action(value)
                if new is not None and new is not value:
                    setattr(elem, name, new)
                    value = new
                stack.append(value)


def dump(doc: pf.Doc) -> str:
    return json.dumps(doc.to_json(), ensure_ascii=False)


class Builder:
    """One output format."""

    name = ""

    def targets(self, ctx: BuildContext) -> list[Path]:
        """What `build` writes (the cache checks these)."""
        slug = ctx.book.meta.slug
        return {"html": [ctx.out_dir / "html"], "epub": [ctx.out_dir / f"{slug}.epub"],
                "pdf": [ctx.out_dir / f"{slug}.pdf", ctx.out_dir / "pagemap.json"]}[self.name]

    def build(self, ctx: BuildContext) -> list[Path]:
        raise NotImplementedError
