"""The mailing-list draft edition: version stamp, what changed since the last draft, email excerpt.

A draft build writes `manifest.json` (a fingerprint of every question and chapter in the draft);
the next draft build compares against it, or against the book at `--since GIT_REF`.
"""

from __future__ import annotations

import hashlib
import json
import re
import subprocess
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from .dates import BuildDate, git
from .errors import BookError
from .model import Book, Edition, select_questions


def _digest(text: str | None) -> str:
    return hashlib.sha256((text or "").strip().encode("utf-8")).hexdigest()[:16]


def stamp(book: Book, date: BuildDate) -> str:
    """'0.4.0 (a1b2c3d, 2026-11-25)': the version, plus the commit when the book is in git."""
    commit = git(book.root, "rev-parse", "--short", "HEAD")
    dirty = git(book.root, "status", "--porcelain", "--", ".") if commit else None
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
    return {"version": book.meta.version, "stamp": version_stamp,
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
        lines += ["", "This is the first draft: there is no earlier one to compare with."]
        return "\n".join(lines) + "\n"
    lines += ["", f"Compared with: {changes.since}.", ""]
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


def read_manifest(path: Path) -> dict | None:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


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


def render_email(book: Book, context: dict) -> tuple[str, str]:
    """email.html (every style inline, no script, absolute links) and its plain-text alternative."""
    import css_inline

    from .templating import find_template, html_env

    env = html_env(book.root)
    css = find_template(book.root, "email.css").read_text(encoding="utf-8")
    html = env.get_template("email.html.j2").render(css=css, **context)
    html = css_inline.CSSInliner(keep_style_tags=False, keep_link_tags=False, load_remote_stylesheets=False).inline(html)
    text = env.get_template("email.txt.j2").render(**context)
    return html, text
