"""The chunked HTML site: one page per chapter, sidebar contents, previous/next links, search, and
practice mode's pages and data (practice.py)."""

from __future__ import annotations

import html
import json
import os
import re
import shutil
import tempfile
from pathlib import Path
from urllib.parse import unquote

import panflute as pf

from ..filters._text import words

from ..output import give_back_memory, new_folder, swap_folder
from ..pandoc import run_pandoc
from ..practice import question_order, write_practice
from ..search import index_script, search_entries
from ..templating import find_template
from ..tree import divs, rewrite, to_json_text
from .base import BuildContext, Builder, chapters_at_top, dump
from .html_pages import BODY_END, BODY_START, blocks_for_pandoc, cut, marked, plan, put_back

ASSETS = "_assets"
PANDOC_ARGS = ["-f", "json", "-t", "chunkedhtml", "--split-level=2", "--chunk-template=%i.html", "--toc",
               "--toc-depth=3", "--mathml", "--wrap=none"]
SCRIPT = "site.js"
STYLESHEET = "book.css"
SEARCH_INDEX = "search-index.js"


def localise_images(doc: pf.Doc, root: Path) -> dict[str, Path]:
    """Point images at `_assets/<path in the book>`; the files to copy there, by new URL."""
    files: dict[str, Path] = {}

    def action(elem):
        if isinstance(elem, pf.Image):
            url = f"{ASSETS}/{elem.url}"
            files[url] = root / elem.url
            elem.url = url
    rewrite(doc, action)
    return files


def _child(div: pf.Div, cls: str) -> pf.Div | None:
    return next((b for b in div.content if isinstance(b, pf.Div) and cls in b.classes), None)


def _details(answer: pf.Div) -> list[pf.Block]:
    """An inline answer as `<details id="a-…">`, closed until the reader asks."""
    blocks = list(answer.content)
    summary = "Answer"
    # the answers filter opens an inline answer with a bold "Answer 5.12": it becomes the summary
    if blocks and isinstance(blocks[0], pf.Para) and len(blocks[0].content) == 1 \
            and isinstance(blocks[0].content[0], pf.Strong):
        summary = " ".join(pf.stringify(blocks.pop(0)).split())
    attrs = {"id": answer.identifier, "class": " ".join(answer.classes), **answer.attributes}
    opening = "<details" + "".join(f' {name}="{html.escape(value)}"' for name, value in attrs.items()
                                   if value and re.fullmatch(r"[a-z][a-z0-9-]*", name)) + ">"
    return [pf.RawBlock(f"{opening}\n<summary>{html.escape(summary)}</summary>", format="html"),
            *blocks, pf.RawBlock("</details>", format="html")]


def prepare_questions(doc: pf.Doc, answers: str) -> None:
    """HTML only: a permalink on every question head, answers that know their question's
    difficulty (for the filter), and inline answers as `<details>`."""
    difficulty: dict[str, str] = {}

    def action(elem):
        if "question" not in elem.classes:
            return
        number = elem.attributes.get("data-number", "")
        qid = elem.attributes.get("data-qid", elem.identifier[2:])
        difficulty[qid] = elem.attributes.get("data-difficulty", "")
        head = _child(elem, "question-head")
        if head is not None and head.content and isinstance(head.content[0], (pf.Para, pf.Plain)):
            # the mark is for the eye; screen readers hear the words (a name the visible text is part of)
            head.content[0].content.extend([pf.Space(), pf.Link(
                pf.Span(pf.Str("¶"), attributes={"aria-hidden": "true"}),
                pf.Span(*words(f"Link to question {number}"), classes=["visually-hidden"]),
                url="#" + elem.identifier, classes=["permalink"], title=f"Link to question {number}")])
        answer = _child(elem, "answer")
        if answer is not None and answers == "inline":
            answer.attributes["data-difficulty"] = difficulty[qid]
            at = list(elem.content).index(answer)
            elem.content[at:at + 1] = _details(answer)

    for div in divs(doc):
        action(div)
    if answers == "appendix":
        for div in divs(doc):
            if "answer" in div.classes:
                div.attributes["data-difficulty"] = difficulty.get(div.attributes.get("data-qid", ""), "")


_MAIN = re.compile(r"<main\b.*?</main>", re.S)
_TOC = re.compile(r'<nav\b[^>]*\bid="TOC".*?</nav>', re.S)
_HEADING = re.compile(r"<(/?)h([1-6])(?=[\s>])")
_ID = re.compile(r'\sid="([^"]+)"')
_HREF = re.compile(r'<a href="([^"#]*)(?:#[^"]*)?"')
_TITLE = re.compile(r"<title>(.*?)</title>", re.S)
_TOC_ENTRY = re.compile(r'<li>(?=<a\b[^>]*\sid="toc-([^"]+)")')


def _one_h1(main: str, flat: bool = False) -> str:
    """Shift the page's headings so that its top heading (a chapter is an h2 in the book) is an h1.

    `flat`: a page whose chapter was promoted to an h1 over h3 sections (chapters_at_top: front
    matter, or a chapter of a book without parts): the headings under the top one move up to meet
    it (h1, h3, h4 become h1, h2, h3)."""
    levels = sorted({int(m.group(2)) for m in _HEADING.finditer(main)})
    top = levels[0] if levels else 1
    gap = levels[1] - top - 1 if flat and len(levels) > 1 else 0
    if top == 1 and not gap:
        return main
    return _HEADING.sub(lambda m: f"<{m.group(1)}h{_level(int(m.group(2)), top, gap)}", main)


def _level(level: int, top: int, gap: int) -> int:
    return level - (top - 1) - (gap if level > top else 0)


def _mark_current(toc: str, page: str) -> str:
    """`aria-current="page"` on the first contents entry that points into this page."""
    for m in _HREF.finditer(toc):
        if unquote(m.group(1)) == page:
            at = m.start() + len("<a")
            return toc[:at] + ' aria-current="page"' + toc[at:]
    return toc


def _mark_chapters(toc: str, chapters: set[str]) -> str:
    """`class="toc-chapter"` on the contents entries of chapters (numbered or not: front matter,
    part introductions, appendices, the answers' chapters), whose sections book.css shows only
    on the chapter's own page; parts and the "Appendices" and "Answers" headings keep theirs."""
    return _TOC_ENTRY.sub(lambda m: '<li class="toc-chapter">' if html.unescape(m.group(1)) in chapters else m.group(0),
                          toc)


def finish_pages(folder: Path, book_title: str, promoted: set[str] = frozenset(),
                 chapters: set[str] = frozenset()) -> tuple[dict[str, str], dict[str, str]]:
    """Fix up every page pandoc wrote; the page of every id, and every page's title.
    `promoted`: the ids of chapters made level-1 headings (chapters_at_top; see _one_h1);
    `chapters`: the ids of every chapter's heading (see _mark_chapters)."""
    page_of: dict[str, str] = {}
    titles: dict[str, str] = {}
    for path in sorted(folder.glob("*.html")):
        text = path.read_text(encoding="utf-8").replace(BODY_START, "", 1).replace(BODY_END, "", 1)
        flat = path.stem in promoted  # a page is named after the id of its heading
        text = _MAIN.sub(lambda m: _one_h1(m.group(0), flat), text, count=1)
        text = _TOC.sub(lambda m: _mark_current(_mark_chapters(m.group(0), chapters), path.name), text, count=1)
        path.write_text(text, encoding="utf-8")
        main = _MAIN.search(text)
        for ident in _ID.findall(main.group(0) if main else ""):
            page_of.setdefault(html.unescape(ident), path.name)
        title = _TITLE.search(text)
        titles[path.name] = html.unescape(" ".join(title.group(1).split())).removesuffix(f" – {book_title}") \
            if title else path.stem
    return page_of, titles


def link_unchanged(fresh: Path, old: Path) -> None:
    """Each file of the new site that is the same, byte for byte, as in the site it replaces
    becomes a hard link to that one: the new folder is the rewritten pages plus links to the
    unchanged ones, which keep their inode and modification time. What an edit did not change
    is not rewritten, as far as a static host's caching, rsync or a browser can tell (an edited
    chapter's pages and its quiz script change; the other chapters' do not)."""
    if not old.is_dir():
        return
    for path in fresh.rglob("*"):
        before = old / path.relative_to(fresh)
        try:
            if path.is_symlink() or before.is_symlink() or not path.is_file() or not before.is_file():
                continue
            if before.stat().st_size == path.stat().st_size and before.read_bytes() == path.read_bytes():
                spare = path.with_name(f"{path.name}.link-{os.getpid()}")
                os.link(before, spare)
                os.replace(spare, path)
        except OSError:  # a file system without hard links: the new file stays
            continue


class HtmlBuilder(Builder):
    name = "html"
    writes_folder = True

    def build(self, ctx: BuildContext) -> list[Path]:
        root = ctx.book.root
        target = ctx.out_dir / "html"
        fresh = new_folder(target)
        doc = ctx.document()
        entries = search_entries(doc)
        questions = question_order(doc)
        prepare_questions(doc, ctx.answers)
        promoted = chapters_at_top(doc)
        chapters = {block.identifier for block in doc.content if isinstance(block, pf.Header) and block.level <= 2
                    and "part" not in block.classes}
        try:
            with tempfile.TemporaryDirectory(prefix="bookbuild-assets-") as stage:
                # pandoc reads the images (it must not find the output folder already there)
                for url, source in localise_images(doc, root).items():
                    (Path(stage) / url).parent.mkdir(parents=True, exist_ok=True)
                    shutil.copyfile(source, Path(stage) / url)
                template = find_template(root, "site.html")
                pages = cut(doc) if ctx.cache is not None and marked(template) else None
                if pages is None:
                    whole = payload = dump(doc)
                else:  # the pages whose bodies are known are cut down (html_pages.py)
                    whole = to_json_text(doc, [block for page in pages for block in page.blocks])
                    plan(pages, ctx.cache, json.dumps(PANDOC_ARGS))
                    known = any(page.body is not None for page in pages)
                    payload = to_json_text(doc, blocks_for_pandoc(pages)) if known else whole
                doc = None  # the builders run side by side: hold one copy, not two
                if payload is whole:  # pandoc gets the whole book, a copy of its own: free this one first
                    give_back_memory()  # (a collection over the book takes 0.8 s at 3000 questions)
                options = [*PANDOC_ARGS, f"--resource-path={stage}", f"--template={template}",
                           "-V", f"version={ctx.book.meta.version}", *(["-V", "practice=true"] if questions else [])]
                ctx.wait_for_pandoc()
                run_pandoc([*options, "-o", str(fresh)], payload)
                if pages is not None and not put_back(fresh, pages, ctx.cache) and payload is not whole:
                    shutil.rmtree(fresh)  # not cut as planned: pandoc writes every page (if it did not)
                    run_pandoc([*options, "-o", str(fresh)], whole)
                del payload, whole
                if (Path(stage) / ASSETS).is_dir():
                    shutil.copytree(Path(stage) / ASSETS, fresh / ASSETS, dirs_exist_ok=True)
            (fresh / "sitemap.json").unlink(missing_ok=True)
            page_of, titles = finish_pages(fresh, ctx.book.meta.title, promoted, chapters)
            (fresh / SEARCH_INDEX).write_text(index_script(entries, page_of, titles), encoding="utf-8")
            write_practice(fresh, ctx.book, ctx.answers, questions, ctx.cache)
            for name in (STYLESHEET, SCRIPT):
                shutil.copyfile(find_template(root, name), fresh / name)
            link_unchanged(fresh, target)
        except BaseException:
            shutil.rmtree(fresh, ignore_errors=True)
            raise
        swap_folder(fresh, target)
        return [target]
