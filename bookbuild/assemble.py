"""Assemble the whole book into one pandoc document (edition-independent).

Each chapter's placement blocks are expanded by Jinja templates into Markdown, the chapter is
parsed by pandoc (in a sandbox, chapter headings shifted below their part), and the chapters
are joined under part headings (none in a book without parts, whose chapters stay level-2
headings: every format splits and numbers them as in a book with parts). Numbering, references
and answers are left to the filters.
"""

from __future__ import annotations

import io
import os
import re
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import panflute as pf

from bookbuild.filters._text import words

from .tree import rewrite
from .cache import Cache, digest
from .dates import BuildDate
from .errors import BookError, Diagnostic, Pos, Report
from .model import Book, Chapter, select_questions
from .markdown import escape_lone_lt, slow_parts
from .pandoc import run_pandoc
from . import templating
from .templating import check_template_files, markdown_env, render_block, template_problem
from .validate import resolve_image

# yaml_metadata_block off: a `---` block inside book text must not set document metadata
READER = "markdown-yaml_metadata_block"
_QUESTION_CONTAINERS = {"question", "interview-question", "discarded-question"}


def expand_chapter(book: Book, chapter: Chapter, env, last_block_of_topic: dict, until: float,
                   written: list | None = None) -> str:
    """The chapter's Markdown with its placement blocks filled in by the templates, done by
    `until` (time.monotonic()); `written` gets (template, block, text) of each block."""
    lines = chapter.text.split("\n")
    out: list[str] = []
    cursor = 0
    for block in chapter.blocks:
        out.extend(lines[cursor:block.start])
        cursor = block.end
        sub_level = min(block.heading_level + 1, 6)
        if block.kind == "questions":
            topic = book.topics[block.attrs["topic"]]
            questions = select_questions(topic, block.attrs)
            resources = topic.resources if last_block_of_topic.get(topic.id) is block else ()
            template = env.get_template("questions.md.j2")
            text = render_block(template, until, _text_size(questions, resources),
                                topic=topic, questions=questions, group_level=sub_level, resources=resources)
        elif block.kind == "interview":
            interview = book.interviews[block.attrs["id"]]
            bank = book.questions
            rounds = [{"title": r.title, "questions": [bank[qid] for qid, _ in r.questions]} for r in interview.rounds]
            template = env.get_template("interview.md.j2")
            text = render_block(template, until, _text_size([q for r in rounds for q in r["questions"]]),
                                interview={"id": interview.id, "title": interview.title, "rounds": rounds},
                                total=sum(len(r["questions"]) for r in rounds), round_level=sub_level)
        else:
            template = env.get_template("discarded.md.j2")
            text = render_block(template, until, sum(len(d.prompt.value) + len(d.reason.value) for d in book.discarded),
                                discarded=book.discarded)
        if written is not None:
            written.append((template, block, text))
        out.extend(["", text, ""])
    out.extend(lines[cursor:])
    return "\n".join(out)


def _text_size(questions, resources=()) -> int:
    """The characters of book text a block places: its questions' fields and reading list."""
    return sum(len(text.value) + len(q.group or "") for q in questions for _, text in q.texts()) \
        + sum(len(r.title) + len(r.url) + len(r.note) for r in resources)


# what XML forbids, as pandoc's JSON writes it (escapes, or U+FFFE/U+FFFF as they are): validation
# refuses every way book text can say it that it can see; whatever else makes one is dropped here,
# before any writer (an escaped backslash, group 1, is kept as it is)
_JSON_NOT_XML = re.compile(r'(\\\\)|\\u00(?:0[0-8bBcCeEfF]|1[0-9a-fA-F])|\\[bf]|\\u[dD][89a-fA-F][0-9a-fA-F]{2}'
                           r'|\\u[fF]{3}[eEfF]|[\ufffe\uffff]')
PARSE_ARGS = ["--sandbox", "-f", READER, "-t", "json", "--shift-heading-level-by=1"]


# a chapter of 5 MB (the limit) takes pandoc ~7 s to read; check's limits keep what is slower out
PARSE_TIMEOUT = 120


def parse_markdown(text: str, cache: Cache | None = None, toolchain: str = "", where: Pos | None = None) -> str:
    """pandoc's AST (as JSON) of one chapter, headings shifted one level down; cached by content.
    `where`: the chapter file, which a failure names."""
    key = digest(toolchain, *PARSE_ARGS, text)
    cached = cache.get(key) if cache else None
    if cached is None:
        cached = _JSON_NOT_XML.sub(r"\1", run_pandoc(PARSE_ARGS, escape_lone_lt(text), where=where,
                                                      timeout=PARSE_TIMEOUT, what="reading this chapter"))
        if cache:
            cache.put(key, cached)
    return cached


ROLE_CLASSES = {"front": ["front-matter", "unnumbered"], "intro": ["part-intro", "unnumbered"],
                "appendix": ["appendix"], "main": []}


def _fix_chapter(doc: pf.Doc, book: Book, chapter: Chapter) -> None:
    """Mark the chapter heading (with its role); make image paths relative to the book root."""
    for elem in doc.content:
        if isinstance(elem, pf.Header) and elem.level == 2:
            elem.classes.extend(["chapter", *ROLE_CLASSES[chapter.role]])
            elem.attributes["data-file"] = chapter.file
            if ":" not in elem.identifier:  # not labelled {#sec:...}: a stable id from the file name
                elem.identifier = f"chapter-{chapter.path.stem}"
            break

    def in_question_text(elem: pf.Element) -> bool:
        parent = elem.parent
        while parent is not None and not isinstance(parent, pf.Doc):
            if isinstance(parent, pf.Div) and _QUESTION_CONTAINERS & set(parent.classes):
                return True
            parent = parent.parent
        return False

    def rebase(elem):
        if not isinstance(elem, pf.Image):
            return
        # images in question text are relative to questions/, the others to the chapter file
        base = book.root / "questions" if in_question_text(elem) else chapter.path.parent
        # validation checked the source text; this checks what pandoc actually parsed
        target, problem = resolve_image(elem.url, base / "source", book.root)
        if problem:
            raise BookError("the book has errors", Report([Diagnostic(chapter.pos, problem)]))
        elem.url = target.relative_to(book.root).as_posix()

    rewrite(doc, rebase)


def expand_chapters(book: Book, written: list | None = None) -> dict[str, str]:
    """Every chapter's Markdown with its placement blocks filled in, by chapter file; `written`
    gets (template, block, text) of each block."""
    env = markdown_env(book.root)
    last_block: dict = {}
    for chapter in book.chapters:
        for block in chapter.blocks:
            if block.kind == "questions":
                last_block[block.attrs["topic"]] = block
    until = time.monotonic() + templating.MAX_SECONDS  # the book's blocks share the time
    return {c.file: expand_chapter(book, c, env, last_block, until, written) for c in book.chapters}


def check_templates(book: Book, expanded: dict[str, str] | None = None) -> Report:
    """Check the book's own template files (no link out of the book, UTF-8 text), compile its
    Jinja templates and render the placement blocks once: a template error, a sandbox refusal or
    a limit names its file and line. `expanded`: filled with what they rendered, by chapter file,
    for `assemble` not to render it again."""
    report = Report()
    check_template_files(book.root, report)
    refused = {d.pos.path for d in report.errors}
    own = book.root / "templates"
    names = sorted(p.name for p in own.glob("*.j2") if p.is_file() and str(p) not in refused) \
        if str(own) not in refused and own.is_dir() else []
    env = markdown_env(book.root)
    for name in names:  # the HTML ones (sheets, email, practice pages) are rendered only later
        try:
            env.parse(env.loader.get_source(env, name)[0], name, str(own / name))
        except Exception as exc:  # noqa: BLE001 (any template failure is reported, never a traceback)
            _report_template(exc, book, report)
    if report.errors:
        return report
    written: list = []
    try:
        sources = expand_chapters(book, written)
    except Exception as exc:  # noqa: BLE001
        _report_template(exc, book, report)
        return report
    if (own / "questions.md.j2").is_file():
        _check_anchors(book, sources, own / "questions.md.j2", report)
    _check_slow_output(written, book, report)
    if expanded is not None:
        expanded.update(sources)
    return report


def _check_slow_output(written: list, book: Book, report: Report) -> None:
    """An error for a book's own template that writes what check refuses in a source because
    pandoc (or the PDF's math) would take too long over it: the first such place of each."""
    own = book.root / "templates"
    for template, block, text in written:
        path = Path(template.filename)
        if path.parent != own or str(path) in {d.pos.path for d in report.errors}:
            continue  # a built-in writes book text (checked as it is) in a shape pandoc reads fast
        found = slow_parts(text)
        if found:
            line, _, message = found[0]
            report.error(Pos(str(path)), f"the template writes what pandoc would read too slowly (its line {line + 1} "
                         f"for the block at {block.pos}): {message}")


def _check_anchors(book: Book, expanded: dict[str, str], template, report: Report) -> None:
    """An error if the book's questions template leaves out a question's `{#q-<id>}` anchor, which
    references to the question (and the links of practice pages, sheets, search) go to."""
    missing = [q.id for chapter in book.chapters for block in chapter.blocks if block.kind == "questions"
               for q in select_questions(book.topics[block.attrs["topic"]], block.attrs)
               if not re.search(r"\{[^{}\n]*#q-" + re.escape(q.id) + r"[\s}]", expanded[chapter.file])]
    if missing:
        others = f" (and {len(missing) - 1} more)" if len(missing) > 1 else ""
        report.error(Pos(str(template)), f"the template writes no anchor {{#q-{missing[0]}}} for question "
                     f"{missing[0]!r}{others}: each question needs one, where references to it lead; write "
                     "::: {#q-{{ q.id }} .question} around it")


def _report_template(exc: Exception, book: Book, report: Report) -> None:
    found = template_problem(exc, book.root)
    if found is None:
        raise exc
    path, line, message = found
    report.error(Pos(str(path), line), message)


def assemble(book: Book, date: BuildDate, cache: Cache | None = None, toolchain: str = "",
             expanded: dict[str, str] | None = None) -> pf.Doc:
    """The whole book as one pandoc document, before any filter. `expanded`: the chapters with
    their blocks filled in, when `check_templates` made them."""
    sources = expanded or expand_chapters(book)
    chapters = {c.file: c for c in book.chapters}
    api = None
    loaded: dict[str, list[pf.Block]] = {}
    with ThreadPoolExecutor(max_workers=max(1, os.cpu_count() or 1)) as pool:
        # each chapter is loaded as soon as pandoc has parsed it, while pandoc parses the next ones
        for name, parsed in zip(sources, pool.map(
                lambda item: parse_markdown(item[1], cache, toolchain, Pos(str(chapters[item[0]].path))),
                sources.items())):
            doc = pf.load(io.StringIO(parsed))
            api = doc.api_version
            _fix_chapter(doc, book, chapters[name])
            loaded[name] = list(doc.content)
    blocks: list[pf.Block] = []
    meta = book.meta
    for name, _ in meta.front:
        blocks.extend(loaded.get(name, ()))
    for n, part in enumerate(meta.parts, 1):
        if part.title is not None:  # a book without parts (top-level `chapters:`) has no part headings
            blocks.append(pf.Header(*words(part.title), level=1, identifier=f"part-{n}", classes=["part"]))
        for name, _ in ([part.intro] if part.intro else []) + list(part.chapters):
            blocks.extend(loaded.get(name, ()))
    if meta.appendices and any(part.title is not None for part in meta.parts):
        # a heading of their own, as a part's: else the lettered appendices would sit under the last part
        blocks.append(pf.Header(pf.Str("Appendices"), level=1, identifier="appendices",
                                classes=["part", "appendices", "unnumbered"]))
    for name, _ in meta.appendices:
        blocks.extend(loaded.get(name, ()))
    metadata = {"bookbuild-fragment-links": any("](#" in text or "]: #" in text for text in sources.values()),
                "bookbuild-root": str(book.root),  # where the filters' warnings find their lines (xref drops it)
                "title": meta.title, "lang": meta.language, "identifier": meta.identifier, "version": meta.version,
                "date": date.when.date().isoformat(),
                **({"author": meta.author} if meta.author else {})}  # an empty dc:creator is invalid EPUB
    return pf.Doc(*blocks, metadata=metadata, api_version=api or (1, 23, 1))
