#!/usr/bin/env python3
"""Draft edition furniture (metadata `bookbuild-draft`): feedback links and notes, what changed.

Adds a "send feedback" link to every question, a feedback note at the end of every chapter, and
a "What changed since the last draft" section at the front. Without the metadata: no change.
"""

import panflute as pf

try:
    from ._text import words
except ImportError:  # run as a script: pandoc --filter filters/draft.py
    from _text import words


def feedback_url(template, ident):
    return template.replace("{id}", ident)


def prepare(doc):
    doc.draft = doc.get_metadata("bookbuild-draft", None)
    doc.draft_labels = doc.get_metadata("bookbuild-labels", {}) or {}


def action(elem, doc):
    if not doc.draft or not doc.draft.get("feedback"):
        return None
    if isinstance(elem, pf.Div) and "question" in elem.classes:
        qid = elem.attributes.get("data-qid", elem.identifier[2:])
        head = next((b for b in elem.content if isinstance(b, pf.Div) and "question-head" in b.classes), None)
        if head and head.content:
            link = pf.Link(*words("Send feedback"), url=feedback_url(doc.draft["feedback"], qid),
                           classes=["feedback-link"], title=f"Feedback on question {qid}")
            head.content[0].content.extend([pf.Space(), link])
    return None


def _top_level(doc):
    """The heading level of the book's top entries, the level of its first heading: 1 (a part), or 2
    when the book opens with a chapter (front matter, or a book without parts), whose level-2
    heading would otherwise be taken in as a child of a level-1 "What changed", and the chapters
    after it up to the first part."""
    first = next((b for b in doc.content if isinstance(b, pf.Header)), None)
    return 1 if first is not None and first.level == 1 and "appendix" not in first.classes else 2


def _changes_section(doc):
    changes = doc.draft.get("changes") or {}
    blocks = [pf.Header(*words("What changed since the last draft"), level=_top_level(doc),
                        identifier="draft-changes", classes=["front-matter", "unnumbered"]),
              pf.Para(*words(f"Draft {doc.draft.get('stamp', '')}."))]
    if not changes.get("since"):
        blocks.append(pf.Para(*words("This is the first draft: there is no earlier one to compare with.")))
        return blocks
    blocks.append(pf.Para(*words(f"Compared with {changes['since']}.")))
    shown = False
    for title, key in (("Added", "added"), ("Reworded", "reworded"), ("Re-answered", "reanswered")):
        ids = changes.get(key) or []
        if not ids:
            continue
        shown = True
        items = []
        for qid in ids:
            label = doc.draft_labels.get(f"q:{qid}")
            text = f"Question {label['number']}" if label else qid
            items.append(pf.ListItem(pf.Plain(pf.Link(*words(text), url=f"#q-{qid}", classes=["xref", "xref-q"]),
                                              pf.Space(), pf.Code(qid))))
        blocks += [pf.Para(pf.Strong(*words(title))), pf.BulletList(*items)]
    removed = changes.get("removed") or []
    if removed:
        shown = True
        excerpts = changes.get("removed-excerpts") or [""] * len(removed)
        blocks += [pf.Para(pf.Strong(pf.Str("Removed"))),
                   pf.BulletList(*[pf.ListItem(pf.Plain(pf.Code(i), pf.Str(":"), pf.Space(), *words(e)))
                                   for i, e in zip(removed, excerpts)])]
    chapters = changes.get("chapters") or []
    if chapters:
        shown = True
        blocks += [pf.Para(pf.Strong(*words("Chapters changed"))),
                   pf.BulletList(*[pf.ListItem(pf.Plain(*words(t))) for t in chapters])]
    if not shown:
        blocks.append(pf.Para(*words("Nothing changed.")))
    return blocks


def _note(doc, chapter):
    stem = chapter.attributes.get("data-file", "").removesuffix(".md") or chapter.identifier
    inlines = words(f"This chapter is a draft ({doc.draft.get('stamp', '')}). What is unclear, wrong or missing?")
    if doc.draft.get("feedback"):
        inlines += [pf.Space(), pf.Link(*words("Send feedback"), url=feedback_url(doc.draft["feedback"], f"chapter-{stem}"),
                                        classes=["feedback-link"])]
        inlines.append(pf.Str("."))
    return pf.Div(pf.Para(*inlines), classes=["feedback-note"])


def finalize(doc):
    if doc.draft:
        content = list(doc.content)
        out, chapter = [], None
        for block in content:
            if isinstance(block, pf.Header) and block.level <= 2 and chapter is not None:
                out.append(_note(doc, chapter))
                chapter = None
            if isinstance(block, pf.Header) and "chapter" in block.classes:
                chapter = block
            out.append(block)
        if chapter is not None:
            out.append(_note(doc, chapter))
        doc.content = _changes_section(doc) + out
    del doc.draft, doc.draft_labels


def main(doc=None):
    return pf.run_filter(action, prepare=prepare, finalize=finalize, doc=doc)


if __name__ == "__main__":
    main()
