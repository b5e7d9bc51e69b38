"""Load a book root (book.yaml, chapters, question bank) into the content model."""

from __future__ import annotations

import datetime as dt
import re
import unicodedata
import uuid
from pathlib import Path
from typing import Any

from . import fileformat
from .errors import Pos, Report, clip, close_match, did_you_mean, shorten
from .fileformat import ID_PATTERN, Shape
from .markdown import _HEADING, code_lines, raw_lines
from .model import (
    Block, Book, BookMeta, Chapter, Discarded, Edition, Interview, Part, PrintSettings, Question, Resource,
    Round, Text, Topic,
)
from .sources import Y, is_file, load_yaml, read_text, resolved, text_char_problems

# `$` would also match before a final newline ("intro\n"): the end of the text is `\Z` here
ID_RE = re.compile(ID_PATTERN.removesuffix("$") + r"\Z")
RESERVED_FILES = ("interviews.yaml", "discarded.yaml")
# a name becomes a file or folder name (slugs, editions, chapters, sheets), an anchor and a page
# name: file systems take 255 bytes, and a name with the suffixes added must still fit
MAX_NAME = 100
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")


# a well-formed BCP 47 (RFC 5646) tag: language[-extlang][-script][-region][-variant...][-extension...]
# [-x-private], or a private-use tag alone; 63 characters at most (the RFC asks readers for 35)
LANGUAGE_RE = re.compile(
    r"(?:(?:[a-z]{2,3}(?:-[a-z]{3}){0,3}|[a-z]{4,8})(?:-[a-z]{4})?(?:-(?:[a-z]{2}|[0-9]{3}))?"
    r"(?:-(?:[a-z0-9]{5,8}|[0-9][a-z0-9]{3}))*(?:-[0-9a-wyz](?:-[a-z0-9]{2,8})+)*(?:-x(?:-[a-z0-9]{1,8})+)?"
    r"|x(?:-[a-z0-9]{1,8})+)", re.I | re.A)
MAX_LANGUAGE = 63
FIRST_YEAR = 1601  # pandoc writes no date before it: an EPUB without its date is invalid
UUID_RE = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}", re.I | re.A)


def name_problem(name: str, what: str, why: str = "") -> str | None:
    """Why `name` cannot be an id (lower-case letters, digits, dashes; at most MAX_NAME), else None."""
    if len(name) > MAX_NAME:
        return f"{what} {shorten(name, 40)} is {len(name)} characters long; names are limited to {MAX_NAME}"
    if not ID_RE.match(name):
        return f"{what} {name!r} must be lower-case letters, digits and dashes{why}"
    return None


def file_name_problem(name: str, what: str) -> str | None:
    """Why a file name from book text cannot be used (too long, control characters), else None."""
    if len(name) > MAX_NAME:
        return f"{what} {shorten(name, 40)} is {len(name)} characters long; file names are limited to {MAX_NAME}"
    m = _CONTROL.search(name)
    if m:
        return f"{what} {name!r} has the control character U+{ord(m.group(0)):04X} in it; rename the file"
    return None
# matched against the line with its trailing spaces removed: no two `\s*` around `:*` to backtrack over
_BLOCK_OPEN = re.compile(r"^(:{3,})[ \t]*(?:\{([^{}]*)\}|([A-Za-z][\w-]*))(?:[ \t]*:+)?$")
_BLOCK_CLOSE = re.compile(r"^:{3,}\s*$")
_ATTR = re.compile(r'([.#]?)([\w-]+)(?:=(?:"([^"]*)"|(\S+)))?')
_BLOCK_ATTRS = {
    "questions": {"topic", "difficulty", "tags", "group", "kind"},
    "interview": {"id"},
    "discarded": set(),
}


class _Schema:
    """Checks one YAML mapping against its allowed keys and their types."""

    def __init__(self, report: Report):
        self.report = report

    def mapping(self, y: Y | None, shape: Shape, what: str | None = None,
                meant: dict[str, Pos] | None = None) -> dict[str, Y] | None:
        """The keys of `y` that are allowed by `shape` and of the right type; every other is reported.

        A misspelt key (`anwser:`) is reported once, with the key it was meant to be, and is not also
        a missing one; `meant` receives those keys (the key meant → where the misspelling is).
        """
        meant = {} if meant is None else meant
        if y is None:
            return None
        what = what or shape.what
        if not isinstance(y.value, dict):
            self.report.error(y.pos, f"{what} must be a mapping of keys to values, not {_kind(y.value)}")
            return None
        allowed = {k.name: k for k in shape.keys}
        out: dict[str, Y] = {}
        for name, value in y.value.items():
            key = allowed.get(name)
            if key is None:
                key_pos = getattr(value, "key_pos", value.pos)
                self.report.error(key_pos, f"unknown key {shorten(name)} in {what}"
                                  + (did_you_mean(name, allowed) or "; expected one of: " + ", ".join(allowed)))
                close = close_match(name, allowed)
                if close and close not in y.value:
                    meant[close] = key_pos
                continue
            if value.value is None and not key.required:
                continue
            # YAML's true/false are ints to Python, and no key here takes them
            if not isinstance(value.value, key.python_types) or isinstance(value.value, bool):
                self.report.error(value.pos, f"{what}: {shorten(name)} must be {_describe(key)}, "
                                  f"not {_kind(value.value)}")
                continue
            if key.choices and value.value not in key.choices:
                self.report.error(value.pos, f"{name} {shorten(value.value)} is not one of {', '.join(key.choices)}"
                                  + did_you_mean(str(value.value), key.choices))
                continue
            out[name] = value
        for key in shape.keys:
            if key.required and key.name not in y.value and key.name not in meant:
                self.report.error(y.pos, f"{what} is missing the required key {key.name!r}")
        return out

    def strings(self, y: Y, what: str) -> list[tuple[str, Pos]]:
        out = []
        for item in y.value:
            if isinstance(item.value, (str, int)) and not isinstance(item.value, bool):
                out.append((str(item.value), item.pos))
            else:
                self.report.error(item.pos, f"{what} must be a list of names, not {_kind(item.value)}")
        return out


_TYPE_WORDS = {"text": "text", "number": "a number", "date": "a date (YYYY-MM-DD)", "list": "a list",
               "mapping": "a mapping"}


def _describe(key: fileformat.Key) -> str:
    return " or ".join(_TYPE_WORDS[t] for t in key.types)


def _kind(value: Any) -> str:
    if value is None:
        return "nothing"
    if isinstance(value, bool):
        return "true/false"
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, (int, float)):
        return f"the number {value}"
    if isinstance(value, dt.date):
        return "a date"
    return f"text {value!r}" if len(str(value)) < 40 else "text"


def _text(y: Y | None) -> Text | None:
    if y is None or y.value is None:
        return None
    return Text(str(y.value), y.pos)


def slugify(title: str) -> str:
    """A file name from a title: "Über Lernen" → "uber-lernen" (accents dropped, not the letters)."""
    ascii_title = unicodedata.normalize("NFKD", title).encode("ascii", "ignore").decode("ascii")
    return re.sub(r"[^a-z0-9]+", "-", ascii_title.lower()).strip("-") or "book"


def _short(slug: str) -> str:
    """A slug cut to MAX_NAME characters, at a dash when there is one."""
    if len(slug) <= MAX_NAME:
        return slug
    cut = slug[:MAX_NAME + 1]
    return (cut.rsplit("-", 1)[0] if "-" in cut else cut[:MAX_NAME]).strip("-") or "book"


def load_book(root: Path) -> tuple[Book | None, Report]:
    """Read everything under a book root; the report holds every problem found while reading."""
    report = Report()
    root = root.resolve()
    schema = _Schema(report)
    meta = _load_meta(root, schema)
    topics: dict[str, Topic] = {}
    interviews: dict[str, Interview] = {}
    discarded: tuple[Discarded, ...] = ()
    qdir = root / "questions"
    if qdir.is_dir():
        for path in sorted(qdir.glob("*.yaml")) + sorted(qdir.glob("*.yml")):
            if path.stem in ("interviews", "discarded") and path.suffix == ".yml":
                report.error(Pos(str(path)), f"{path.name} is a reserved name: name the file {path.stem}.yaml")
            elif path.name == "interviews.yaml":
                interviews = _load_interviews(path, root, schema)
            elif path.name == "discarded.yaml":
                discarded = _load_discarded(path, root, schema)
            else:
                topic = _load_topic(path, root, schema)
                if topic:
                    topics[topic.id] = topic
    chapters = _load_chapters(root, meta, report) if meta else ()
    if meta is None:
        return None, report
    return Book(root, meta, chapters, topics, interviews, discarded), report


def _load_meta(root: Path, schema: _Schema) -> BookMeta | None:
    path = root / "book" / "book.yaml"
    report = schema.report
    if not path.is_file():
        report.error(Pos(str(path)), "book/book.yaml not found: is this a book root? (use --book DIR)")
        return None
    y = load_yaml(path, report, root, needs="at least title: and parts: (or chapters:)")
    m = schema.mapping(y, fileformat.BOOK)
    if m is None or "title" not in m:
        return None
    if ("parts" in m) == ("chapters" in m):
        if "parts" in m:  # at the later of the two keys
            where = max((getattr(m[k], "key_pos", m[k].pos) for k in ("parts", "chapters")), key=lambda p: p.line)
            report.error(where, "book.yaml has both parts: and chapters:; keep one: parts: (chapters grouped "
                         "under part titles) or chapters: (a book without parts)")
        else:
            report.error(y.pos, "book.yaml needs parts: (chapters grouped under part titles) or chapters: "
                         "(a book without parts)")
        return None
    title = str(m["title"].value)
    slug = str(m["slug"].value) if "slug" in m else _short(slugify(title))
    problem = name_problem(slug, "slug")
    if problem:
        report.error(m["slug"].pos, problem)
        slug = _short(slugify(slug))
    page_size = "a4"
    if "pdf" in m:
        pdf = schema.mapping(m["pdf"], fileformat.PDF)
        if pdf and "page_size" in pdf:
            page_size = pdf["page_size"].value
    parts = []
    if "chapters" in m:  # a book without parts: one untitled part holds every chapter
        chapters = tuple(schema.strings(m["chapters"], "book.yaml chapters"))
        if chapters:
            parts.append(Part(None, chapters, m["chapters"].pos))
        else:
            report.error(m["chapters"].pos, "book.yaml lists no chapters")
    else:
        for item in m["parts"].value:
            p = schema.mapping(item, fileformat.PART)
            if p and "title" in p and "chapters" in p:
                parts.append(Part(str(p["title"].value), tuple(schema.strings(p["chapters"], "a part's chapters")),
                                  item.pos, (str(p["intro"].value), p["intro"].pos) if "intro" in p else None))
        if not parts:
            report.error(m["parts"].pos, "book.yaml lists no parts with chapters")
    editions = {"release": Edition("release")}
    if "editions" in m:
        for name, e in m["editions"].value.items():
            ed = schema.mapping(e, fileformat.EDITION, f"edition {name!r}")
            problem = name_problem(name, "edition name", " (it names the output folder)")
            if problem:
                # the name is a folder under dist/: "../x" would write outside it
                report.error(getattr(e, "key_pos", e.pos), problem)
                continue
            if ed is None:  # reported; kept with the defaults, so that `--edition NAME` is not also "no edition"
                ed = {}
            _check_edition_urls(ed, name, report)
            answers = ed["answers"].value if "answers" in ed else "appendix"
            chapters = tuple(c for c, _ in schema.strings(ed["chapters"], "an edition's chapters")) if "chapters" in ed else None
            editions[name] = Edition(name, answers, chapters,
                                     *(str(ed[k].value) if k in ed else None for k in ("watermark", "feedback", "url")),
                                     pos=getattr(e, "key_pos", e.pos))
    identifier = str(m["identifier"].value) if "identifier" in m else f"urn:uuid:{uuid.uuid5(uuid.NAMESPACE_URL, slug)}"
    if not identifier.strip():
        report.error(m["identifier"].pos, "identifier is empty: the EPUB needs one (leave the key out and the "
                     "book gets one made from its slug)")
    elif identifier.lower().startswith("urn:uuid:") and not UUID_RE.fullmatch(identifier[9:]):
        # EPUB readers (and epubcheck, OPF-085) take what follows urn:uuid: for a UUID
        report.error(m["identifier"].pos, f"identifier {shorten(identifier, 40)} says it is a UUID (urn:uuid:) and "
                     f"{shorten(identifier[9:], 40)} is not one: a UUID is 32 hex digits grouped 8-4-4-4-12, such as "
                     f"urn:uuid:{uuid.uuid5(uuid.NAMESPACE_URL, slug)}")
    if "date" in m and isinstance(m["date"].value, dt.date) and m["date"].value.year < FIRST_YEAR:
        report.error(m["date"].pos, f"date {m['date'].value.isoformat()} is before {FIRST_YEAR}, the first year "
                     "an EPUB's date can have (as pandoc writes it)")
    language = str(m["language"].value) if "language" in m else "en"
    if len(language) > MAX_LANGUAGE or not LANGUAGE_RE.fullmatch(language):
        report.error(m["language"].pos, f"language {shorten(language, 40)} is not a BCP 47 language tag "
                     "(such as en, en-GB, pt-BR or zh-Hant)")
        language = "en"
    paperback = _load_print(m["print"], root, schema) if "print" in m else None
    if paperback is not None and "print" not in editions:  # the paperback prints answers as the release does
        editions["print"] = Edition("print", editions["release"].answers, pos=paperback.pos)
    return BookMeta(
        title=title, slug=slug, author=str(m["author"].value) if "author" in m else "",
        language=language,
        identifier=identifier, version=str(m["version"].value) if "version" in m else "0.0.0",
        date=m["date"].value if "date" in m else None, page_size=page_size,
        parts=tuple(parts), editions=editions, path=path, pos=y.pos if y else Pos(str(path)), print=paperback,
        **{key: tuple(schema.strings(m[key], f"book.yaml {key}")) for key in ("front", "appendices") if key in m})


def _load_print(y: Y, root: Path, schema: _Schema) -> PrintSettings | None:
    """book.yaml `print:`: the paperback's trim, bleed, paper, ISBN and cover text."""
    p = schema.mapping(y, fileformat.PRINT)
    if p is None:
        return None
    values = {key: str(value.value) for key, value in p.items()}
    if "isbn" in p:
        isbn, problem = isbn13(values["isbn"])
        if problem:
            schema.report.error(p["isbn"].pos, f"print: isbn {shorten(values['isbn'])} {problem}")
        values["isbn"] = isbn if not problem else None
    if "icc_profile" in p:
        name = values["icc_profile"]
        target = resolved(root / "book" / name)
        if target is None or not target.is_relative_to(root) or "\\" in name or Path(name).is_absolute():
            schema.report.error(p["icc_profile"].pos, f"print: icc_profile {shorten(name)} must be a file inside "
                                "the book (a path relative to book/)")
            values.pop("icc_profile")
        elif not is_file(target):
            schema.report.error(p["icc_profile"].pos, f"print: icc_profile book/{clip(name)} does not exist")
            values.pop("icc_profile")
    return PrintSettings(**values, pos=getattr(y, "key_pos", y.pos))


def isbn13(text: str) -> tuple[str, str | None]:
    """An ISBN-13 as its 13 digits (hyphens and spaces dropped), or the reason it is not one."""
    digits = re.sub(r"[\s-]", "", text)
    if not re.fullmatch(r"\d{13}", digits):
        return digits, "is not an ISBN-13: it needs 13 digits (hyphens and spaces allowed)"
    if not digits.startswith(("978", "979")):
        return digits, "is not an ISBN-13: it starts with 978 or 979"
    check = (10 - sum(int(d) * (1 if i % 2 == 0 else 3) for i, d in enumerate(digits[:12])) % 10) % 10
    if int(digits[12]) != check:
        return digits, f"has a wrong check digit: {digits[12]}, where the first twelve digits give {check}"
    return digits, None


def _check_edition_urls(ed: dict[str, Y], name: str, report: Report) -> None:
    """Feedback and publication URLs become links in the draft: only mail and web addresses."""
    schemes = {"feedback": ("mailto:", "https://", "http://"), "url": ("https://", "http://")}
    for key, allowed in schemes.items():
        if key in ed and not str(ed[key].value).strip().lower().startswith(allowed):
            report.error(ed[key].pos, f"edition {name!r}: {key} must start with {' or '.join(allowed)}, "
                         f"not {shorten(ed[key].value)}")


def _load_topic(path: Path, root: Path, schema: _Schema) -> Topic | None:
    report = schema.report
    topic_id = path.stem
    y = load_yaml(path, report, root, needs="title: and questions:")
    if y is None:
        return None
    problem = name_problem(topic_id, "topic file name")
    if problem:
        report.error(Pos(str(path)), problem.replace(repr(topic_id), repr(path.name), 1))
    m = schema.mapping(y, fileformat.TOPIC)
    if m is None:
        return None
    resources = []
    for item in m["resources"].value if "resources" in m else []:
        r = schema.mapping(item, fileformat.RESOURCE)
        if r and "title" in r and "url" in r:
            resources.append(Resource(r["title"].value, r["url"].value, r["note"].value if "note" in r else "", item.pos))
    questions = []
    for item in m["questions"].value if "questions" in m else []:
        q = _load_question(item, topic_id, schema)
        if q:
            questions.append(q)
    return Topic(topic_id, m["title"].value if "title" in m else topic_id, tuple(resources), tuple(questions), path, y.pos)


def _load_question(item: Y, topic: str, schema: _Schema) -> Question | None:
    report = schema.report
    meant: dict[str, Pos] = {}
    q = schema.mapping(item, fileformat.QUESTION, meant=meant)
    if q is None or "id" not in q:
        return None
    qid = q["id"].value
    problem = name_problem(qid, "question id")
    if problem:
        report.error(q["id"].pos, problem)
    difficulty = q["difficulty"].value if "difficulty" in q else "medium"
    kind = q["kind"].value if "kind" in q else "knowledge"
    flaw = q["flaw"].value if "flaw" in q else None
    for key in ("prompt", "answer", "hint", "group"):
        if key in q and not str(q[key].value).strip():
            report.error(q[key].pos, f"question {qid!r}: {key} is empty")
    if "group" in q and "\n" in q["group"].value.strip():
        report.error(q["group"].pos, f"question {qid!r}: group must be one line")
    tags = tuple(t for t, _ in schema.strings(q["tags"], "tags")) if "tags" in q else ()
    prompt = _text(q.get("prompt")) or Text("", item.pos)
    return Question(
        id=qid, topic=topic, difficulty=difficulty, kind=kind, prompt=prompt,
        answer=_text(q.get("answer")), hint=_text(q.get("hint")),
        group=q["group"].value.strip() if "group" in q else None, flaw=flaw, tags=tags, pos=item.pos,
        fields={k: getattr(v, "key_pos", v.pos) for k, v in q.items()}, misspelt=meant)


def _load_interviews(path: Path, root: Path, schema: _Schema) -> dict[str, Interview]:
    y = load_yaml(path, schema.report, root, needs="interviews:")
    m = schema.mapping(y, fileformat.INTERVIEWS)
    out: dict[str, Interview] = {}
    for item in m["interviews"].value if m and "interviews" in m else []:
        i = schema.mapping(item, fileformat.INTERVIEW)
        if not i or not {"id", "title", "rounds"} <= i.keys():
            continue
        rounds = []
        for r_item in i["rounds"].value:
            r = schema.mapping(r_item, fileformat.ROUND)
            if r and "title" in r and "questions" in r:
                rounds.append(Round(r["title"].value, tuple(schema.strings(r["questions"], "a round's questions")), r_item.pos))
        iid = i["id"].value
        problem = name_problem(iid, "interview id")
        if problem:
            schema.report.error(i["id"].pos, problem)
            continue
        if iid in out:
            schema.report.error(i["id"].pos, f"duplicate interview id {iid!r} (first at line {out[iid].pos.line})")
            continue
        out[iid] = Interview(iid, i["title"].value, tuple(rounds), item.pos)
    return out


def _load_discarded(path: Path, root: Path, schema: _Schema) -> tuple[Discarded, ...]:
    y = load_yaml(path, schema.report, root, needs="discarded:")
    m = schema.mapping(y, fileformat.DISCARDED_FILE)
    out = []
    for item in m["discarded"].value if m and "discarded" in m else []:
        d = schema.mapping(item, fileformat.DISCARDED)
        if d and {"id", "prompt", "reason"} <= d.keys():
            problem = name_problem(d["id"].value, "question id")
            if problem:
                schema.report.error(d["id"].pos, problem)
                continue
            out.append(Discarded(d["id"].value, _text(d["prompt"]), _text(d["reason"]), item.pos))
    return tuple(out)


def _load_chapters(root: Path, meta: BookMeta, report: Report) -> tuple[Chapter, ...]:
    cdir = root / "book" / "chapters"
    listed: dict[str, Pos] = {}
    roles: dict[str, str] = {}
    for name, pos, role in meta.listed():
        if name in listed:
            report.error(pos, f"chapter {name!r} is listed twice (first at line {listed[name].line})")
            continue
        listed[name], roles[name] = pos, role
    present = {p.name for p in cdir.glob("*.md")} if cdir.is_dir() else set()
    unlisted = sorted(present - listed.keys())

    def meant_file(name: str) -> str | None:
        base = name.replace("\\", "/").rsplit("/", 1)[-1]
        return base if base in unlisted else close_match(base, unlisted)
    # a listed name that is not there, and an unlisted file it likely means (a typo, a renamed file,
    # "chapters/intro.md"): one mistake, told once
    meant = {name: meant_file(name) for name in listed if name not in present}
    for name in unlisted:
        if name not in meant.values():
            listing = "parts" if any(part.title is not None for part in meta.parts) else "chapters"
            report.error(Pos(str(cdir / name)), f"chapter file {name} is not listed in book/book.yaml {listing}")
    chapters = []
    for name, pos in listed.items():
        path = cdir / name
        hint = f"; did you mean {meant[name]!r}?" if meant.get(name) else ""
        if "/" in name or "\\" in name or name.startswith(".") or not name.endswith(".md"):
            report.error(pos, f"chapter {shorten(name)} must be a file name ending in .md inside book/chapters/{hint}")
            continue
        problem = file_name_problem(name, "chapter")
        if problem:
            report.error(pos, problem)
            continue
        if name not in present:
            report.error(pos, f"chapter {name!r} is listed but book/chapters/{name} does not exist"
                         + (hint or did_you_mean(name, present)))
            continue
        text = read_text(path, report, root)
        if text is not None:
            text_char_problems(text, str(path), report)
            chapters.append(_parse_chapter(name, path, text, report, roles[name]))
    return tuple(chapters)


def _parse_chapter(name: str, path: Path, text: str, report: Report, role: str = "main") -> Chapter:
    lines = text.split("\n")
    in_code, _ = code_lines(text)
    in_raw = raw_lines(text)
    title = None
    level = 1
    blocks = []
    i = 0
    while i < len(lines):
        line = lines[i]
        if in_code[i]:
            i += 1
            continue
        h = _HEADING.match(line)
        if h:
            level = len(h.group(1))
            if level == 1:
                if title is not None:
                    report.error(Pos(str(path), i + 1), "a chapter has one '#' title; use '##' for its sections")
                else:
                    title = _without_attributes(h.group(2))
        m = _BLOCK_OPEN.match(line.rstrip())
        if m:
            kind, attrs, ok = _block_attrs(m.group(2), m.group(3))
            pos = Pos(str(path), i + 1, 1)
            if kind and in_raw[i]:
                # pandoc would read it as part of the comment or <script>/<pre> above, not place it
                report.error(pos, f"this {kind} block is inside raw HTML (a comment, <script>, <pre>...) "
                             "opened above; close that first")
            if kind:
                for key in sorted(set(attrs) - _BLOCK_ATTRS[kind]):
                    report.error(pos, f"unknown attribute {shorten(key)} on a {kind} block; expected: "
                                 + (", ".join(sorted(_BLOCK_ATTRS[kind])) or "none"))
                j = i + 1
                while j < len(lines) and not lines[j].strip():
                    j += 1
                if j >= len(lines) or not _BLOCK_CLOSE.match(lines[j]):
                    report.error(pos, f"a {kind} block must be empty: close it with ':::' on the next line "
                                 "(the build fills it in)")
                    i += 1
                    continue
                blocks.append(Block(kind, attrs, pos, i, j + 1, level))
                i = j + 1
                continue
        i += 1
    if title is None and not text.strip():
        report.error(Pos(str(path)), "chapter is empty: start it with a '# Title' line")
        title = name.removesuffix(".md")
    elif title is None:
        report.error(Pos(str(path)), "chapter has no title: start it with a '# Title' line")
        title = name.removesuffix(".md")
    return Chapter(name, path, text, title, tuple(blocks), Pos(str(path)), role)


def _without_attributes(heading: str) -> str:
    """A heading's text without a trailing `{#id .class}`."""
    text = heading.strip()
    if text.endswith("}") and "{" in text:
        start = text.rfind("{")
        if "}" not in text[start:-1]:
            text = text[:start]
    return text.strip()


def _block_attrs(braced: str | None, bare: str | None) -> tuple[str | None, dict, bool]:
    if bare:
        return (bare if bare in _BLOCK_ATTRS else None), {}, True
    classes, attrs = [], {}
    for m in _ATTR.finditer(braced or ""):
        if m.group(1) == ".":
            classes.append(m.group(2))
        elif m.group(1) == "" and (m.group(3) is not None or m.group(4) is not None):
            attrs[m.group(2)] = m.group(3) if m.group(3) is not None else m.group(4)
    kind = next((c for c in classes if c in _BLOCK_ATTRS), None)
    return kind, attrs, True
