"""The HTML site in a real browser (Debian's chromium, driven by selenium), opened from file://:
question → answer → back, the difficulty filter and "hide answers" from the keyboard, offline search,
axe-core, and the README's screenshots."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from bookbuild.pipeline import BuildOptions, build
from conftest import EPOCH, ROOT

CHROMIUM = Path("/usr/bin/chromium")
CHROMEDRIVER = Path("/usr/bin/chromedriver")
AXE = ROOT / "tests" / "browser" / "node_modules" / "axe-core" / "axe.min.js"
IMAGES = ROOT / "docs" / "images"
VIEWPORT = {"width": 1280, "height": 800, "deviceScaleFactor": 1, "mobile": False}
CHAPTER_HEIGHT = 1120  # tall enough for a chapter's opening and its first question
FLAGS = ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--window-size=1280,900", "--force-color-profile=srgb", "--hide-scrollbars"]

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not (CHROMIUM.is_file() and CHROMEDRIVER.is_file()),
                       reason="needs Debian's chromium and chromium-driver (/usr/bin/chromium, /usr/bin/chromedriver)"),
]


@pytest.fixture(scope="module")
def browser(tmp_path_factory):
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for flag in FLAGS:
        options.add_argument(flag)
    options.add_argument(f"--user-data-dir={tmp_path_factory.mktemp('chromium-profile')}")
    driver = webdriver.Chrome(options=options, service=Service(str(CHROMEDRIVER)))
    driver.set_page_load_timeout(60)
    driver.set_script_timeout(60)
    driver.execute_cdp_cmd("Emulation.setDeviceMetricsOverride", VIEWPORT)
    yield driver
    driver.quit()


def site_of(root: Path, answers: str = "appendix") -> Path:
    os.environ["SOURCE_DATE_EPOCH"] = EPOCH
    out = root.parent / f"out-{answers}"
    build(BuildOptions(root=root, answers=answers, formats=("html",), out=out))
    return out / "release" / "html"


def visit(driver, url: str, fresh: bool = True) -> None:
    """Open `url`; `fresh` forgets what the reader chose on earlier visits (localStorage)."""
    driver.get(url)
    if fresh:
        driver.execute_script("window.localStorage.clear()")
        driver.get(url)
    wait_for(driver, "return document.readyState === 'complete' && document.documentElement.classList.contains('js')")


def wait_for(driver, script: str, timeout: float = 10):
    from selenium.webdriver.support.ui import WebDriverWait
    return WebDriverWait(driver, timeout).until(lambda d: d.execute_script(script))


def css(driver, selector: str):
    from selenium.webdriver.common.by import By
    return driver.find_element(By.CSS_SELECTOR, selector)


def in_view(driver, selector: str) -> bool:
    return driver.execute_script(
        "var r = document.querySelector(arguments[0]).getBoundingClientRect();"
        "return r.height > 0 && r.top >= -1 && r.top < window.innerHeight;", selector)


def test_question_to_answer_and_back(browser, mini):
    site = site_of(mini)
    visit(browser, (site / "sec-basics.html").as_uri())
    css(browser, "#q-var-scale a.to-answer").click()
    wait_for(browser, "return location.href.endsWith('answers-sec-basics.html#a-var-scale')")
    assert in_view(browser, "#a-var-scale")
    css(browser, "#a-var-scale a.to-question").click()
    wait_for(browser, "return location.href.endsWith('/sec-basics.html#q-var-scale')")
    assert in_view(browser, "#q-var-scale")
    css(browser, "#q-coin-fair a.permalink").click()
    wait_for(browser, "return location.href.endsWith('/sec-basics.html#q-coin-fair')")
    assert browser.execute_script("return document.querySelector('#TOC a[aria-current=page]').getAttribute('href')") \
        == "sec-basics.html#sec-basics"


def test_difficulty_filter_by_keyboard_remembers_and_reveals_targets(browser, mini):
    from selenium.webdriver.common.keys import Keys
    site = site_of(mini)
    visit(browser, (site / "sec-basics.html").as_uri())
    assert all(css(browser, f"#q-{q}").is_displayed() for q in ("mean-median", "var-scale", "coin-fair"))
    for level in ("medium", "hard"):
        box = css(browser, f".difficulty-filter input[value={level}]")
        box.send_keys(Keys.SPACE)  # focus and press Space: no mouse
        assert not box.is_selected()
    assert css(browser, "#q-mean-median").is_displayed()
    assert not css(browser, "#q-var-scale").is_displayed() and not css(browser, "#q-coin-fair").is_displayed()
    assert css(browser, ".practice-status").text == "Showing 1 of 3 questions."
    # remembered on the next page and the next visit; answers of hidden questions hide too
    visit(browser, (site / "answers-sec-basics.html").as_uri(), fresh=False)
    assert css(browser, "#a-mean-median").is_displayed() and not css(browser, "#a-coin-fair").is_displayed()
    visit(browser, (site / "sec-basics.html").as_uri() + "#q-coin-fair", fresh=False)
    assert css(browser, "#q-coin-fair").is_displayed(), "a link to a filtered-out question shows it"
    assert not css(browser, "#q-var-scale").is_displayed()
    assert not css(browser, ".difficulty-filter input[value=hard]").is_selected()


def test_inline_answers_open_on_request_and_hide_on_switch(browser, mini):
    from selenium.webdriver.common.keys import Keys
    site = site_of(mini, "inline")
    visit(browser, (site / "sec-basics.html").as_uri())
    answer_text = "#a-mean-median > p"
    assert browser.execute_script("return document.getElementById('a-mean-median').open") is False
    assert not css(browser, answer_text).is_displayed()
    summary = css(browser, "#a-mean-median > summary")
    summary.send_keys(Keys.ENTER)
    assert browser.execute_script("return document.getElementById('a-mean-median').open") is True
    assert css(browser, answer_text).is_displayed()
    switch = css(browser, ".hide-answers-switch input")
    assert switch.get_attribute("role") == "switch"
    switch.send_keys(Keys.SPACE)
    assert not css(browser, "#a-mean-median").is_displayed() and css(browser, "#q-mean-median").is_displayed()
    visit(browser, (site / "sec-basics.html").as_uri() + "#a-var-scale", fresh=False)
    assert css(browser, "#a-var-scale").is_displayed() and browser.execute_script(
        "return document.getElementById('a-var-scale').open"), "a link to an answer opens it"


def test_without_javascript_everything_is_visible(browser, mini):
    site = site_of(mini, "inline")
    visit(browser, (site / "sec-basics.html").as_uri())
    css(browser, ".difficulty-filter input[value=hard]").click()  # a saved choice that must not apply
    browser.execute_cdp_cmd("Emulation.setScriptExecutionDisabled", {"value": True})
    try:
        browser.get((site / "sec-basics.html").as_uri())
        assert all(css(browser, f"#q-{q}").is_displayed() for q in ("mean-median", "var-scale", "coin-fair"))
        assert all(css(browser, f"#a-{q} > summary").is_displayed() for q in ("mean-median", "var-scale", "coin-fair"))
        assert not css(browser, ".site-search").is_displayed()
        assert "js" not in browser.execute_script("return document.documentElement.className")
        assert browser.find_elements("css selector", ".practice-tools") == []
    finally:
        browser.execute_cdp_cmd("Emulation.setScriptExecutionDisabled", {"value": False})


# --- the difficulty filter counts what is on the page (issue 17: inline answers counted twice) ---

def questions_in(page: Path) -> dict[str, str]:
    """The questions a built page holds, from its HTML: `q-<id>` anchor → difficulty."""
    from outputs import parse_page
    elements = parse_page(page.read_text(encoding="utf-8")).elements
    return {ident: attrs.get("data-difficulty", "") for ident, (_, attrs) in elements.items() if ident.startswith("q-")}


def answers_in(page: Path) -> dict[str, str]:
    from outputs import parse_page
    elements = parse_page(page.read_text(encoding="utf-8")).elements
    return {ident: attrs.get("data-difficulty", "") for ident, (_, attrs) in elements.items() if ident.startswith("a-")}


def filter_reads(driver) -> tuple[dict[str, int], str]:
    """What the filter says: the count beside each difficulty, and the status line."""
    import re
    labels = driver.execute_script(
        "return Array.from(document.querySelectorAll('.difficulty-filter label'), function (l) { return l.textContent; })")
    counts = {}
    for text in labels:
        match = re.fullmatch(r"\s*(easy|medium|hard) \((\d+)\)\s*", text)
        assert match, text
        counts[match.group(1)] = int(match.group(2))
    return counts, css(driver, ".practice-status").text


def status_line(shown: int, total: int, noun: str = "questions") -> str:
    return f"Showing all {total} {noun}." if shown == total else f"Showing {shown} of {total} {noun}."


def shown(driver, prefix: str) -> set[str]:
    """The ids starting with `prefix` that the reader can see (laid out, not display: none)."""
    return set(driver.execute_script(
        "return Array.from(document.querySelectorAll('[id^=\"' + arguments[0] + '\"]'))"
        ".filter(function (e) { return e.getClientRects().length > 0; }).map(function (e) { return e.id; })", prefix))


def assert_filter_counts_the_page(driver, page: Path, prefix: str = "q-") -> None:
    """Open `page`: the filter's counts are the page's questions (or answers), each once; unticking a
    difficulty hides exactly its entries and the status line says how many are left."""
    entries = questions_in(page) if prefix == "q-" else answers_in(page)
    noun = "questions" if prefix == "q-" else "answers"
    assert entries, page
    visit(driver, page.as_uri())
    per_level = {level: sum(1 for d in entries.values() if d == level) for level in ("easy", "medium", "hard")}
    counts, status = filter_reads(driver)
    assert counts == per_level, page.name
    assert status == f"Showing all {len(entries)} {noun}.", page.name
    assert shown(driver, prefix) == set(entries)
    hidden_levels: set[str] = set()
    for level in ("medium", "easy"):
        css(driver, f".difficulty-filter input[value={level}]").click()
        hidden_levels.add(level)
        visible = shown(driver, prefix)
        assert visible == {i for i, d in entries.items() if d not in hidden_levels}, (page.name, level)
        assert css(driver, ".practice-status").text == status_line(len(visible), len(entries), noun)
        if prefix == "q-" and driver.find_elements("css selector", "details.answer"):
            # an inline answer shows and hides with its question
            answers = shown(driver, "a-")
            assert answers == {"a-" + i[2:] for i in visible}, (page.name, level)
    for level in hidden_levels:
        css(driver, f".difficulty-filter input[value={level}]").click()
    assert shown(driver, prefix) == set(entries)
    assert css(driver, ".practice-status").text == f"Showing all {len(entries)} {noun}."


@pytest.mark.parametrize("mode", ["appendix", "inline"])
def test_difficulty_filter_counts_the_questions_on_the_page(browser, sample_builds, mode):
    site = sample_builds[mode] / "html"
    for chapter in ("sec-ml-fundamentals.html", "sec-probability-statistics.html"):
        assert_filter_counts_the_page(browser, site / chapter)
    if mode == "appendix":
        assert_filter_counts_the_page(browser, site / "answers-sec-ml-fundamentals.html", prefix="a-")


def test_difficulty_filter_on_a_draft_page_and_a_link_into_a_hidden_question(browser, mini):
    """The draft edition (inline answers, a chapter left out): counts as on any page; a link to a
    filtered-out question, or to its inline answer, shows the question with its answer, and the
    status line counts it."""
    os.environ["SOURCE_DATE_EPOCH"] = EPOCH
    out = mini.parent / "out-draft"
    build(BuildOptions(root=mini, edition="draft", formats=("html",), out=out))
    site = out / "draft" / "html"
    assert not (site / "sec-intro.html").exists()
    page = site / "sec-basics.html"
    assert_filter_counts_the_page(browser, page)
    entries = questions_in(page)
    hard = [i for i, d in entries.items() if d == "hard"]
    assert hard
    css(browser, ".difficulty-filter input[value=hard]").click()
    assert shown(browser, "q-") == {i for i, d in entries.items() if d != "hard"}
    visit(browser, page.as_uri() + "#" + hard[0], fresh=False)
    qid = hard[0][2:]
    assert css(browser, f"#q-{qid}").is_displayed() and css(browser, f"#a-{qid} > summary").is_displayed()
    assert css(browser, ".practice-status").text == status_line(len(entries) - len(hard) + 1, len(entries))
    visit(browser, page.as_uri() + "#a-" + hard[-1][2:], fresh=False)
    assert css(browser, f"#{hard[-1]}").is_displayed() and css(browser, f"#a-{hard[-1][2:]}").is_displayed()
    assert browser.execute_script("return document.getElementById(arguments[0]).open", f"a-{hard[-1][2:]}")


def test_sidebar_shows_only_the_open_chapters_sections_with_or_without_parts(browser, mini, tmp_path):
    """In a book with parts and in a flat one, the sidebar lists every chapter and the sections of one."""
    import shutil

    flat = tmp_path / "flat" / "flat"  # its own folder: site_of builds beside the book
    shutil.copytree(ROOT / "tests" / "fixtures" / "flat", flat, ignore=shutil.ignore_patterns("dist", ".bookbuild-cache"))
    for site, page, open_section, closed_section in ((site_of(mini), "sec-basics.html", "toc-sec-practice",
                                                      "toc-sec-how"),
                                                     (site_of(flat), "sec-models.html", "toc-fitting", "toc-sec-centre")):
        visit(browser, (site / page).as_uri())
        visible = browser.execute_script(
            "return [...document.querySelectorAll('.sidebar a')].filter(a => a.offsetParent !== null).map(a => a.id)")
        chapters = browser.execute_script(
            "return [...document.querySelectorAll('.sidebar a')].filter(a => a.querySelector('.chapter-number'))"
            ".map(a => a.id)")
        assert set(chapters) <= set(visible), (page, chapters, visible)
        assert open_section in visible and closed_section not in visible, (page, visible)


def test_search_from_file_url_finds_a_question_by_a_word_of_its_prompt(browser, mini):
    from selenium.webdriver.common.keys import Keys
    site = site_of(mini)
    visit(browser, (site / "sec-intro.html").as_uri())
    field = css(browser, "#search-input")
    assert field.is_displayed()
    field.send_keys("median")
    wait_for(browser, "return document.querySelectorAll('#search-results a').length > 0")
    first = css(browser, "#search-results a")
    assert first.get_attribute("href").endswith("/sec-basics.html#q-mean-median")
    assert "2 Basics" in first.text and "Question 2.1" in first.text and "EASY" in first.text.upper()
    assert browser.execute_script("return document.querySelector('#search-results mark').textContent").lower() == "median"
    field.send_keys(Keys.ARROW_DOWN)
    assert browser.switch_to.active_element.get_attribute("href") == first.get_attribute("href")
    browser.switch_to.active_element.send_keys(Keys.ENTER)
    wait_for(browser, "return location.href.endsWith('/sec-basics.html#q-mean-median')")
    assert in_view(browser, "#q-mean-median")
    # sections are found by their text; a miss says so
    field = css(browser, "#search-input")
    field.clear()
    field.send_keys("footnote")
    wait_for(browser, "return document.querySelectorAll('#search-results a').length > 0")
    assert css(browser, "#search-results a").get_attribute("href").endswith("/sec-intro.html#sec-intro")
    field.clear()
    field.send_keys("zzyzx")
    wait_for(browser, "return document.getElementById('search-status').textContent.startsWith('No results')")
    field.send_keys(Keys.ESCAPE)
    assert not css(browser, "#search-panel").is_displayed()


# --- the sample book: accessibility and the README's screenshots ---

def run_axe(driver) -> list[dict]:
    if not AXE.is_file():
        pytest.fail("axe-core is not installed: run `npm ci --prefix tests/browser` (make install does)")
    driver.execute_script(AXE.read_text(encoding="utf-8"))
    result = driver.execute_async_script(
        "var done = arguments[arguments.length - 1];"
        "axe.run(document, {resultTypes: ['violations']}).then(function (r) { done(r.violations.map(function (v) {"
        "  return {id: v.id, impact: v.impact, help: v.help, nodes: v.nodes.slice(0, 3).map(function (n) {"
        "    return n.target.join(' '); })}; })); }, function (e) { done(String(e)); });")
    assert isinstance(result, list), result
    return result


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_axe_finds_no_serious_violations(browser, sample_builds, scheme):
    appendix, inline = sample_builds["appendix"] / "html", sample_builds["inline"] / "html"
    pages = [appendix / "index.html", appendix / "sec-probability-statistics.html",
             appendix / "answers-sec-probability-statistics.html", appendix / "answers.html",
             inline / "sec-probability-statistics.html"]
    browser.execute_cdp_cmd("Emulation.setEmulatedMedia",
                            {"features": [{"name": "prefers-color-scheme", "value": scheme}]})
    found = {}
    try:
        for page in pages:
            visit(browser, page.as_uri())
            found[page.relative_to(page.parent.parent.parent).as_posix()] = run_axe(browser)
        css(browser, "#search-input").send_keys("gradient")  # with the search results open, too
        wait_for(browser, "return document.querySelectorAll('#search-results a').length > 0")
        found["inline chapter, searching"] = run_axe(browser)
    finally:
        browser.execute_cdp_cmd("Emulation.setEmulatedMedia", {"features": []})
    serious = {page: [v for v in violations if v["impact"] in ("serious", "critical")]
               for page, violations in found.items()}
    assert not any(serious.values()), json.dumps(serious, indent=1)


def test_readme_screenshots(browser, sample_builds):
    from selenium.webdriver.common.keys import Keys
    site = sample_builds["appendix"] / "html"
    IMAGES.mkdir(parents=True, exist_ok=True)
    # a page with questions, from its top: contents, practice tools, the first questions
    browser.execute_cdp_cmd("Emulation.setDeviceMetricsOverride", {**VIEWPORT, "height": CHAPTER_HEIGHT})
    try:
        visit(browser, (site / "sec-probability-statistics.html").as_uri())
        chapter = IMAGES / "html-chapter.png"
        browser.save_screenshot(str(chapter))
    finally:
        browser.execute_cdp_cmd("Emulation.setDeviceMetricsOverride", VIEWPORT)
    browser.execute_script("document.head.insertAdjacentHTML('beforeend', '<style>*{caret-color:transparent!important}</style>')")
    field = css(browser, "#search-input")
    browser.execute_script("window.scrollTo(0, 0)")
    field.send_keys("gradient descent")
    wait_for(browser, "return document.querySelectorAll('#search-results a').length > 2")
    search = IMAGES / "html-search.png"
    browser.save_screenshot(str(search))
    field.send_keys(Keys.ESCAPE)
    from PIL import Image
    for path, height in ((chapter, CHAPTER_HEIGHT), (search, VIEWPORT["height"])):
        with Image.open(path) as image:
            assert image.size == (VIEWPORT["width"], height), path
    assert "docs/images/html-chapter.png" in (ROOT / "README.md").read_text()
    assert "docs/images/html-search.png" in (ROOT / "README.md").read_text()



# --- practice mode (issue 19.1): marks, their filters, the progress page, the quiz, export/import ---

BOOK_ID = "urn:uuid:00000000-0000-4000-8000-000000000001"
MARKS_KEY = f"bookbuild:{BOOK_ID}:marks"
T0 = 1_767_225_600_000  # 2026-01-01T00:00:00Z, in ms
MINUTE, DAY = 60_000, 86_400_000


def practice_book(mini: Path) -> Path:
    """The mini book with a second topic of three questions in chapter 1: six questions."""
    from test_html_site import add_probability_chapter_questions
    add_probability_chapter_questions(mini)
    return mini


class clock:
    """The page's clock (Date.now) set to `at` ms in every document loaded meanwhile."""

    def __init__(self, driver, at: int):
        self.driver, self.at = driver, at

    def __enter__(self):
        self.script = self.driver.execute_cdp_cmd("Page.addScriptToEvaluateOnNewDocument", {
            "source": f"Date.now = function () {{ return {self.at}; }};"})["identifier"]
        return self

    def __exit__(self, *exc):
        self.driver.execute_cdp_cmd("Page.removeScriptToEvaluateOnNewDocument", {"identifier": self.script})


def stored_marks(driver) -> dict:
    raw = driver.execute_script("return window.localStorage.getItem(arguments[0])", MARKS_KEY)
    return json.loads(raw)["questions"] if raw else {}


def press(driver, *keys) -> None:
    """Keys to whatever has the focus (no mouse, no element picked)."""
    from selenium.webdriver.common.action_chains import ActionChains
    ActionChains(driver).send_keys(*keys).perform()


def pressed(driver, qid: str) -> dict[str, str]:
    return {mark: css(driver, f"#q-{qid} .mark-{mark}").get_attribute("aria-pressed") for mark in ("done", "review")}


def progress_rows(driver) -> dict[str, tuple[int, int, int, int]]:
    """The progress page's counts as text: row key → (done, to review, not seen, questions)."""
    rows = driver.execute_script("""
        return Array.from(document.querySelectorAll('.progress-table tr[data-topic], .progress-table tr[data-difficulty],'
                                                    + ' #progress-topics tr[data-all]'), function (tr) {
          var key = tr.getAttribute('data-topic') || tr.getAttribute('data-difficulty') || 'all';
          return [key, ['done', 'review', 'unseen', 'total'].map(function (n) { return tr.querySelector('.n-' + n).textContent; })];
        });""")
    return {key: tuple(int(n) for n in counts) for key, counts in rows}


def test_marks_survive_a_reload_and_the_filters_and_progress_page_agree(browser, mini):
    from selenium.webdriver.common.keys import Keys
    site = site_of(practice_book(mini))
    visit(browser, (site / "sec-basics.html").as_uri())
    assert pressed(browser, "mean-median") == {"done": "false", "review": "false"}
    css(browser, "#q-mean-median .mark-done").send_keys(Keys.SPACE)  # focus and press: no mouse
    css(browser, "#q-coin-fair .mark-review").send_keys(Keys.ENTER)
    css(browser, "#q-coin-fair .mark-done").send_keys(Keys.SPACE)
    css(browser, "#q-var-scale .mark-done").send_keys(Keys.SPACE)
    css(browser, "#q-var-scale .mark-done").send_keys(Keys.SPACE)  # pressed again: undone
    assert browser.execute_script("return document.querySelector('#q-coin-fair .mark-review').textContent") \
        == "Review again (question 2.3)", "the name says which question (the state is aria-pressed)"
    visit(browser, (site / "sec-basics.html").as_uri(), fresh=False)
    assert pressed(browser, "mean-median") == {"done": "true", "review": "false"}
    assert pressed(browser, "var-scale") == {"done": "false", "review": "false"}
    assert pressed(browser, "coin-fair") == {"done": "true", "review": "true"}
    marks = stored_marks(browser)
    assert {q for q, m in marks.items() if m["done"]} == {"mean-median", "coin-fair"}
    assert {q for q, m in marks.items() if m["review"]} == {"coin-fair"}

    # the filters: "not done", "to review", both (either), with the difficulty filter
    labels = browser.execute_script(
        "return Array.from(document.querySelectorAll('.marks-filter label'), function (l) { return l.textContent.trim(); })")
    assert labels == ["not done (1)", "to review (1)"]
    css(browser, ".marks-filter input[value=not-done]").send_keys(Keys.SPACE)
    assert shown(browser, "q-") == {"q-var-scale"}
    assert css(browser, ".practice-status").text == "Showing 1 of 3 questions."
    css(browser, ".marks-filter input[value=review]").send_keys(Keys.SPACE)
    assert shown(browser, "q-") == {"q-var-scale", "q-coin-fair"}
    css(browser, ".marks-filter input[value=not-done]").send_keys(Keys.SPACE)
    assert shown(browser, "q-") == {"q-coin-fair"}
    assert css(browser, ".practice-status").text == "Showing 1 of 3 questions."
    css(browser, ".difficulty-filter input[value=hard]").send_keys(Keys.SPACE)
    assert shown(browser, "q-") == set() and css(browser, ".practice-status").text == "Showing 0 of 3 questions."
    css(browser, ".difficulty-filter input[value=hard]").send_keys(Keys.SPACE)
    # marking a question while its filter is on: it leaves the list, the counts follow
    css(browser, "#q-coin-fair .mark-review").send_keys(Keys.SPACE)
    assert shown(browser, "q-") == set() and css(browser, ".practice-status").text == "Showing 0 of 3 questions."
    css(browser, ".marks-filter input[value=review]").send_keys(Keys.SPACE)
    assert shown(browser, "q-") == {f"q-{q}" for q in ("mean-median", "var-scale", "coin-fair")}
    visit(browser, (site / "sec-intro.html").as_uri(), fresh=False)
    css(browser, "#q-monty-hall .mark-review").send_keys(Keys.SPACE)
    css(browser, "#q-dice-sum .mark-done").send_keys(Keys.SPACE)

    # the answers page filters its answers by the same marks
    visit(browser, (site / "answers-sec-basics.html").as_uri(), fresh=False)
    css(browser, ".marks-filter input[value=not-done]").send_keys(Keys.SPACE)
    assert shown(browser, "a-") == {"a-var-scale"}
    assert css(browser, ".practice-status").text == "Showing 1 of 3 answers."
    css(browser, ".marks-filter input[value=not-done]").send_keys(Keys.SPACE)

    # the progress page counts the same marks, per topic and per difficulty
    visit(browser, (site / "progress.html").as_uri(), fresh=False)
    wait_for(browser, "return document.getElementById('progress-summary').textContent !== ''")
    assert progress_rows(browser) == {
        "prob": (1, 1, 1, 3), "stats": (2, 0, 1, 3), "all": (3, 1, 2, 6),
        "easy": (2, 0, 0, 2), "medium": (0, 0, 2, 2), "hard": (1, 1, 0, 2)}
    assert css(browser, "#progress-summary").text == \
        "Of 6 questions: 3 done, 1 to review, 2 not seen. 0 are due in the quiz."
    width = browser.execute_script("return document.querySelector('tr[data-topic=stats] .bar-done').style.width")
    assert width.endswith("%") and abs(float(width[:-1]) - 200 / 3) < 0.01
    assert css(browser, "tr[data-topic=stats] .progress-percent").text == "67% done"
    assert css(browser, ".practice-links a[aria-current=page]").text == "Progress"


def test_marks_filters_count_each_question_once_with_inline_answers(browser, mini):
    from selenium.webdriver.common.keys import Keys
    site = site_of(mini, "inline")
    visit(browser, (site / "sec-basics.html").as_uri())
    css(browser, "#q-var-scale .mark-review").send_keys(Keys.SPACE)
    css(browser, ".marks-filter input[value=review]").send_keys(Keys.SPACE)
    assert shown(browser, "q-") == {"q-var-scale"} and shown(browser, "a-") == {"a-var-scale"}
    assert css(browser, ".practice-status").text == "Showing 1 of 3 questions."
    # a link to a question the marks filter hides shows it, with its answer, and it is counted
    visit(browser, (site / "sec-basics.html").as_uri() + "#a-coin-fair", fresh=False)
    assert shown(browser, "q-") == {"q-var-scale", "q-coin-fair"}
    assert css(browser, ".practice-status").text == "Showing 2 of 3 questions."


def test_a_five_question_quiz_by_keyboard_alone_and_its_schedule(browser, mini):
    from selenium.webdriver.common.keys import Keys
    site = site_of(practice_book(mini))
    quiz = (site / "quiz.html").as_uri()
    visit(browser, quiz)
    with clock(browser, T0):
        visit(browser, quiz, fresh=False)
        wait_for(browser, "return document.getElementById('quiz-due').textContent !== ''")
        assert css(browser, "#quiz-due").text == "Due now: 0 of the book’s 6 questions (6 never graded)."
        size = css(browser, "#quiz-size")
        size.send_keys(Keys.CONTROL, "a")
        size.send_keys("5")
        assert "This quiz will ask 5." in css(browser, "#quiz-choice-status").text
        size.send_keys(Keys.ENTER)  # submits the form
        wait_for(browser, "return !document.getElementById('quiz-card').hidden")
        seen, grades = [], {"dice-sum": "1", "birthday": "2", "monty-hall": "3", "mean-median": "4", "var-scale": "3"}
        for step in range(6):
            title = css(browser, "#quiz-card-title")
            assert browser.switch_to.active_element == title, "the question's heading has the focus"
            number = title.text.removeprefix("Question ")
            qid = {"1.1": "dice-sum", "1.2": "birthday", "1.3": "monty-hall", "2.1": "mean-median",
                   "2.2": "var-scale"}[number]
            seen.append(qid)
            assert not css(browser, "#quiz-answer").is_displayed() and not css(browser, "#quiz-grades").is_displayed()
            if qid == "var-scale":  # the prompt's math, as MathML, with no id copied from the page
                assert browser.find_elements("css selector", "#quiz-prompt math")
                assert browser.execute_script("return document.querySelectorAll('#quiz-card [id^=q-], #quiz-card [id^=a-]').length") == 0
            press(browser, Keys.SPACE if step % 2 == 0 else Keys.ENTER)
            assert css(browser, "#quiz-answer").is_displayed() and css(browser, "#quiz-grades").is_displayed()
            press(browser, grades[qid] if step < 5 else "4")
        assert seen == ["dice-sum", "birthday", "monty-hall", "mean-median", "var-scale", "dice-sum"], \
            "new questions in book order, the one graded 'again' once more at the end"
        wait_for(browser, "return !document.getElementById('quiz-done').hidden")
        assert browser.switch_to.active_element == css(browser, "#quiz-done-title")
        assert css(browser, "#quiz-done-summary").text == "You graded 6 answers: 1 again, 1 hard, 2 good, 2 easy."
        marks = stored_marks(browser)
        # Leitner: a new question counts as in box 1; again → box 1 in 10 minutes, hard stays, good +1, easy +2;
        # boxes 1-5 are due after 1, 3, 7, 14, 30 days
        expect = {"dice-sum": (3, T0 + 7 * DAY, False),  # again (box 1, 10 minutes), then easy: 1 + 2
                  "birthday": (1, T0 + DAY, True), "monty-hall": (2, T0 + 3 * DAY, False),
                  "mean-median": (3, T0 + 7 * DAY, False), "var-scale": (2, T0 + 3 * DAY, False)}
        assert {q: (m["box"], m["due"], m["review"]) for q, m in marks.items()} == expect
        assert all(m["done"] and m["graded"] == T0 and m["t"] == T0 for m in marks.values())
    # a day and a minute later: only "birthday" is due; a quiz takes it first, then what is new
    with clock(browser, T0 + DAY + MINUTE):
        visit(browser, quiz, fresh=False)
        wait_for(browser, "return document.getElementById('quiz-due').textContent !== ''")
        assert css(browser, "#quiz-due").text == "Due now: 1 of the book’s 6 questions (1 never graded)."
        assert css(browser, "#quiz-choice-status").text.startswith("1 question due now and 1 new among the 6 chosen questions.")
        css(browser, "#quiz-start").send_keys(Keys.ENTER)
        wait_for(browser, "return !document.getElementById('quiz-card').hidden")
        assert css(browser, "#quiz-card-title").text == "Question 1.2" and css(browser, "#quiz-position").text == "Question 1 of 2"
        press(browser, Keys.SPACE)
        assert "(3 days)" in css(browser, "#quiz-grades [data-grade=good]").text
        press(browser, "3")
        assert css(browser, "#quiz-card-title").text == "Question 2.3"
        press(browser, Keys.ESCAPE)  # ends the quiz
        assert css(browser, "#quiz-done").is_displayed()
        birthday = stored_marks(browser)["birthday"]
        assert (birthday["box"], birthday["due"], birthday["review"]) == (2, T0 + DAY + MINUTE + 3 * DAY, False)
        assert "coin-fair" not in stored_marks(browser)
    # the chosen topics and difficulties narrow the quiz
    with clock(browser, T0 + DAY + MINUTE):
        css(browser, "#quiz-again").send_keys(Keys.ENTER)
        css(browser, "input[name=topic][value=prob]").send_keys(Keys.SPACE)
        assert css(browser, "#quiz-choice-status").text.startswith("0 questions due now and 1 new among the 3 chosen")
        css(browser, "input[name=difficulty][value=hard]").send_keys(Keys.SPACE)
        assert css(browser, "#quiz-choice-status").text.startswith("0 questions due now and 0 new among the 2 chosen")
        assert css(browser, "#quiz-start").get_attribute("disabled") is not None


def test_progress_export_clear_import(browser, mini, tmp_path):
    from selenium.webdriver.common.keys import Keys
    site = site_of(practice_book(mini))
    downloads = tmp_path / "downloads"
    downloads.mkdir()
    browser.execute_cdp_cmd("Browser.setDownloadBehavior", {"behavior": "allow", "downloadPath": str(downloads)})
    visit(browser, (site / "sec-basics.html").as_uri())
    with clock(browser, T0):
        visit(browser, (site / "sec-basics.html").as_uri(), fresh=False)
        css(browser, "#q-mean-median .mark-done").send_keys(Keys.SPACE)
        css(browser, "#q-coin-fair .mark-review").send_keys(Keys.SPACE)
        visit(browser, (site / "sec-intro.html").as_uri(), fresh=False)
        css(browser, "#q-birthday .mark-done").send_keys(Keys.SPACE)
        visit(browser, (site / "progress.html").as_uri(), fresh=False)
        before = progress_rows(browser)
        css(browser, "#progress-export").send_keys(Keys.ENTER)
        wait_for(browser, "return document.getElementById('progress-transfer-status').textContent !== ''")
        name = "mini-book-progress-2026-01-01.json"
        assert css(browser, "#progress-transfer-status").text == f"Exported the marks of 3 questions to {name}."
    exported = downloads / name
    import time
    deadline = time.monotonic() + 10
    while not exported.is_file() and time.monotonic() < deadline:
        time.sleep(0.1)
    payload = json.loads(exported.read_text(encoding="utf-8"))
    assert payload["format"] == "bookbuild-progress" and payload["book"] == BOOK_ID
    assert set(payload["questions"]) == {"mean-median", "coin-fair", "birthday"}
    assert payload["questions"]["mean-median"]["t"] == T0

    # cleared storage: nothing is done; then a newer mark of one question in this browser
    browser.execute_script("window.localStorage.clear()")
    with clock(browser, T0 + 60 * MINUTE):
        visit(browser, (site / "sec-basics.html").as_uri(), fresh=False)
        assert pressed(browser, "mean-median") == {"done": "false", "review": "false"}
        css(browser, "#q-mean-median .mark-review").send_keys(Keys.SPACE)
        visit(browser, (site / "progress.html").as_uri(), fresh=False)
        assert progress_rows(browser)["all"] == (0, 1, 5, 6)
        css(browser, "#progress-import").send_keys(str(exported))
        wait_for(browser, "return document.getElementById('progress-transfer-status').textContent.startsWith('Imported')")
        assert css(browser, "#progress-transfer-status").text == (
            f"Imported {name}: 2 questions taken from the file, 1 kept as this browser had them (newer or the same).")
        rows = progress_rows(browser)
        assert rows["all"] == (1, 2, 3, 6) and rows != before  # mean-median: the newer mark ("to review") won
        assert stored_marks(browser)["mean-median"] == {"done": False, "review": True, "box": 0, "due": 0, "graded": 0,
                                                        "t": T0 + 60 * MINUTE}
        visit(browser, (site / "sec-basics.html").as_uri(), fresh=False)
        assert pressed(browser, "coin-fair") == {"done": "false", "review": "true"}
        # another book's file is refused
        other = tmp_path / "other.json"
        other.write_text(json.dumps({**payload, "book": "urn:uuid:other", "title": "Another Book"}))
        visit(browser, (site / "progress.html").as_uri(), fresh=False)
        css(browser, "#progress-import").send_keys(str(other))
        wait_for(browser, "return document.getElementById('progress-transfer-status').textContent !== ''")
        assert css(browser, "#progress-transfer-status").text == \
            "“other.json” holds the progress of another book (Another Book): nothing was imported."


def test_without_javascript_no_practice_control_shows(browser, mini):
    site = site_of(practice_book(mini))
    browser.execute_cdp_cmd("Emulation.setScriptExecutionDisabled", {"value": True})
    try:
        browser.get((site / "sec-basics.html").as_uri())
        assert browser.find_elements("css selector", ".mark-button, .marks-filter, .practice-tools") == []
        assert not css(browser, ".practice-links").is_displayed()
        for page in ("progress.html", "quiz.html"):
            browser.get((site / page).as_uri())
            assert css(browser, ".needs-js").is_displayed(), page
            assert not css(browser, ".practice-only").is_displayed(), page
            visible = browser.execute_script(
                "return Array.from(document.querySelectorAll('main button, main input, main select, main table'))"
                ".filter(function (e) { return e.getClientRects().length > 0; }).length")
            assert visible == 0, page
    finally:
        browser.execute_cdp_cmd("Emulation.setScriptExecutionDisabled", {"value": False})
    visit(browser, (site / "quiz.html").as_uri())
    assert not css(browser, ".needs-js").is_displayed() and css(browser, ".practice-only").is_displayed()


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_axe_finds_no_violations_on_the_practice_pages(browser, sample_builds, scheme):
    """axe on what practice mode adds, in each state a reader meets: marked questions and the marks
    filters on a chapter, the progress page with counts and bars, the quiz's choice, a question
    with its answer shown (MathML in both), and the end of a quiz. No violation of any impact."""
    from selenium.webdriver.common.keys import Keys
    site = sample_builds["appendix"] / "html"
    browser.execute_cdp_cmd("Emulation.setEmulatedMedia",
                            {"features": [{"name": "prefers-color-scheme", "value": scheme}]})
    found = {}
    try:
        visit(browser, (site / "sec-probability-statistics.html").as_uri())
        buttons = browser.find_elements("css selector", ".question .mark-button")
        for button in buttons[:6]:
            button.send_keys(Keys.SPACE)
        css(browser, ".marks-filter input[value=not-done]").send_keys(Keys.SPACE)
        found["chapter, marked and filtered"] = run_axe(browser)
        visit(browser, (site / "progress.html").as_uri(), fresh=False)
        wait_for(browser, "return document.getElementById('progress-summary').textContent !== ''")
        found["progress"] = run_axe(browser)
        visit(browser, (site / "quiz.html").as_uri(), fresh=False)
        wait_for(browser, "return document.getElementById('quiz-due').textContent !== ''")
        found["quiz, choosing"] = run_axe(browser)
        css(browser, "#quiz-start").send_keys(Keys.ENTER)
        wait_for(browser, "return !document.getElementById('quiz-card').hidden")
        found["quiz, a question"] = run_axe(browser)
        press(browser, Keys.SPACE)
        found["quiz, its answer"] = run_axe(browser)
        press(browser, "3")
        press(browser, Keys.ESCAPE)
        found["quiz, done"] = run_axe(browser)
    finally:
        browser.execute_cdp_cmd("Emulation.setEmulatedMedia", {"features": []})
    assert not any(found.values()), json.dumps(found, indent=1)
