"""Benchmark: from saving a source to the open page showing the change where the reader was.

    python -m bookbuild.bench_reload [--questions 330] [--repeats 3]

It generates the synthetic book of bookbuild.bench, builds its site once, then times the same
one-answer edit (the first answer of questions/topic-001.yaml) two ways in the same run (median of
repeats): built by `bookbuild --format html` (the HTML edit build), and saved while `bookbuild
serve` shows that chapter's answers in headless Chromium, scrolled to an answer in the middle of
the page: from the save to the page reloaded with the new text and that answer back at the top
of the window (save-to-reload). The target (issue 21): save-to-reload ≤ 1.5 × the HTML edit build.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Callable, Iterator

from .bench import generate

CHROMIUM = Path("/usr/bin/chromium")
CHROMEDRIVER = Path("/usr/bin/chromedriver")
FLAGS = ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--window-size=1280,900", "--hide-scrollbars"]
EPOCH = "1767225600"  # SOURCE_DATE_EPOCH of every build here: the same bytes each time
TARGET = 1.5  # save-to-reload ≤ TARGET × the HTML edit build
SERVING = re.compile(r"serving (http://127\.0\.0\.1:\d+/)")
BUILT = re.compile(r"built the site in (\d+(?:\.\d+)?) s")
# the id of the question or answer in the middle of a page
MIDDLE_ID = """var all = document.querySelectorAll("main .question[id], main .answer[id]");
return all.length ? all[Math.floor(all.length / 2)].id : null;"""
TOP_OF = "return document.getElementById(arguments[0]).getBoundingClientRect().top;"
# the element the reloaded page restored, once it shows the text arguments[0]
RESTORED = """var restored = document.documentElement.dataset.bookbuildRestored;
return document.readyState === "complete" && restored && document.body.textContent.indexOf(arguments[0]) >= 0
    ? restored : null;"""


class ReloadUnavailable(RuntimeError):
    """No browser to measure with here (Debian's chromium, chromium-driver or selenium missing)."""


def require_browser() -> None:
    """Raise ReloadUnavailable unless chromium, chromium-driver and selenium are here."""
    missing = [str(p) for p in (CHROMIUM, CHROMEDRIVER) if not p.is_file()]
    if missing:
        raise ReloadUnavailable(f"needs Debian's chromium and chromium-driver: no {' or '.join(missing)}")
    try:
        import selenium  # noqa: F401 - a test dependency, not the package's
    except ImportError:
        raise ReloadUnavailable("needs selenium (pip install 'bookbuild[test]')") from None


@contextmanager
def browser() -> Iterator:
    """Headless Chromium driven by selenium, quit on the way out."""
    require_browser()
    from selenium import webdriver
    from selenium.common.exceptions import WebDriverException
    from selenium.webdriver.chrome.service import Service

    profile = tempfile.mkdtemp(prefix="bookbuild-chromium-")
    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for flag in [*FLAGS, f"--user-data-dir={profile}"]:
        options.add_argument(flag)
    try:
        driver = webdriver.Chrome(options=options, service=Service(str(CHROMEDRIVER)))
    except WebDriverException as exc:
        shutil.rmtree(profile, ignore_errors=True)
        raise ReloadUnavailable(f"chromium did not start: {exc.msg or exc}") from None
    try:
        driver.set_page_load_timeout(60)
        driver.set_script_timeout(60)
        yield driver
    finally:
        driver.quit()
        shutil.rmtree(profile, ignore_errors=True)


class Served:
    """`bookbuild serve` for a book, as a subprocess: its URL once the first build is served, and its log."""

    def __init__(self, root: Path, port: int | None = None, timeout: float = 120):
        self.lines: list[str] = []
        self._url = threading.Event()
        self.url = ""
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "bookbuild.cli", "serve", "--book", str(root), "--port", str(port or 0)],
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
            env={**os.environ, "SOURCE_DATE_EPOCH": os.environ.get("SOURCE_DATE_EPOCH", EPOCH)})
        threading.Thread(target=self._read, daemon=True).start()
        if not self._url.wait(timeout) or not self.url:
            self.stop()
            raise RuntimeError(f"bookbuild serve did not serve {root} within {timeout:.0f} s:\n{self.log}")

    def _read(self) -> None:
        for line in self.proc.stderr:
            self.lines.append(line)
            found = SERVING.search(line)
            if found:
                self.url = found.group(1)
                self._url.set()
        self._url.set()  # ended: no URL is coming

    @property
    def log(self) -> str:
        return "".join(self.lines)

    def last_build(self) -> float | None:
        """Seconds of the last build, as serve's log gives them (to 0.1 s)."""
        times = [float(found.group(1)) for line in self.lines if (found := BUILT.search(line))]
        return times[-1] if times else None

    def stop(self) -> None:
        """Ctrl-C, as a person would stop it; killed if it does not end within 10 s."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()

    def __enter__(self) -> Served:
        return self

    def __exit__(self, *exc) -> None:
        self.stop()


def wait_for(driver, script: str, *args, timeout: float = 30, every: float = 0.02):
    """What `script` returns once it is true; polls every `every` s, riding out a reload."""
    from selenium.common.exceptions import WebDriverException

    deadline = time.perf_counter() + timeout
    while True:
        try:
            value = driver.execute_script(script, *args)
            if value:
                return value
        except WebDriverException:  # between two documents
            pass
        if time.perf_counter() > deadline:
            raise TimeoutError(f"the page did not get there within {timeout:.0f} s")
        time.sleep(every)


def measure_reload(root: Path, edit: Callable[[], None], expect: str, page: str, anchor: str | None = None,
                   port: int | None = None, timeout: float = 120) -> dict:
    """Seconds from `edit()` saving a source to `page` of the served site showing `expect`, scrolled
    back to where it was: `bookbuild serve` for the book at `root`, the page in headless Chromium
    with element `anchor` (default: the middle question or answer) scrolled to the top of the window.

    Returns {"seconds", "restored_id", "anchor", "top_before", "top_after", "build_seconds"}: the
    element the page restored (its marker), the anchor's distance from the top of the window
    before and after, and how long serve's rebuild took of the seconds.
    Raises ReloadUnavailable without a browser, TimeoutError when the reload does not come within
    `timeout` s (the serve log in the message), RuntimeError when serve does not start.
    """
    with browser() as driver, Served(root, port, timeout) as served:
        driver.get(served.url + page)
        wait_for(driver, "return document.readyState === 'complete'")
        anchor = anchor or driver.execute_script(MIDDLE_ID)
        if not anchor or not driver.execute_script("return !!document.getElementById(arguments[0])", anchor):
            raise ValueError(f"{page} has no element {anchor!r} to scroll to")
        driver.execute_script("document.getElementById(arguments[0]).scrollIntoView({block: 'start', "
                              "behavior: 'instant'})", anchor)
        top_before = driver.execute_script(TOP_OF, anchor)
        edit()
        saved = time.perf_counter()
        try:
            restored = wait_for(driver, RESTORED, expect, timeout=timeout)
        except TimeoutError:
            raise TimeoutError(f"{page} did not reload with {expect!r} within {timeout:.0f} s; "
                               f"bookbuild serve said:\n{served.log}") from None
        seconds = time.perf_counter() - saved
        top_after = driver.execute_script(TOP_OF, anchor)
    return {"seconds": seconds, "restored_id": restored, "anchor": anchor, "top_before": top_before,
            "top_after": top_after, "build_seconds": served.last_build()}


def edit_first_answer(book: Path, words: str) -> Callable[[], None]:
    """The edit bookbuild.bench times: `words` before the first answer of questions/topic-001.yaml."""
    path = book / "questions" / "topic-001.yaml"
    original = path.read_text(encoding="utf-8")

    def edit() -> None:
        path.write_text(original.replace("    answer: |\n      ", f"    answer: |\n      {words} ", 1),
                        encoding="utf-8")
    return edit


def html_build(book: Path) -> float:
    """Seconds of `bookbuild --book BOOK --format html`, as a person runs it."""
    started = time.perf_counter()
    done = subprocess.run([sys.executable, "-m", "bookbuild.cli", "--book", str(book), "--format", "html"],
                          capture_output=True, text=True, env={**os.environ, "SOURCE_DATE_EPOCH": EPOCH})
    seconds = time.perf_counter() - started
    if done.returncode != 0:
        raise RuntimeError(f"bookbuild --format html failed for {book}:\n{done.stderr[-2000:]}")
    return seconds


def measure(questions: int, repeats: int, work: Path) -> dict:
    """Save-to-reload and the HTML edit build of the same answer edit, `repeats` times each."""
    book = generate(work / f"book-{questions}", questions)
    source = book / "questions" / "topic-001.yaml"
    original = source.read_text(encoding="utf-8")
    html_build(book)
    builds, reloads = [], []
    for r in range(repeats):
        edit_first_answer(book, f"Edit {r}.")()
        builds.append(html_build(book))
        source.write_text(original, encoding="utf-8")  # serve starts from the book as it was
        words = f"Live edit {r}."
        reloads.append(measure_reload(book, edit_first_answer(book, words), words, "answers-sec-ch1.html"))
        source.write_text(original, encoding="utf-8")
    result = {"questions": questions, "repeats": repeats,
              "html_edit_build": statistics.median(builds),
              "save_to_reload": statistics.median(r["seconds"] for r in reloads),
              "runs": reloads}
    result["ratio"] = result["save_to_reload"] / result["html_edit_build"]
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bookbuild.bench_reload", description=__doc__.splitlines()[0])
    parser.add_argument("--questions", type=int, default=330, help="the synthetic book's size (default 330)")
    parser.add_argument("--repeats", type=int, default=3, help="timings of each kind; the median is shown")
    parser.add_argument("--keep", action="store_true", help="keep the generated book")
    args = parser.parse_args(argv)
    if args.questions < 1 or args.repeats < 1:
        parser.error("--questions and --repeats must be at least 1")
    try:
        require_browser()
    except ReloadUnavailable as exc:
        print(f"error: cannot measure the live reload: {exc}", file=sys.stderr)
        return 1
    work = Path(tempfile.mkdtemp(prefix="bookbuild-bench-reload-"))
    try:
        result = measure(args.questions, args.repeats, work)
    except (ReloadUnavailable, RuntimeError, TimeoutError) as exc:
        print(f"error: cannot measure the live reload: {exc}", file=sys.stderr)
        return 1
    finally:
        if args.keep:
            print(f"the book: {work}", file=sys.stderr)
        else:
            shutil.rmtree(work, ignore_errors=True)
    runs = result["runs"]
    print(f"{result['questions']} questions, median of {result['repeats']}:")
    each = ", ".join(f"{r['seconds']:.2f}" for r in runs)
    rebuilds = ", ".join(f"{r['build_seconds']}" for r in runs)
    print(f"  save-to-reload     {result['save_to_reload']:.2f} s  (each: {each}; serve's rebuild in them: {rebuilds})")
    print(f"  HTML edit build    {result['html_edit_build']:.2f} s")
    print(f"  ratio              {result['ratio']:.2f}  (target ≤ {TARGET})")
    moved = max(abs(r["top_after"] - r["top_before"]) for r in runs)
    print(f"  position restored  at {', '.join(sorted({r['restored_id'] for r in runs}))}, "
          f"within {moved:.1f} px")
    return 0


if __name__ == "__main__":
    sys.exit(main())
