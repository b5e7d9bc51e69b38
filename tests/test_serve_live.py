"""`serve` as a live preview (issue 21): a page waits for the next successful build and reloads
where the reader was, at the element with an id nearest the top of the window, in a real browser
(Debian's chromium, driven by selenium); the built site never holds the live-reload script."""

from __future__ import annotations

import http.server
import re
import threading
import time
import urllib.request
from pathlib import Path

import pytest

from bookbuild import bench_reload
from bookbuild.bench import generate
from bookbuild.bench_reload import (CHROMEDRIVER, CHROMIUM, RESTORED, TOP_OF, ReloadUnavailable, Served, browser,
                                    wait_for)
from bookbuild.serve import VERSION_PATH, LiveSite, handler_for, inject_reload

needs_chromium = pytest.mark.skipif(not (CHROMIUM.is_file() and CHROMEDRIVER.is_file()),
                                    reason="needs Debian's chromium and chromium-driver "
                                           "(/usr/bin/chromium, /usr/bin/chromedriver)")


@pytest.fixture(scope="module")
def driver():
    try:
        with browser() as d:
            yield d
    except ReloadUnavailable as exc:
        pytest.skip(str(exc))


@pytest.fixture
def book(tmp_path) -> Path:
    """One chapter of 30 questions (the benchmark's book): pages long enough to scroll."""
    return generate(tmp_path / "book", 30)


def visit(driver, url: str) -> None:
    """Open `url` afresh: no marks, no filter, no position kept."""
    driver.get(url)
    driver.execute_script("localStorage.clear(); sessionStorage.clear();")
    driver.get(url)
    wait_for(driver, "return document.readyState === 'complete'")


def scroll_to(driver, element: str, top: float) -> float:
    """Scroll `element` to `top` px from the window's top; where it is then."""
    driver.execute_script("var el = document.getElementById(arguments[0]);"
                          "window.scrollTo({top: window.scrollY + el.getBoundingClientRect().top - arguments[1],"
                          " behavior: 'instant'});", element, top)
    return driver.execute_script(TOP_OF, element)


def edit(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert old in text
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


def prompt_of(topic: Path, qid: str) -> str:
    """The first line of a question's prompt in the generated topic file."""
    lines = topic.read_text(encoding="utf-8").splitlines()
    return lines[lines.index(f"  - id: {qid}") + 3].strip()


# --- in the browser ---

@pytest.mark.slow
@needs_chromium
def test_reload_keeps_the_reader_at_the_question_and_the_practice_filter(driver, book):
    topic = book / "questions" / "topic-001.yaml"
    with Served(book) as served:
        visit(driver, served.url + "sec-ch1.html")
        driver.execute_script("document.querySelector('.difficulty-filter input[value=hard]').click()")
        assert not driver.execute_script("return !!document.getElementById('q-q001-14').offsetParent")
        before = scroll_to(driver, "q-q001-15", -30)  # the reader is a little way into it
        assert abs(before + 30) < 1
        scrolled = driver.execute_script("return window.scrollY")
        # a longer prompt above the reader pushes the question down the page
        edit(topic, prompt_of(topic, "q001-03"), "Rewritten prompt. " + "Three more lines of it. " * 30)
        assert wait_for(driver, RESTORED, "Rewritten prompt.", timeout=30) == "q-q001-15"
        assert abs(driver.execute_script(TOP_OF, "q-q001-15") - before) < 2
        assert driver.execute_script("return window.scrollY") > scrolled + 100, "restored by id, not by offset"
        assert driver.execute_script("return document.querySelector('.difficulty-filter input[value=hard]')"
                                     ".checked") is False, "practice mode kept its filter"
        assert not driver.execute_script("return !!document.getElementById('q-q001-14').offsetParent")
    site = book / "dist" / "release" / "html"
    page = (site / "sec-ch1.html").read_text(encoding="utf-8")
    assert "Rewritten prompt." in page
    assert not [p for p in site.rglob("*") if p.is_file() and (b"live reload" in p.read_bytes()
                                                                or b"__bookbuild__" in p.read_bytes())]


@pytest.mark.slow
@needs_chromium
def test_a_removed_question_gives_way_to_the_nearest_one(driver, book):
    topic = book / "questions" / "topic-001.yaml"
    with Served(book) as served:
        visit(driver, served.url + "sec-ch1.html")
        scroll_to(driver, "q-q001-15", 0)
        tops = {q: driver.execute_script(TOP_OF, q) for q in ("q-q001-14", "q-q001-16")}
        text = topic.read_text(encoding="utf-8")
        start = text.index("  - id: q001-15\n")
        topic.write_text(text[:start] + text[text.index("  - id: q001-16\n"):], encoding="utf-8")
        restored = wait_for(driver, RESTORED, "", timeout=30)
        assert driver.execute_script("return document.getElementById('q-q001-15')") is None
        assert restored in tops, restored
        assert abs(driver.execute_script(TOP_OF, restored) - tops[restored]) < 2


@pytest.mark.slow
@needs_chromium
def test_a_failed_build_leaves_the_page_and_a_link_goes_where_it_points(driver, book):
    topic = book / "questions" / "topic-001.yaml"
    with Served(book) as served:
        url = served.url + "sec-ch1.html"
        visit(driver, url)
        scroll_to(driver, "q-q001-15", 0)
        driver.execute_script("window.stillHere = true")
        edit(topic, "  - id: q001-04\n", "  - id: q001-04\n  - broken\n")
        deadline = time.monotonic() + 30
        while "the site was not rebuilt" not in served.log:
            assert time.monotonic() < deadline, served.log
            time.sleep(0.05)
        assert re.search(r"topic-001\.yaml:\d+:\d+: error: ", served.log) and "Traceback" not in served.log
        time.sleep(0.3)
        assert driver.execute_script("return window.stillHere === true"), "a failed build reloaded the page"
        # a position kept for a reload that never came does not override a link the reader follows
        driver.get(served.url + "index.html")
        driver.execute_script("sessionStorage.setItem('bookbuild-serve:/sec-ch1.html',"
                              " JSON.stringify([{id: 'q-q001-05', top: 0}]))")
        driver.get(url + "#q-q001-20")
        wait_for(driver, "return document.readyState === 'complete'")
        assert abs(driver.execute_script(TOP_OF, "q-q001-20") - 17) < 2  # the page's scroll-padding-top
        assert driver.execute_script("return document.documentElement.dataset.bookbuildRestored") is None


@pytest.mark.slow
@needs_chromium
def test_benchmark_smoke_run(capsys):
    assert bench_reload.main(["--questions", "30", "--repeats", "1"]) == 0
    out = capsys.readouterr().out
    assert "save-to-reload" in out and "HTML edit build" in out and "ratio" in out
    moved = re.search(r"position restored  at a-q001-15, within (\d+\.\d) px", out)
    assert moved and float(moved.group(1)) < 2, out


# --- the server's side, without a browser ---

def test_pages_are_served_with_the_script_and_their_build():
    page = b"<html><body><p>x</p></body></html>"
    served = inject_reload(page, 7)
    assert served.index(b'var built = "7"') < served.index(b"</body>")
    assert served.replace(served[served.index(b"<script>"):served.index(b"</script>\n") + 10], b"") == page


def test_a_page_waits_for_the_next_build(tmp_path):
    site = LiveSite(tmp_path)
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler_for(site))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    base = f"http://127.0.0.1:{server.server_address[1]}{VERSION_PATH}"

    def get(query: str = "") -> tuple[str, float]:
        started = time.monotonic()
        with urllib.request.urlopen(base + query, timeout=10) as response:
            return response.read().decode(), time.monotonic() - started
    try:
        assert get()[0] == "0" and get("?after=5")[0] == "0"  # at once: the page is from another build
        threading.Timer(0.3, site.bump).start()
        version, waited = get("?after=0")
        assert version == "1" and 0.25 < waited < 5
    finally:
        server.shutdown()
        server.server_close()
