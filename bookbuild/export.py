"""The question bank as data: `bookbuild export` writes `<slug>.json` and `<slug>.csv`.

Top to bottom: check the book (as `sheet` does) → number the questions (`book_numbers`) and find
their pages (the release PDF's page map, as sheet keys do) → one plain-data dict → JSON text and
CSV text → write both, each atomically, only once both are made.

Decisions:
- The JSON gives every question field as the YAML has it: Markdown as written, never rendered.
  An optional field the YAML leaves out is `null` (`hint`, `answer`, `group`, `flaw`); `kind`
  and `tags` take their defaults (`knowledge`, `[]`). Tags are always text (a bare number in the
  YAML, `tags: [2024]`, is the name "2024", as the loader reads it).
- Questions are listed in book order (1.1, 1.2, …, 2.1, …, A.1, …); each topic lists its question
  ids in its file's order, so the bank can be rebuilt file by file.
- `page` is the question's page in the release PDF when `dist/release/pagemap.json` exists (as
  for sheet keys; a map older than the sources is used, with a warning), else `null`.
- The one build date (bookbuild/dates.py) is the only date: the same sources give the same bytes.
- CSV: one row a question, UTF-8 with a byte-order mark (spreadsheets then read the encoding
  right), CRLF between rows (RFC 4180), cells with line breaks, commas or quotes quoted, tags
  joined by `;`. A cell that a spreadsheet could run as a formula, one starting with
  `= + - @`, a tab, a carriage return or NUL (OWASP's and ASVS 1.2.10's list), their full-width
  forms, or such a character after leading `'`s, gets one more `'` in front. Taking one `'` off
  every cell that starts with `'`s followed by one of them gives the text back exactly.
- The JSON Schema of the export is made from the key table of the YAML files
  (bookbuild/fileformat.py), so the two cannot drift apart; the package ships it as
  bookbuild/schemas/export.schema.json (regenerate: python -m bookbuild.export).
"""

from __future__ import annotations

import csv
import io
import json
import re
from pathlib import Path

from .dates import build_date
from .errors import BookError, Report
from .fileformat import DISCARDED, ID_PATTERN, INTERVIEW, QUESTION, RESOURCE, ROUND, shape_schema
from .model import Book, Question, chapter_labels
from .numbering import book_numbers
from .output import write_atomic
from .pipeline import BuildResult, check

FORMATS = ("json", "csv")
FORMAT_VERSION = 1
SCHEMA_NAME = "export.schema.json"
NUMBER_PATTERN = r"^(?:[0-9]+|[A-Z]+)\.[0-9]+$"

# the CSV's columns, in order, and what each holds (README.md's "Exporting the bank" lists them)
CSV_COLUMNS = ("number", "id", "topic", "chapter", "page", "difficulty", "kind", "group", "flaw", "tags",
               "prompt", "hint", "answer")
TAG_SEPARATOR = ";"
# a cell a spreadsheet may run as a formula: after any leading quotes, one of these first
_FORMULA_START = re.compile("'*[=+\\-@\t\r\0\uff1d\uff0b\uff0d\uff20]")


def export_bank(root: Path, formats: tuple[str, ...] = FORMATS, out: Path | None = None) -> BuildResult:
    """Write the bank as `<slug>.json` and/or `<slug>.csv` into `out` (default <book>/dist/export).

    Raises BookError (with every problem in its report) when the book has errors or a file cannot
    be written; nothing is written unless everything was made.
    """
    book, report = check(root)
    if book is None or report.errors:
        raise BookError("the book has errors", report)
    data = bank_data(book, report)
    out_dir = out or book.root / "dist" / "export"
    files: dict[Path, bytes] = {}
    if "json" in formats:
        files[out_dir / f"{book.meta.slug}.json"] = json_text(data).encode("utf-8")
    if "csv" in formats:
        files[out_dir / f"{book.meta.slug}.csv"] = csv_text(data).encode("utf-8-sig")
    for path, content in files.items():
        try:
            write_atomic(path, content)
        except OSError as exc:
            raise BookError(f"cannot write {path}: {exc.strerror or exc}; choose another --out", report) from None
    return BuildResult(outputs=list(files), report=report)


# ---- the data ---------------------------------------------------------------------------------

def bank_data(book: Book, report: Report) -> dict:
    """The whole bank as plain data (what the JSON holds, key for key)."""
    numbers = book_numbers(book)
    pages = release_pages(book, report)
    labels = chapter_labels(book)
    chapter_of_label = {label: chapter for chapter in book.chapters
                        for label in [labels.get(chapter.file)] if label is not None}
    bank = book.questions
    # book order: numbers are made chapter by chapter, position by position; a question no block
    # places (check refuses that, so never in practice) would come last, without a number
    ordered = [bank[qid] for qid in numbers if qid in bank]
    ordered += [q for q in bank.values() if q.id not in numbers]

    def question(q: Question) -> dict:
        number = numbers.get(q.id)
        chapter = chapter_of_label.get(number.split(".")[0]) if number else None
        return {
            "id": q.id,
            "number": number,
            "topic": q.topic,
            "chapter": {"file": chapter.file, "label": labels[chapter.file], "title": chapter.title}
            if chapter else None,
            "page": pages.get(q.id) if pages is not None else None,
            "difficulty": q.difficulty,
            "kind": q.kind,
            "group": q.group,
            "flaw": q.flaw,
            "tags": list(q.tags),
            "prompt": q.prompt.value,
            "hint": q.hint.value if q.hint else None,
            "answer": q.answer.value if q.answer else None,
        }

    meta = book.meta
    return {
        "format_version": FORMAT_VERSION,
        "book": {
            "title": meta.title,
            "slug": meta.slug,
            "author": meta.author,
            "language": meta.language,
            "identifier": meta.identifier,
            "version": meta.version,
            "build_date": build_date(book.root, meta.date).when.strftime("%Y-%m-%dT%H:%M:%SZ"),
        },
        "has_pages": pages is not None,
        "topics": [{"id": t.id, "title": t.title,
                    "resources": [{"title": r.title, "url": r.url, "note": r.note or None} for r in t.resources],
                    "questions": [q.id for q in t.questions]}
                   for t in book.topics.values()],
        "questions": [question(q) for q in ordered],
        "interviews": [{"id": i.id, "title": i.title,
                        "rounds": [{"title": r.title, "questions": [qid for qid, _ in r.questions]}
                                   for r in i.rounds]}
                       for i in book.interviews.values()],
        "discarded": [{"id": d.id, "prompt": d.prompt.value, "reason": d.reason.value} for d in book.discarded],
    }


def release_pages(book: Book, report: Report) -> dict[str, int] | None:
    """Question id → page in the release PDF: the sheet keys' reading of its page map (None: no
    map), with their warning for a map older than the sources, worded for the export."""
    from .sheets import release_pages as read_page_map  # the same reading, not a copy of it

    heard = Report()
    pages = read_page_map(book, heard)
    for diagnostic in heard.items:  # the one thing it warns about is a stale map
        report.warning(diagnostic.pos, "the release PDF is older than the book's sources: the export's page "
                       "numbers may be off; rebuild it with `build --format pdf`")
    return pages


# ---- the files ----------------------------------------------------------------------------------

def json_text(data: dict) -> str:
    return json.dumps(data, indent=2, ensure_ascii=False) + "\n"


def csv_cell(value: object) -> str:
    """A value as CSV cell text: empty for None, and never a formula a spreadsheet would run."""
    text = "" if value is None else str(value)
    return "'" + text if _FORMULA_START.match(text) else text


def csv_rows(data: dict) -> list[list[str]]:
    """The header row, then one row a question, every cell escaped."""
    rows = [list(CSV_COLUMNS)]
    for q in data["questions"]:
        values = {**q, "chapter": q["chapter"]["title"] if q["chapter"] else None,
                  "tags": TAG_SEPARATOR.join(q["tags"])}
        rows.append([csv_cell(values[column]) for column in CSV_COLUMNS])
    return rows


def csv_text(data: dict) -> str:
    buffer = io.StringIO(newline="")
    csv.writer(buffer, lineterminator="\r\n").writerows(csv_rows(data))
    return buffer.getvalue()


# ---- the schema -------------------------------------------------------------------------------

def _not_null(schema: dict) -> dict:
    """An optional key's schema without its `null` alternative (the export always gives a value)."""
    alternatives = [s for s in schema.get("anyOf", ()) if s != {"type": "null"}]
    if len(alternatives) == 1 and len(schema["anyOf"]) == 2:
        return {k: v for k, v in schema.items() if k != "anyOf"} | alternatives[0]
    return schema


def _all_required(schema: dict) -> dict:
    return {**schema, "required": list(schema["properties"])}


def export_schema() -> dict:
    """The JSON Schema (draft 2020-12) of `<slug>.json`, built on the YAML files' key table."""
    text = {"type": "string"}
    names = {"type": "array", "items": {"type": "string"}}
    ids = {"type": "array", "items": {"type": "string", "pattern": ID_PATTERN}}

    question = shape_schema(QUESTION)
    props = question["properties"]
    props["kind"] = _not_null(props["kind"])
    props["kind"]["description"] = props["kind"]["description"].replace("Default:", "The YAML's default:")
    props["tags"] = {"description": props["tags"]["description"] + " Always text, in the YAML's order.",
                     **names}
    props["topic"] = {"description": "The topic id: the name of the question's file in questions/.",
                      "type": "string", "pattern": ID_PATTERN}
    props["number"] = {"description": "The question's number in the full book: chapter.position (\"5.12\"), "
                       "or letter.position in an appendix (\"A.3\"). null only for a question no block places, "
                       "which `check` refuses.", "anyOf": [{**text, "pattern": NUMBER_PATTERN}, {"type": "null"}]}
    props["chapter"] = {"description": "The chapter whose questions block places the question.", "anyOf": [{
        "type": "object", "additionalProperties": False, "required": ["file", "label", "title"],
        "properties": {
            "file": {"description": "The chapter's file in book/chapters/.", **text},
            "label": {"description": "Its number (\"5\") or appendix letter (\"A\").", **text},
            "title": {"description": "Its title, as its `#` heading gives it.", **text}}}, {"type": "null"}]}
    props["page"] = {"description": "The page of the release PDF the question is printed on, from "
                     "dist/release/pagemap.json; null when that PDF was never built.",
                     "anyOf": [{"type": "integer", "minimum": 1}, {"type": "null"}]}
    order = ("id", "number", "topic", "chapter", "page", "difficulty", "kind", "group", "flaw", "tags",
             "prompt", "hint", "answer")
    question["properties"] = {name: props[name] for name in order}

    resource = shape_schema(RESOURCE)
    rnd = _all_required(shape_schema(ROUND))
    rnd["properties"]["questions"] = {"description": rnd["properties"]["questions"]["description"], **ids}
    interview = shape_schema(INTERVIEW)
    interview["properties"]["rounds"] = {**interview["properties"]["rounds"], "items": rnd}
    topic = {"type": "object", "additionalProperties": False, "required": ["id", "title", "resources", "questions"],
             "properties": {
                 "id": {"description": "The topic id: its file name in questions/ without `.yaml`.",
                        "type": "string", "pattern": ID_PATTERN},
                 "title": {"description": "The topic's title.", **text},
                 "resources": {"description": "The reading list, in the file's order.", "type": "array",
                               "items": _all_required(resource)},
                 "questions": {"description": "The topic's question ids, in the file's order.", **ids}}}
    book = {"type": "object", "additionalProperties": False, "properties": {
        "title": {"description": "The book's title.", **text},
        "slug": {"description": "The name of output files.", "type": "string", "pattern": ID_PATTERN},
        "author": {"description": "The author(s); empty when book.yaml names none.", **text},
        "language": {"description": "A BCP 47 language tag.", **text},
        "identifier": {"description": "The book's stable unique id (book.yaml `identifier`).", **text},
        "version": {"description": "The book's version.", **text},
        "build_date": {"description": "The build date (SOURCE_DATE_EPOCH, else the last commit's time, else "
                       "book.yaml's date, else now), UTC.", "type": "string", "format": "date-time",
                       "pattern": r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$"}}}
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "title": "bookbuild export: dist/export/<slug>.json",
        "type": "object", "additionalProperties": False,
        "required": ["format_version", "book", "has_pages", "topics", "questions", "interviews", "discarded"],
        "properties": {
            "format_version": {"description": "This layout's version; a change that could break a reader "
                               "raises it.", "const": FORMAT_VERSION},
            "book": _all_required(book),
            "has_pages": {"description": "Whether the release PDF's page map was there (questions' `page`).",
                          "type": "boolean"},
            "topics": {"description": "The topics, by id.", "type": "array", "items": topic},
            "questions": {"description": "Every question of the bank, in book order, with every field as "
                          "the YAML has it.", "type": "array", "items": _all_required(question)},
            "interviews": {"description": "The sample interviews (questions/interviews.yaml), in its order.",
                           "type": "array", "items": _all_required(interview)},
            "discarded": {"description": "The discarded questions (questions/discarded.yaml), with why.",
                          "type": "array", "items": _all_required(shape_schema(DISCARDED))},
        },
    }


def schema_text() -> str:
    return json.dumps(export_schema(), indent=2, ensure_ascii=False) + "\n"


def write_schema(folder: Path) -> Path:
    """Write export.schema.json into `folder`; its path."""
    path = folder / SCHEMA_NAME
    write_atomic(path, schema_text())
    return path


if __name__ == "__main__":  # regenerate the copy shipped in the package: python -m bookbuild.export
    write_schema(Path(__file__).resolve().parent / "schemas")
