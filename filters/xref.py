#!/usr/bin/env python3
"""Resolve `@q:id`, `@sec:id`, `@fig:id`, `@tbl:id` into numbered links.

Reads the labels that the number filter wrote (`bookbuild-labels`). `[-@fig:x]` gives the
number alone, as pandoc-crossref does. A target left out of a chapter-subset edition reads
"Question 5.12 (not in this draft)" and has no link.
"""

import sys

import panflute as pf

try:
    from ._text import words
except ImportError:  # run as a script: pandoc --filter filters/xref.py
    from _text import words
try:
    from bookbuild.errors import did_you_mean
except ImportError:  # a python3 without bookbuild, running this file alone: no suggestions
    def did_you_mean(name, candidates):
        return ""

KINDS = {"q": "Question", "sec": "Section", "fig": "Figure", "tbl": "Table"}


def prepare(doc):
    doc.xref_labels = doc.get_metadata("bookbuild-labels", {}) or {}
    doc.xref_omitted = set(doc.get_metadata("bookbuild-omitted", []) or [])


def reference(citation, doc):
    """The inlines for one citation, or None when it is not a cross-reference."""
    kind, colon, name = citation.id.partition(":")
    if kind not in KINDS or not colon or not name:  # `@q` alone is text ("@q:" with no id: check refuses it)
        return None
    label = doc.xref_labels.get(citation.id)
    if label is None:
        print(f"xref: warning: no target for @{citation.id}"
              f"{did_you_mean('@' + citation.id, ['@' + key for key in doc.xref_labels])}", file=sys.stderr)
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
    if not isinstance(elem, pf.Cite):
        return None
    parts = [reference(c, doc) for c in elem.citations]
    if all(p is None for p in parts):
        return None
    out = []
    for i, (citation, inlines) in enumerate(zip(elem.citations, parts)):
        if i:
            out.extend([pf.Str(","), pf.Space()] if i < len(parts) - 1 else [pf.Space(), pf.Str("and"), pf.Space()])
        out.extend(inlines if inlines is not None else [pf.Str("@" + citation.id)])
    return pf.Span(*out, classes=["xrefs"]) if len(out) > 1 else out[0]


def finalize(doc):
    del doc.xref_labels, doc.xref_omitted


def main(doc=None):
    return pf.run_filter(action, prepare=prepare, finalize=finalize, doc=doc)


if __name__ == "__main__":
    main()
