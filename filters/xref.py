#!/usr/bin/env python3
"""Resolve `@q:id`, `@sec:id`, `@fig:id`, `@tbl:id` into numbered links.

Reads the labels that the number filter wrote (`bookbuild-labels`). `[-@fig:x]` gives the
number alone, as pandoc-crossref does. A target left out of a chapter-subset edition reads
"Question 5.12 (not in this draft)" and has no link.
"""

import re
import sys
from pathlib import Path

import panflute as pf

try:
    from ._text import words
except ImportError:  # run as a script: pandoc --filter filters/xref.py
    from _text import words
try:
    from bookbuild.errors import Diagnostic, Pos, did_you_mean
except ImportError:  # a python3 without bookbuild, running this file alone: no suggestions, no positions
    Diagnostic = Pos = None

    def did_you_mean(name, candidates):
        return ""

KINDS = {"q": "Question", "sec": "Section", "fig": "Figure", "tbl": "Table"}


def prepare(doc):
    doc.xref_labels = doc.get_metadata("bookbuild-labels", {}) or {}
    doc.xref_omitted = set(doc.get_metadata("bookbuild-omitted", []) or [])
    root = doc.get_metadata("bookbuild-root", "")  # the book's folder, when bookbuild runs the filters
    doc.xref_root = Path(root) if root and Pos is not None else None
    doc.xref_chapter = None  # the chapter file the walk is in (its heading's data-file)
    doc.xref_texts = {}


def warn(doc, elem, needle, message):
    """A warning about `elem`: at the line and column of `needle` in its source file (its
    question's topic file, else its chapter) when the book's folder is known, on stderr, or
    added to `doc.bookbuild_warnings` when the caller keeps a list there."""
    if doc.xref_root is None:
        print(f"xref: warning: {message}", file=sys.stderr)
        return
    path = _source(doc, elem)
    text = doc.xref_texts.get(path)
    if text is None:
        try:
            text = path.read_text(encoding="utf-8", errors="replace")
        except OSError:
            text = ""
        doc.xref_texts[path] = text
    m = re.search(re.escape(needle) + r"(?![\w:.-]*[\w])", text)
    line = text.count("\n", 0, m.start()) + 1 if m else 1
    col = m.start() - (text.rfind("\n", 0, m.start()) + 1) + 1 if m else 1
    diagnostic = Diagnostic(Pos(str(path), line, col), message, "warning")
    if isinstance(getattr(doc, "bookbuild_warnings", None), list):
        doc.bookbuild_warnings.append(diagnostic)
    else:
        print(diagnostic, file=sys.stderr)


_TOPIC = re.compile(r"[a-z0-9-]+")


def _source(doc, elem):
    """The file `elem` was written in: the topic file of the question it is in, else its chapter."""
    parent = elem.parent
    while parent is not None and not isinstance(parent, pf.Doc):
        topic = parent.attributes.get("data-topic", "") if isinstance(parent, pf.Div) else ""
        if _TOPIC.fullmatch(topic) and (doc.xref_root / "questions" / f"{topic}.yaml").is_file():
            return doc.xref_root / "questions" / f"{topic}.yaml"
        parent = parent.parent
    if doc.xref_chapter:
        return doc.xref_root / "book" / "chapters" / doc.xref_chapter
    return doc.xref_root / "book" / "book.yaml"


def reference(citation, doc, elem):
    """The inlines for one citation of `elem`, or None when it is not a cross-reference."""
    kind, colon, name = citation.id.partition(":")
    if kind not in KINDS or not colon or not name:  # `@q` alone is text ("@q:" with no id: check refuses it)
        return None
    label = doc.xref_labels.get(citation.id)
    if label is None:
        shown = citation.id if len(citation.id) <= 80 else citation.id[:80] + "..."
        warn(doc, elem, "@" + citation.id, f"no target for @{shown}"
             f"{did_you_mean('@' + citation.id, ['@' + key for key in doc.xref_labels])}")
        return [pf.Strong(pf.Str(f"??{citation.id}"))]
    word = ("Appendix" if label.get("appendix") == "True" else "Chapter") if label.get("chapter_title") == "True" \
        else KINDS[kind]
    if label.get("unnumbered") == "True":
        text = label["number"]
    elif citation.mode == "SuppressAuthor":
        text = label["number"]
    else:
        text = f"{word} {label['number']}"
    if label["anchor"] in doc.xref_omitted:
        return [pf.Span(*words(text + " (not in this draft)"), classes=["xref", "omitted"])]
    return [pf.Link(*words(text), url="#" + label["anchor"], classes=["xref", f"xref-{kind}"])]


def action(elem, doc):
    if isinstance(elem, pf.Header) and "data-file" in elem.attributes:
        doc.xref_chapter = elem.attributes["data-file"]
    if not isinstance(elem, pf.Cite):
        return None
    parts = [reference(c, doc, elem) for c in elem.citations]
    if all(p is None for p in parts):
        return None
    out = []
    for i, (citation, inlines) in enumerate(zip(elem.citations, parts)):
        if i:
            out.extend([pf.Str(","), pf.Space()] if i < len(parts) - 1 else [pf.Space(), pf.Str("and"), pf.Space()])
        out.extend(inlines if inlines is not None else [pf.Str("@" + citation.id)])
    return pf.Span(*out, classes=["xrefs"]) if len(out) > 1 else out[0]


def finalize(doc):
    doc.metadata.content.pop("bookbuild-root", None)
    del doc.xref_labels, doc.xref_omitted, doc.xref_root, doc.xref_chapter, doc.xref_texts


def main(doc=None):
    return pf.run_filter(action, prepare=prepare, finalize=finalize, doc=doc)


if __name__ == "__main__":
    main()
