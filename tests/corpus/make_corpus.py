#!/usr/bin/env python3
"""Write the bad-input corpus: one small book root per case, with the outcome it must give.

    python tests/corpus/make_corpus.py        # rewrites every case folder below this file

Each case is the base book below with some files replaced, added (a symbolic link: `Link`) or
removed (None), and `expected.txt`: `exit: N`, then each diagnostic that must be printed, whole
or as a prefix ending in `...`, its path relative to the case folder. tests/test_corpus.py
runs them. The generated folders are checked in; this script is how they were made.
"""

from __future__ import annotations

import shutil
import sys
from dataclasses import dataclass, field
from pathlib import Path

HERE = Path(__file__).resolve().parent


@dataclass(frozen=True)
class Link:
    """A symbolic link to `target`."""

    target: str


BOOK_YAML = """\
title: Corpus Book
author: Corpus Author
identifier: urn:uuid:00000000-0000-4000-8000-0000000000c0
date: 2026-01-01
parts:
  - title: Main
    chapters: [intro.md]
editions:
  release: {answers: appendix}
"""

INTRO = """\
# Introduction {#sec:intro}

A figure follows.

![A dot.](../images/dot.svg){#fig:dot}

::: {.questions topic="topic"}
:::
"""

TOPIC = """\
title: Topic
questions:
  - id: first
    difficulty: easy
    prompt: |
      What is one plus one?
    answer: |
      Two.
  - id: second
    difficulty: medium
    prompt: |
      What is two plus two?
    answer: |
      Four.
"""

# a book's own questions template, as small as one can be
QUESTIONS_TEMPLATE = """\
{% for q in questions %}
::: {#q-{{ q.id }} .question}
{{ q.prompt.value }}

::: {#a-{{ q.id }} .answer}
{{ q.answer.value }}
:::
:::

{% endfor %}
"""

DOT = '<svg xmlns="http://www.w3.org/2000/svg" width="40" height="40"><circle cx="20" cy="20" r="10"/></svg>\n'

BASE = {
    "book/book.yaml": BOOK_YAML,
    "book/chapters/intro.md": INTRO,
    "book/images/dot.svg": DOT,
    "questions/topic.yaml": TOPIC,
}


def chapter(extra: str) -> dict:
    """The base chapter with `extra` Markdown at its end (line 10 onwards)."""
    return {"book/chapters/intro.md": INTRO + "\n" + extra}


def topic(*edits: str) -> dict:
    """The base topic file with (old, new) replacements."""
    text = TOPIC
    for old, new in zip(edits[::2], edits[1::2]):
        assert old in text, old
        text = text.replace(old, new, 1)
    return {"questions/topic.yaml": text}


def book(old: str, new: str) -> dict:
    assert old in BOOK_YAML, old
    return {"book/book.yaml": BOOK_YAML.replace(old, new, 1)}


@dataclass
class Case:
    name: str
    files: dict
    exit: int
    expected: list[str] = field(default_factory=list)


LAUGHS = "title: Topic\n" + "\n".join(
    f"l{n}: &l{n} [" + ", ".join([f"*l{n - 1}" if n else '"lol"'] * 9) + "]" for n in range(9)) + "\nquestions: []\n"
BRACKETS = "[" * 30 + "x" + "]" * 30

CASES = [
    # --- YAML: syntax, limits, tags ------------------------------------------------------------
    Case("01-yaml-syntax", topic("    difficulty: easy\n", "    difficulty: [easy\n"), 1, [
        "questions/topic.yaml:5:11: error: YAML syntax error: the list opened with '[' on line 4 is not closed: "
        "add ']', or quote text that starts with '['"]),
    Case("02-yaml-tab-indent", topic("    difficulty: easy\n", "\tdifficulty: easy\n"), 1, [
        "questions/topic.yaml:4:1: error: tab used for indentation; YAML needs spaces"]),
    Case("03-yaml-duplicate-key", topic("      Two.\n", "      Two.\n    answer: Three.\n"), 1, [
        "questions/topic.yaml:9:5: error: duplicate key 'answer' (first at line 8)"]),
    Case("04-yaml-billion-laughs", {"questions/topic.yaml": LAUGHS}, 1, [
        "questions/topic.yaml:2:5: error: YAML anchors and aliases (&name, *name) are not allowed in book sources; "
        "write the value out"]),
    Case("05-yaml-python-object", topic("      What is one plus one?\n",
                                        "      What is one plus one?\n    hint: !!python/object/apply:os.system [\"touch pwned\"]\n"), 1, [
        "questions/topic.yaml:7:11: error: YAML tag '!!python/object/apply:os.system' is not allowed in book sources; "
        "only plain text, numbers, dates, lists and mappings are"]),
    Case("06-yaml-python-name", topic("    answer: |\n      Two.\n", "    answer: !!python/name:os.system\n"), 1, [
        "questions/topic.yaml:7:13: error: YAML tag '!!python/name:os.system' is not allowed in book sources; ..."]),
    Case("07-yaml-deep-nesting", topic("    difficulty: easy\n", "    difficulty: easy\n    tags: "
                                       + "[" * 70 + "]" * 70 + "\n"), 1, [
        "questions/topic.yaml:5:72: error: YAML nested deeper than 64 levels; book sources never need that much"]),
    Case("08-yaml-control-character", topic("title: Topic", "title: Topic\x07"), 1, [
        "questions/topic.yaml:1:13: error: control character U+0007 is not allowed in YAML; remove it"]),
    Case("09-yaml-two-documents", {"questions/topic.yaml": TOPIC + "---\ntitle: Again\n"}, 1, [
        "questions/topic.yaml:15:1: error: YAML syntax error: a second YAML document starts here ('---'); "
        "a source file holds one"]),
    Case("10-yaml-invalid-values", book("date: 2026-01-01", "date: 2026-13-45"), 1, [
        "book/book.yaml:4:7: error: invalid value '2026-13-45': month must be in 1..12"]),
    Case("11-yaml-bad-tagged-scalar", book("date: 2026-01-01", "date: !!timestamp yesterday"), 1, [
        "book/book.yaml:4:7: error: invalid value 'yesterday': not a valid value of its type"]),

    # --- wrong types, unknown and missing keys ---------------------------------------------------
    Case("12-type-list-for-text", topic("    prompt: |\n      What is one plus one?\n", "    prompt: [one, plus, one]\n"), 1, [
        "questions/topic.yaml:5:13: error: a question: 'prompt' must be text, not a list"]),
    Case("13-type-number-id", topic("  - id: first", "  - id: 42"), 1, [
        "questions/topic.yaml:3:9: error: a question: 'id' must be text, not the number 42"]),
    Case("14-type-book-fields", book("title: Corpus Book", "title: [Corpus, Book]\nversion: {major: 1}"), 1, [
        "book/book.yaml:1:8: error: book.yaml: 'title' must be text, not a list",
        "book/book.yaml:2:10: error: book.yaml: 'version' must be text or a number, not a mapping"]),
    Case("15b-values-not-allowed", {
        **topic("    difficulty: easy\n", "    difficulty: tricky\n    kind: essay\n    flaw: wrong\n",
                "  - id: second\n    difficulty: medium\n", "  - id: second\n"),
        **book("date: 2026-01-01\n", "date: 2026-01-01\npdf: {page_size: a3}\n")}, 1, [
        "book/book.yaml:5:18: error: page_size 'a3' is not one of a4, letter, 6x9",
        "questions/topic.yaml:4:17: error: difficulty 'tricky' is not one of easy, medium, hard",
        "questions/topic.yaml:5:11: error: kind 'essay' is not one of knowledge, open-ended",
        "questions/topic.yaml:6:11: error: flaw 'wrong' is not one of ambiguous, incorrect",
        "questions/topic.yaml:11:5: error: a question is missing the required key 'difficulty'"]),
    Case("15-book-yaml-is-a-list", {"book/book.yaml": "- title: Corpus Book\n- parts: []\n"}, 1, [
        "book/book.yaml:1:1: error: book.yaml must be a mapping of keys to values, not a list"]),
    Case("16-unknown-keys", {**topic("    answer: |\n      Two.\n", "    anwser: |\n      Two.\n",
                                     "    prompt: |\n      What is two", "    promt: |\n      What is two"),
                             **book("author: Corpus Author", "autor: Corpus Author")}, 1, [
        "book/book.yaml:2:1: error: unknown key 'autor' in book.yaml; did you mean 'author'?",
        # the misspelt answer is not also a missing one, nor the misspelt prompt a missing key
        "questions/topic.yaml:7:5: error: unknown key 'anwser' in a question; did you mean 'answer'?",
        "questions/topic.yaml:11:5: error: unknown key 'promt' in a question; did you mean 'prompt'?"]),
    Case("17-missing-answer", topic("    answer: |\n      Four.\n", ""), 1, [
        "questions/topic.yaml:9:5: error: question 'second' has no answer (the release edition prints answers)"]),
    Case("18-duplicate-ids", {
        **chapter('::: {.questions topic="other"}\n:::\n'),
        "questions/other.yaml": "title: Other\nquestions:\n  - id: first\n    difficulty: hard\n"
                                "    prompt: Again?\n    answer: Yes.\n"}, 1, [
        "questions/topic.yaml:3:5: error: duplicate question id 'first' (also at questions/other.yaml:3:5)"]),
    Case("19-question-id-injection", {
        **topic("  - id: first", "  - id: 'x\" onclick=\"alert(1)'"),
        "questions/interviews.yaml": "interviews:\n  - id: 'a} <script>'\n    title: Screen\n"
                                     "    rounds:\n      - {title: One, questions: [second]}\n"}, 1, [
        "questions/topic.yaml:3:9: error: question id 'x\" onclick=\"alert(1)' must be lower-case letters, "
        "digits and dashes",
        "questions/interviews.yaml:2:9: error: interview id 'a} <script>' must be lower-case letters, "
        "digits and dashes"]),

    # --- empty files, encodings --------------------------------------------------------------------
    Case("20-empty-book-yaml", {"book/book.yaml": ""}, 1, [
        "book/book.yaml:1:1: error: file is empty: it needs at least title: and parts: (or chapters:)"]),
    Case("21-empty-topic-file", {"questions/topic.yaml": "# nothing yet\n"}, 1, [
        "questions/topic.yaml:1:1: error: file is empty: it needs title: and questions:"]),
    Case("22-empty-chapter", {**book("chapters: [intro.md]", "chapters: [intro.md, empty.md]"),
                              "book/chapters/empty.md": ""}, 1, [
        "book/chapters/empty.md:1:1: error: chapter is empty: start it with a '# Title' line"]),
    Case("23-invalid-utf8-chapter", {"book/chapters/intro.md": INTRO.replace("A figure", "Caf\xe9: a figure")
                                     .encode("latin-1")}, 1, [
        "book/chapters/intro.md:3:4: error: file is not valid UTF-8 text (byte 0xe9 here); save it as UTF-8"]),
    Case("24-invalid-utf8-yaml", {"questions/topic.yaml": TOPIC.replace("Four.", "Four \xff.").encode("latin-1")}, 1, [
        "questions/topic.yaml:14:12: error: file is not valid UTF-8 text (byte 0xff here); save it as UTF-8"]),
    Case("25-nul-byte", {"book/chapters/intro.md": INTRO.replace("A figure", "A\x00 figure")}, 1, [
        "book/chapters/intro.md:3:1: error: file contains a NUL byte; it is not a text file"]),
    Case("26-huge-answer", {"questions/topic.yaml": None, "README.txt": "tests/test_corpus.py writes "
                            "questions/topic.yaml here: a question with a 10 MB answer.\n"}, 1, [
        # tests/test_corpus.py writes the 10 MB questions/topic.yaml (too big to check in)
        "questions/topic.yaml:1:1: error: file is 10.5 MB; source files are limited to 5 MB"]),
    Case("27-folder-named-like-a-source", {"questions/folder.yaml/keep.txt": "a folder, not a file\n"}, 1, [
        "questions/folder.yaml:1:1: error: is not a regular file (a folder or a device); remove it or rename it"]),

    # --- references --------------------------------------------------------------------------------
    Case("28-dangling-q", chapter("See @q:frist.\n"), 1, [
        "book/chapters/intro.md:10:5: error: reference @q:frist: no question has the id 'frist'; did you mean 'first'?"]),
    Case("29-dangling-sec", chapter("As @sec:intr says.\n"), 1, [
        "book/chapters/intro.md:10:4: error: reference @sec:intr: no section is labelled {#sec:intr}; did you mean '@sec:intro'?"]),
    Case("30-dangling-fig-in-answer", topic("      Two.\n", "      Two, as @fig:dots shows.\n"), 1, [
        "questions/topic.yaml:8:15: error: reference @fig:dots: no figure is labelled {#fig:dots}; did you mean '@fig:dot'?"]),
    Case("31-dangling-tbl", chapter("The numbers are in table [-@tbl:sizes].\n"), 1, [
        "book/chapters/intro.md:10:28: error: reference @tbl:sizes: no table is labelled {#tbl:sizes}"]),

    # --- images: missing, remote, absolute, outside, disguised ---------------------------------------
    Case("32-image-missing", chapter("![Gone.](../images/gone.svg)\n"), 1, [
        "book/chapters/intro.md:10:1: error: image '../images/gone.svg' not found"]),
    Case("33-image-remote", chapter("![Remote.](https://example.com/track.png)\n"), 1, [
        "book/chapters/intro.md:10:1: error: remote image 'https://example.com/track.png': images must be files "
        "inside the book (download it into book/images/)"]),
    Case("34-image-protocol-relative", chapter("![Remote.](//example.com/track.png)\n"), 1, [
        "book/chapters/intro.md:10:1: error: remote image '//example.com/track.png': ..."]),
    Case("35-image-absolute", chapter("![Passwords.](/etc/passwd)\n"), 1, [
        "book/chapters/intro.md:10:1: error: absolute image path '/etc/passwd': write it relative to intro.md"]),
    Case("36-image-escapes-root", chapter("![Secret.](../../../secret.png)\n"), 1, [
        "book/chapters/intro.md:10:1: error: image '../../../secret.png' is outside the book root"]),
    Case("37-image-symlink-outside", {**chapter("![Leak.](../images/leak.svg)\n"),
                                      "book/images/leak.svg": Link("/etc/passwd")}, 1, [
        "book/chapters/intro.md:10:1: error: image '../images/leak.svg' is outside the book root"]),
    Case("38-image-symlink-loop", {**chapter("![Loop.](../images/loop.svg)\n"),
                                   "book/images/loop.svg": Link("loop.svg")}, 1, [
        "book/chapters/intro.md:10:1: error: image '../images/loop.svg' cannot be resolved (a symbolic link loop?)"]),
    Case("39-image-file-url", chapter("![Passwords.](file:///etc/passwd)\n"), 1, [
        "book/chapters/intro.md:10:1: error: image 'file:///etc/passwd': a file: URL is not allowed; "
        "images must be files inside the book"]),
    Case("40-image-by-reference", chapter("![Passwords][pw] and ![pw]\n\n[pw]: /etc/passwd\n"), 1, [
        "book/chapters/intro.md:10:1: error: absolute image path '/etc/passwd': write it relative to intro.md "
        "(the reference [pw] is defined at book/chapters/intro.md:12:1)",
        "book/chapters/intro.md:10:22: error: absolute image path '/etc/passwd': ..."]),
    Case("41-image-escaped-path", chapter("![A](\\/etc/passwd) ![B](&#47;etc&#47;passwd)\n"), 1, [
        "book/chapters/intro.md:10:1: error: absolute image path '/etc/passwd': write it relative to intro.md",
        "book/chapters/intro.md:10:20: error: absolute image path '/etc/passwd': write it relative to intro.md"]),
    Case("42-image-percent-escape", {**chapter("![Secret.](..%2F..%2F..%2Fsecret.svg)\n"),
                                     "book/chapters/..%2F..%2F..%2Fsecret.svg": DOT}, 1, [
        "book/chapters/intro.md:10:1: error: image path '..%2F..%2F..%2Fsecret.svg' has '%' in it; ..."]),
    Case("43-image-hidden-folder", chapter("![Config.](../../.git/config.png)\n"), 1, [
        "book/chapters/intro.md:10:1: error: image '../../.git/config.png' is inside the hidden '.git'; "
        "images go in book/images/"]),
    Case("44-image-not-an-image", chapter("![Bank.](../../questions/topic.yaml)\n"), 1, [
        "book/chapters/intro.md:10:1: error: image '../../questions/topic.yaml' is not an image file "
        "(.png, .jpg, .jpeg, .gif, .svg, .webp)"]),
    Case("45-image-name-too-long", chapter("![Long.](" + "a" * 300 + ".png)\n"), 1, [
        "book/chapters/intro.md:10:1: error: image 'aaaaaaaaaa..."]),
    Case("46-image-hidden-by-comment", chapter("<!--\n```\n-->\n![Passwords.](/etc/passwd)\n"), 1, [
        "book/chapters/intro.md:13:1: error: absolute image path '/etc/passwd': write it relative to intro.md"]),
    Case("47-image-after-escaped-backtick", chapter("\\`![Passwords.](/etc/passwd)`\n"), 1, [
        "book/chapters/intro.md:10:3: error: absolute image path '/etc/passwd': write it relative to intro.md"]),
    Case("48-image-in-doubtful-code", topic("      Two.\n", "      Two:\n      ```\n      ![x](../../secret.png)\n"
                                            "      ```\n"), 1, [
        "questions/topic.yaml:10:7: error: image '../../secret.png' is outside the book root (it is in code, but "
        "pandoc may read it as an image: show image examples in a fenced code block that starts a line after "
        "a blank line)"]),
    Case("49-image-in-inline-code", chapter("Write `![Logo](https://example.com/logo.png)` for a logo.\n"), 1, [
        "book/chapters/intro.md:10:8: error: remote image 'https://example.com/logo.png': images must be files "
        "inside the book (download it into book/images/) (it is in code, but pandoc may read it as an image: ..."]),
    Case("50-svg-with-script", {**chapter("![Evil.](../images/evil.svg)\n"),
                                "book/images/evil.svg": '<svg xmlns="http://www.w3.org/2000/svg">'
                                                        '<script>alert("xss")</script></svg>\n'}, 1, [
        "book/chapters/intro.md:10:1: error: SVG image '../images/evil.svg' contains '<script': ..."]),
    Case("51-svg-with-entity", {**chapter("![Evil.](../images/evil.svg)\n"),
                                "book/images/evil.svg": '<?xml version="1.0"?>\n<!DOCTYPE svg [<!ENTITY x SYSTEM '
                                                        '"file:///etc/passwd">]>\n<svg xmlns="http://www.w3.org/2000/svg">'
                                                        '<text>&x;</text></svg>\n'}, 1, [
        "book/chapters/intro.md:10:1: error: SVG image '../images/evil.svg' contains '<!ENTITY': ..."]),

    # --- Markdown limits and block structure ---------------------------------------------------------
    Case("52-markdown-deep-blockquote", chapter("> " * 70 + "deep\n"), 1, [
        "book/chapters/intro.md:10:1: error: Markdown nested deeper than 64 levels (block quotes, lists); ..."]),
    Case("53-markdown-deep-list", chapter("- " * 70 + "deep\n"), 1, [
        "book/chapters/intro.md:10:1: error: Markdown nested deeper than 64 levels (block quotes, lists); ..."]),
    Case("54-markdown-bracket-bomb", chapter(BRACKETS + "\n"), 1, [
        "book/chapters/intro.md:10:7: error: more than 6 '[' open at once in one paragraph: pandoc would take "
        "minutes to read it; ..."]),
    Case("55-colons-in-answer", topic("      Four.\n", "      Four.\n      :::\n      Escaped?\n"), 1, [
        "questions/topic.yaml:15:7: error: a line starting with ':::' in a question's answer would end its block; "
        "remove it or indent it"]),
    Case("56-unclosed-fence-in-prompt", topic("      What is one plus one?\n",
                                              "      What is one plus one?\n      ```python\n      1 + 1\n"), 1, [
        "questions/topic.yaml:7:7: error: code block is never closed (no closing fence)"]),
    Case("57-unclosed-comment-in-prompt", topic("      What is one plus one?\n",
                                                "      What is one plus one? <!-- the rest is hidden\n"), 1, [
        "questions/topic.yaml:6:7: error: raw HTML '<!--' opened here is never closed in this prompt; "
        "it would hide the rest of the chapter (write a literal '<' as '&lt;')"]),
    Case("58-block-inside-comment", {"book/chapters/intro.md": INTRO.replace('::: {.questions', '<!--\n::: {.questions')
                                     + "-->\n"}, 1, [
        "book/chapters/intro.md:8:1: error: this questions block is inside raw HTML (a comment, <script>, <pre>...) "
        "opened above; close that first"]),
    Case("59-unknown-topic-in-block", chapter('::: {.questions topic="topics"}\n:::\n'), 1, [
        "book/chapters/intro.md:10:1: error: unknown topic 'topics'; topics are: topic; did you mean 'topic'?"]),
    Case("60-chapter-without-title", {"book/chapters/intro.md": INTRO.replace("# Introduction {#sec:intro}\n", "")}, 1, [
        "book/chapters/intro.md:1:1: error: chapter has no title: start it with a '# Title' line"]),
    Case("61-chapter-listed-twice", book("chapters: [intro.md]", "chapters: [intro.md, intro.md]"), 1, [
        "book/book.yaml:7:26: error: chapter 'intro.md' is listed twice (first at line 7)"]),
    Case("62-chapter-path-traversal", book("chapters: [intro.md]", "chapters: [intro.md, ../../../secret.md]"), 1, [
        "book/book.yaml:7:26: error: chapter '../../../secret.md' must be a file name ending in .md inside "
        "book/chapters/"]),
    Case("63-sources-symlinked-outside", {
        **book("chapters: [intro.md]", "chapters: [intro.md, leak.md]"),
        "book/chapters/leak.md": Link("/etc/passwd"), "questions/leak.yaml": Link("/etc/passwd")}, 1, [
        "book/chapters/leak.md:1:1: error: file is a symbolic link to a file outside the book root; "
        "sources must be files inside the book",
        "questions/leak.yaml:1:1: error: file is a symbolic link to a file outside the book root; ..."]),

    # --- book.yaml values that would reach outputs ---------------------------------------------------
    Case("64-edition-name-traversal", book("  release: {answers: appendix}\n",
                                           "  release: {answers: appendix}\n  ../../escape: {answers: inline}\n"), 1, [
        "book/book.yaml:10:3: error: edition name '../../escape' must be lower-case letters, digits and dashes "
        "(it names the output folder)"]),
    Case("65-edition-javascript-feedback", book(
        "  release: {answers: appendix}\n",
        "  release: {answers: appendix}\n  draft: {answers: inline, watermark: DRAFT,"
        " feedback: \"javascript:alert(document.cookie)\", url: \"file:///etc/\"}\n"), 1, [
        "book/book.yaml:10:56: error: edition 'draft': feedback must start with mailto: or https:// or http://, "
        "not 'javascript:alert(document.cookie)'",
        "book/book.yaml:10:98: error: edition 'draft': url must start with https:// or http://, not 'file:///etc/'"]),
    Case("66-resource-javascript-url", topic("questions:\n", "resources:\n  - {title: Click, url: \"javascript:alert(1)\"}\n"
                                                             "questions:\n"), 1, [
        "questions/topic.yaml:3:5: error: resource URL 'javascript:alert(1)' must start with https:// or http://"]),

    # --- accepted, made harmless, with a warning -----------------------------------------------------
    Case("67-bom", {"questions/topic.yaml": "\ufeff" + TOPIC}, 0, [
        "questions/topic.yaml:1:1: warning: file starts with a byte-order mark; it was ignored"]),
    Case("68-crlf", {"book/chapters/intro.md": INTRO.replace("\n", "\r\n").encode()}, 0, [
        "book/chapters/intro.md:1:1: warning: Windows (CRLF) line ends; read as plain line ends"]),
    Case("69-script", {**chapter("Hello <script>alert('xss-script')</script> world.\n"),
                       **topic("      Two.\n", "      Two.<script>alert('xss-answer')</script>\n")}, 0, [
        "book/chapters/intro.md:10:7: warning: raw HTML <script> is not allowed in book sources; "
        "it is removed from every output",
        "questions/topic.yaml:8:11: warning: raw HTML <script> is not allowed in book sources; ..."]),
    Case("70-iframe", chapter('<iframe src="https://evil.example/frame"></iframe>\n'), 0, [
        "book/chapters/intro.md:10:1: warning: raw HTML <iframe> is not allowed in book sources; ..."]),
    Case("71-event-handlers", chapter(
        '<img src="x.png" onerror="alert(\'xss-onerror\')">\n\n'
        '[Hover me]{onmouseover="alert(\'xss-span\')"} and a heading:\n\n'
        '## Click {#sec:click onclick="alert(\'xss-heading\')"}\n'), 0, [
        "book/chapters/intro.md:10:1: warning: raw HTML <img> is not allowed in book sources; ...",
        "book/chapters/intro.md:12:12: warning: event handler attribute onmouseover= is not allowed in book sources; "
        "it is removed from every output",
        "book/chapters/intro.md:14:22: warning: event handler attribute onclick= is not allowed in book sources; ..."]),
    Case("72-javascript-links", chapter(
        "[Click](javascript:alert('xss-inline')) <javascript:alert('xss-auto')> [ref][r]\n"
        "[control](&#1;javascript:alert('xss-control')) [data](data:text/html;base64,PHNjcmlwdD4=)\n\n"
        "[r]: javascript:alert('xss-ref')\n"), 0, [
        "book/chapters/intro.md:10:1: warning: link to a javascript: URL; it is removed from the output",
        "book/chapters/intro.md:10:42: warning: link to a javascript: URL; it is removed from the output",
        "book/chapters/intro.md:11:1: warning: link to a javascript: URL; it is removed from the output",
        "book/chapters/intro.md:11:48: warning: link to a data: URL; it is removed from the output",
        "book/chapters/intro.md:13:1: warning: link to a javascript: URL; it is removed from the output"]),
    Case("73-jinja-in-text", {
        **chapter("Seven times seven is {{ 7*7 }}; {% include '/etc/passwd' %} and {{ config }}.\n"),
        **topic("      What is two plus two?\n", "      What is two plus two? Not {{ 6*7 }}.\n",
                "    difficulty: easy\n", "    difficulty: easy\n    group: \"Sums {{ 8*8 }}\"\n"),
    }, 0, [
        "book/chapters/intro.md:10:22: warning: '{{ 7*7 }}' is printed as written: book text is never run as "
        "a template (put it in `code` to silence this)",
        "book/chapters/intro.md:10:33: warning: \"{% include '/etc/passwd' %}\" is printed as written: ...",
        "book/chapters/intro.md:10:65: warning: '{{ config }}' is printed as written: ...",
        "questions/topic.yaml:13:33: warning: '{{ 6*7 }}' is printed as written: ..."]),
    Case("74-raw-html-reading-files", chapter(
        '<img src="file:///etc/passwd"> <object data="../../../secret.txt"></object>\n\n'
        '<link rel="stylesheet" href="file:///etc/passwd">\n\n'
        '<style>@import url("file:///etc/passwd");</style>\n\n'
        '[A link to a file](file:///etc/passwd)\n'), 0, [
        "book/chapters/intro.md:10:1: warning: raw HTML <img> is not allowed in book sources; ...",
        "book/chapters/intro.md:10:32: warning: raw HTML <object> is not allowed in book sources; ...",
        "book/chapters/intro.md:12:1: warning: raw HTML <link> is not allowed in book sources; ...",
        "book/chapters/intro.md:14:1: warning: raw HTML <style> is not allowed in book sources; ...",
        "book/chapters/intro.md:16:1: warning: link to a file: URL; it is removed from the output"]),
    Case("75-raw-tex-reading-files", chapter(
        "\\input{/etc/passwd}\n\n\\include{../../../secret}\n\nInline \\verbatiminput{../../../secret.txt} too.\n\n"
        "```{=latex}\n\\input{/etc/passwd}\n```\n\n`<img src=\"file:///etc/passwd\">`{=html}\n"), 0, [
        "book/chapters/intro.md:10:1: warning: raw TeX \\input is not allowed in book sources; it is removed from "
        "every output (no file is read): write math between $...$, or escape the backslash",
        "book/chapters/intro.md:12:1: warning: raw TeX \\include is not allowed in book sources; ...",
        "book/chapters/intro.md:14:8: warning: raw TeX \\verbatiminput is not allowed in book sources; ...",
        "book/chapters/intro.md:16:1: warning: raw {=latex} block is not allowed in book sources; "
        "it is removed from every output",
        "book/chapters/intro.md:20:32: warning: raw {=html} text is not allowed in book sources; ..."]),
    Case("76-raw-html-block", chapter("```{=html}\n<script>alert('xss-rawblock')</script>\n```\n"), 0, [
        "book/chapters/intro.md:10:1: warning: raw {=html} block is not allowed in book sources; ..."]),
    Case("77-metadata-block-in-chapter", chapter(
        "---\ntitle: Hacked\nheader-includes: <script>alert('xss-meta')</script>\n---\n"), 0, [
        "book/chapters/intro.md:12:18: warning: raw HTML <script> is not allowed in book sources; ..."]),
    Case("78-raw-tex-in-prose", chapter("Files live in C:\\Users\\ada on Windows.\n"), 0, [
        "book/chapters/intro.md:10:17: warning: raw TeX \\Users is not allowed in book sources; ...",
        "book/chapters/intro.md:10:23: warning: raw TeX \\ada is not allowed in book sources; ..."]),
    Case("79-svg-with-doctype", {"book/images/dot.svg": '<?xml version="1.0"?>\n<!DOCTYPE svg PUBLIC '
                                 '"-//W3C//DTD SVG 1.1//EN" "http://www.w3.org/Graphics/SVG/1.1/DTD/svg11.dtd">\n'
                                 + DOT}, 0, []),
    Case("80-image-examples-in-code", chapter(
        "To show a logo, write:\n\n"
        "```markdown\n![Logo](https://example.com/logo.png)\n![Chart](images/missing.png)\n```\n"), 0, []),

    # --- needs a change outside the loader and validator ---------------------------------------------
    Case("81-book-template-runs-code", {
        "templates/questions.md.j2": '{{ cycler.__init__.__globals__.__builtins__.open("/etc/passwd").read() }}\n'
                                     "{% for q in questions %}\n::: {#q-{{ q.id }} .question}\n{{ q.prompt.value }}\n"
                                     ":::\n{% endfor %}\n"}, 1, [
        "templates/questions.md.j2:1:..."]),

    # --- found by fuzzing (issue 22): each was a traceback, a stall or an invalid output -------------
    Case("82-reserved-topic-in-block", {
        **chapter('::: {.questions topic="discarded"}\n:::\n\n::: {.questions topic="interviews"}\n:::\n'),
        "questions/discarded.yaml": "discarded:\n  - id: dull\n    prompt: Dull?\n    reason: Too dull.\n"}, 1, [
        "book/chapters/intro.md:10:1: error: topic 'discarded' is a reserved name: questions/discarded.yaml is the "
        "bad-questions list, placed by a '::: discarded' block",
        "book/chapters/intro.md:13:1: error: topic 'interviews' is a reserved name: questions/interviews.yaml holds "
        "the sample interviews, each placed by a '::: {.interview id=\"...\"}' block"]),
    Case("83-names-too-long", {
        **chapter('::: {.questions topic="' + "t" * 300 + '"}\n:::\n'),
        **topic("  - id: second", "  - id: " + "q" * 120),
        "book/book.yaml": BOOK_YAML.replace("chapters: [intro.md]", "chapters: [intro.md, " + "c" * 300 + ".md]")
        .replace("date: 2026-01-01", "date: 2026-01-01\nslug: " + "s" * 300)
        .replace("  release: {answers: appendix}\n", "  release: {answers: appendix}\n  " + "e" * 300
                 + ": {answers: none}\n")}, 1, [
        "book/book.yaml:5:7: error: slug 'ssssssssssssssssssssssssssssssssssssssss...' is 300 characters long; "
        "names are limited to 100",
        "book/book.yaml:8:26: error: chapter 'cccccccccccccccccccccccccccccccccccccccc...' is 303 characters long; "
        "file names are limited to 100",
        "book/book.yaml:11:3: error: edition name 'eeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeee...' is 300 characters "
        "long; names are limited to 100",
        "book/chapters/intro.md:10:1: error: unknown topic 'tttttttttttttttttttttttttttttttttttttttttttttttttttttttttttt...'; "
        "topics are: topic",
        "questions/topic.yaml:9:9: error: question id 'qqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqq...' is 120 characters "
        "long; names are limited to 100"]),
    Case("84-control-characters-in-file-names", {
        **book("chapters: [intro.md]", 'chapters: [intro.md, "new\\nline.md"]'),
        "README.txt": "tests/test_corpus.py writes book/chapters/new<newline>line.md and "
                      "questions/tab<tab>bed.yaml here: git keeps no such names.\n"}, 1, [
        "book/book.yaml:7:26: error: chapter 'new\\nline.md' has the control character U+000A in it; rename the file",
        "questions/tab\\tbed.yaml:1:1: error: topic file name 'tab\\tbed.yaml' must be lower-case letters, digits "
        "and dashes"]),
    Case("85-book-template-syntax-errors", {
        "templates/questions.md.j2": "{% raw %}\n" + QUESTIONS_TEMPLATE,
        "templates/interview.md.j2": b"<#-- an interview --#>\n\xff\n",
        "templates/sheet.html.j2": "<p>{{ sheet.title }</p>\n"}, 1, [
        "templates/interview.md.j2:2:1: error: template is not valid UTF-8 text (byte 0xff here); save it as UTF-8",
        "templates/questions.md.j2:1:1: error: template error: Missing end of raw directive",
        "templates/sheet.html.j2:1:1: error: template error: unexpected '}'"]),
    Case("86-book-template-divides-by-zero", {
        "templates/questions.md.j2": QUESTIONS_TEMPLATE.replace("{{ q.prompt.value }}", "{{ q.prompt.value }} {{ 1/0 }}")}, 1, [
        "templates/questions.md.j2:3:1: error: template error: ZeroDivisionError: division by zero"]),
    Case("87-book-template-loops-over-a-number", {
        "templates/questions.md.j2": "{% for x in 5 %}{{ x }}{% endfor %}\n" + QUESTIONS_TEMPLATE}, 1, [
        "templates/questions.md.j2:1:1: error: template error: TypeError: 'int' object is not iterable"]),
    Case("88-book-template-range-too-big", {
        "templates/questions.md.j2": "{{ range(10**8)|list|length }}\n" + QUESTIONS_TEMPLATE}, 1, [
        "templates/questions.md.j2:1:1: error: refused by the template sandbox: Range too big. The sandbox blocks "
        "ranges larger than MAX_RANGE (100000)."]),
    Case("89-cache-is-a-file", {".bookbuild-cache": "a file where the cache folder goes\n"}, 0, [
        # printed by the build, which goes on without a cache
        ".bookbuild-cache:1:1: warning: a file named .bookbuild-cache was where the cache folder goes; it was "
        "removed and the build starts without a cache"]),
    Case("90-lone-surrogate-in-hint", topic("      What is one plus one?\n",
                                            '      What is one plus one?\n    hint: "Compute \\ud800 none"\n'), 1, [
        "questions/topic.yaml:7:20: error: U+D800 is half of a UTF-16 surrogate pair, not a character: write the "
        "character itself (or \\U and eight hex digits in double quotes)"]),
    Case("91-control-characters-in-text", {
        **chapter("Ring \x07 a bell, \x1b[31m red, \ufffe and &#7; too.\n"),
        **topic("      What is one plus one?\n", '      What is one plus one?\n    hint: "Esc \\e"\n',
                "      Two.\n", "      Two.\n    flaw: ambiguous\n",
                "      What is two plus two?\n", '      What is two plus two?\n    hint: "Bell \\a, \\\\a stays"\n')}, 1, [
        "book/chapters/intro.md:10:6: error: control character U+0007 is not allowed in book text (EPUB pages are "
        "XML, which cannot hold it); remove it",
        "book/chapters/intro.md:10:16: error: control character U+001B is not allowed in book text ...",
        "book/chapters/intro.md:10:27: error: non-character U+FFFE is not allowed in book text ...",
        "book/chapters/intro.md:10:33: warning: control character U+0007 (written &#7;) is not allowed in book text "
        "(EPUB pages are XML, which cannot hold it); it is left out of every output",
        "questions/topic.yaml:7:16: error: control character U+001B is not allowed in book text (EPUB pages are XML, "
        "which cannot hold it); it comes from a backslash escape in double quotes: for a backslash, write \\\\ "
        "or use single quotes or a block (|)",
        "questions/topic.yaml:15:17: error: control character U+0007 is not allowed in book text ..."]),
    Case("92-images-not-what-they-say", {
        **chapter("![A.](../images/binary.png) ![B.](../images/empty.svg) ![C.](../images/png.svg)\n\n"
                  "![D.](../images/plain.svg) ![E.](../images/jpeg.png) ![F.](../images/broken.png)\n"),
        "book/images/binary.png": bytes(range(256)), "book/images/empty.svg": "",
        "book/images/png.svg": b"\x89PNG\r\n\x1a\n" + bytes(64), "book/images/plain.svg": "<svg><circle r='1'/></svg>\n",
        "book/images/jpeg.png": b"\xff\xd8\xff\xe0" + bytes(64), "book/images/broken.png": b"\x89PNG\r\n\x1a\n" + bytes(64),
        "book/images/cover.png": b"GIF89a" + bytes(64)}, 1, [
        "book/chapters/intro.md:10:1: error: image '../images/binary.png' is not a PNG file: it is not an image of any "
        "kind the book takes",
        "book/chapters/intro.md:10:29: error: SVG image '../images/empty.svg' is not well-formed XML (it is empty)",
        "book/chapters/intro.md:10:56: error: image '../images/png.svg' is not an SVG file: it is a PNG image: "
        "name it png.png",
        "book/chapters/intro.md:12:1: error: SVG image '../images/plain.svg' has no <svg> root element in the SVG "
        "namespace (it starts with <svg>): add xmlns=\"http://www.w3.org/2000/svg\" to its <svg> element",
        "book/chapters/intro.md:12:28: error: image '../images/jpeg.png' is not a PNG file: it is a JPEG image: "
        "name it jpeg.jpg",
        "book/chapters/intro.md:12:54: error: image '../images/broken.png' is damaged: it cannot be read as a PNG "
        "image (cannot identify image file it)",
        "book/images/cover.png:1:1: error: image 'book/images/cover.png' is not a PNG file: it is a GIF image: name "
        "it cover.gif (it is the EPUB's cover)"]),
    Case("93-language-not-bcp47", book("date: 2026-01-01", "date: 2026-01-01\nlanguage: " + "e" * 1000), 1, [
        "book/book.yaml:5:11: error: language 'eeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeee...' is not a BCP 47 language "
        "tag (such as en, en-GB, pt-BR or zh-Hant)"]),
    Case("94-reference-not-an-id", chapter(
        "See @q:../etc, @q:-x and @q: alone.\n\n[see](@q:first.) [the file](other.md) [a question](#q-frist)\n"), 1, [
        "book/chapters/intro.md:10:5: error: reference @q: is followed by '../etc,', which is not an id: write @q:id "
        "(lower-case letters, digits and dashes), or \\@ for a literal '@'",
        "book/chapters/intro.md:10:16: error: reference @q: is followed by '-x', which is not an id: ...",
        "book/chapters/intro.md:10:26: error: reference @q: is followed by no id: ...",
        "book/chapters/intro.md:12:1: error: link to '@q:first.': a reference is not a link target; write @q:first "
        "in the text, which becomes a link",
        "book/chapters/intro.md:12:18: error: link to 'other.md': the outputs hold no such file; link to a web "
        "address (https://...), or refer to a place in the book with @sec:id or @q:id",
        "book/chapters/intro.md:12:39: error: link to '#q-frist': no question has the id 'frist'; did you mean 'first'?"]),
    Case("95-link-to-a-missing-id", chapter(
        "[Nowhere](#nowhere), [the introduction](#sec:intro), [question one](#q-first) and [its answer](#a-first).\n"), 0, [
        "book/chapters/intro.md:10:1: warning: link to '#nowhere': no heading or element of the book has that id, "
        "so the link is left out (its text stays)"]),
    # what makes pandoc's (or the PDF's math) time explode is refused before it runs
    Case("96-link-target-bomb", {**chapter("[a](" * 800 + "x\n"), **topic("      Two.\n", "      " + "[a](" * 800 + "x\n")}, 1, [
        "book/chapters/intro.md:10:3: error: link target opened with '](' is never closed in this paragraph (800 are "
        "not): pandoc would take minutes to read text like this; close it with ')', or write the bracket as '\\]'",
        "questions/topic.yaml:8:9: error: link target opened with '](' is never closed in this paragraph ..."]),
    Case("97-formulas-too-deep-or-long", chapter(
        "Fine: $x^{{{{$ and $\\frac{a}{b}$.\n\nDeep: $" + "{" * 10 + "x" + "}" * 10 + "$\n\nLong: $$" + "x+" * 1001 + "$$\n"), 1, [
        "book/chapters/intro.md:12:7: error: formula nests groups ({...}, \\left...\\right) 10 deep; formulas are "
        "limited to 8 levels (typesetting takes time that doubles with each level): check its braces",
        "book/chapters/intro.md:14:7: error: formula is 2,002 characters long; formulas are limited to 2,000 "
        "(typesetting one takes time that grows with the square of its length): split it"]),
    Case("98-openers-pandoc-searches-for", chapter(
        "A tag <y that never ends.\n\nA comment <!-- that never ends.\n\nA TeX group \\emph{that never ends.\n\n"
        "An environment \\begin{proof} that never ends.\n\nBut x < y, a <b>tag</b> and \\emph{this} are fine.\n"), 1, [
        "book/chapters/intro.md:10:7: error: '<' starts an HTML tag that does not end ('>') within 1000 characters: "
        "pandoc would search the rest of the chapter for its end; write a literal '<' as '&lt;' (or put math between $...$)",
        "book/chapters/intro.md:12:11: error: HTML comment '<!--' is never closed ('-->'): pandoc would search the rest "
        "of the chapter for its end; close it, or write '&lt;!--'",
        "book/chapters/intro.md:14:13: error: raw TeX \\emph opens a '{' group that does not close within 1000 "
        "characters: pandoc would search the rest of the chapter for its end; close it, or escape the backslash",
        "book/chapters/intro.md:16:16: error: raw TeX \\begin{proof} has no \\end{proof} after it: pandoc would "
        "search the rest of the chapter for it; close it, or escape the backslash"]),
    Case("99-paragraphs-pandoc-reads-slowly", {
        **chapter(("word " * 4100).strip() + "\n"),
        **topic("      What is one plus one?\n", "      What is one plus one? " + " ".join(["'open"] * 50) + " "
                + "filler " * 600 + "\n",
                "      Two.\n", "      " + "__c ~~d " * 20 + "\n",
                "      What is two plus two?\n", "      What is two plus two? " + "[[[[[a]]]]] " * 300 + "\n")}, 1, [
        "book/chapters/intro.md:10:1: error: paragraph of 20,499 characters (no blank line); paragraphs are limited "
        "to 20,000: ...",
        "questions/topic.yaml:6:29: error: 50 single quotes open ('word) and never close in this paragraph: pandoc "
        "would read the text after each again and take minutes; close them, or write an apostrophe as ’",
        "questions/topic.yaml:8:7: error: 40 emphasis marks (*, _, ~, ^) open and never close in this paragraph: "
        "pandoc would try every way of pairing them and take minutes; close them, or escape them ('\\*')",
        "questions/topic.yaml:12:3549: error: too many brackets in this text, or brackets nested too often: ..."]),
    Case("100-yaml-escape-past-unicode", topic("      What is one plus one?\n",
                                               '      What is one plus one?\n    hint: "Compute \\U00110000 none"\n'), 1, [
        "questions/topic.yaml:7:20: error: YAML syntax error: escape \\U00110000 is past the last Unicode character, "
        "U+10FFFF: write the character itself"]),
    Case("101-book-template-loops-in-loops", {
        "templates/questions.md.j2": "{% for i in range(100000) %}{% for j in range(100000) %}{% endfor %}{% endfor %}\n"
                                     + QUESTIONS_TEMPLATE}, 1, [
        "templates/questions.md.j2:1:1: error: template stopped: the template's loops and range() took more than "
        "1,000,000 steps (a template loops over the book's questions, not over millions of items)"]),
    Case("102-book-template-writes-a-lone-surrogate", {
        "templates/questions.md.j2": QUESTIONS_TEMPLATE.replace("{{ q.prompt.value }}", "{{ q.prompt.value }} {{ '\\ud800' }}")}, 1, [
        "templates/questions.md.j2:3:1: error: template error: the template writes U+D800, half of a UTF-16 surrogate "
        "pair, which XML (EPUB pages) cannot hold"]),
    # a site.html saved as UTF-16 by an editor (pandoc templates are read as UTF-8)
    Case("103-book-template-not-utf8", {
        "templates/site.html": "<!DOCTYPE html>\n<html>\n<body>\n$body$\n</body>\n</html>\n".encode("utf-16")}, 1, [
        "templates/site.html:1:1: error: template is not valid UTF-8 text (byte 0xff here); save it as UTF-8"]),
    Case("104-book-template-reads-outside", {
        "templates/site.html": Link("/proc/self/environ"), "templates/questions.md.j2": Link("../../secret.txt"),
        "templates/pdf.html": "<html>\n<body>$body$\n${ ../../secret.txt() }\n</body>\n</html>\n"}, 1, [
        "templates/pdf.html:3:4: error: template partial '../../secret.txt' is outside the book root; a book's "
        "templates read files inside the book only",
        "templates/questions.md.j2:1:1: error: template is a symbolic link out of the book root; a book's templates "
        "must be files inside the book",
        "templates/site.html:1:1: error: template is a symbolic link out of the book root; ..."]),
    Case("105-identifier-not-a-uuid", book("identifier: urn:uuid:00000000-0000-4000-8000-0000000000c0",
                                           "identifier: urn:uuid:x"), 1, [
        "book/book.yaml:3:13: error: identifier 'urn:uuid:x' says it is a UUID (urn:uuid:) and 'x' is not one: a UUID "
        "is 32 hex digits grouped 8-4-4-4-12, such as urn:uuid:0a0b5128-0c99-5c26-b922-4b597b02b793"]),
    # labels on lines pandoc joins to the paragraph next to them: check took them, pandoc made none,
    # and the build's references to them found nothing (a warning without a position)
    Case("106-labels-pandoc-would-not-see", chapter(
        ":::\n## How to read {#sec:how}\n\n$$\n\\begin{align}\nx\n$$\n## Formulas {#sec:formulas}\n\n"
        "See [x](#nope) for @sec:how, @sec:formulas and @fig:sq:\n![A square.](../images/dot.svg){#fig:sq}\n"), 1, [
        "book/chapters/intro.md:11:1: error: the ':::' above closes no div, so pandoc reads it as text and joins this "
        "line to it: this heading would be text, and {#sec:how} would label nothing",
        "book/chapters/intro.md:17:1: error: pandoc joins this line to the text above it (a heading needs a blank line "
        "before it): this heading would be text, and {#sec:formulas} would label nothing",
        "book/chapters/intro.md:19:5: warning: link to '#nope': no heading or element of the book has that id, so the "
        "link is left out (its text stays)",
        "book/chapters/intro.md:20:1: error: pandoc joins this line to the text above it (a figure needs a blank line "
        "before it): this figure would be text, and {#fig:sq} would label nothing"]),
    Case("107-book-template-without-anchors", {
        "templates/questions.md.j2": QUESTIONS_TEMPLATE.replace("::: {#q-{{ q.id }} .question}", "::: question")}, 1, [
        "templates/questions.md.j2:1:1: error: the template writes no anchor {#q-first} for question 'first' (and 1 "
        "more): each question needs one, where references to it lead; write ::: {#q-{{ q.id }} .question} around it"]),
    # values of 10,000 characters: each message quotes the start of one
    Case("108-long-values-shortened", {
        **chapter("See @q:" + "q" * 10_000 + ".\n\nAnd \\" + "T" * 10_000 + ".\n"),
        **topic("    difficulty: easy\n", "    difficulty: " + "e" * 10_000 + "\n    ? " + "k" * 10_000 + "\n    : x\n"),
        "book/book.yaml": BOOK_YAML.replace("{answers: appendix}", "{answers: appendix, url: " + "u" * 10_000 + "}")}, 1, [
        "book/book.yaml:9:37: error: edition 'release': url must start with https:// or http://, not "
        "'" + "u" * 60 + "...'",
        "book/chapters/intro.md:10:5: error: reference @q:" + "q" * 60 + "...: "
        "no question has the id '" + "q" * 60 + "...'",
        "book/chapters/intro.md:12:5: warning: raw TeX \\" + "T" * 60 + "... "
        "is not allowed in book sources; ...",
        "questions/topic.yaml:4:17: error: difficulty '" + "e" * 60 + "...' "
        "is not one of easy, medium, hard",
        "questions/topic.yaml:5:7: error: unknown key '" + "k" * 60 + "...' "
        "in a question; ..."]),
    Case("109-print-profile-name-too-long", {
        "book/book.yaml": BOOK_YAML + "print:\n  icc_profile: " + "p" * 300 + ".icc\n"}, 1, [
        "book/book.yaml:11:16: error: print: icc_profile book/" + "p" * 60 + "... does not exist"]),
    # a formula the PDF's typesetter cannot draw (check has no reason to refuse it): the PDF's warning is at the
    # line that shows it, not at book.yaml:1:1
    Case("110-pdf-warning-at-its-source", {
        **chapter("A fraction with one part: $\\frac{a}$.\n")}, 0, [
        "book/chapters/intro.md:10:28: warning: cannot typeset the formula '\\\\frac{a}'; it is printed as code"]),
    # an SVG that refers to what is outside it (readers' browsers would fetch it; the EPUB does not hold it)
    Case("114-svg-refers-outside-itself", {
        **chapter("A styled dot: ![Styled.](../images/style.svg)\n\nA linked one: ![Linked.](../images/link.svg)\n"),
        "book/images/style.svg": '<svg xmlns="http://www.w3.org/2000/svg"><style>@import url(/etc/passwd);</style>'
                                 '<circle r="5"/></svg>\n',
        "book/images/link.svg": '<svg xmlns="http://www.w3.org/2000/svg" xmlns:xlink="http://www.w3.org/1999/xlink">'
                                '<image xlink:href="https://example.com/pixel.png"/><circle fill="url(#g)" r="5"/>'
                                '</svg>\n'}, 1, [
        "book/chapters/intro.md:10:15: error: SVG image '../images/style.svg' refers to '@import', outside itself: a "
        "reader's browser would fetch it and the EPUB does not hold it; export the drawing again with everything it "
        "shows inside it",
        "book/chapters/intro.md:12:15: error: SVG image '../images/link.svg' refers to 'https://example.com/pixel.png', "
        "outside itself: a reader's browser would fetch it and the EPUB does not hold it; export the drawing again "
        "with everything it shows inside it"]),
    Case("111-identifier-empty-date-too-early", {
        "book/book.yaml": BOOK_YAML.replace("identifier: urn:uuid:00000000-0000-4000-8000-0000000000c0", "identifier: ''")
        .replace("date: 2026-01-01", "date: 0001-01-01")}, 1, [
        "book/book.yaml:3:13: error: identifier is empty: the EPUB needs one (leave the key out and the book gets one "
        "made from its slug)",
        "book/book.yaml:4:7: error: date 0001-01-01 is before 1601, the first year an EPUB's date can have (as pandoc "
        "writes it)"]),
    # what pandoc reads of a book's own templates: check compiles its pandoc templates, and scans what its Jinja
    # templates write for what check refuses in book text because pandoc would take minutes over it
    Case("112-book-pandoc-template-errors", {
        "templates/site.html": "<html>\n<body>${</body>\n</html>\n",
        "templates/pdf.html": "<html>\n<body>\n$body$\n${ colophon() }\n</body>\n</html>\n"}, 1, [
        "templates/pdf.html:4:4: error: pandoc cannot use this template: its partial colophon() is not a file beside it "
        "(colophon.html)",
        "templates/site.html:2:9: error: pandoc cannot use this template: unexpected \"<\" expecting ..."]),
    Case("113-book-template-writes-slow-text", {
        "templates/questions.md.j2": QUESTIONS_TEMPLATE.replace("{{ q.prompt.value }}", "{{ q.prompt.value }} " + "[a](" * 800)}, 1, [
        "templates/questions.md.j2:1:1: error: the template writes what pandoc would read too slowly (its line 4 for "
        "the block at book/chapters/intro.md:7:1): link target opened with '](' is never closed in this paragraph (800 "
        "are not): ..."]),
]


def write(case: Case, folder: Path) -> None:
    shutil.rmtree(folder, ignore_errors=True)
    for rel, content in {**BASE, **case.files}.items():
        if content is None:
            continue
        path = folder / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, Link):
            path.symlink_to(content.target)
        elif isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_bytes(content.encode("utf-8"))  # bytes as given: no newline translation
    (folder / "expected.txt").write_text("\n".join([f"exit: {case.exit}", *case.expected]) + "\n")


def main() -> None:
    names = [c.name for c in CASES]
    assert len(names) == len(set(names)), "case names must be unique"
    for case in CASES:
        write(case, HERE / case.name)
    for stale in HERE.iterdir():
        if stale.is_dir() and stale.name[:2].isdigit() and stale.name not in names:
            shutil.rmtree(stale)
    print(f"{len(CASES)} cases written to {HERE}", file=sys.stderr)


if __name__ == "__main__":
    main()
