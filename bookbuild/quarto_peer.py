"""The benchmark's Quarto peer: the synthetic book as a Quarto project, and the commands that render it.

    write_quarto_project(book_root, out_dir) -> out_dir

writes, from a book root of the shape bench.generate() makes (each chapter places one whole topic
with a `questions` block):

    out_dir/book/_quarto.yml      project type book: title, author, index.qmd, the parts with their
                                  chapters, answers.qmd as the appendix; html and epub with MathML,
                                  as bookbuild writes them (Quarto's HTML default is MathJax)
    out_dir/book/index.qmd        the home page a Quarto book requires
    out_dir/book/chapter-NNN.qmd  the chapter's prose, then its questions numbered "c.i", each a div
                                  `#q-<id>` with a link "Answer" to answers.qmd#a-<id>
    out_dir/book/answers.qmd      the answers, by chapter, each a div `#a-<id>` linking back to
                                  chapter-NNN.qmd#q-<id>
    out_dir/typst/book.qmd        the same book as one document, for the PDF via typst

The anchors are bookbuild's own (`q-<id>`, `a-<id>`), and the links go both ways, as bookbuild's
appendix does. Math stays as written ($...$, $$...$$). The PDF is a separate single document
because a Quarto book takes html, epub, pdf (LaTeX) and docx but not typst before Quarto 1.9,
while a document renders to typst with any Quarto since 1.4; its links stay inside the document.
The typst folder is a sibling of the book, not inside it, so the book project does not claim it.
"""

from __future__ import annotations

import re
import shlex
import shutil
from pathlib import Path

import yaml

_BLOCK = re.compile(r'^:::+ *\{\.questions topic="(?P<topic>[^"]+)"\} *\n:::+ *$', re.M)
OUTPUTS = ("_book", ".quarto", "book.pdf", "book.typ", "book_files")  # what rendering leaves behind


def find_quarto() -> str | None:
    """The quarto executable on PATH, or None."""
    return shutil.which("quarto")


def commands(project: Path, quarto: str = "quarto") -> dict[str, tuple[list[str], Path]]:
    """Each format's render command and the folder it runs in: html, epub (the book), pdf (typst)."""
    return {"html": ([quarto, "render", "--to", "html"], project / "book"),
            "epub": ([quarto, "render", "--to", "epub"], project / "book"),
            "pdf": ([quarto, "render", "book.qmd", "--to", "typst"], project / "typst")}


def shell_commands(project: Path) -> list[str]:
    """The render commands as a user types them, timed, each in its folder."""
    return [f"(cd {shlex.quote(str(cwd))} && time {shlex.join(cmd)})" for cmd, cwd in commands(project).values()]


def clean(project: Path) -> None:
    """Remove what earlier renders left, so that the next render is a cold one."""
    for folder in (project / "book", project / "typst"):
        for name in OUTPUTS:
            path = folder / name
            if path.is_dir():
                shutil.rmtree(path)
            elif path.exists():
                path.unlink()


def _chapters(book_root: Path) -> tuple[dict, list[tuple[str | None, list[dict]]]]:
    """book.yaml, and its parts (title, chapters); a book without parts is one untitled part.

    Each chapter: its .qmd name, number (1, 2, … across parts, as Quarto numbers them), source
    text, and its questions in order, each with its number "c.i", also by the topic that places them."""
    meta = yaml.safe_load((book_root / "book" / "book.yaml").read_text())
    parts = [(p["title"], p["chapters"]) for p in meta["parts"]] if meta.get("parts") else [(None, meta["chapters"])]
    out, number = [], 0
    for title, names in parts:
        chapters = []
        for name in names:
            number += 1
            text = (book_root / "book" / "chapters" / name).read_text()
            text = re.sub(r"(\{#|@)sec:", r"\1sec-", text)  # pandoc-crossref's section ids, Quarto's with a dash
            banks, questions = {}, []
            for topic in _BLOCK.findall(text):
                bank = yaml.safe_load((book_root / "questions" / f"{topic}.yaml").read_text())["questions"]
                banks[topic] = [{**q, "number": f"{number}.{len(questions) + i}"} for i, q in enumerate(bank, 1)]
                questions += banks[topic]
            chapters.append({"file": Path(name).stem + ".qmd", "number": number, "text": text,
                             "banks": banks, "questions": questions})
        out.append((title, chapters))
    return meta, out


def _question(q: dict, answer_link: str) -> str:
    return (f"::: {{#q-{q['id']} .question .{q['difficulty']}}}\n"
            f"**Question {q['number']}** [{q['difficulty']}]{{.difficulty}} · [Answer]({answer_link})\n\n"
            f"{q['prompt'].strip()}\n\n:::\n")


def _answer(q: dict, question_link: str) -> str:
    return (f"::: {{#a-{q['id']} .answer}}\n"
            f"**Answer {q['number']}** · [Question {q['number']}]({question_link})\n\n"
            f"{q['answer'].strip()}\n\n:::\n")


def _chapter_body(chapter: dict, link) -> str:
    """The chapter's source with each questions block replaced by its questions."""
    def block(match: re.Match) -> str:
        return "\n".join(_question(q, link("answers.qmd", f"a-{q['id']}")) for q in chapter["banks"][match["topic"]])
    return _BLOCK.sub(block, chapter["text"]).rstrip() + "\n"


def _answers_body(parts, link) -> str:
    """Every answer, under its chapter's heading, each linking back to its question."""
    out = []
    for _, chapters in parts:
        for ch in chapters:
            if ch["questions"]:
                out.append(f"## Chapter {ch['number']} {{.unnumbered}}\n")
                out += [_answer(q, link(ch["file"], f"q-{q['id']}")) for q in ch["questions"]]
    return "\n".join(out)


def _front_matter(data: dict) -> str:
    return "---\n" + yaml.safe_dump(data, sort_keys=False, allow_unicode=True) + "---\n\n"


def write_quarto_project(book_root: Path, out_dir: Path) -> Path:
    """Write the Quarto book and the typst document for `book_root` into `out_dir` (see the module doc)."""
    meta, parts = _chapters(book_root)
    book, typst = out_dir / "book", out_dir / "typst"
    book.mkdir(parents=True, exist_ok=True)
    typst.mkdir(parents=True, exist_ok=True)
    count = sum(len(ch["questions"]) for _, chs in parts for ch in chs)

    listing: list = ["index.qmd"]
    for title, chapters in parts:
        files = [ch["file"] for ch in chapters]
        listing += [{"part": title, "chapters": files}] if title else files
    config = {"project": {"type": "book"},
              "book": {"title": meta["title"], "author": meta.get("author", ""),
                       "chapters": listing, "appendices": ["answers.qmd"]},
              "lang": meta.get("language", "en"),
              "format": {"html": {"html-math-method": "mathml"}, "epub": {"html-math-method": "mathml"}}}
    (book / "_quarto.yml").write_text(yaml.safe_dump(config, sort_keys=False, allow_unicode=True))
    (book / "index.qmd").write_text(
        "# Preface {.unnumbered}\n\nThe benchmark's synthetic book, written for Quarto by bookbuild's benchmark: "
        f"{count} questions, their answers in the appendix.\n")

    def across_files(file: str, anchor: str) -> str:
        return f"{file}#{anchor}"

    for _, chapters in parts:
        for ch in chapters:
            (book / ch["file"]).write_text(_chapter_body(ch, across_files))
    (book / "answers.qmd").write_text("# Answers {#answers}\n\n" + _answers_body(parts, across_files))

    def within(file: str, anchor: str) -> str:
        return f"#{anchor}"

    body = []
    for title, chapters in parts:
        if title:
            body.append(f"# {title} {{.unnumbered .part}}\n")
        body += [_chapter_body(ch, within) for ch in chapters]
    body.append("# Answers {#answers .unnumbered}\n\n" + _answers_body(parts, within))
    front = {"title": meta["title"], "author": meta.get("author", ""), "lang": meta.get("language", "en"),
             "format": {"typst": {"toc": True, "section-numbering": "1.1"}}}
    (typst / "book.qmd").write_text(_front_matter(front) + "\n".join(body))
    return out_dir
