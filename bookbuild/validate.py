"""Cross-checks over the whole book: ids, references, placement, answers, images."""

from __future__ import annotations

from pathlib import Path

from .errors import Pos, Report
from .markdown import Scan, is_remote, scan
from .model import Book, Edition, Text, select_questions


def resolve_image(url: str, source: Path, root: Path) -> tuple[Path | None, str | None]:
    """The file an image URL names, or why it is refused."""
    if is_remote(url):
        return None, f"remote image {url!r}: images must be files inside the book"
    if url.startswith("/") or (len(url) > 1 and url[1] == ":"):
        return None, f"absolute image path {url!r}: write it relative to {source.name}"
    target = (source.parent / url).resolve()
    if not target.is_relative_to(root):
        return None, f"image {url!r} is outside the book root"
    if not target.is_file():
        return None, f"image {url!r} not found"
    return target, None


def editions_to_check(book: Book, name: str | None) -> list[Edition]:
    if name is None:
        return list(book.meta.editions.values())
    return [book.meta.editions[name]]


def validate(book: Book, editions: list[Edition]) -> Report:
    """Every cross-file problem of `book`, for the given editions."""
    report = Report()
    root = book.root
    scans: list[tuple[Scan, Path]] = []

    def add_scan(text: Text, source: Path, field: str | None) -> None:
        s = scan(text.value, text.pos, in_field=field)
        for pos, severity, message in s.problems:
            (report.error if severity == "error" else report.warning)(pos, message)
        scans.append((s, source))

    # ids: unique across the bank and discarded.yaml
    seen: dict[str, Pos] = {}
    for topic in book.topics.values():
        for q in topic.questions:
            if q.id in seen:
                report.error(q.field_pos("id"), f"duplicate question id {q.id!r} (also at {seen[q.id]})")
            else:
                seen[q.id] = q.field_pos("id")
            for field, text in q.texts():
                add_scan(text, topic.path, field)
    for d in book.discarded:
        if d.id in seen:
            report.error(d.pos, f"duplicate question id {d.id!r} (also at {seen[d.id]})")
        else:
            seen[d.id] = d.pos
        add_scan(d.prompt, Path(d.pos.path), "prompt")
        add_scan(d.reason, Path(d.pos.path), "reason")
    for topic in book.topics.values():
        for r in topic.resources:
            if not r.url.startswith(("https://", "http://")):
                report.error(r.pos, f"resource URL {r.url!r} must start with https:// or http://")

    for chapter in book.chapters:
        add_scan(Text(chapter.text, chapter.pos), chapter.path, None)

    # labels and references
    labels: dict[tuple[str, str], Pos] = {}
    for s, _ in scans:
        for label in s.labels:
            key = (label.kind, label.id)
            if key in labels:
                report.error(label.pos, f"duplicate label #{label.kind}:{label.id} (also at {labels[key]})")
            else:
                labels[key] = label.pos
    questions = book.questions
    for s, _ in scans:
        for ref in s.refs:
            if ref.kind == "q":
                if ref.target not in questions:
                    report.error(ref.pos, f"reference @q:{ref.target}: no question has the id {ref.target!r}")
            elif (ref.kind, ref.target) not in labels:
                report.error(ref.pos, f"reference @{ref.kind}:{ref.target}: no {_KIND_NAMES[ref.kind]} "
                             f"is labelled {{#{ref.kind}:{ref.target}}}")
    for s, source in scans:
        for image in s.images:
            _, problem = resolve_image(image.url, source, root)
            if problem:
                report.error(image.pos, problem)

    _check_placement(book, report)
    _check_interviews(book, report)
    _check_editions(book, editions, report)
    return report


_KIND_NAMES = {"sec": "section", "fig": "figure", "tbl": "table"}


def _check_placement(book: Book, report: Report) -> None:
    placed: dict[str, Pos] = {}
    topic_placed: set[str] = set()
    interviews_placed: dict[str, Pos] = {}
    for chapter in book.chapters:
        for block in chapter.blocks:
            if block.kind == "questions":
                topic_id = block.attrs.get("topic")
                if not topic_id:
                    report.error(block.pos, "a questions block needs topic=\"...\"")
                    continue
                topic = book.topics.get(topic_id)
                if topic is None:
                    report.error(block.pos, f"unknown topic {topic_id!r}; topics are: "
                                 + (", ".join(sorted(book.topics)) or "none (no questions/*.yaml)"))
                    continue
                topic_placed.add(topic_id)
                chosen = select_questions(topic, block.attrs)
                if not chosen:
                    report.warning(block.pos, f"this questions block places no question of topic {topic_id!r}")
                for q in chosen:
                    if q.id in placed:
                        report.error(block.pos, f"question {q.id!r} is placed twice: here and by the block at {placed[q.id]}")
                    else:
                        placed[q.id] = block.pos
            elif block.kind == "interview":
                iid = block.attrs.get("id")
                if iid not in book.interviews:
                    report.error(block.pos, f"unknown interview {iid!r}; interviews are: "
                                 + (", ".join(sorted(book.interviews)) or "none (no questions/interviews.yaml)"))
                elif iid in interviews_placed:
                    report.error(block.pos, f"interview {iid!r} is placed twice (also at {interviews_placed[iid]})")
                else:
                    interviews_placed[iid] = block.pos
    for topic in book.topics.values():
        if topic.id not in topic_placed:
            report.error(topic.pos, f"topic {topic.id!r} is never placed: add "
                         f"'::: {{.questions topic=\"{topic.id}\"}}' and ':::' to a chapter")
            continue
        for q in topic.questions:
            if q.id not in placed:
                report.error(q.pos, f"question {q.id!r} is placed by no questions block of topic {topic.id!r}")


def _check_interviews(book: Book, report: Report) -> None:
    questions = book.questions
    for interview in book.interviews.values():
        used: dict[str, Pos] = {}
        for rnd in interview.rounds:
            for qid, pos in rnd.questions:
                if qid not in questions:
                    report.error(pos, f"interview {interview.id!r} names unknown question {qid!r}")
                elif qid in used:
                    report.error(pos, f"interview {interview.id!r} names question {qid!r} twice")
                used[qid] = pos
        if not interview.rounds:
            report.error(interview.pos, f"interview {interview.id!r} has no rounds")


def _check_editions(book: Book, editions: list[Edition], report: Report) -> None:
    names = {c.file for c in book.chapters} | {n for p in book.meta.parts for n, _ in p.chapters}
    for edition in editions:
        for name in edition.chapters or ():
            if name not in names:
                report.error(edition.pos or book.meta.pos, f"edition {edition.name!r} names chapter {name!r}, "
                             "which book.yaml does not list")
    printing = [e.name for e in editions if e.answers != "none"]
    for topic in book.topics.values():
        for q in topic.questions:
            if q.answer is None:
                if printing:
                    report.error(q.pos, f"question {q.id!r} has no answer (the {', '.join(printing)} "
                                 "edition prints answers)")
                else:
                    report.warning(q.pos, f"question {q.id!r} has no answer")
