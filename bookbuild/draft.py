"""The mailing-list draft edition: version stamp, what changed since the last draft, email excerpt.

A draft's *manifest* is a fingerprint of every question and chapter in it. `build --mark-sent`
records the draft's manifest in the book as mailed (`book/drafts/<version>.json`, committed with
the book); the next draft build compares with the most recently mailed one, or with the book at
`--since GIT_REF`. Every draft build also leaves its manifest in `dist/<edition>/manifest.json`,
for inspection only: building twice does not move the comparison base.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import re
import subprocess
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from .dates import BuildDate, git
from .errors import BookError, Pos, Report
from .model import Book, Edition, select_questions
from .output import write_atomic
from .sources import read_text


def _digest(text: str | None) -> str:
    return hashlib.sha256((text or "").strip().encode("utf-8")).hexdigest()[:16]


def stamp(book: Book, date: BuildDate) -> str:
    """'0.4.0 (a1b2c3d, 2026-11-25)': the version, plus the commit when the book is in git."""
    commit = git(book.root, "rev-parse", "--short", "HEAD")
    # the records of mailed drafts are not the book: an uncommitted one does not make this draft "+"
    dirty = git(book.root, "status", "--porcelain", "--", ".", f":(exclude){DRAFTS.as_posix()}") if commit else None
    where = f"{commit}{'+' if dirty else ''}, " if commit else ""
    return f"{book.meta.version} ({where}{date.when.date().isoformat()})"


def draft_chapters(book: Book, edition: Edition) -> list[str]:
    names = [c.file for c in book.chapters]
    return [n for n in names if n in edition.chapters] if edition.chapters else names


def manifest(book: Book, edition: Edition, version_stamp: str) -> dict:
    """The fingerprint of what a draft contains: questions (prompt and answer digests) and chapters."""
    chapters = set(draft_chapters(book, edition))
    questions = {}
    for chapter in book.chapters:
        if chapter.file not in chapters:
            continue
        for block in chapter.blocks:
            if block.kind == "questions" and block.attrs.get("topic") in book.topics:
                for q in select_questions(book.topics[block.attrs["topic"]], block.attrs):
                    questions[q.id] = {"prompt": _digest(q.prompt.value),
                                       "answer": _digest(q.answer.value if q.answer else ""),
                                       "chapter": chapter.file, "excerpt": _excerpt(q.prompt.value)}
    return {"version": book.meta.version, "edition": edition.name, "stamp": version_stamp,
            "chapters": {c.file: {"digest": _digest(c.text), "title": c.title}
                         for c in book.chapters if c.file in chapters},
            "questions": dict(sorted(questions.items()))}


def _excerpt(text: str, words: int = 14) -> str:
    plain = re.sub(r"\s+", " ", re.sub(r"[`*_#>$\\]", "", text)).strip()
    parts = plain.split(" ")
    return " ".join(parts[:words]) + (" …" if len(parts) > words else "")


@dataclass
class Changes:
    since: str | None  # what the draft is compared with; None for a first draft
    added: list[str] = field(default_factory=list)
    removed: list[tuple[str, str]] = field(default_factory=list)  # (id, excerpt)
    reworded: list[str] = field(default_factory=list)
    reanswered: list[str] = field(default_factory=list)
    chapters: list[str] = field(default_factory=list)  # titles of chapters whose text changed

    @property
    def empty(self) -> bool:
        return not (self.added or self.removed or self.reworded or self.reanswered or self.chapters)

    def as_metadata(self) -> dict:
        return {"since": self.since or "", "added": self.added, "removed": [i for i, _ in self.removed],
                "removed-excerpts": [e for _, e in self.removed], "reworded": self.reworded,
                "reanswered": self.reanswered, "chapters": self.chapters}


def compare(old: dict | None, new: dict, since: str | None) -> Changes:
    if old is None:
        return Changes(None)
    oq, nq = old.get("questions", {}), new["questions"]
    oc, nc = old.get("chapters", {}), new["chapters"]
    return Changes(
        since=since,
        added=sorted(set(nq) - set(oq)),
        removed=[(i, oq[i].get("excerpt", "")) for i in sorted(set(oq) - set(nq))],
        reworded=sorted(i for i in set(nq) & set(oq) if nq[i]["prompt"] != oq[i]["prompt"]),
        reanswered=sorted(i for i in set(nq) & set(oq) if nq[i]["answer"] != oq[i]["answer"]),
        chapters=[nc[f]["title"] for f in nc if f not in oc or oc[f]["digest"] != nc[f]["digest"]],
    )


def manifest_at_ref(book: Book, edition: Edition, ref: str) -> dict:
    """The manifest of the book as it was at a git commit, tag or branch."""
    from .load import load_book

    top = git(book.root, "rev-parse", "--show-toplevel")
    if top is None:
        raise BookError(f"--since {ref}: the book is not in a git repository")
    if git(book.root, "rev-parse", "--verify", "--quiet", f"{ref}^{{commit}}") is None:
        raise BookError(f"--since {ref}: no such commit, tag or branch in {top}")
    prefix = book.root.resolve().relative_to(Path(top).resolve()).as_posix()
    with tempfile.TemporaryDirectory(prefix="bookbuild-since-") as tmp:
        archive = subprocess.run(["git", "-C", top, "archive", "--format=tar", ref, *([prefix] if prefix != "." else [])],
                                 capture_output=True, timeout=120)
        if archive.returncode != 0:
            raise BookError(f"--since {ref}: git archive failed: {archive.stderr.decode(errors='replace').strip()}")
        subprocess.run(["tar", "-x", "-C", tmp], input=archive.stdout, check=True, timeout=120)
        old_root = Path(tmp) / prefix if prefix != "." else Path(tmp)
        old_book, _ = load_book(old_root)
        if old_book is None:
            raise BookError(f"--since {ref}: the book at that commit cannot be read")
        return manifest(old_book, edition, ref)


def changes_markdown(changes: Changes, labels: dict, stamp_text: str) -> str:
    """changes.md: the list a reader of the mailing list sees, by question id."""
    def number(qid: str) -> str:
        label = labels.get(f"q:{qid}")
        return f"Question {label['number']}" if label else "Question"

    lines = ["# What changed since the last draft", "", f"Draft {stamp_text}."]
    if changes.since is None:
        lines += ["", "First draft: no earlier draft was marked as sent, so there is nothing to compare with "
                  "(`build --edition <draft> --mark-sent` records the draft you mail)."]
        return "\n".join(lines) + "\n"
    lines += ["", f"Compared with {changes.since}.", ""]
    if changes.empty:
        lines.append("Nothing changed.")
    for title, ids in (("Added", changes.added), ("Reworded", changes.reworded), ("Re-answered", changes.reanswered)):
        if ids:
            lines += [f"## {title}", ""] + [f"- {number(i)} (`{i}`)" for i in ids] + [""]
    if changes.removed:
        lines += ["## Removed", ""] + [f"- `{i}`: {e}" for i, e in changes.removed] + [""]
    if changes.chapters:
        lines += ["## Chapters changed", ""] + [f"- {t}" for t in changes.chapters] + [""]
    return "\n".join(lines).rstrip() + "\n"


DRAFTS = Path("book") / "drafts"  # the mailed drafts' records, relative to the book root
_VERSION_NAME = re.compile(r"[0-9A-Za-z][0-9A-Za-z._+-]{0,99}")


def record_path(book: Book, report: Report) -> Path:
    """Where `--mark-sent` records this version's draft: book/drafts/<version>.json.

    Raises BookError (with the problem in `report`) when the version cannot name a file there, or
    the folder is not inside the book root (a symbolic link pointing out)."""
    version = book.meta.version
    folder = book.root / DRAFTS
    if not _VERSION_NAME.fullmatch(version) or ".." in version:
        report.error(Pos(str(book.meta.path)), f"version {version!r} cannot name the draft record "
                     f"{DRAFTS.as_posix()}/<version>.json: use letters, digits, '.', '-', '+' and '_'")
    elif not folder.resolve().is_relative_to(book.root.resolve()):
        report.error(Pos(str(folder)), "is a symbolic link to a folder outside the book root; "
                     "draft records are written inside the book")
    elif folder.exists() and not folder.is_dir():
        report.error(Pos(str(folder)), "is not a folder: --mark-sent records drafts in it")
    if report.errors:
        raise BookError("the book has errors", report)
    return folder / f"{version}.json"


def _instant(value) -> dt.datetime | None:
    try:
        when = dt.datetime.fromisoformat(str(value))
    except ValueError:
        return None
    return when if when.tzinfo else when.replace(tzinfo=dt.timezone.utc)


def _record_problem(record) -> str | None:
    """Why a parsed JSON file is not a draft record, or None."""
    if not isinstance(record, dict):
        return "expected a JSON object"
    if not isinstance(record.get("stamp"), str):
        return "no \"stamp\" (the draft's version stamp)"
    for key in ("version", "edition"):
        if key in record and not isinstance(record[key], str):
            return f"\"{key}\" is not a string"
    for key in ("sent", "date"):
        if key in record and _instant(record[key]) is None:
            return f"\"{key}\" is not an ISO 8601 date and time"
    questions, chapters = record.get("questions"), record.get("chapters")
    if not isinstance(questions, dict) or not all(
            isinstance(q, dict) and isinstance(q.get("prompt"), str) and isinstance(q.get("answer"), str)
            for q in questions.values()):
        return "\"questions\" is not a map of question ids to {prompt, answer} digests"
    if not isinstance(chapters, dict) or not all(
            isinstance(c, dict) and isinstance(c.get("digest"), str) and isinstance(c.get("title"), str)
            for c in chapters.values()):
        return "\"chapters\" is not a map of chapter files to {digest, title}"
    return None


def _version_key(version: str) -> tuple:
    return tuple((0, int(p), "") if p.isdigit() else (1, 0, p) for p in re.split(r"[.+_-]", version))


def _recency(item: tuple[Path, dict]) -> tuple:
    """Most recent last: by the time it was marked as sent, then the build date, then the version.

    Never by file modification time: git does not keep it, so a fresh clone would reorder them."""
    path, record = item
    never = dt.datetime.min.replace(tzinfo=dt.timezone.utc)
    return (_instant(record.get("sent")) or never, _instant(record.get("date")) or never,
            _version_key(record.get("version") or path.stem), path.name)


def sent_drafts(book: Book, edition: Edition, report: Report) -> list[tuple[Path, dict]]:
    """The edition's mailed drafts recorded in book/drafts/, oldest first. A file there that is not
    a draft record is an error (comparing with an older draft instead would mislead the readers)."""
    folder = book.root / DRAFTS
    if not folder.is_dir():
        return []
    root = book.root.resolve()
    records = []
    for path in sorted(folder.glob("*.json")):
        text = read_text(path, report, root)
        if text is None:
            continue
        try:
            record = json.loads(text)
        except ValueError as exc:
            report.error(Pos(str(path), getattr(exc, "lineno", 1), getattr(exc, "colno", 1)),
                         f"not a draft record: {getattr(exc, 'msg', exc)}")
            continue
        problem = _record_problem(record)
        if problem:
            report.error(Pos(str(path)), f"not a draft record: {problem}")
        elif record.get("edition", edition.name) == edition.name:
            records.append((path, record))
    return sorted(records, key=_recency)


def sent_label(record: dict) -> str:
    """How the outputs name a mailed draft: 'draft 0.3.0 (a1b2c3d, 2026-11-02), mailed 2026-11-02'."""
    sent = _instant(record.get("sent"))
    return f"draft {record['stamp']}" + (f", mailed {sent.date().isoformat()}" if sent else "")


def mark_sent(path: Path, current: dict, date: BuildDate) -> dict | None:
    """Record the draft whose manifest is `current` as mailed now; returns the record it replaced."""
    previous = None
    if path.is_file():
        try:
            previous = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            previous = None
        if _record_problem(previous):
            previous = None
    sent = dt.datetime.now(dt.timezone.utc).replace(microsecond=0)
    record = {"version": current["version"], "edition": current["edition"], "stamp": current["stamp"],
              "date": date.when.isoformat(), "sent": sent.isoformat(),
              "chapters": current["chapters"], "questions": current["questions"]}
    write_atomic(path, json.dumps(record, indent=1, ensure_ascii=False) + "\n")
    return previous


def chapter_pages(labels: dict) -> dict[str, str]:
    """Chapter file → its page in the HTML site (pages are named after the chapter heading's id)."""
    return {v["chapter"]: f"{v['anchor']}.html" for v in labels.values() if v.get("chapter_title") == "True"}


def email_context(book: Book, edition: Edition, stamp_text: str, changes: Changes, labels: dict) -> dict:
    base = edition.url.rstrip("/") + "/"
    pages = chapter_pages(labels)

    def question(qid: str) -> dict:
        label = labels.get(f"q:{qid}", {})
        page = pages.get(label.get("chapter", ""), "index.html")
        return {"id": qid, "number": label.get("number", ""), "url": f"{base}html/{page}#q-{qid}"}

    chapters = [{"title": c.title, "number": labels.get(_chapter_key(labels, c.file), {}).get("number", ""),
                 "url": f"{base}html/{pages.get(c.file, 'index.html')}"}
                for c in book.chapters if c.file in draft_chapters(book, edition)]
    feedback = edition.feedback.replace("{id}", "general") if edition.feedback else None
    return {"title": book.meta.title, "author": book.meta.author, "stamp": stamp_text, "url": f"{base}html/index.html",
            "chapters": chapters, "first": changes.since is None, "since": changes.since,
            "groups": [(t, [question(i) for i in ids]) for t, ids in
                       (("Added", changes.added), ("Reworded", changes.reworded), ("Re-answered", changes.reanswered)) if ids],
            "removed": changes.removed, "changed_chapters": changes.chapters, "feedback": feedback,
            "pdf": f"{base}{book.meta.slug}.pdf", "epub": f"{base}{book.meta.slug}.epub"}


def _chapter_key(labels: dict, file: str) -> str:
    return next((k for k, v in labels.items() if v.get("chapter_title") == "True" and v["chapter"] == file), "")


# a CSS comment, or a quoted string (its quote, then its text with escapes)
_CSS_STRING = re.compile(r"""/\*.*?(?:\*/|\Z)|(["'])((?:\\.|\\\n|(?!\1)[^\\\n])*)\1?""", re.DOTALL)
_CSS_ESCAPED = {"'": "\\27 ", '"': "\\22 ", "&": "\\26 ", "<": "\\3c ", ">": "\\3e "}


def attribute_safe_css(css: str) -> str:
    """CSS whose strings hold no quote, '&', '<' or '>' as such (CSS escapes instead, `\\27 `...).

    css-inline writes a declaration into a double-quoted style attribute by turning every `"` into
    `'` (no escaping): `"O'Neil"` would come out as `'O'Neil'`, and an `&` could read as an HTML
    entity. With such characters escaped the CSS is the same and survives that rewriting."""
    def escape(match: re.Match) -> str:
        if match.group(1) is None:
            return match.group(0)  # a comment: left as it is (css-inline drops them)
        quote, text = match.group(1), match.group(2)
        text = re.sub(r"\\(.)|(['\"&<>])", lambda m: _CSS_ESCAPED.get(m.group(1) or m.group(2), m.group(0)), text,
                      flags=re.DOTALL)
        return f"{quote}{text}{quote}"
    return _CSS_STRING.sub(escape, css)


def render_email(book: Book, context: dict) -> tuple[str, str]:
    """email.html (every style inline, no script, absolute links) and its plain-text alternative.

    The stylesheet goes straight to the inliner, never through the HTML template: autoescaped into
    a <style> element (raw text, where entities are not decoded) its `"Noto Serif"` became
    `&#34;Noto Serif&#34;`, and the body's style attribute ended at the font name."""
    import css_inline

    from .templating import find_template, html_env

    env = html_env(book.root)
    css = attribute_safe_css(find_template(book.root, "email.css").read_text(encoding="utf-8"))
    html = env.get_template("email.html.j2").render(**context)
    html = css_inline.CSSInliner(keep_style_tags=False, keep_link_tags=False, load_remote_stylesheets=False,
                                 extra_css=css).inline(html)
    text = env.get_template("email.txt.j2").render(**context)
    return html, text
