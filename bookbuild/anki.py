"""Anki decks: the question bank (or the part of it that `sheet`'s options choose) as an .apkg.

`make_deck` reads top to bottom: check the book → choose the questions → render them through the
book's own questions template, one pandoc run for them all → notes, decks and media with genanki
→ the collection (SQLite) and the zip, both byte-reproducible → write.

Decisions:
- **The choice** is `sheet`'s matching (topics, difficulties, tags, kind; sheets.matching_questions)
  without a count or a seed: every question that matches, in book order (new cards come in that
  order). Unknown topics and tags are the same sentences, with "did you mean".
- **The name** is `<slug>` for the whole bank; narrowed, it is named as a sheet is, with the slug
  for "sheet": `<slug>-<topics or all>-<difficulties or all>`, then the kind and `tagged-<tags>`
  when given (a deck has no count or seed to tell two narrowed decks apart).
- **Updates keep progress.** A note's GUID is `genanki.guid_for(<book identifier>, <question id>)`;
  the note type's and the decks' ids are hashes of the identifier (and topic id), never of titles
  or of the choice. A newer release, or a narrowed deck, imported over an older one updates the
  same notes and cards in the same decks; notes' modification times are the build date, which
  grows with every release (Anki updates a note only when the imported one is newer).
- **The words are the book's.** Each question is rendered by the book's `questions.md.j2` (its
  own, when it overrides it) and the pieces are taken out of its divs: `.question-head` is left
  out (tags say the difficulty and kind), `.hint` is the Hint field ("**Hint.** ..."), the
  `.flaw-note` inside `.answer` is the Flaw field, the rest of `.answer` the Answer field, the
  rest of the question the Prompt field. The front shows "Question 5.12" and the prompt; the back
  the hint, the flaw note and the answer, as the book orders them.
- **Book text is untrusted**: raw HTML is stripped as in every output (filters/sanitize.py,
  in-process); `@q:` references become "Question 5.12" words without links (the book is not in
  Anki), as on a sheet; footnotes stay beside their text; math stays TeX for Anki's MathJax
  (`\\(...\\)`, `\\[...\\]`, from pandoc's `--mathjax`).
- **Images** are resolved as validation does (relative to questions/, inside the book root, after
  following links) and packed as media named by a hash of their bytes, so a changed figure gets a
  new name and an unchanged one is never duplicated.
- **Reproducible bytes**: genanki writes the collection into a SQLite file with every time taken
  from the build date (its ids count up from it); the zip is written here with fixed entry times
  (the build date), fixed attributes, and media in name order (genanki's own writer stamps the
  time and orders media by a set).
"""

from __future__ import annotations

import hashlib
import io
import itertools
import json
import re
import sqlite3
import tempfile
import warnings
import zipfile
from dataclasses import dataclass
from pathlib import Path

import genanki
import panflute as pf

from bookbuild.filters import sanitize

from .assemble import READER
from .builders.base import dump
from .builders.pdf import footnotes_in_margin
from .dates import BuildDate, build_date
from .errors import BookError, Report
from .load import slugify
from .model import Book, Question
from .numbering import book_numbers
from .output import write_atomic
from .pandoc import run_pandoc
from .pipeline import BuildResult, check
from .sheets import _book_order, choice_name, describe_choice, matching_questions, resolve_references
from .templating import markdown_env, template_problem
from .validate import resolve_image

FIELDS = ("Number", "Prompt", "Hint", "Flaw", "Answer", "Id")
_FIELD_MARK = re.compile(r"<!--anki-field (\S+) (\S+)-->\n?")

FRONT = """<div class="bookbuild-number">Question {{Number}}</div>
<div class="bookbuild-prompt">{{Prompt}}</div>"""
BACK = """{{FrontSide}}
<hr id="answer">
{{#Hint}}<div class="bookbuild-hint">{{Hint}}</div>{{/Hint}}
{{#Flaw}}<div class="bookbuild-flaw">{{Flaw}}</div>{{/Flaw}}
<div class="bookbuild-answer">{{Answer}}</div>
<div class="bookbuild-id">{{Id}}</div>"""
# no colours: Anki's own (light and night mode) apply
CSS = """.card { font-family: "Noto Sans", "DejaVu Sans", -apple-system, "Segoe UI", sans-serif;
  font-size: 18px; line-height: 1.45; text-align: left; max-width: 42em; margin: 0 auto; padding: 0 0.5em; }
.bookbuild-number { font-size: 0.8em; opacity: 0.7; margin-bottom: 0.5em; }
.bookbuild-hint, .bookbuild-flaw { border-left: 3px solid; padding-left: 0.75em; margin: 0.75em 0; opacity: 0.9; }
.bookbuild-id { font-size: 0.7em; opacity: 0.5; margin-top: 1.5em; font-family: monospace; }
.footnote { font-size: 0.85em; opacity: 0.8; }
.footnote::before { content: " ("; } .footnote::after { content: ")"; }
img { max-width: 100%; height: auto; }
figure { margin: 1em 0; text-align: center; } figcaption { font-size: 0.9em; }
pre { overflow-x: auto; }
table { border-collapse: collapse; margin: 0.75em 0; }
th, td { border: 1px solid rgba(128, 128, 128, 0.6); padding: 0.2em 0.5em; }
"""


@dataclass(frozen=True)
class AnkiRequest:
    """What `bookbuild anki` was asked for; click has already checked the form of each value."""

    root: Path
    topics: tuple[str, ...] = ()  # empty: every topic
    difficulties: tuple[str, ...] = ()  # empty: every difficulty
    tags: tuple[str, ...] = ()  # a question qualifies with any one of them
    kind: str | None = None
    out: Path | None = None  # default: <book root>/dist


def make_deck(request: AnkiRequest) -> BuildResult:
    """Write the deck; raises BookError with a sentence (or the book's errors) for the user."""
    book, report = check(request.root)
    if book is None or report.errors:
        raise BookError("the book has errors", report)
    numbers = book_numbers(book)
    chosen = sorted(matching_questions(book, request), key=lambda q: _book_order(numbers, q))
    if not chosen:
        raise BookError(f"no {describe_choice(request, 0)}; there is nothing to put in a deck")
    date = build_date(book.root, book.meta.date)
    fields, media = render_notes(book, numbers, chosen, report)
    data = package_bytes(book, numbers, chosen, fields, media, date)
    path = (request.out or book.root / "dist") / f"{deck_file_name(book, request)}.apkg"
    try:
        write_atomic(path, data)
    except OSError as exc:
        raise BookError(f"cannot write {path}: {exc.strerror or exc}; choose another --out", report) from None
    return BuildResult(outputs=[path], report=report)


def deck_file_name(book: Book, request: AnkiRequest) -> str:
    """`<slug>` for the whole bank, else named as a sheet is (see the module docstring)."""
    if not (request.topics or request.difficulties or request.tags or request.kind):
        return book.meta.slug
    tags = "+".join(sorted({slugify(t) for t in request.tags}))
    return "-".join([book.meta.slug, *choice_name(request), *filter(None, [request.kind, tags and f"tagged-{tags}"])])


def stable_id(book: Book, *parts: str) -> int:
    """An id for a note type or deck: the same for one book in every release, another for another
    book; in [2**30, 2**31), where genanki advises model and deck ids to be."""
    key = "\x1f".join(("bookbuild-anki", book.meta.identifier, *parts)).encode("utf-8")
    return (1 << 30) + int.from_bytes(hashlib.sha256(key).digest()[:8], "big") % (1 << 30)


# ---- rendering --------------------------------------------------------------------------------

def render_notes(book: Book, numbers: dict[str, str], chosen: list[Question],
                 report: Report) -> tuple[dict[str, dict[str, str]], dict[str, bytes]]:
    """Each chosen question's fields as HTML (question id → field → HTML), and the media they show
    (file name → bytes), from one pandoc run through the book's questions template."""
    doc_json = run_pandoc(["--sandbox", "-f", READER + "-auto_identifiers", "-t", "json"],
                          _question_markdown(book, chosen))
    doc = pf.load(io.StringIO(doc_json))
    sanitize.main(doc)  # book text is untrusted: no raw HTML, scripts or unsafe links in a deck
    if '"t":"Cite"' in doc_json:
        resolve_references(doc, book, numbers)  # "Question 5.12", no link: the book is not in Anki
    if '"t":"Note"' in doc_json:
        footnotes_in_margin(doc)  # a note stays beside its text (a field has no end to hold it)
    bank = book.questions
    divs = {}
    for elem in doc.content:
        qid = elem.identifier[2:] if isinstance(elem, pf.Div) and elem.identifier.startswith("q-") else None
        if qid in bank:
            divs[qid] = elem
    missing = [q.id for q in chosen if q.id not in divs]
    if missing:
        raise BookError(f"the questions template (questions.md.j2) gave no div #q-{missing[0]} for question "
                        f"{missing[0]!r}; a deck takes each question's fields out of it")
    media: dict[str, bytes] = {}
    blocks: list[pf.Block] = []
    has_images = '"t":"Image"' in doc_json
    for q in chosen:
        if has_images:
            _pack_images(divs[q.id], q, book, report, media)
        for field, content in _fields_of(divs[q.id]).items():
            # markers that book text cannot carry (sanitize removed its raw HTML) split the output
            blocks.append(pf.RawBlock(f"<!--anki-field {q.id} {field}-->", format="html"))
            blocks.extend(content)
    html = run_pandoc(["-f", "json", "-t", "html5", "--mathjax", "--wrap=none"],
                      dump(pf.Doc(*blocks, api_version=doc.api_version)))
    pieces = _FIELD_MARK.split(html)
    fields: dict[str, dict[str, str]] = {q.id: dict.fromkeys(("Prompt", "Hint", "Flaw", "Answer"), "") for q in chosen}
    for qid, field, body in zip(pieces[1::3], pieces[2::3], pieces[3::3]):
        fields[qid][field] = body.strip()
    return fields, media


def _question_markdown(book: Book, chosen: list[Question]) -> str:
    """The chosen questions as the book's questions template writes them, topic by topic."""
    template = markdown_env(book.root).get_template("questions.md.j2")
    parts = []
    try:
        for topic_id, questions in itertools.groupby(chosen, key=lambda q: q.topic):
            parts.append(template.render(topic=book.topics[topic_id], questions=list(questions),
                                         group_level=2, resources=()))
    except Exception as exc:  # noqa: BLE001 (a template failure is reported, never a traceback)
        found = template_problem(exc, book.root)
        if found is None:
            raise
        path, line, message = found
        raise BookError(f"{path}:{line}: {message}") from None
    return "\n\n".join(parts)


def _fields_of(div: pf.Div) -> dict[str, list[pf.Block]]:
    """A question's div as the template made it, taken apart into the note's fields."""
    out: dict[str, list[pf.Block]] = {"Prompt": [], "Hint": [], "Flaw": [], "Answer": []}
    for block in div.content:
        classes = set(getattr(block, "classes", ()))
        if "question-head" in classes:
            continue  # difficulty and kind: the note's tags
        if "hint" in classes:
            out["Hint"].extend(block.content)
        elif "answer" in classes:
            for inner in block.content:
                out["Flaw" if "flaw-note" in getattr(inner, "classes", ()) else "Answer"].extend(
                    inner.content if "flaw-note" in getattr(inner, "classes", ()) else [inner])
        else:
            out["Prompt"].append(block)
    return {field: blocks for field, blocks in out.items() if blocks}


def _pack_images(div: pf.Div, question: Question, book: Book, report: Report, media: dict[str, bytes]) -> None:
    """Every image of a question as media named by a hash of its bytes; the image points at it."""
    source = book.topics[question.topic].path  # image paths in the bank are relative to questions/

    def action(elem, doc):
        if not isinstance(elem, pf.Image):
            return None
        path, problem = resolve_image(elem.url, source, book.root)
        if path is None or problem:  # validation refused it already: the book would have errors
            report.error(question.pos, f"question {question.id!r}: {problem or 'image not found'}")
            raise BookError("the book has errors", report)
        data = path.read_bytes()
        name = hashlib.sha256(data).hexdigest()[:32] + path.suffix.lower()
        media[name] = data
        elem.url = name
        return None

    div.walk(action)


# ---- the package ------------------------------------------------------------------------------

def package_bytes(book: Book, numbers: dict[str, str], chosen: list[Question], fields: dict[str, dict[str, str]],
                  media: dict[str, bytes], date: BuildDate) -> bytes:
    """The .apkg: a zip of the collection, the media map and the media files, all reproducible."""
    title = _deck_part(book.meta.title)
    note_type = genanki.Model(
        stable_id(book, "model"), f"{book.meta.title} (bookbuild)",
        fields=[{"name": name} for name in FIELDS],
        templates=[{"name": "Question", "qfmt": FRONT, "afmt": BACK}],
        css=CSS, sort_field_index=0)
    parent = genanki.Deck(stable_id(book, "deck"), title,
                          description=f"{book.meta.title}, by {book.meta.author} (version {book.meta.version})")
    decks = {}
    for position, q in enumerate(chosen):
        deck = decks.get(q.topic)
        if deck is None:
            topic = book.topics[q.topic]
            deck = decks[q.topic] = genanki.Deck(stable_id(book, "deck", topic.id), f"{title}::{_deck_part(topic.title)}")
        f = fields[q.id]
        deck.add_note(genanki.Note(
            model=note_type, fields=[numbers[q.id], f["Prompt"], f["Hint"], f["Flaw"], f["Answer"], q.id],
            tags=note_tags(q), guid=genanki.guid_for(book.meta.identifier, q.id), due=position))
    collection = collection_bytes([parent, *decks.values()], date.epoch)
    # the media map names each file by its index in the zip; files in name order
    names = sorted(media)
    files = {"collection.anki2": collection,
             "media": json.dumps({str(i): name for i, name in enumerate(names)}).encode("utf-8"),
             **{str(i): media[name] for i, name in enumerate(names)}}
    return zip_bytes(files, date)


def note_tags(q: Question) -> list[str]:
    """Tags a reader can search and filter by: topic::, difficulty::, kind::, flaw:: and the
    question's own tags as tag:: (Anki tags hold no spaces)."""
    tags = [f"topic::{q.topic}", f"difficulty::{q.difficulty}", f"kind::{q.kind}"]
    if q.flaw:
        tags.append(f"flaw::{q.flaw}")
    tags += ["tag::" + "_".join(t.split()) for t in q.tags]
    return list(dict.fromkeys(tags))


def _deck_part(title: str) -> str:
    """A title as one level of a deck name: "::" would nest it deeper."""
    return " ".join(title.replace("::", ":").split())


def collection_bytes(decks: list[genanki.Deck], epoch: int) -> bytes:
    """The collection genanki writes, as a file's bytes: every time in it is `epoch`."""
    with tempfile.TemporaryDirectory(prefix="bookbuild-anki-") as tmp:
        path = Path(tmp) / "collection.anki2"
        conn = sqlite3.connect(path)
        try:
            cursor = conn.cursor()
            with warnings.catch_warnings():
                # genanki warns of "invalid HTML tags" on a looser reading of HTML than pandoc writes
                warnings.simplefilter("ignore")
                genanki.Package(decks).write_to_db(cursor, epoch, itertools.count(epoch * 1000))
            # genanki re-adds the note type under an int key for each deck: one entry, keys in order
            for column in ("models", "decks"):
                (text,) = cursor.execute(f"SELECT {column} FROM col").fetchone()
                cursor.execute(f"UPDATE col SET {column} = ?", (json.dumps(json.loads(text), sort_keys=True),))
            conn.commit()
        finally:
            conn.close()
        return path.read_bytes()


def zip_bytes(files: dict[str, bytes], date: BuildDate) -> bytes:
    """A zip of `files` in the order given, every entry dated `date` (1980 at the earliest)."""
    when = date.when.timetuple()[:6] if date.when.year >= 1980 else (1980, 1, 1, 0, 0, 0)
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        for name, data in files.items():
            info = zipfile.ZipInfo(name, date_time=when)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.create_system = 3
            info.external_attr = 0o644 << 16
            archive.writestr(info, data, compresslevel=6)
    return out.getvalue()
