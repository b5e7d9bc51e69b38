"""The EPUB 3 edition, split into one file per chapter."""

from __future__ import annotations

import os
from pathlib import Path

from ..output import temp_beside
from ..pandoc import run_pandoc
from ..templating import find_template
from .base import Builder, BuildContext


class EpubBuilder(Builder):
    name = "epub"

    def build(self, ctx: BuildContext) -> list[Path]:
        root = ctx.book.root
        target = ctx.out_dir / f"{ctx.book.meta.slug}.epub"
        tmp = temp_beside(target)
        try:
            # images are book-root-relative paths: pandoc reads them from the book root
            run_pandoc(["-f", "json", "-t", "epub3", "-o", str(tmp), "--split-level=2", "--toc",
                        "--toc-depth=2", "--mathml", f"--css={find_template(root, 'epub.css')}",
                        "--resource-path=.", "-M", f"rights=© {ctx.date.when.year} {ctx.book.meta.author}"],
                       ctx.doc_json, cwd=str(root), env={"SOURCE_DATE_EPOCH": str(ctx.date.epoch)})
            os.replace(tmp, target)
        finally:
            tmp.unlink(missing_ok=True)
        return [target]
