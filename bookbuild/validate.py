"""Cross-checks over the whole book: ids, references, placement, answers, images."""

from __future__ import annotations

import functools
import os
import re
from collections import Counter
from xml.etree import ElementTree
from functools import cached_property
from pathlib import Path

from .builders.base import COVER_IMAGES
from .errors import Pos, Report, close_match, did_you_mean, shorten
from .markdown import ImageRef, Scan, is_remote
from .model import Book, Edition, Question, Text, select_questions
from .scancache import Scans
from .sources import MAX_BYTES, is_file as _is_file, read_text, resolved


IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".gif", ".svg", ".webp")
# pandoc %-escapes these in an image URL, and decodes %-escapes when it reads the file
_BAD_PATH_CHARS = re.compile(r"[%\\?#\"<>\[\]{}|^`\s\x00-\x1f\x7f]")
# what an SVG could run or fetch when a reader opens it: scripts, handlers, entities (XXE), files
_SVG_DANGER = re.compile(r"<script|\son[a-z]+\s*=|<!ENTITY|javascript:|file:", re.I)


def resolve_image(url: str, source: Path, root: Path) -> tuple[Path | None, str | None]:
    """The file an image URL names, or why it is refused."""
    target, problem = refuse_path(url, source, root)
    if problem:
        return None, problem
    if target.suffix.lower() not in IMAGE_SUFFIXES:
        return None, f"image {url!r} is not an image file ({', '.join(IMAGE_SUFFIXES)})"
    try:
        found = target.is_file()
    except OSError as exc:  # a name too long for the file system, say
        return None, f"image {url[:80]!r} cannot be read: {exc.strerror}"
    if not found:
        return None, f"image {url!r} not found" + _image_elsewhere(url, target, source, root)
    if target.suffix.lower() == ".svg":
        return target, _svg_problem(url, target)
    return target, _bitmap_problem(url, target)


# what a file's first bytes say it is
_SIGNATURES = ((b"\x89PNG\r\n\x1a\n", "PNG"), (b"\xff\xd8\xff", "JPEG"), (b"GIF87a", "GIF"), (b"GIF89a", "GIF"))
_FORMATS = {".png": "PNG", ".jpg": "JPEG", ".jpeg": "JPEG", ".gif": "GIF", ".webp": "WEBP"}
_SUFFIXES = {"PNG": ".png", "JPEG": ".jpg", "GIF": ".gif", "WEBP": ".webp", "SVG": ".svg"}
MAX_PIXELS = 89_478_485  # Pillow's own bound against decompression bombs; a book's figure needs far less


def sniff(head: bytes) -> str | None:
    """The image format a file's first bytes say it is (PNG, JPEG, GIF, WEBP, SVG), else None."""
    for magic, name in _SIGNATURES:
        if head.startswith(magic):
            return name
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "WEBP"
    if b"<svg" in head[:4096]:
        return "SVG"
    return None


def _bitmap_problem(url: str, target: Path) -> str | None:
    """Why a PNG, JPEG, GIF or WebP file is not what its name says, or cannot be shown, if so."""
    try:
        stat = target.stat()
    except OSError as exc:
        return f"image {url!r} cannot be read: {exc.strerror}"
    return _bitmap_check(url, str(target), stat.st_mtime_ns, stat.st_size)


@functools.lru_cache(maxsize=4096)
def _bitmap_check(url: str, path: str, mtime: int, size: int) -> str | None:
    from PIL import Image

    wanted = _FORMATS[Path(path).suffix.lower()]
    with open(path, "rb") as fh:
        head = fh.read(4096)
    found = sniff(head)
    if found != wanted:
        what = (f"a {found} image: name it {Path(url).stem}{_SUFFIXES[found]}" if found
                else "empty" if not head else "not an image of any kind the book takes")
        return f"image {url!r} is not a {wanted} file: it is {what}"
    try:
        with Image.open(path) as image:
            if image.format != wanted:
                return f"image {url!r} is not a {wanted} file"
            pixels = image.size[0] * image.size[1]
            if pixels > MAX_PIXELS:
                return (f"image {url!r} is {image.size[0]}×{image.size[1]} pixels; images are limited to "
                        f"{MAX_PIXELS // 1_000_000} megapixels")
            image.verify()
    except Image.DecompressionBombError:
        return f"image {url!r} has too many pixels; images are limited to {MAX_PIXELS // 1_000_000} megapixels"
    except Exception as exc:  # noqa: BLE001 (Pillow raises many kinds on a damaged file)
        detail = str(exc).replace(repr(path), "it").replace(path, "it")[:80] or type(exc).__name__
        return f"image {url!r} is damaged: it cannot be read as a {wanted} image ({detail})"
    return None


# folders no image of the book is taken from, besides hidden ones (.git, .bookbuild-cache...)
_OUTPUT_FOLDERS = {"dist"}  # at the top of the book root
_TOOL_FOLDERS = {"node_modules", "__pycache__"}  # anywhere


def _image_elsewhere(url: str, target: Path, source: Path, root: Path) -> str:
    """The tail "; did you mean '../images/x.png'?" for an image that is not where `url` says.

    The path of the file of that name elsewhere in the book (outputs, the cache and hidden folders
    aside), nearest first; else of a file of a close name in the folder `url` names. It is written
    relative to the folder `url` is resolved from (`source`'s), as the reference must be.
    """
    name = target.name
    found: list[Path] = []
    folded: list[Path] = []  # the name in other letter case
    for folder, dirs, files in os.walk(root):
        at_top = Path(folder) == root
        dirs[:] = sorted(d for d in dirs if not d.startswith(".") and d not in _TOOL_FOLDERS
                         and not (at_top and d in _OUTPUT_FOLDERS))
        for file in files:
            if file == name:
                found.append(Path(folder) / file)
            elif file.lower() == name.lower():
                folded.append(Path(folder) / file)
    candidates = [os.path.relpath(path, source.parent).replace(os.sep, "/") for path in found or folded]
    if not candidates and target.parent.is_dir() and target.parent.is_relative_to(root):
        try:
            near = sorted(p.name for p in target.parent.iterdir()
                          if p.suffix.lower() in IMAGE_SUFFIXES and not p.name.startswith("."))
        except OSError:
            near = []
        # the same name with another image suffix (plot.png for plot.svg), or a close name (the
        # stems compared: ".svg" alike in both would make unrelated names look close)
        close = next((n for n in near if Path(n).stem == target.stem), None)
        if close is None:
            stems = {Path(n).stem: n for n in near if Path(n).suffix.lower() == target.suffix.lower()}
            close = stems.get(close_match(target.stem, stems) or "")
        if close:
            candidates = [url[:len(url) - len(url.rsplit("/", 1)[-1])] + close]
    # only a path this check would take: inside the book, of a plain name
    usable = [c for c in sorted(candidates, key=lambda c: (c.count("/"), c))
              if c != url and refuse_path(c, source, root)[1] is None]
    return f"; did you mean {usable[0]!r}?" if usable else ""


def refuse_path(url: str, source: Path, root: Path) -> tuple[Path | None, str | None]:
    """The path an image URL leads to, or why reading it could leak: remote, absolute, outside the book."""
    if not url:
        return None, "image without a path"
    if url.startswith(("http://", "https://", "//")):
        return None, f"remote image {url[:80]!r}: images must be files inside the book (download it into book/images/)"
    if is_remote(url):
        return None, (f"image {url[:80]!r}: a {url.split(':')[0].lower()}: URL is not allowed; "
                      "images must be files inside the book")
    if url.startswith("/") or (len(url) > 1 and url[1] == ":"):
        return None, f"absolute image path {url!r}: write it relative to {source.name}"
    bad = _BAD_PATH_CHARS.search(url)
    if bad:
        # pandoc decodes %-escapes when it reads an image: the file it reads would not be the one checked
        return None, (f"image path {url!r} has {bad.group(0)!r} in it; name image files with letters, "
                      "digits, '-', '_', '.' and '/'")
    target = resolved(source.parent / url)
    if target is None:
        return None, f"image {url!r} cannot be resolved (a symbolic link loop?)"
    if not target.is_relative_to(root):
        return None, f"image {url!r} is outside the book root"
    hidden = next((part for part in target.relative_to(root).parts if part.startswith(".")), None)
    if hidden:
        return None, f"image {url!r} is inside the hidden {hidden!r}; images go in book/images/"
    return target, None


def _svg_problem(url: str, target: Path) -> str | None:
    """Why an SVG file may not go into the outputs (a reader's browser would run or fetch it), if so."""
    if target.stat().st_size > MAX_BYTES:
        return f"SVG image {url!r} is over 5 MB; source files are limited to 5 MB"
    data = target.read_bytes()
    m = _SVG_DANGER.search(data.decode("utf-8", "replace"))
    if m:
        return (f"SVG image {url!r} contains {m.group(0).strip()!r}: an image may not carry scripts, event "
                "handlers, entities or file links; export it again as a plain drawing")
    # entities are refused above, so expat expands none; it fetches no DTD either
    try:
        root = ElementTree.fromstring(data)
    except ElementTree.ParseError as exc:
        found = sniff(data[:4096])
        if found and found != "SVG":
            return f"image {url!r} is not an SVG file: it is a {found} image: name it {Path(url).stem}{_SUFFIXES[found]}"
        line, col = exc.position
        return (f"SVG image {url!r} is not well-formed XML ({'it is empty' if not data.strip() else exc.msg.split(':')[0]}"
                f"{'' if not data.strip() else f' at its line {line}, column {col + 1}'})")
    if root.tag != "{http://www.w3.org/2000/svg}svg":
        return (f"SVG image {url!r} has no <svg> root element in the SVG namespace (it starts with "
                f"<{shorten(root.tag, 40)[1:-1]}>): add xmlns=\"http://www.w3.org/2000/svg\" to its <svg> element")
    outside = _svg_outside(root)
    if outside is not None:
        return (f"SVG image {url!r} refers to {shorten(outside, 40)}, outside itself: a reader's browser would fetch "
                "it and the EPUB does not hold it; export the drawing again with everything it shows inside it")
    return None


# what an SVG may refer to: its own elements (#id) and images inside it (data:)
_SVG_INSIDE = re.compile(r"\s*(?:#|data:image/(?:png|jpeg|gif|webp|svg\+xml)[;,])", re.I)
_SVG_URL = re.compile(r"""@import\b|url\(\s*(?!['"]?\s*#)['"]?\s*([^)'"]*)""", re.I)


def _svg_outside(root: ElementTree.Element) -> str | None:
    """The first thing an SVG refers to outside itself (a link, a style's url() or @import), if any."""
    for elem in root.iter():
        for name, value in elem.attrib.items():
            if name.rsplit("}", 1)[-1] == "href" and not _SVG_INSIDE.match(value):
                return value.strip() or "an empty link"
            m = _SVG_URL.search(value)
            if m:
                return m.group(1) or m.group(0)
        if isinstance(elem.tag, str) and elem.tag.rsplit("}", 1)[-1] == "style" and elem.text:
            m = _SVG_URL.search(elem.text)
            if m:
                return m.group(1) or m.group(0)
    return None


def editions_to_check(book: Book, name: str | None) -> list[Edition]:
    if name is None:
        return list(book.meta.editions.values())
    return [book.meta.editions[name]]


def validate(book: Book, editions: list[Edition], scans: Scans | None = None) -> Report:
    """Every cross-file problem of `book`, for the given editions. `scans`: markdown.scan, with
    what was found before (scancache.py)."""
    scan = (scans or Scans()).get
    report = Report()
    root = book.root
    scans: list[tuple[Scan, Path]] = []
    placed_in = _placed_in(book)
    chapter_of: dict[int, str | None] = {}  # id(scan) -> the chapter file its text is printed in

    def add_scan(text: Text, source: Path, field: str | None, chapter: str | None = None) -> None:
        # a template puts a hint or a reason after other text on its line: it starts no block
        s = scan(text.value, text.pos, in_field=field, starts_block=field not in ("hint", "reason"))
        for pos, severity, message in s.problems:
            (report.error if severity == "error" else report.warning)(pos, message)
        scans.append((s, source))
        chapter_of[id(s)] = chapter

    # ids: unique across the bank and discarded.yaml
    seen: dict[str, Pos] = {}
    for topic in book.topics.values():
        for q in topic.questions:
            if q.id in seen:
                report.error(q.field_pos("id"), f"duplicate question id {q.id!r} (also at {seen[q.id]})")
            else:
                seen[q.id] = q.field_pos("id")
            for field, text in q.texts():
                add_scan(text, topic.path, field, placed_in.get(q.id))
    for d in book.discarded:
        if d.id in seen:
            report.error(d.pos, f"duplicate question id {d.id!r} (also at {seen[d.id]})")
        else:
            seen[d.id] = d.pos
        add_scan(d.prompt, Path(d.pos.path), "prompt", placed_in.get("::discarded"))
        add_scan(d.reason, Path(d.pos.path), "reason", placed_in.get("::discarded"))
    for topic in book.topics.values():
        for r in topic.resources:
            if not r.url.startswith(("https://", "http://")):
                report.error(r.pos, f"resource URL {shorten(r.url)} must start with https:// or http://")

    for chapter in book.chapters:
        add_scan(Text(chapter.text, chapter.pos), chapter.path, None, chapter.file)

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
    unread = _NotLoaded(book)
    for s, _ in scans:
        for ref in s.refs:
            if ref.kind == "q":
                if ref.target not in questions:
                    tail = unread.question(ref.target)
                    if tail is not None:
                        report.error(ref.pos, f"reference @q:{shorten(ref.target)[1:-1]}: no question has the id "
                                     f"{shorten(ref.target)}"
                                     + (tail or did_you_mean(ref.target, questions)))
            elif (ref.kind, ref.target) not in labels:
                tail = unread.label(ref.kind, ref.target)
                if tail is not None:
                    same_kind = [f"@{kind}:{name}" for kind, name in labels if kind == ref.kind]
                    target = shorten(ref.target)[1:-1]
                    report.error(ref.pos, f"reference @{ref.kind}:{target}: no {_KIND_NAMES[ref.kind]} "
                                 f"is labelled {{#{ref.kind}:{target}}}"
                                 + (tail or did_you_mean(f"@{ref.kind}:{ref.target}", same_kind)))
    _check_images(scans, root, report)
    if book.meta.print is not None and any(e.name == "print" for e in editions):
        from .interior import check_print  # the paperback: images' resolution, fonts' licences
        check_print(book, scans, report)
    _check_cover(book, report)
    _check_fragments(book, scans, labels, report)
    label_chapters = {(label.kind, label.id): chapter_of[id(s)] for s, _ in scans for label in s.labels}
    target_chapters = {**{("q", qid): chapter for qid, chapter in placed_in.items()}, **label_chapters}
    _check_subset_references([(s, chapter_of[id(s)]) for s, _ in scans], target_chapters, editions, report)

    _check_placement(book, report, unread)
    _check_groups(book, report)
    _check_interviews(book, report, unread)
    _check_editions(book, editions, report)
    return report


_KIND_NAMES = {"sec": "section", "fig": "figure", "tbl": "table"}
# file names in questions/ that are not topics (DESIGN.md): a block cannot place them
RESERVED_TOPICS = {
    "discarded": "questions/discarded.yaml is the bad-questions list, placed by a '::: discarded' block",
    "interviews": "questions/interviews.yaml holds the sample interviews, each placed by a "
                  "'::: {.interview id=\"...\"}' block",
}


def _placed_in(book: Book) -> dict[str, str]:
    """The chapter file each question is printed in (and "::discarded" for the bad-questions list)."""
    placed: dict[str, str] = {}
    for chapter in book.chapters:
        for block in chapter.blocks:
            if block.kind == "questions" and block.attrs.get("topic") in book.topics:
                for q in select_questions(book.topics[block.attrs["topic"]], block.attrs):
                    placed.setdefault(q.id, chapter.file)
            elif block.kind == "discarded":
                placed.setdefault("::discarded", chapter.file)
    return placed


def _check_subset_references(scans: list[tuple[Scan, str | None]], targets: dict[tuple[str, str], str | None],
                             editions: list[Edition], report: Report) -> None:
    """A reference from a chapter an edition prints into one it leaves out: a warning (DESIGN.md)."""
    for edition in editions:
        if not edition.chapters:
            continue
        kept = set(edition.chapters)
        for s, chapter in scans:
            if chapter not in kept:
                continue
            for ref in s.refs:
                target = targets.get((ref.kind, ref.target))
                if target is not None and target not in kept:
                    report.warning(ref.pos, f"reference @{ref.kind}:{ref.target} points into {target}, which the "
                                   f"{edition.name!r} edition leaves out: it reads \"(not in this draft)\" there")


def _check_images(scans: list[tuple[Scan, Path]], root: Path, report: Report) -> None:
    """Every image pandoc would read, inline (`![a](x.png)`) or by reference (`![a][x]`), is checked.

    pandoc resolves a reference against definitions anywhere in the chapter, the questions it
    places included: so a use is checked against every definition of its label in the book.
    """
    definitions: dict[str, list[ImageRef]] = {}
    for s, _ in scans:
        for label, refs in s.definitions.items():
            definitions.setdefault(label, []).extend(refs)
    for s, source in scans:
        for image in s.images:
            problem = _image_problem(image.url, image.in_code, source, root)
            if problem:
                report.error(image.pos, problem)
        for use in s.image_uses:
            for target in definitions.get(use.label, ()):
                problem = _image_problem(target.url, use.in_code and target.in_code, source, root)
                if problem:
                    report.error(use.pos, f"{problem} (the reference [{use.label}] is defined at {target.pos})")


# ids written in attributes, `{#id .class}`, and the ids pandoc makes from a heading's text
_ATTR_ID = re.compile(r"\{[^{}\n]*?#([^\s{}#.=\"']+)")
_ID_PREFIXES = {"q-": "question", "a-": "question"}


def _auto_id(heading: str) -> str:
    """The id pandoc gives a heading without one (its auto_identifiers), near enough for a warning."""
    text = re.sub(r"\s*\{[^{}]*\}\s*$", "", heading)
    text = re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", text)  # a link's text
    text = re.sub(r"[*`~^\[\]]|(?<!\w)_|_(?!\w)", "", text)
    text = "-".join("".join(c for c in text if c.isalnum() or c in "_-. ").lower().split())
    text = re.sub(r"^[^a-z\u00c0-\uffff]+", "", text)
    return text or "section"


def _check_fragments(book: Book, scans: list[tuple[Scan, Path]], labels: dict, report: Report) -> None:
    """Links to `#id`: to a question (`#q-id`, `#a-id`) or a label (`#sec:id`) that is not there,
    an error; to an id no heading or attribute in the book has, a warning (the build drops it)."""
    if not any(s.fragments for s, _ in scans):
        return
    known = {f"{kind}:{name}" for kind, name in labels} | {"appendices"}
    known |= {f"part-{n}" for n in range(1, len(book.meta.parts) + 1)}
    chapter_files = {c.path: c for c in book.chapters}
    for s, source in scans:
        chapter = chapter_files.get(source)
        for h in s.headings:
            given = _ATTR_ID.findall(h.text)
            if chapter is not None and h.level == 1 and not any(":" in i for i in given):
                known.add(f"chapter-{chapter.path.stem}")  # the id a chapter's title gets (assemble.py)
            else:
                known.update(given or [_auto_id(h.text)])
    for chapter in book.chapters:  # ids on divs, spans, images...
        known.update(_ATTR_ID.findall(chapter.text))
    for topic in book.topics.values():
        for q in topic.questions:
            for _, text in q.texts():
                known.update(_ATTR_ID.findall(text.value))
    questions = book.questions
    for s, _ in scans:
        for frag in s.fragments:
            target = frag.url
            prefix = target[:2]
            kind = target.split(":", 1)[0]
            if prefix in _ID_PREFIXES and ":" not in target:
                if target[2:] not in questions:
                    report.error(frag.pos, f"link to '#{target}': no question has the id {target[2:]!r}"
                                 + did_you_mean(target[2:], questions))
            elif kind in _KIND_NAMES and ":" in target:
                if (kind, target.split(":", 1)[1]) not in labels:
                    report.error(frag.pos, f"link to '#{target}': no {_KIND_NAMES[kind]} is labelled {{#{target}}}"
                                 + did_you_mean(target, sorted(known)))
            elif target not in known:
                report.warning(frag.pos, f"link to '#{target}': no heading or element of the book has that id, "
                               "so the link is left out (its text stays)")


def _check_cover(book: Book, report: Report) -> None:
    """The EPUB's cover, when the book has one of its own."""
    for name in COVER_IMAGES:
        path = book.root / name
        if _is_file(path):
            target = resolved(path)
            problem = (f"image {name!r} is outside the book root" if target is None or not target.is_relative_to(book.root)
                       else _bitmap_problem(name, target))
            if problem:
                report.error(Pos(str(path)), problem + " (it is the EPUB's cover)")
            return


_IN_CODE = (" (it is in code, but pandoc may read it as an image: show image examples in a fenced code "
            "block that starts a line after a blank line)")


def _image_problem(url: str, in_code: bool, source: Path, root: Path) -> str | None:
    """Why an image may not be built; in code, only what could leak (an example need not exist)."""
    if in_code:
        problem = refuse_path(url, source, root)[1]
        return problem + _IN_CODE if problem else None
    return resolve_image(url, source, root)[1]


def _check_placement(book: Book, report: Report, unread: "_NotLoaded") -> None:
    counts = Counter(q.id for t in book.topics.values() for q in t.questions)
    duplicates = {qid for qid, n in counts.items() if n > 1}
    placed: dict[str, Pos] = {}
    topic_placed: set[str] = set()
    topic_meant: set[str] = set()  # topics a block misspells
    interviews_placed: dict[str, Pos] = {}
    for chapter in book.chapters:
        for block in chapter.blocks:
            if block.kind == "questions" and not chapter.numbered:
                # its questions would have no number ("5.12" is chapter and position)
                where = "front matter (book.yaml front:)" if chapter.role == "front" else "a part's introduction"
                report.error(block.pos, f"a questions block cannot be in {where}: questions are numbered by "
                             "their chapter; move it to a chapter of a part or to an appendix")
            if block.kind == "questions":
                topic_id = block.attrs.get("topic")
                if not topic_id:
                    report.error(block.pos, "a questions block needs topic=\"...\"")
                    continue
                if topic_id in RESERVED_TOPICS:
                    report.error(block.pos, f"topic {topic_id!r} is a reserved name: {RESERVED_TOPICS[topic_id]}")
                    continue
                topic = book.topics.get(topic_id)
                if topic is None and _topic_file_exists(book, topic_id):
                    continue  # the file is there but could not be read: its own errors say why
                if topic is None:
                    report.error(block.pos, f"unknown topic {shorten(topic_id)}; topics are: "
                                 + (", ".join(sorted(book.topics)) or "none (no questions/*.yaml)")
                                 + did_you_mean(topic_id, book.topics))
                    # the topic it means is placed once the name is right: not "never placed" too
                    topic_meant.add(close_match(topic_id, book.topics) or "")
                    continue
                topic_placed.add(topic_id)
                chosen = select_questions(topic, block.attrs)
                if not chosen:
                    report.warning(block.pos, f"this questions block places no question of topic {topic_id!r}"
                                   + _block_misses(topic, block.attrs))
                for q in chosen:
                    if q.id in duplicates:
                        continue  # reported as a duplicate id; "placed twice" would say it again
                    if q.id in placed:
                        report.error(block.pos, f"question {q.id!r} is placed twice: here and by the block at {placed[q.id]}")
                    else:
                        placed[q.id] = block.pos
            elif block.kind == "interview":
                iid = block.attrs.get("id")
                if iid not in book.interviews:
                    tail = unread.interview(str(iid))
                    if tail is not None:
                        report.error(block.pos, f"unknown interview {shorten(iid)}; interviews are: "
                                     + (", ".join(sorted(book.interviews)) or "none (no questions/interviews.yaml)")
                                     + (tail or did_you_mean(str(iid), book.interviews)))
                elif iid in interviews_placed:
                    report.error(block.pos, f"interview {iid!r} is placed twice (also at {interviews_placed[iid]})")
                else:
                    interviews_placed[iid] = block.pos
    if _unread_chapters(book) or _misnamed_chapters(book):
        return  # a chapter that could not be read may hold the blocks: "never placed" would mislead
    for topic in book.topics.values():
        if topic.id in topic_meant - topic_placed:
            continue
        if topic.id not in topic_placed:
            report.error(topic.pos, f"topic {topic.id!r} is never placed: add "
                         f"'::: {{.questions topic=\"{topic.id}\"}}' and ':::' to a chapter")
            continue
        for q in topic.questions:
            if q.id not in placed and q.id not in duplicates:
                report.error(q.pos, f"question {q.id!r} is placed by no questions block of topic {topic.id!r}")


def _block_misses(topic, attrs: dict) -> str:
    """The tail "; did you mean ...?" for a block's tags or group that no question of its topic has."""
    tags = {t for q in topic.questions for t in q.tags}
    groups = {q.group for q in topic.questions if q.group}
    wanted = [t.strip() for t in attrs.get("tags", "").split(",") if t.strip()]
    missing = [t for t in wanted if t not in tags]
    if missing and len(missing) == len(wanted):
        return did_you_mean(missing, sorted(tags))
    if attrs.get("group") and attrs["group"] not in groups:
        return did_you_mean(attrs["group"], sorted(groups))
    return ""


def _check_groups(book: Book, report: Report) -> None:
    """A group's questions together: a block prints a group's heading each time its group
    starts, so a group resumed after another (or after questions of none) is headed twice."""
    for topic in book.topics.values():
        first: dict[str, Question] = {}
        previous: str | None = None
        for question in topic.questions:
            group = question.group
            if group and group != previous and group in first:
                report.warning(question.field_pos("group"),
                               f"group {group!r} resumes here after other questions: its heading would "
                               f"print again (it starts with question {first[group].id!r}, line "
                               f"{first[group].pos.line}); keep a group's questions together")
            if group:
                first.setdefault(group, question)
            previous = group


def _unread_chapters(book: Book) -> list[str]:
    """Chapters listed and present whose text could not be read (their own errors say why)."""
    loaded = {c.file for c in book.chapters}
    return [name for name, _, _ in book.meta.listed()
            if name not in loaded and "/" not in name and _exists(book.root / "book" / "chapters" / name)]


def _exists(path: Path) -> bool:
    try:
        return path.exists()
    except OSError:  # a name too long for the file system: reported where it is listed
        return False


def _stray_chapters(book: Book) -> list[str]:
    """Chapter files in book/chapters/ that book.yaml does not list (each an error of its own)."""
    cdir = book.root / "book" / "chapters"
    listed = {name for name, _, _ in book.meta.listed()}
    return sorted(p.name for p in cdir.glob("*.md") if p.name not in listed) if cdir.is_dir() else []


def _misnamed_chapters(book: Book) -> dict[str, str]:
    """Chapters listed but missing for which an unlisted file of a close name is there (a typo in
    book.yaml, or a renamed file), and that file: it may hold the blocks and labels looked for."""
    loaded = {c.file for c in book.chapters}
    strays = _stray_chapters(book)
    unread = set(_unread_chapters(book))
    out = {}
    for name, _, _ in book.meta.listed():
        base = name.replace("\\", "/").rsplit("/", 1)[-1]
        meant = base if base in strays else close_match(base, strays)
        if name not in loaded | unread and meant:
            out[name] = meant
    return out


# an `id:` key in YAML text: at the start of a line (or of a list item) or in a flow mapping
_RAW_ID = re.compile(r"""(?m)(?:^[ \t]*(?:-[ \t]+)*|[{,][ \t]*)id:[ \t]*["']?([\w.-]+)""")


class _NotLoaded:
    """What the book's sources that could not be read, or were read only in part, would define.

    A name unknown only because the file that has it could not be read (a YAML syntax error, a
    question that is not a mapping...) is a follow-on error, left out: the file's own errors say
    why. When a file could not be read at all (not UTF-8, too large...), a message about an unknown
    name says so. Each method returns None to leave the error out, else a tail for its message
    ("" when no file is to blame).
    """

    def __init__(self, book: Book):
        self.book = book

    @cached_property
    def _question_files(self) -> list[tuple[Path, str | None, set[str]]]:
        """Every topic file and interviews.yaml: its text (None: unreadable) and the ids loaded from it."""
        book = self.book
        qdir = book.root / "questions"
        out = []
        for path in (sorted(qdir.glob("*.yaml")) + sorted(qdir.glob("*.yml")) if qdir.is_dir() else []):
            if path.name == "discarded.yaml":
                continue  # its questions cannot be referred to or asked in an interview anyway
            if path.name == "interviews.yaml":
                loaded = set(book.interviews)
            else:
                topic = book.topics.get(path.stem)
                loaded = {q.id for q in topic.questions} if topic and topic.path == path else set()
            out.append((path, read_text(path, Report(), book.root), loaded))
        return out

    def _name(self, path: Path) -> str:
        return path.relative_to(self.book.root).as_posix()

    def _lost(self, wanted: str, interviews: bool) -> str | None:
        unreadable = []
        for path, text, loaded in self._question_files:
            if (path.name == "interviews.yaml") != interviews:
                continue
            if text is None:
                unreadable.append(self._name(path))
            elif wanted not in loaded and wanted in _RAW_ID.findall(text):
                return None
        return f" ({', '.join(unreadable)} could not be read)" if unreadable else ""

    def question(self, qid: str) -> str | None:
        return self._lost(qid, interviews=False)

    def interview(self, iid: str) -> str | None:
        return self._lost(iid, interviews=True)

    def label(self, kind: str, name: str) -> str | None:
        book = self.book
        pattern = re.compile(r"\{[^{}\n]*?#" + re.escape(f"{kind}:{name}") + r"(?![\w-])[^{}\n]*\}")
        for path, text, loaded in self._question_files:
            if text is not None and path.name != "interviews.yaml" and pattern.search(text) \
                    and set(_RAW_ID.findall(text)) - loaded:
                return None  # in a question that was not loaded
        unread = [f"book/chapters/{name}" for name in _unread_chapters(book)]
        if unread:
            return f" ({', '.join(unread)} could not be read)"
        meant = _misnamed_chapters(book)
        for stray in _stray_chapters(book):
            text = read_text(book.root / "book" / "chapters" / stray, Report(), book.root)
            if text is not None and pattern.search(text):
                if stray in meant.values():
                    return None  # the file book.yaml means by a name misspelt: that error says it
                return f" (book/chapters/{stray} has it, but book.yaml does not list that file)"
        return ""


def _topic_file_exists(book: Book, topic_id: str) -> bool:
    if not re.fullmatch(r"[\w-]{1,100}", topic_id):
        return False
    return any(_is_file(book.root / "questions" / f"{topic_id}{suffix}") for suffix in (".yaml", ".yml"))


def _check_interviews(book: Book, report: Report, unread: "_NotLoaded") -> None:
    questions = book.questions
    for interview in book.interviews.values():
        used: dict[str, Pos] = {}
        for rnd in interview.rounds:
            for qid, pos in rnd.questions:
                if qid not in questions:
                    tail = unread.question(qid)
                    if tail is not None:
                        report.error(pos, f"interview {interview.id!r} names unknown question {shorten(qid)}"
                                     + (tail or did_you_mean(qid, questions)))
                elif qid in used:
                    report.error(pos, f"interview {interview.id!r} names question {shorten(qid)} twice")
                used[qid] = pos
        if not interview.rounds:
            report.error(interview.pos, f"interview {interview.id!r} has no rounds")


def _check_editions(book: Book, editions: list[Edition], report: Report) -> None:
    names = {c.file for c in book.chapters} | {n for n, _, _ in book.meta.listed()}
    for edition in editions:
        for name in edition.chapters or ():
            if name not in names:
                report.error(edition.pos or book.meta.pos, f"edition {edition.name!r} names chapter {shorten(name)}, "
                             "which book.yaml does not list" + did_you_mean(name, sorted(names)))
    printing = [e.name for e in editions if e.answers != "none"]
    for topic in book.topics.values():
        for q in topic.questions:
            if q.answer is None and "answer" not in q.misspelt:  # `anwser:` is reported as that
                if printing:
                    report.error(q.pos, f"question {q.id!r} has no answer (the {', '.join(printing)} "
                                 "edition prints answers)")
                else:
                    report.warning(q.pos, f"question {q.id!r} has no answer")
