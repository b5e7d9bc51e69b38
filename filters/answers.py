#!/usr/bin/env python3
"""Place answers (metadata `bookbuild-answers`): appendix | inline | none.

Appendix: each answer moves to an "Answers" part, grouped by chapter; the question links to
`#a-<id>` and the answer links back to `#q-<id>`. Inline: the answer follows its question.
None: answers are removed.
"""

import panflute as pf

try:
    from ._text import words
except ImportError:  # run as a script: pandoc --filter filters/answers.py
    from _text import words


def prepare(doc):
    doc.answer_mode = doc.get_metadata("bookbuild-answers", "appendix")
    doc.answer_chapter = None
    doc.moved = []  # (chapter header, [answer divs])


def action(elem, doc):
    if isinstance(elem, pf.Header) and "chapter" in elem.classes:
        doc.answer_chapter = elem
        return None
    if not (isinstance(elem, pf.Div) and "question" in elem.classes):
        return None
    answer = next((b for b in elem.content if isinstance(b, pf.Div) and "answer" in b.classes), None)
    if answer is None:
        return None
    number = elem.attributes.get("data-number", "")
    mode = doc.answer_mode
    if mode == "none":
        elem.content.remove(answer)
    elif mode == "inline":
        answer.content.insert(0, pf.Para(pf.Strong(*words(f"Answer {number}".strip()))))
    else:
        elem.content.remove(answer)
        head = next((b for b in elem.content if isinstance(b, pf.Div) and "question-head" in b.classes), None)
        link = pf.Link(*words("Answer"), url="#" + answer.identifier, classes=["to-answer"],
                       title=f"Answer to question {number}")
        if head and head.content:
            head.content[0].content.extend([pf.Space(), link])
        back = pf.Link(*words(f"Question {number}"), url="#" + elem.identifier, classes=["to-question"],
                       title=f"Back to question {number}")
        answer.content.insert(0, pf.Para(pf.Strong(*words(f"Answer {number}")), pf.Space(), pf.Str("·"), pf.Space(), back))
        if not doc.moved or doc.moved[-1][0] is not doc.answer_chapter:
            doc.moved.append((doc.answer_chapter, []))
        doc.moved[-1][1].append(answer)
    return None


def finalize(doc):
    if doc.answer_mode == "appendix" and doc.moved:
        doc.content.append(pf.Header(pf.Str("Answers"), level=1, identifier="answers",
                                     classes=["part", "appendix", "unnumbered"]))
        for chapter, answers in doc.moved:
            attrs = chapter.attributes if chapter is not None else {}
            word = "Appendix" if chapter is not None and "appendix" in chapter.classes else "Chapter"
            title = f"{word} {attrs['data-chapter']}: {attrs.get('data-title', '')}" if "data-chapter" in attrs else "Answers"
            ident = "answers-" + (chapter.identifier if chapter is not None else "book")
            doc.content.append(pf.Header(*words(title), level=2, identifier=ident,
                                         classes=["answers-chapter", "unnumbered"]))
            doc.content.extend(answers)
    del doc.answer_mode, doc.answer_chapter, doc.moved


def main(doc=None):
    return pf.run_filter(action, prepare=prepare, finalize=finalize, doc=doc)


if __name__ == "__main__":
    main()
