"""The chunked HTML site: one page per chapter, sidebar contents, previous/next links."""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

import panflute as pf

from ..output import new_folder, swap_folder
from ..pandoc import run_pandoc
from ..templating import find_template
from .base import Builder, BuildContext, dump

ASSETS = "_assets"


def localise_images(doc: pf.Doc, root: Path) -> dict[str, Path]:
    """Point images at `_assets/<path in the book>`; the files to copy there, by new URL."""
    files: dict[str, Path] = {}

    def action(elem, d):
        if isinstance(elem, pf.Image):
            url = f"{ASSETS}/{elem.url}"
            files[url] = root / elem.url
            elem.url = url
    doc.walk(action)
    return files


class HtmlBuilder(Builder):
    name = "html"

    def build(self, ctx: BuildContext) -> list[Path]:
        root = ctx.book.root
        target = ctx.out_dir / "html"
        fresh = new_folder(target)
        doc = ctx.document()
        try:
            with tempfile.TemporaryDirectory(prefix="bookbuild-assets-") as stage:
                # pandoc reads the images (it must not find the output folder already there)
                for url, source in localise_images(doc, root).items():
                    (Path(stage) / url).parent.mkdir(parents=True, exist_ok=True)
                    shutil.copyfile(source, Path(stage) / url)
                run_pandoc(["-f", "json", "-t", "chunkedhtml", "-o", str(fresh), "--split-level=2",
                            "--chunk-template=%i.html", f"--resource-path={stage}", "--toc", "--toc-depth=3",
                            "--mathml", f"--template={find_template(root, 'site.html')}",
                            "-V", f"version={ctx.book.meta.version}"], dump(doc))
                if (Path(stage) / ASSETS).is_dir():
                    shutil.copytree(Path(stage) / ASSETS, fresh / ASSETS, dirs_exist_ok=True)
            shutil.copyfile(find_template(root, "book.css"), fresh / "book.css")
            (fresh / "sitemap.json").unlink(missing_ok=True)
        except BaseException:
            shutil.rmtree(fresh, ignore_errors=True)
            raise
        swap_folder(fresh, target)
        return [target]
