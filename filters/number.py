#!/usr/bin/env python3
"""Number chapters, sections, questions, figures and tables, the same in every format.

A question's number is chapter.position ("5.12") in the full book. Labels written
pandoc-crossref style (`{#sec:x}`, `{#fig:x}`, `{#tbl:x}`) become ids `sec-x`, `fig-x`, `tbl-x`
on a Header or Div, so pandoc rewrites links to them across EPUB files and HTML pages.
The id → number map goes into the metadata field `bookbuild-labels` for the xref filter.
"""

import panflute as pf

try:
    from ._text import appendix_letter, words
except ImportError:  # run as a script: pandoc --filter filters/number.py
    from _text import appendix_letter, words

ROMAN = ["I", "II", "III", "IV", "V", "VI", "VII", "VIII", "IX", "X", "XI", "XII", "XIII", "XIV", "XV"]


def anchor(identifier):
    """The id a label becomes: `sec:intro` → `sec-intro`."""
    return identifier.replace(":", "-")


def prepare(doc):
    doc.labels = {}
    # `label` is what the current chapter prints ("5", "A"), None in front matter and part introductions
    doc.counters = {"part": 0, "chapter": 0, "appendix": 0, "label": None, "question": 0, "figure": 0,
                    "table": 0, "section": []}
    doc.chapter_file = ""
    doc.chapter_title = ""


def _label(doc, key, kind, number, target, **extra):
    doc.labels[key] = {"kind": kind, "number": number, "anchor": target, "chapter": doc.chapter_file, **extra}


def action(elem, doc):
    c = doc.counters
    if isinstance(elem, pf.Header):
        return _header(elem, doc, c)
    if isinstance(elem, pf.Div) and "question" in elem.classes:
        c["question"] += 1
        number = f"{c['label']}.{c['question']}"
        qid = elem.attributes.get("data-qid", elem.identifier[2:])
        elem.attributes["data-number"] = number
        _label(doc, "q:" + qid, "q", number, elem.identifier)
        for child in elem.content:
            if isinstance(child, pf.Div) and "question-head" in child.classes and child.content:
                label = pf.Span(pf.Strong(*words(f"Question {number}")), classes=["question-number"])
                child.content[0].content[0:0] = [label, pf.Space()]
        return None
    if isinstance(elem, (pf.Figure, pf.Table)) and not elem.identifier \
            and not any(pf.stringify(block).strip() for block in elem.caption.content):
        return None  # a float with neither caption nor label is not numbered (as pandoc-crossref does)
    if isinstance(elem, pf.Figure):
        c["figure"] += 1
        return _caption(elem, doc, "fig", "Figure", c["figure"])
    if isinstance(elem, pf.Table):
        c["table"] += 1
        return _caption(elem, doc, "tbl", "Table", c["table"])
    return None


def _header(elem, doc, c):
    if "part" in elem.classes and "unnumbered" in elem.classes:
        return None  # the "Appendices" heading above the lettered appendices
    if "part" in elem.classes:
        c["part"] += 1
        label = f"Part {ROMAN[c['part'] - 1] if c['part'] <= len(ROMAN) else c['part']}"
        elem.content[0:0] = [pf.Span(*words(label), classes=["part-number"]), pf.Space()]
        return None
    if "chapter" in elem.classes:
        c.update(question=0, figure=0, table=0, section=[])
        doc.chapter_file = elem.attributes.get("data-file", "")
        doc.chapter_title = pf.stringify(elem)
        key = elem.identifier
        elem.identifier = anchor(key)
        elem.attributes["data-title"] = pf.stringify(elem)
        if {"front-matter", "part-intro"} & set(elem.classes):  # unnumbered: a reference prints the title
            c["label"] = None
            _label(doc, key, "sec", pf.stringify(elem), elem.identifier, unnumbered=True)
            return None
        if "appendix" in elem.classes:
            c["appendix"] += 1
            number = appendix_letter(c["appendix"])
        else:
            c["chapter"] += 1
            number = str(c["chapter"])
        c["label"] = number
        elem.attributes["data-chapter"] = number  # not data-number: pandoc writes that one on headings
        _label(doc, key, "sec", number, elem.identifier, chapter_title=True,
               **({"appendix": True} if "appendix" in elem.classes else {}))
        elem.content[0:0] = [pf.Span(pf.Str(number), classes=["chapter-number"]), pf.Space()]
        return None
    if "unnumbered" in elem.classes or c["label"] is None or elem.level < 3 or elem.level > 4:
        if ":" in elem.identifier:
            key = elem.identifier
            elem.identifier = anchor(key)
            _label(doc, key, "sec", pf.stringify(elem), elem.identifier, unnumbered=True)
        return None
    depth = elem.level - 2  # level 3 → 5.1, level 4 → 5.1.1
    section = c["section"][:depth]
    section += [0] * (depth - len(section))
    section[-1] += 1
    c["section"] = section
    number = ".".join(str(n) for n in [c["label"], *section])
    if ":" in elem.identifier:
        key = elem.identifier
        elem.identifier = anchor(key)
        _label(doc, key, "sec", number, elem.identifier)
    elem.content[0:0] = [pf.Span(pf.Str(number), classes=["section-number"]), pf.Space()]
    return None


def _caption(elem, doc, kind, word, count):
    chapter = doc.counters["label"]
    if chapter is None:  # in front matter or a part's introduction: no number to give
        extra, number = {"unnumbered": True}, f"{word.lower()} in {doc.chapter_title}"
    else:
        extra, number = {}, f"{chapter}.{count}"
        label = pf.Span(*words(f"{word} {number}:"), classes=[f"{kind}-number"])
        caption = elem.caption.content
        if caption and isinstance(caption[0], (pf.Plain, pf.Para)):
            caption[0].content[0:0] = [label, pf.Space()]
        else:
            caption.insert(0, pf.Plain(label))
    if not elem.identifier:
        return None
    key = elem.identifier
    elem.identifier = ""
    _label(doc, key, kind, number, anchor(key), **extra)
    # pandoc rewrites cross-file links only to ids on Header, Div or Span: wrap the float
    return pf.Div(elem, identifier=anchor(key), classes=[f"{kind}-float"])


def finalize(doc):
    doc.metadata["bookbuild-labels"] = {k: {kk: str(vv) for kk, vv in v.items()} for k, v in doc.labels.items()}
    del doc.labels, doc.counters, doc.chapter_file, doc.chapter_title


def main(doc=None):
    return pf.run_filter(action, prepare=prepare, finalize=finalize, doc=doc)


if __name__ == "__main__":
    main()
