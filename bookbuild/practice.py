"""Practice mode in the HTML site: the quiz's data and the progress and quiz pages.

Everything runs in the reader's browser, from `file://` as well as from a host: marks and the
spaced-repetition schedule live in the browser's local storage (templates/site.js), and the
data comes as classic scripts, which browsers load from `file://` (`fetch` they refuse):

- `quiz-<page>.js`, one per page that holds questions (a chapter), calls the global
  `bookbuildQuiz({...})` with that page's questions: id, number, topic, difficulty, kind, and
  the prompt, hint and answer as HTML, cut out of the built pages as pandoc wrote them (so math,
  MathML, and images show as in the book). An edit to one chapter changes one of these files.
- `practice-index.js` sets `window.BOOKBUILD_PRACTICE`: the book's identifier (the storage
  key), its topics and every question's id, number, topic, difficulty and quiz script; the
  progress page counts from it and the quiz page chooses from it before loading any question.
- `progress.html` and `quiz.html`: the site's chrome (taken from the built `index.html`, so a
  book's own site.html applies) around a `<main>` rendered by the autoescaping Jinja templates
  `progress.html.j2` and `quiz.html.j2`. Without JavaScript they only say that they need it.

All of it is in the site's one folder: browsers keep `file://` storage per folder.
"""

from __future__ import annotations

import html
import json
import re
from dataclasses import dataclass, field
from pathlib import Path

import panflute as pf

from .cache import code_digest, digest
from .search import script_json
from .templating import html_env

QUIZ_FUNCTION = "bookbuildQuiz"
INDEX_GLOBAL = "BOOKBUILD_PRACTICE"
INDEX = "practice-index.js"
PROGRESS_PAGE = "progress.html"
QUIZ_PAGE = "quiz.html"
LEVELS = ("easy", "medium", "hard")

_VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "param", "source",
         "track", "wbr"}
_MAIN = re.compile(r"<main\b.*?</main>", re.S)
_TITLE = re.compile(r"<title>.*?</title>", re.S)
_TOC = re.compile(r'<nav\b[^>]*\bid="TOC".*?</nav>', re.S)
_SAME_PAGE = re.compile(r'(\shref=")#')


@dataclass
class _Element:
    tag: str
    attrs: dict[str, str]
    start: int  # where its start tag begins
    inner: int  # where its content begins
    end: int = -1  # after its end tag
    children: list[_Element] = field(default_factory=list)

    @property
    def classes(self) -> set[str]:
        return set((self.attrs.get("class") or "").split())


_TAG = re.compile(r"""<!--.*?-->|<(/?)([A-Za-z][^\s/>]*)((?:\s+[^\s"'>/=]+(?:\s*=\s*(?:"[^"]*"|'[^']*'|[^\s"'>]+))?)*)\s*(/?)>""",
                  re.S)
_ATTR = re.compile(r"""([^\s"'>/=]+)(?:\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s"'>]+)))?""")
_RAW_TEXT = {"script", "style", "textarea", "title"}
_OPAQUE = {"math", "svg"}  # taken whole: never nested, and most of a page's tags are in its formulas


class _Tree:
    """Elements with their offsets in the text, so that a part can be cut out as it was written.

    A scan of tags by pattern (pandoc's HTML is well formed; html.parser took three times as long):
    a void element or `<x/>` has no content; an end tag closes the nearest open element of its
    name and any left open inside it; a stray end tag is skipped."""

    def __init__(self, text: str):
        self.text = text
        self.root = _Element("#root", {}, 0, 0, len(text))
        self.elements: list[_Element] = []
        stack = [self.root]
        at = 0
        while True:
            m = _TAG.search(text, at)
            if m is None:
                break
            at = m.end()
            if m.group(2) is None:  # a comment
                continue
            tag = m.group(2).lower()
            if m.group(1):
                for depth in range(len(stack) - 1, 0, -1):
                    if stack[depth].tag == tag:
                        for unclosed in stack[depth + 1:]:
                            unclosed.end = m.start()
                        stack[depth].end = m.end()
                        del stack[depth:]
                        break
                continue
            attrs = {a.group(1).lower(): html.unescape(next((v for v in a.group(2, 3, 4) if v is not None), ""))
                     for a in _ATTR.finditer(m.group(3))}
            elem = _Element(tag, attrs, m.start(), m.end())
            stack[-1].children.append(elem)
            self.elements.append(elem)
            if tag in _VOID or m.group(4):
                elem.end = elem.inner
            elif tag in _RAW_TEXT or tag in _OPAQUE:
                close = text.find(f"</{tag}", at)
                close = len(text) if close < 0 else close
                elem.end = at = text.find(">", close) + 1 or len(text)
            else:
                stack.append(elem)
        for unclosed in stack[1:]:
            unclosed.end = len(text)


def _outer(text: str, elem: _Element) -> str:
    return text[elem.start:elem.end]


def _inner(text: str, elem: _Element, skip=lambda text, child, n: False) -> str:
    """An element's content without the children `skip` picks (text between children is kept)."""
    parts, at = [], elem.inner
    for n, child in enumerate(elem.children):
        if skip(text, child, n):
            parts.append(text[at:child.start])
            at = child.end
    close = text.rfind("</", elem.inner, elem.end) if elem.end > elem.inner else elem.inner
    parts.append(text[at:close if close >= at else elem.end])
    return "".join(parts).strip("\n")


def _here(fragment: str, page: str) -> str:
    """Same-page links (`#fn1`) made to point into the page the HTML came from."""
    return _SAME_PAGE.sub(lambda m: f"{m.group(1)}{page}#", fragment)


@dataclass
class PageQuestions:
    questions: list[dict]  # in page order: id, number, topic, difficulty, kind, prompt, hint, [answer]
    answers: dict[str, str]  # question id -> answer HTML, for answers on this page


def page_questions(page: str, text: str) -> PageQuestions:
    """The questions and answers of one built page, their HTML cut from it as pandoc wrote it."""
    found = PageQuestions([], {})
    main = _MAIN.search(text)
    if not main or 'class="question' not in main.group(0) and 'class="answer' not in main.group(0):
        return found
    source = main.group(0)
    tree = _Tree(source)
    inside_question: set[int] = set()
    for elem in tree.elements:
        ident = elem.attrs.get("id", "")
        if id(elem) in inside_question:
            for child in elem.children:
                inside_question.add(id(child))
            continue
        if "question" in elem.classes and ident.startswith("q-"):
            for child in elem.children:
                inside_question.add(id(child))
            found.questions.append(_question(page, source, elem))
        elif "answer" in elem.classes and ident.startswith("a-"):
            qid = elem.attrs.get("data-qid") or ident[2:]
            found.answers[qid] = _here(_inner(source, elem, _answer_heading), page)
    return found


def _answer_heading(text: str, child: _Element, n: int) -> bool:
    """What an answer starts with that the quiz shows otherwise: an inline answer's `<summary>`, an
    appendix answer's first line ("Answer 2.1 · Question 2.1", linking back)."""
    return child.tag == "summary" or (n == 0 and child.tag == "p" and 'class="to-question"' in text[child.start:child.end])


def _question(page: str, source: str, elem: _Element) -> dict:
    attrs = elem.attrs
    qid = attrs.get("data-qid") or attrs["id"][2:]
    prompt, hint, answer = [], "", None
    for child in elem.children:
        classes = child.classes
        if "question-head" in classes:
            continue
        if "hint" in classes:
            hint = _outer(source, child)
        elif "answer" in classes:  # inline answers
            answer = _inner(source, child, _answer_heading)
        else:
            prompt.append(_outer(source, child))
    record = {"id": qid, "number": attrs.get("data-number", ""), "topic": attrs.get("data-topic", ""),
              "difficulty": attrs.get("data-difficulty", ""), "kind": attrs.get("data-kind", "knowledge"),
              "url": f"{page}#{attrs['id']}", "prompt": _here("\n".join(prompt), page),
              "hint": _here(hint, page)}
    if answer is not None:
        record["answer"] = _here(answer, page)
    return record


def quiz_script(page: str, questions: list[dict]) -> str:
    """The `quiz-<page>.js` text: one call of the global registration function."""
    return f"{QUIZ_FUNCTION}({script_json({'page': page, 'questions': questions}, markup=False)});\n"


def quiz_script_name(page: str) -> str:
    return f"quiz-{Path(page).stem}.js"


def collect(folder: Path, store=None) -> tuple[list[tuple[str, list[dict]]], dict[str, str]]:
    """Every page's questions (pages in name order, questions in page order) and every answer.
    `store`: the book's cache, which keeps what was found on a page by the page's text."""
    pages: list[tuple[str, list[dict]]] = []
    answers: dict[str, str] = {}
    for path in sorted(folder.glob("*.html")):
        text = path.read_text(encoding="utf-8")
        key = digest(code_digest(), "practice-page", path.name, text) if store is not None else ""
        known = store.get(key) if store is not None else None
        if known is not None:
            found = PageQuestions(*json.loads(known))
        else:
            found = page_questions(path.name, text)
            if store is not None:
                store.put(key, json.dumps([found.questions, found.answers], ensure_ascii=False))
        if found.questions:
            pages.append((path.name, found.questions))
        answers.update(found.answers)
    return pages, answers


def _page(skeleton: str, title: str, book_title: str, main: str, current: str) -> str:
    """A practice page in the site's chrome: `skeleton` is the built index.html."""
    text = _TITLE.sub(lambda m: f"<title>{html.escape(title)} – {html.escape(book_title)}</title>", skeleton, count=1)
    text = _TOC.sub(lambda m: m.group(0).replace(' aria-current="page"', ""), text, count=1)
    text = text.replace(f'<a href="{current}"', f'<a aria-current="page" href="{current}"', 1)
    return _MAIN.sub(lambda m: main.rstrip("\n"), text, count=1)


def write_practice(folder: Path, book, answers_mode: str, order: list[str], store=None) -> list[str]:
    """Write the quiz scripts, the practice index and the two pages into the site folder.

    `order`: the question ids in book order (the pages, and the topics, follow it). Returns the
    names of the files written; nothing when the site holds no question."""
    by_page, answers = collect(folder, store)
    rank = {qid: n for n, qid in enumerate(order)}
    by_page.sort(key=lambda item: (min(rank.get(q["id"], len(rank)) for q in item[1]), item[0]))
    if not by_page:
        return []
    written = []
    index_questions = []
    topics: dict[str, dict] = {}
    for page, questions in by_page:
        script = quiz_script_name(page)
        for q in questions:
            if "answer" not in q and q["id"] in answers:
                q["answer"] = answers[q["id"]]
            index_questions.append({"id": q["id"], "number": q["number"], "topic": q["topic"],
                                    "difficulty": q["difficulty"], "kind": q["kind"], "url": q["url"],
                                    "script": script})
            topic = topics.setdefault(q["topic"], {"id": q["topic"], "title": _topic_title(book, q["topic"]),
                                                   "count": 0, "levels": dict.fromkeys(LEVELS, 0)})
            topic["count"] += 1
            if q["difficulty"] in topic["levels"]:
                topic["levels"][q["difficulty"]] += 1
        (folder / script).write_text(quiz_script(page, questions), encoding="utf-8")
        written.append(script)
    meta = book.meta
    index = {"book": meta.identifier, "title": meta.title, "slug": meta.slug,
             "answers": answers_mode != "none",
             "topics": [{"id": t["id"], "title": t["title"]} for t in topics.values()],
             "questions": index_questions}
    (folder / INDEX).write_text(f"window.{INDEX_GLOBAL} = {script_json(index)};\n", encoding="utf-8")
    written.append(INDEX)

    skeleton = (folder / "index.html").read_text(encoding="utf-8")
    env = html_env(book.root)
    levels = [{"name": level, "count": sum(t["levels"][level] for t in topics.values())} for level in LEVELS]
    context = {"book": {"title": meta.title, "identifier": meta.identifier}, "topics": list(topics.values()),
               "levels": levels, "total": len(index_questions), "answers": answers_mode != "none"}
    for name, template, title in ((PROGRESS_PAGE, "progress.html.j2", "Your progress"),
                                  (QUIZ_PAGE, "quiz.html.j2", "Quiz me")):
        main = env.get_template(template).render(**context)
        (folder / name).write_text(_page(skeleton, title, meta.title, main, name), encoding="utf-8")
        written.append(name)
    return written


def question_order(doc: pf.Doc) -> list[str]:
    """The ids of the book's questions, in book order (questions are divs, in divs or not)."""
    found: list[str] = []

    def visit(blocks) -> None:
        for block in blocks:
            if not isinstance(block, pf.Div):
                continue
            if "question" in block.classes and block.identifier.startswith("q-"):
                found.append(block.attributes.get("data-qid") or block.identifier[2:])
            else:
                visit(block.content)
    visit(doc.content)
    return found


def _topic_title(book, topic: str) -> str:
    found = book.topics.get(topic)
    return found.title if found is not None else topic
