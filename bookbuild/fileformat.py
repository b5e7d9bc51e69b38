"""The four YAML file kinds, key by key: the one table the loader, the JSON Schemas and docs/format.md share.

The loader takes each mapping's allowed keys and types from here, `bookbuild schema` writes the
JSON Schemas made from it, and a test holds docs/format.md to it (a key accepted but not
documented, or documented but refused, fails). Checks that need more than one value (a chapter
file that must exist, a question placed once) stay in load.py and validate.py.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass
from pathlib import Path

from .model import ANSWER_MODES, BLEEDS, DIFFICULTIES, FLAWS, KINDS, PAGE_SIZES, PAPER_INCHES_PER_PAGE, TRIM_SIZES

ID_PATTERN = r"^[a-z0-9]+(?:-[a-z0-9]+)*$"
# written for both Python's re and JSON Schema's (ECMA 262) regular expressions: no inline flags
WEB_URL_PATTERN = r"^\s*[Hh][Tt][Tt][Pp][Ss]?://"
FEEDBACK_PATTERN = r"^\s*([Mm][Aa][Ii][Ll][Tt][Oo]:|[Hh][Tt][Tt][Pp][Ss]?://)"
NOT_BLANK_PATTERN = r"\S"
ONE_LINE_PATTERN = r"^\s*[^\n]*\S[^\n]*\s*$"

# a key's type, as users read it (docs and messages) and as YAML gives it to the loader
PYTHON_TYPES: dict[str, tuple[type, ...]] = {
    "text": (str,), "number": (int, float), "date": (dt.date,), "list": (list,), "mapping": (dict,),
}
JSON_TYPES: dict[str, dict] = {
    "text": {"type": "string"}, "number": {"type": "number"},
    "date": {"type": "string", "format": "date"},  # an editor sees the YAML date as text
    "list": {"type": "array"}, "mapping": {"type": "object"},
}
NAME = "name"  # list items that are names: chapter files, tags, question ids (text, or a bare number)


@dataclass(frozen=True)
class Key:
    """One key of a YAML mapping: its type, whether it must be there, and what it means."""

    name: str
    types: tuple[str, ...]
    doc: str
    required: bool = False
    default: str | None = None  # as documented: what an absent key means
    choices: tuple[str, ...] = ()
    pattern: str | None = None
    items: Shape | str | None = None  # a list's items: mappings of this shape, or NAME
    keys: Shape | None = None  # a mapping's own keys
    each: Shape | None = None  # a mapping from names the author chooses (editions) to this shape
    example: object = None  # a value for the documentation's and the schema's examples

    @property
    def python_types(self) -> tuple[type, ...]:
        return tuple(t for name in self.types for t in PYTHON_TYPES[name])


@dataclass(frozen=True)
class Shape:
    """A YAML mapping: the keys it may hold, in the order they are documented."""

    what: str  # how messages name it: "book.yaml", "a question"
    keys: tuple[Key, ...]
    one_of: tuple[str, ...] = ()  # exactly one of these keys must be there
    names: str | None = None  # for a mapping of chosen names (`each`): the pattern of a name

    def key(self, name: str) -> Key:
        return next(k for k in self.keys if k.name == name)


PART = Shape("a part", (
    Key("title", ("text",), "The part's title, printed on its opener page and in the contents.", required=True,
        example="Knowledge questions"),
    Key("intro", ("text",), "A chapter file in book/chapters/ printed after the part's opener: the part's "
        "own introduction, unnumbered (it holds no questions block).", default="none", example="overview.md"),
    Key("chapters", ("list",), "Chapter files in book/chapters/, in reading order.", required=True, items=NAME,
        example=["probability.md", "statistics.md"]),
))

PDF = Shape("book.yaml pdf", (
    Key("page_size", ("text",), "The PDF's page size; `--page-size` overrides it.", default="a4",
        choices=PAGE_SIZES, example="letter"),
))

PRINT = Shape("book.yaml print", (
    Key("trim", ("text",), "The paperback's trim size: inches (width x height), or A5/B5.", default="6x9",
        choices=tuple(TRIM_SIZES), example="6x9"),
    Key("bleed", ("text",), "Bleed around each interior page, for art that reaches the edge (the cover always "
        "has 0.125in).", default="none", choices=BLEEDS, example="0.125in"),
    Key("paper", ("text",), "The paper: the spine's width is the page count times 0.002252 in (white) or "
        "0.0025 in (cream).", default="white", choices=tuple(PAPER_INCHES_PER_PAGE), example="cream"),
    Key("isbn", ("text", "number"), "The paperback's ISBN-13 (hyphens allowed; the check digit is verified), printed "
        "as a barcode on the back cover.", default="none (no barcode)", example="978-1-4028-9462-6"),
    Key("price", ("text",), "A price line printed on the back cover.", default="none", example="$39.99"),
    Key("icc_profile", ("text",), "A CMYK ICC profile (a file under book/, from your printer): makes the "
        "interior PDF/X-3 with colours in CMYK.", default="none (a plain PDF)", example="printer.icc"),
    Key("blurb", ("text",), "The back cover's text (pandoc Markdown).", default="none",
        example="Three hundred questions, and the answers interviewers hope for."),
))

EDITION = Shape("an edition", (
    Key("answers", ("text",), "Where answers go: an appendix after the last chapter, inline after each "
        "question (closed until asked), or left out. `--answers` overrides it.", default="appendix",
        choices=ANSWER_MODES, example="inline"),
    Key("chapters", ("list",), "A subset of the chapters, in book order; questions keep their full-book "
        "numbers, and a reference into a chapter left out reads \"(not in this draft)\".",
        default="every chapter", items=NAME, example=["introduction.md", "probability.md"]),
    Key("watermark", ("text",), "Makes the edition a draft: this word and the version stamp on every page, "
        "a feedback link on every question, \"What changed since the last draft\", and the email excerpt.",
        default="none (not a draft)", example="DRAFT"),
    Key("feedback", ("text",), "Draft feedback link on every question: a `mailto:` or `http(s)://` "
        "template in which `{id}` becomes the question id.", default="none", pattern=FEEDBACK_PATTERN,
        example="mailto:author@example.org?subject=Question%20{id}"),
    Key("url", ("text",), "Where the draft is published (`http(s)://`); the email's links point there.",
        default="none", pattern=WEB_URL_PATTERN, example="https://example.org/draft/"),
), names=ID_PATTERN)

BOOK = Shape("book.yaml", (
    Key("title", ("text",), "The book's title.", required=True, example="Machine Learning Interviews"),
    Key("parts", ("list",), "Chapters grouped under part titles (each part gets an opener page). "
        "A book has `parts:` or `chapters:`, not both.", items=PART),
    Key("chapters", ("list",), "For a book without parts: the chapter files in book/chapters/, in reading "
        "order. A book has `parts:` or `chapters:`, not both.", items=NAME, example=["basics.md", "exam.md"]),
    Key("front", ("list",), "Front matter: chapter files before the first part (preface, foreword, "
        "acknowledgments), unnumbered, with roman page numbers in the PDF; they hold no questions block.",
        default="none", items=NAME, example=["preface.md"]),
    Key("appendices", ("list",), "Chapter files after the last part, lettered A, B, … (sections A.1, "
        "questions A.1); the generated answers come after them.", default="none", items=NAME,
        example=["for-interviewers.md"]),
    Key("slug", ("text",), "The name of output files (`<slug>.pdf`, `<slug>.epub`).",
        default="the title, lower-case, dashed", pattern=ID_PATTERN, example="ml-interviews"),
    Key("author", ("text",), "The author(s), as printed on the title page and in the metadata.", default="none",
        example="Ada Lovelace"),
    Key("language", ("text",), "The book's language, a BCP 47 tag (hyphenation, EPUB metadata).", default="en",
        example="en-GB"),
    Key("identifier", ("text",), "A stable unique id of the book (EPUB `dc:identifier`); keep it across "
        "releases.", default="a UUID derived from the slug",
        example="urn:uuid:0b6d6a9e-4e5c-4d35-9a43-6a3f2f7f6c11"),
    Key("version", ("text", "number"), "The book's version, printed on the copyright page and in draft "
        "stamps.", default="0.0.0", example="0.4.0"),
    Key("date", ("date",), "The build date when neither SOURCE_DATE_EPOCH nor git gives one "
        "(YYYY-MM-DD, unquoted).", default="the last commit's time, else now", example="2026-11-01"),
    Key("pdf", ("mapping",), "PDF settings.", keys=PDF),
    Key("print", ("mapping",), "The paperback (`--edition print`): trim size, bleed, paper, ISBN and cover "
        "text. Its answers follow `editions.print` when given, else the release's.", default="none", keys=PRINT),
    Key("editions", ("mapping",), "Named build profiles, chosen with `--edition NAME`; a name is lower-case "
        "letters, digits and dashes (it names the folder under dist/). `release` exists even when not listed.",
        default="release: {answers: appendix}", each=EDITION),
), one_of=("parts", "chapters"))

RESOURCE = Shape("a resource", (
    Key("title", ("text",), "The resource's title.", required=True, example="Pattern Recognition and Machine "
        "Learning, chapter 2"),
    Key("url", ("text",), "Where to find it (`http(s)://`).", required=True, pattern=WEB_URL_PATTERN,
        example="https://example.org/prml"),
    Key("note", ("text",), "A line on why to read it.", default="none", example="The clearest derivation."),
))

QUESTION = Shape("a question", (
    Key("id", ("text",), "Stable and unique across the bank and discarded.yaml: lower-case letters, digits "
        "and dashes. Anchors (`q-<id>`, `a-<id>`) and `@q:<id>` references use it.", required=True,
        pattern=ID_PATTERN, example="bayes-rare-disease"),
    Key("difficulty", ("text",), "How hard the question is.", required=True, choices=DIFFICULTIES,
        example="medium"),
    Key("kind", ("text",), "A knowledge question, or an open-ended (systems-design) one.", default="knowledge",
        choices=KINDS, example="open-ended"),
    Key("group", ("text",), "A sub-heading inside the topic (one line); a group's questions are kept "
        "together in the file.", default="none", pattern=ONE_LINE_PATTERN, example="Conditional probability"),
    Key("prompt", ("text",), "The question, in pandoc Markdown (math as `$...$` and `$$...$$`).", required=True,
        pattern=NOT_BLANK_PATTERN, example="A test is 99% accurate for a disease 1 in 10,000 people have. "
        "You test positive: how likely is it that you have the disease?"),
    Key("hint", ("text",), "A hint, printed with the answer and on practice-sheet keys.", default="none",
        pattern=NOT_BLANK_PATTERN, example="Count the false positives in 10,000 people."),
    Key("answer", ("text",), "The answer, in pandoc Markdown. Required in every edition that prints answers.",
        default="none", pattern=NOT_BLANK_PATTERN, example="About 1%: Bayes' rule gives "
        "$0.99 \\cdot 0.0001 / (0.99 \\cdot 0.0001 + 0.01 \\cdot 0.9999) \\approx 0.0098$."),
    Key("flaw", ("text",), "The question is flawed on purpose; its answer says what a candidate should point "
        "out (shown with the answer only).", default="none", choices=FLAWS, example="ambiguous"),
    Key("tags", ("list",), "Tags for placement blocks (`tags=\"...\"`), sheets and decks.", default="none",
        items=NAME, example=["bayes", "base-rates"]),
))

TOPIC = Shape("a topic file", (
    Key("title", ("text",), "The topic's title.", required=True, example="Probability"),
    Key("resources", ("list",), "The reading list, printed after the topic's last questions block.",
        default="none", items=RESOURCE),
    Key("questions", ("list",), "The topic's questions, in the order the book prints them.", required=True,
        items=QUESTION),
))

ROUND = Shape("an interview round", (
    Key("title", ("text",), "The round's title.", required=True, example="Phone screen"),
    Key("questions", ("list",), "Ids of questions from the bank, in the order asked.", required=True,
        items=NAME, example=["bayes-rare-disease", "bias-variance"]),
))

INTERVIEW = Shape("an interview", (
    Key("id", ("text",), "The interview's id (`::: {.interview id=\"...\"}`, `sheet --interview`).",
        required=True, pattern=ID_PATTERN, example="research-lab"),
    Key("title", ("text",), "The interview's title.", required=True, example="Research engineer at a research lab"),
    Key("rounds", ("list",), "The rounds, in order: a full-length interview has at least 3 rounds and 12 "
        "questions.", required=True, items=ROUND),
))

INTERVIEWS = Shape("interviews.yaml", (
    Key("interviews", ("list",), "The book's full-length sample interviews.", required=True, items=INTERVIEW),
))

DISCARDED = Shape("a discarded question", (
    Key("id", ("text",), "Unique across the bank and this list: lower-case letters, digits and dashes.",
        required=True, pattern=ID_PATTERN, example="cross-product"),
    Key("prompt", ("text",), "The question as it would have been asked (pandoc Markdown).", required=True,
        example="What is the cross product of two vectors?"),
    Key("reason", ("text",), "Why it was dropped (pandoc Markdown).", required=True,
        example="Rarely used in ML practice; inner and outer products cover what matters."),
))

DISCARDED_FILE = Shape("discarded.yaml", (
    Key("discarded", ("list",), "The \"bad questions\" list, placed by a `::: discarded :::` block.",
        required=True, items=DISCARDED),
))

# kind → (the file it describes, its shape)
FILE_KINDS: dict[str, tuple[str, Shape]] = {
    "book": ("book/book.yaml", BOOK),
    "topic": ("questions/<topic>.yaml", TOPIC),
    "interviews": ("questions/interviews.yaml", INTERVIEWS),
    "discarded": ("questions/discarded.yaml", DISCARDED_FILE),
}
SCHEMA_KINDS = tuple(FILE_KINDS)


def key_paths(shape: Shape, prefix: str = "") -> list[str]:
    """Every key a file kind accepts, as the reference names it: `parts[].title`, `editions.<name>.answers`."""
    out = []
    for key in shape.keys:
        path = prefix + key.name
        out.append(path)
        if isinstance(key.items, Shape):
            out.extend(key_paths(key.items, path + "[]."))
        if key.keys:
            out.extend(key_paths(key.keys, path + "."))
        if key.each:
            out.extend(key_paths(key.each, path + ".<name>."))
    return out


def _value_schema(key: Key) -> dict:
    alternatives = [dict(JSON_TYPES[t]) for t in key.types]
    for alt in alternatives:
        if key.choices:
            alt["enum"] = list(key.choices)
        if key.pattern and alt.get("type") == "string":
            alt["pattern"] = key.pattern
        if isinstance(key.items, Shape):
            alt["items"] = shape_schema(key.items)
        elif key.items == NAME:
            alt["items"] = {"type": ["string", "integer"]}
        if key.keys:
            alt.update(shape_schema(key.keys))
        if key.each:
            alt.update({"propertyNames": {"pattern": key.each.names},
                        "additionalProperties": shape_schema(key.each)})
    schema = alternatives[0] if len(alternatives) == 1 else {"anyOf": alternatives}
    if not key.required:  # an optional key left empty (`hint:`) means the default
        schema = {"anyOf": [schema, {"type": "null"}]}
    schema = {"description": key.doc + (f" Default: {key.default}." if key.default else ""), **schema}
    if key.example is not None:
        schema["examples"] = [key.example]
    return schema


def shape_schema(shape: Shape) -> dict:
    """The JSON Schema of one mapping shape."""
    schema: dict = {"type": "object", "properties": {k.name: _value_schema(k) for k in shape.keys},
                    "additionalProperties": False}
    required = [k.name for k in shape.keys if k.required]
    if required:
        schema["required"] = required
    if shape.one_of:
        schema["oneOf"] = [{"required": [name]} for name in shape.one_of]
    return schema


def json_schema(kind: str) -> dict:
    """The JSON Schema (draft 2020-12) of one file kind: "book", "topic", "interviews" or "discarded"."""
    path, shape = FILE_KINDS[kind]
    return {"$schema": "https://json-schema.org/draft/2020-12/schema",
            "title": f"bookbuild {path}", **shape_schema(shape)}


def schema_text(kind: str) -> str:
    return json.dumps(json_schema(kind), indent=2, ensure_ascii=False) + "\n"


def write_schemas(folder: Path) -> list[Path]:
    """Write `<kind>.schema.json` for the four file kinds into `folder`; the paths written."""
    from .output import write_atomic

    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for kind in SCHEMA_KINDS:
        path = folder / f"{kind}.schema.json"
        write_atomic(path, schema_text(kind))
        written.append(path)
    return written


if __name__ == "__main__":  # regenerate the copies shipped in the package: python -m bookbuild.fileformat
    write_schemas(Path(__file__).resolve().parent / "schemas")
