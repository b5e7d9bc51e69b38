"""Question numbers ("5.12") from the content model alone, without pandoc.

The book itself is numbered by filters/number.py over the assembled document; practice sheets
need the same numbers in a fraction of a second. tests/test_sheets.py checks that the two agree.
"""

from __future__ import annotations

from .model import Book, chapter_labels, select_questions


def book_numbers(book: Book) -> dict[str, str]:
    """Each placed question's number in the full book, chapter.position ("5.12", "A.3"), by question id."""
    numbers: dict[str, str] = {}
    # chapters are numbered from 1 across all parts and appendices lettered from A (front matter and
    # part introductions hold no questions); positions restart in every chapter and follow the order
    # in which the chapter's questions blocks place them (the filter's document order)
    labels = chapter_labels(book)
    for chapter in book.chapters:
        label = labels.get(chapter.file)
        if label is None:
            continue
        position = 0
        for block in chapter.blocks:
            topic = book.topics.get(block.attrs.get("topic", "")) if block.kind == "questions" else None
            if topic is None:
                continue
            for question in select_questions(topic, block.attrs):
                position += 1
                numbers.setdefault(question.id, f"{label}.{position}")
    return numbers
