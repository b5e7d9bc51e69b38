"""Each filter on a tiny sample input, in-process and as a standalone `pandoc --filter` process.

Golden outputs sit beside the inputs (tests/filters/<name>.html); regenerate them with
BOOKBUILD_REGEN=1 after an intended change, and read the diff.
"""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
from pathlib import Path

import panflute as pf
import pytest

from bookbuild.filters import answers, number, sanitize, subset, xref
from bookbuild.pandoc import run_pandoc

HERE = Path(__file__).resolve().parent / "filters"
FILTERS_DIR = Path(__file__).resolve().parent.parent / "filters"
MODULES = {"sanitize": sanitize, "number": number, "xref": xref, "answers": answers, "subset": subset}


def to_json(name: str) -> str:
    return run_pandoc(["-f", "markdown", "-t", "json"], (HERE / f"{name}.md").read_text())


def to_html(doc_json: str) -> str:
    return run_pandoc(["-f", "json", "-t", "html5"], doc_json)


def in_process(name: str) -> str:
    doc = pf.load(io.StringIO(to_json(name)))
    doc = MODULES[name].main(doc)
    return to_html(json.dumps(doc.to_json()))


def standalone(name: str) -> str:
    # what `pandoc --filter filters/<name>.py` does: JSON in on stdin, the target format as argv[1]
    done = subprocess.run([sys.executable, str(FILTERS_DIR / f"{name}.py"), "html"], input=to_json(name),
                          capture_output=True, text=True, timeout=60, check=True)
    return to_html(done.stdout)


@pytest.mark.parametrize("name", sorted(MODULES))
def test_filter_golden(name):
    got = in_process(name)
    golden = HERE / f"{name}.html"
    if os.environ.get("BOOKBUILD_REGEN"):
        golden.write_text(got)
    assert got == golden.read_text()


@pytest.mark.parametrize("name", sorted(MODULES))
def test_filter_runs_standalone(name):
    assert standalone(name) == in_process(name)


@pytest.mark.parametrize("name", sorted(MODULES))
def test_build_runs_the_filter_as_its_main_does(name):
    """The build runs each filter with bookbuild.tree.run_filter (a faster walk): the same result."""
    from bookbuild.tree import run_filter

    doc = run_filter(MODULES[name], pf.load(io.StringIO(to_json(name))))
    assert to_html(json.dumps(doc.to_json())) == in_process(name)


JSON_SAMPLE = """# Head {#h .c key=v}

Text *em* **strong** ~~del~~ ^sup^ ~sub~ [sc]{.smallcaps} `code`{#c} $x^2$ and $$y$$ "quoted"
[link](#h "title"){.l} ![alt](i.png){width=2em} [span]{#s} line\\
break[^n] <b>raw</b> [@cite].

[^n]: A note with a list:

    1. one
    2. two

> quote

- a
- b

Term
:   Definition

| A | B |
|---|--:|
| 1 | 2 |

: Caption {#t}

::: {#d .box}
```{#cb .py}
print("é ü \\ \" \t")
```
:::

| line
|  block

---

![figure](f.png){#fig}

<div id="r">raw</div>
"""


@pytest.mark.parametrize("name", [None, *sorted(MODULES)])
def test_json_is_written_as_panflute_writes_it(name):
    """bookbuild.tree.to_json_text writes what json.dumps(doc.to_json()) writes, character for character."""
    from bookbuild.tree import block_json, to_json_text

    source = JSON_SAMPLE if name is None else (HERE / f"{name}.md").read_text()
    doc = pf.load(io.StringIO(run_pandoc(["-f", "markdown", "-t", "json"], source)))
    expected = json.dumps(doc.to_json(), ensure_ascii=False)
    assert to_json_text(doc) == expected
    assert to_json_text(doc, [block_json(b) for b in doc.content]) == expected


@pytest.mark.parametrize("name", [None, *sorted(MODULES)])
def test_text_length_is_the_length_of_the_text(name):
    """bookbuild.tree.text_length counts what pf.stringify writes, for every element."""
    from bookbuild.tree import text_length

    source = JSON_SAMPLE if name is None else (HERE / f"{name}.md").read_text()
    doc = pf.load(io.StringIO(run_pandoc(["-f", "markdown", "-t", "json"], source)))
    elements = []
    doc.walk(lambda elem, _: elements.append(elem))
    assert len(elements) > 10
    for elem in elements:
        if not isinstance(elem, (pf.MetaValue, pf.Doc)):
            assert text_length(elem) == len(pf.stringify(elem)), elem


def test_image_urls_change_in_the_json_text_as_in_the_tree():
    """bookbuild.tree.change_image_urls: what rewriting every Image of the tree gives (not the
    metadata's), images in images' text too, without loading the document."""
    from bookbuild.tree import change_image_urls, rewrite, to_json_text

    source = "---\ncover: '![m](meta.png)'\n---\n\n" + JSON_SAMPLE + "\n![out ![in](in.png)](o.png)\n"
    doc = pf.load(io.StringIO(run_pandoc(["-f", "markdown", "-t", "json"], source)))
    text = to_json_text(doc)

    def action(elem):
        if isinstance(elem, pf.Image):
            elem.url = "new-" + elem.url
    rewrite(doc, action)
    changed = change_image_urls(text, lambda url: "new-" + url)
    assert json.loads(changed) == json.loads(json.dumps(doc.to_json()))
    images = []
    doc.walk(lambda elem, _: images.append(elem) if isinstance(elem, pf.Image) else None)
    assert changed.count('"new-') == len(images) - 1 >= 4  # all but the metadata's
    assert "meta.png" in changed and "new-meta.png" not in changed


def test_filters_are_executable_scripts():
    for name in MODULES:
        path = FILTERS_DIR / f"{name}.py"
        assert path.read_text().startswith("#!/usr/bin/env python3\n")
        assert os.access(path, os.X_OK)


def test_sanitize_removes_every_active_thing():
    html = in_process("sanitize")
    for bad in ("<script", "<iframe", "onclick", "javascript:", "steal()"):
        assert bad not in html
    assert 'href="https://example.org"' in html and "bad link" in html


def test_number_assigns_chapter_positions():
    html = " ".join(in_process("number").split())
    assert "Question 1.1" in html and "Question 1.2" in html and "Question 2.1" in html
    assert "Figure 1.1:" in html and "Table 1.1:" in html
    assert 'id="fig-dot"' in html and 'id="tbl-t"' in html and 'id="sec-first"' in html


def test_xref_links_and_omitted_targets():
    html = " ".join(in_process("xref").split())
    assert '<a href="#q-one" class="xref xref-q">Question 1.1</a>' in html
    assert '<a href="#sec-basics" class="xref xref-sec">Chapter 1</a>' in html
    assert "Question 1.2 (not in this draft)" in html
    assert '<a href="#fig-dot" class="xref xref-fig">1.1</a>' in html
    assert "@smith2020" in html


def test_xref_warnings_name_the_source_line(tmp_path, capsys):
    """In a build (the book's folder in the metadata), a reference without a target is a warning
    at its line: in its chapter, or in its question's topic file."""
    (tmp_path / "book" / "chapters").mkdir(parents=True)
    (tmp_path / "questions").mkdir()
    chapter = "# Basics\n\nText.\n\nSee @tbl:lost, not @tbl:lostx.\n"
    (tmp_path / "book" / "chapters" / "basics.md").write_text(chapter)
    (tmp_path / "questions" / "stats.yaml").write_text("questions:\n  - id: one\n    prompt: Why @tbl:lost?\n")
    markdown = chapter.replace("# Basics", "# Basics {data-file=basics.md}") \
        + '\n::: {#q-one .question data-topic="stats"}\nWhy @tbl:lost?\n:::\n'
    doc = pf.load(io.StringIO(run_pandoc(["-f", "markdown", "-t", "json", "-M", f"bookbuild-root={tmp_path}"],
                                         markdown)))
    xref.main(doc)
    warnings = capsys.readouterr().err.splitlines()
    assert warnings == [f"{tmp_path}/book/chapters/basics.md:5:5: warning: no target for @tbl:lost",
                        f"{tmp_path}/book/chapters/basics.md:5:20: warning: no target for @tbl:lostx",
                        f"{tmp_path}/questions/stats.yaml:3:17: warning: no target for @tbl:lost"]
    assert "bookbuild-root" not in doc.metadata.content  # for the filters only: no output shows it


def test_answers_modes():
    base = to_json("answers")
    out = {}
    for mode in ("appendix", "inline", "none"):
        doc = pf.load(io.StringIO(base))
        doc.metadata["bookbuild-answers"] = mode
        out[mode] = to_html(json.dumps(answers.main(doc).to_json()))
    assert 'href="#a-one"' in out["appendix"] and 'href="#q-one"' in out["appendix"]
    assert out["appendix"].index('id="q-one"') < out["appendix"].index('id="answers"') < out["appendix"].index('id="a-one"')
    assert 'id="a-one"' in out["inline"] and "Answer 1.1" in out["inline"] and 'href="#a-one"' not in out["inline"]
    assert "Answer one." not in out["none"] and 'id="q-one"' in out["none"]
