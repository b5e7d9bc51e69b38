"""Practice sheets: a printable choice of questions (or a sample interview) and its answer key.

`make_sheet` reads top to bottom: check the book → choose the questions → render every Markdown
field in one pandoc run → fill the Jinja template twice (sheet, key) → lay out the two PDFs side
by side → write.

Decisions the CLI contract leaves open:
- The choice is balanced: topics take turns, and within a topic its difficulties take turns,
  each in an order shuffled by `random.Random(seed)`; the chosen questions are then printed in
  book order, so a topic's questions stay together and the key reads like the book.
- Without --count a sheet has 20 questions, or every matching one when fewer match; only an
  explicit --count larger than what matches is an error.
- The key holds answers, hints (for an interviewer to give) and flaw notes, not the prompts
  again: whoever reads it has the sheet beside it, and a shorter key lays out faster.
- Pages in the key come from <book root>/dist/release/pagemap.json. A sheet never builds the
  book's PDF (that takes far longer than a sheet); without the map the key says so.
- Math is set as the book's PDF sets it (typeset_math): simple inline formulas as text, the rest
  as SVG. The HTML sheet gets the same: it prints alike everywhere, with no scripts.
"""

from __future__ import annotations

import hashlib
import io
import json
import random
import re
from dataclasses import dataclass
from itertools import islice
from pathlib import Path
from typing import Iterable, Iterator

import panflute as pf
from markupsafe import Markup

from bookbuild.filters import sanitize, xref

from .assemble import READER
from .builders.base import dump
from .builders.pdf import embed_images, footnotes_in_margin, typeset_math
from .cache import Cache, code_digest, digest, file_digest
from .dates import build_date
from .early import EarlyRenderer
from .errors import BookError, Pos, Report, did_you_mean
from .formulas import use_cache
from .markdown import scan
from .model import DIFFICULTIES, Book, Question, chapter_labels
from .numbering import book_numbers
from .output import write_atomic
from .pandoc import run_pandoc
from .pipeline import BuildResult, check, sources_digest
from .templating import find_template, html_env
from .weasy import pdf_bytes

DEFAULT_COUNT = 20
PAGE_SIZES = {"a4": "A4", "letter": "letter"}  # a 6x9 book still prints its sheets on A4
MAX_LISTED = 30  # names an error lists in full; beyond that, the close ones
_FIELD_MARK = re.compile(r"<!--sheet-field (\S+)-->\n?")


@dataclass(frozen=True)
class SheetRequest:
    """What `bookbuild sheet` was asked for; click has already checked the form of each value."""

    root: Path
    topics: tuple[str, ...] = ()  # empty: every topic
    difficulties: tuple[str, ...] = ()  # empty: every difficulty
    tags: tuple[str, ...] = ()  # a question qualifies with any one of them
    kind: str | None = None
    count: int | None = None  # None: DEFAULT_COUNT, or fewer when fewer match
    seed: int = 1
    interview: str | None = None
    exclude: Path | None = None
    formats: tuple[str, ...] = ("pdf",)
    name: str | None = None
    out: Path | None = None


@dataclass(frozen=True)
class SheetQuestion:
    number: int  # position on the sheet, from 1
    question: Question
    book_number: str  # "5.12"
    page: int | None  # in the release PDF, when its page map knows


@dataclass(frozen=True)
class SheetSection:
    title: str | None  # an interview round; None on a practice sheet
    questions: tuple[SheetQuestion, ...]


@dataclass(frozen=True)
class Sheet:
    name: str  # output file stem
    label: str  # what it is: "Practice sheet" or "Mock interview"
    title: str
    subtitle: str
    sections: tuple[SheetSection, ...]
    has_pagemap: bool  # False: the release PDF was never built, the key has no pages

    @property
    def questions(self) -> list[SheetQuestion]:
        return [item for section in self.sections for item in section.questions]


def make_sheet(request: SheetRequest, early: EarlyRenderer | None = None) -> BuildResult:
    """Write a sheet and its answer key; raises BookError with a sentence for the user.

    `early`: a worker started before anything else (the command line starts one before it even
    imports this module); without one, one is started here.
    """
    own = early is None and "pdf" in request.formats
    if own:
        early = EarlyRenderer.start()
    try:
        return _make_sheet(request, early if "pdf" in request.formats else None)
    finally:
        if own and early is not None:
            early.close()


def _make_sheet(request: SheetRequest, early: EarlyRenderer | None) -> BuildResult:
    book, report = check(request.root)
    if book is None or report.errors:
        raise BookError("the book has errors", report)
    numbers = book_numbers(book)
    page_map = release_pages(book, report)
    if request.interview:
        sheet = interview_sheet(book, numbers, page_map, request)
    else:
        excluded = read_exclude(request.exclude, book, report) if request.exclude else set()
        chosen = choose_questions(book, numbers, request, excluded)
        sheet = practice_sheet(book, numbers, page_map, request, chosen)

    use_cache(book.root)  # formulas typeset and drawn for the book (or an earlier sheet) are reused
    fields = render_fields(book, numbers, sheet, report)
    date = build_date(book.root, book.meta.date).when.date().isoformat()
    out_dir = request.out or book.root / "dist" / "sheets"
    html_by_stem = {sheet.name: render_html(book, sheet, fields, date, key=False),
                     f"{sheet.name}-key": render_html(book, sheet, fields, date, key=True)}
    files: dict[Path, bytes | str] = {}
    if "pdf" in request.formats:
        files.update(render_pdfs({out_dir / f"{stem}.pdf": html for stem, html in html_by_stem.items()},
                                 book, report, early))
    if "html" in request.formats:
        files.update({out_dir / f"{stem}.html": html for stem, html in html_by_stem.items()})
    # everything is rendered before anything is written: a failure leaves the old files whole
    for path, data in files.items():
        try:
            write_atomic(path, data)
        except OSError as exc:
            raise BookError(f"cannot write {path}: {exc.strerror or exc}; choose another --out", report) from None
    return BuildResult(outputs=list(files), report=report)


# ---- choosing ---------------------------------------------------------------------------------

def read_exclude(path: Path, book: Book, report: Report) -> set[str]:
    """The question ids an --exclude file lists: one a line, '#' starts a comment."""
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise BookError(f"--exclude {path}: not a UTF-8 text file of question ids") from None
    except OSError as exc:
        raise BookError(f"--exclude {path}: cannot read it ({exc.strerror})") from None
    bank = book.questions
    ids = set()
    for line_number, line in enumerate(text.splitlines(), 1):
        qid = line.split("#", 1)[0].strip()
        if not qid:
            continue
        if qid not in bank:
            # a typo would silently let a practised question back in: say so, but carry on
            report.warning(Pos(str(path), line_number, line.index(qid) + 1),
                           f"no question has the id {qid!r}; the line is ignored{did_you_mean(qid, bank)}")
        ids.add(qid)
    return ids


def choose_questions(book: Book, numbers: dict[str, str], request: SheetRequest,
                     excluded: set[str]) -> list[Question]:
    """A balanced, seeded choice of the questions the request matches, in book order."""
    matching = matching_questions(book, request)
    pool = sorted((q for q in matching if q.id not in excluded), key=lambda q: _book_order(numbers, q))
    wanted = request.count or min(DEFAULT_COUNT, len(pool))
    if not pool or len(pool) < wanted:
        after = " (after --exclude)" if len(pool) < len(matching) else ""
        if not pool:
            raise BookError(f"no {describe_choice(request, 0)}{after}; there is nothing to put on a sheet")
        raise BookError(f"only {len(pool)} {describe_choice(request, len(pool))}{after}; ask for at most {len(pool)}")

    rng = random.Random(request.seed)
    strata: dict[str, dict[str, list[Question]]] = {}
    for q in pool:
        strata.setdefault(q.topic, {}).setdefault(q.difficulty, []).append(q)
    topic_turns = []
    for topic in _shuffled(rng, strata):
        levels = strata[topic]
        topic_turns.append(_round_robin([_shuffled(rng, levels[d]) for d in _shuffled(rng, levels)]))
    chosen = list(islice(_round_robin(topic_turns), wanted))
    return sorted(chosen, key=lambda q: _book_order(numbers, q))


def matching_questions(book: Book, request) -> list[Question]:
    """Every question `request` matches (its topics, difficulties, tags and kind: a SheetRequest or
    anything with those fields, as `bookbuild anki` has), in topic order; a BookError with a
    sentence for an unknown topic or tag."""
    unknown = [t for t in request.topics if t not in book.topics]
    if unknown:
        raise BookError(f"no topic {_names(unknown, 'or')} in this book; its topics are: {', '.join(book.topics)}"
                        + did_you_mean(unknown, book.topics))
    topics = request.topics or tuple(book.topics)
    in_topics = [q for t in topics for q in book.topics[t].questions]
    tags_there = sorted({tag for q in in_topics for tag in q.tags})
    unknown = [t for t in request.tags if t not in tags_there]
    if unknown:
        raise BookError(f"no question in {_where(request.topics)} is tagged {_names(unknown, 'or')}; "
                        + _what_tags(unknown, tags_there))
    return [q for q in in_topics
            if (not request.difficulties or q.difficulty in request.difficulties)
            and (not request.tags or set(request.tags) & set(q.tags))
            and (request.kind is None or q.kind == request.kind)]


def describe_choice(request, count: int) -> str:
    """What was asked for, after a count: "hard open-ended questions tagged 'x' in topic 'y'"."""
    what = " ".join(filter(None, [" or ".join(request.difficulties), request.kind,
                                  "question" if count == 1 else "questions"]))
    tagged = f" tagged {_names(request.tags, 'or')}" if request.tags else ""
    return f"{what}{tagged} in {_where(request.topics)}"


def choice_name(request) -> list[str]:
    """The parts of a file name that say what was chosen: topics (or "all"), difficulties (or "all")."""
    difficulties = [d for d in DIFFICULTIES if d in request.difficulties]
    return ["+".join(sorted(request.topics)) or "all", "+".join(difficulties) or "all"]


def _shuffled(rng: random.Random, items: Iterable) -> list:
    """A shuffled copy; callers pass items in a fixed order (book or file order), so that a seed
    gives the same choice on every machine."""
    out = list(items)
    rng.shuffle(out)
    return out


def _round_robin(queues: list[Iterable]) -> Iterator:
    """One item from each queue in turn, skipping the queues that have run dry."""
    iterators = [iter(q) for q in queues]
    while iterators:
        for it in list(iterators):
            try:
                yield next(it)
            except StopIteration:
                iterators.remove(it)


def _book_order(numbers: dict[str, str], q: Question) -> tuple[tuple[int, int], ...]:
    """Chapters 1, 2, … then appendices A, B, …, Z, AA, …; positions as numbers."""
    return tuple((0, int(n)) if n.isdigit() else (1, int("".join(str(ord(ch) - 64).zfill(2) for ch in n)))
                 for n in numbers[q.id].split("."))


def _names(names: Iterable[str], conjunction: str) -> str:
    quoted = [repr(n) for n in names]
    return quoted[0] if len(quoted) == 1 else f"{', '.join(quoted[:-1])} {conjunction} {quoted[-1]}"


def _where(topics: tuple[str, ...]) -> str:
    if not topics:
        return "the book"
    return f"topic{'s' if len(topics) > 1 else ''} {_names(topics, 'and')}"


def _what_tags(unknown: list[str], tags: list[str]) -> str:
    """What to tell someone who asked for tags that no question has."""
    if not tags:
        return "none has tags"
    # a bank has hundreds of tags: name the likely ones rather than all of them
    there = (f"the tags there are: {', '.join(tags)}" if len(tags) <= MAX_LISTED
             else f"there are {len(tags)} tags, from {tags[0]!r} to {tags[-1]!r}")
    return there + did_you_mean(unknown, tags)


def practice_sheet(book: Book, numbers: dict[str, str], page_map: dict[str, int] | None,
                   request: SheetRequest, chosen: list[Question]) -> Sheet:
    """A practice sheet of the chosen questions, named and titled after what was asked."""
    topics = request.topics or ()
    difficulties = [d for d in DIFFICULTIES if d in request.difficulties]
    name = request.name or "-".join(["sheet", *choice_name(request), str(len(chosen)), f"s{request.seed}"])
    title = ", ".join(book.topics[t].title for t in topics) if topics else "All topics"
    subtitle = " · ".join(filter(None, [
        f"{len(chosen)} question{'s' if len(chosen) != 1 else ''}",
        ", ".join(difficulties), request.kind,
        f"tagged {', '.join(request.tags)}" if request.tags else "",
        f"seed {request.seed}"]))
    items = tuple(SheetQuestion(n, q, numbers[q.id], page_map.get(q.id) if page_map else None)
                  for n, q in enumerate(chosen, 1))
    return Sheet(name, "Practice sheet", title, subtitle, (SheetSection(None, items),), page_map is not None)


def interview_sheet(book: Book, numbers: dict[str, str], page_map: dict[str, int] | None,
                    request: SheetRequest) -> Sheet:
    """One of the book's sample interviews as a mock-interview sheet, round by round."""
    interview = book.interviews.get(request.interview)
    if interview is None:
        raise BookError(f"no interview {request.interview!r} in this book; "
                        + (f"its interviews are: {', '.join(book.interviews)}" if book.interviews
                           else "it has no sample interviews (questions/interviews.yaml)")
                        + did_you_mean(request.interview, book.interviews))
    bank = book.questions
    sections = []
    number = 0
    for index, rnd in enumerate(interview.rounds, 1):
        items = []
        for qid, _ in rnd.questions:
            number += 1
            items.append(SheetQuestion(number, bank[qid], numbers[qid], page_map.get(qid) if page_map else None))
        sections.append(SheetSection(f"Round {index}: {rnd.title}", tuple(items)))
    rounds = len(sections)
    subtitle = f"{rounds} round{'s' if rounds != 1 else ''}, {number} question{'s' if number != 1 else ''}"
    return Sheet(request.name or f"interview-{interview.id}", "Mock interview", interview.title, subtitle,
                 tuple(sections), page_map is not None)


def release_pages(book: Book, report: Report) -> dict[str, int] | None:
    """Question id → page in the release PDF, from the page map its build wrote; None if none."""
    path = book.root / "dist" / "release" / "pagemap.json"
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        built = path.stat().st_mtime
    except (OSError, ValueError):
        return None
    sources = [book.meta.path, *(t.path for t in book.topics.values()), *(c.path for c in book.chapters)]
    if any(source.stat().st_mtime > built for source in sources):
        report.warning(Pos(str(path)), "the release PDF is older than the book's sources: the key's page "
                       "numbers may be off; rebuild it with `build --format pdf`")
    return {k: v for k, v in data.items() if isinstance(v, int)} if isinstance(data, dict) else None


# ---- rendering --------------------------------------------------------------------------------

def render_fields(book: Book, numbers: dict[str, str], sheet: Sheet, report: Report) -> dict[str, Markup]:
    """Every prompt, hint and answer on the sheet as safe HTML, keyed `<field>-<sheet number>`.

    A question's fields, once rendered, are kept in the book's cache until any source of the
    book changes (a reference in one reads the numbering of the whole book); with them, the
    warnings they gave, which are given again.
    """
    store = Cache(book.root)
    # the book's sources, and the questions' folder with the images a field shows
    base = digest(code_digest(), "sheet-fields", sources_digest(book), file_digest(book.root / "questions"))
    out: dict[str, Markup] = {}
    todo = []
    for item in sheet.questions:
        kept = _kept_fields(store.get(digest(base, item.question.id)), item.question)
        if kept is None:
            todo.append(item)
            continue
        fields, problems = kept
        out.update({f"{field}-{item.number}": Markup(html) for field, html in fields.items()})
        for field, problem in problems:
            report.warning(item.question.field_pos(field), f"question {item.question.id!r}: {problem}")
    if todo:
        problems_by_id: dict[str, list[list[str]]] = {item.question.id: [] for item in todo}
        fresh = _render_fields(book, numbers, todo, report, problems_by_id)
        out.update(fresh)
        for item in todo:
            fields = {field: str(fresh[f"{field}-{item.number}"]) for field, _ in item.question.texts()}
            try:
                store.put(digest(base, item.question.id),
                          json.dumps({"fields": fields, "problems": problems_by_id[item.question.id]}))
            except OSError:
                pass  # an unwritable cache only makes the next sheet slower
    return out


def _kept_fields(text: str | None, question: Question) -> tuple[dict[str, str], list] | None:
    try:
        kept = json.loads(text) if text else None
    except ValueError:
        return None
    names = {field for field, _ in question.texts()}
    if not (isinstance(kept, dict) and isinstance(kept.get("fields"), dict) and set(kept["fields"]) == names
            and all(isinstance(v, str) for v in kept["fields"].values()) and isinstance(kept.get("problems"), list)):
        return None
    problems = [p for p in kept["problems"] if isinstance(p, list) and len(p) == 2 and p[0] in names]
    return kept["fields"], problems


def _render_fields(book: Book, numbers: dict[str, str], items: list[SheetQuestion], report: Report,
                   problems_by_id: dict[str, list[list[str]]]) -> dict[str, Markup]:
    """The fields of these questions as safe HTML, from one pandoc run for them all."""
    sources: dict[str, tuple[Question, str]] = {}
    parts = []
    for item in items:
        for field, text in item.question.texts():
            key = f"{field}-{item.number}"
            sources[key] = (item.question, field)
            # validation refuses ':::' lines in question fields, so a field cannot close its div
            parts.append(f"::: {{#{key}}}\n{text.value}\n:::\n")
    # no automatic ids: a field's HTML must not depend on the fields beside it (it is kept alone)
    doc_json = run_pandoc(["--sandbox", "-f", READER + "-auto_identifiers", "-t", "json"], "\n".join(parts))
    doc = pf.load(io.StringIO(doc_json))
    sanitize.main(doc)  # book text is untrusted: no raw HTML, scripts or unsafe links in a sheet
    # walking the document is the slow part: skip the walks for elements the fields do not have
    # (book text cannot fake these: a quote inside text is escaped in pandoc's JSON)
    if '"t":"Cite"' in doc_json:
        resolve_references(doc, book, numbers)
    if '"t":"Note"' in doc_json:
        footnotes_in_margin(doc)  # one HTML for many fields: notes stay with their text
    if '"t":"Image"' in doc_json:
        embed_images(doc, book.root / "questions")  # image paths in the bank are relative to questions/
    blocks: list[pf.Block] = []
    for div in doc.content:
        question, field = sources[div.identifier]
        problems: list[str] = []
        typeset_math(div, problems)
        for problem in problems:
            report.warning(question.field_pos(field), f"question {question.id!r}: {problem}")
            problems_by_id[question.id].append([field, problem])
        # markers that book text cannot carry (sanitize removed its raw HTML) split the output
        blocks.append(pf.RawBlock(f"<!--sheet-field {div.identifier}-->", format="html"))
        blocks.extend(div.content)
    html = run_pandoc(["-f", "json", "-t", "html5", "--wrap=none"],
                      dump(pf.Doc(*blocks, api_version=doc.api_version)))
    pieces = _FIELD_MARK.split(html)
    return {key: Markup(body.strip()) for key, body in zip(pieces[1::2], pieces[2::2])}


def resolve_references(doc: pf.Doc, book: Book, numbers: dict[str, str]) -> None:
    """`@q:id` → "Question 5.12"; `@sec:`, `@fig:`, `@tbl:` → the chapter they are in; no links."""
    cited = set()
    doc.walk(lambda e, d: cited.update(c.id for c in e.citations) if isinstance(e, pf.Cite) else None)
    labels = {f"q:{qid}": {"kind": "q", "number": numbers[qid], "anchor": f"q-{qid}"}
              for qid in (c[2:] for c in cited if c.startswith("q:")) if qid in numbers}
    if any(c.split(":", 1)[0] in ("sec", "fig", "tbl") for c in cited):
        labels.update(_label_chapters(book, numbers))
    doc.metadata["bookbuild-labels"] = labels
    xref.main(doc)
    del doc.metadata["bookbuild-labels"]
    # the targets are in the book, not on the sheet: keep the words, drop the link
    doc.walk(lambda e, d: pf.Span(*e.content) if isinstance(e, pf.Link) and "xref" in e.classes else None)


def _label_chapters(book: Book, numbers: dict[str, str]) -> dict[str, dict]:
    """xref labels for sections, figures and tables, by chapter: numbering them needs the whole book."""
    words = {"sec": "a section of", "fig": "a figure in", "tbl": "a table in"}
    labels: dict[str, dict] = {}
    by_file = {c.file: c for c in book.chapters}

    chapter_label = chapter_labels(book)
    appendices = {label for c, label in chapter_label.items() if by_file[c].role == "appendix"}

    def add(found, chapter: str, title_line: int | None, title: str = "") -> None:
        word = "Appendix" if chapter in appendices else "Chapter"
        for label in found.labels:
            key = f"{label.kind}:{label.id}"
            if label.kind == "sec" and label.pos.line - 1 == title_line:
                labels[key] = ({"kind": "sec", "number": chapter, "anchor": "", "chapter_title": "True",
                                **({"appendix": "True"} if chapter in appendices else {})} if chapter
                               else {"kind": "sec", "number": title, "anchor": "", "unnumbered": "True"})
            else:
                labels[key] = {"kind": label.kind, "anchor": "", "unnumbered": "True",
                               "number": f"{words[label.kind]} {f'{word} {chapter}' if chapter else title}"}

    for chapter in book.chapters:
        found = scan(chapter.text, chapter.pos)
        title_line = next((h.line for h in found.headings if h.level == 1), None)
        add(found, chapter_label.get(chapter.file, ""), title_line, chapter.title)
    for q in book.questions.values():
        for _, text in q.texts():
            add(scan(text.value, text.pos), numbers[q.id].split(".")[0], None)
    return labels


def render_html(book: Book, sheet: Sheet, fields: dict[str, Markup], date: str, *, key: bool) -> str:
    """The sheet (or its key) as one self-contained HTML page: print CSS, embedded images, no scripts."""
    css = find_template(book.root, "sheet.css").read_text(encoding="utf-8")
    css += f"\n@page {{ size: {PAGE_SIZES.get(book.meta.page_size, 'A4')}; }}\n"
    return html_env(book.root).get_template("sheet.html.j2").render(
        book=book.meta, sheet=sheet, fields=fields, key=key, date=date,
        css=Markup(css.replace("</", "<\\/")))  # CSS cannot end the <style> element


def render_pdfs(documents: dict[Path, str], book: Book, report: Report,
                early: EarlyRenderer | None = None) -> dict[Path, bytes]:
    """Each HTML page as a PDF; the longest in the early worker when there is one, the rest here.

    WeasyPrint lays out on one core: the sheet and its key side by side take the time of the
    longer one.
    """
    jobs = {path: (html, _pdf_identifier(book, path)) for path, html in documents.items()}
    results: dict[Path, tuple[bytes, list[str]]] = {}
    longest = max(jobs, key=lambda path: len(jobs[path][0])) if early is not None and jobs else None
    if longest is not None:
        early.render(*jobs[longest], book.root)
    for path, job in jobs.items():
        if path != longest:
            results[path] = pdf_bytes(*job)
    if longest is not None:
        results[longest] = early.result() or pdf_bytes(*jobs[longest])
    out = {}
    for path in documents:
        pdf, messages = results[path]
        for message in messages:
            report.warning(Pos(str(book.meta.path)), f"{path.name} layout: {message}")
        out[path] = pdf
    return out


def _pdf_identifier(book: Book, path: Path) -> bytes:
    # WeasyPrint would draw a random identifier: a fixed one keeps the bytes reproducible
    return hashlib.sha256(f"{book.meta.identifier} {path.name}".encode("utf-8")).hexdigest()[:32].encode("ascii")


