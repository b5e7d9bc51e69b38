"""A build neither leaks nor fetches, survives being killed, and never hangs on a converter."""

from __future__ import annotations

import http.server
import os
import signal
import subprocess
import sys
import threading
import time
import zipfile
from pathlib import Path

import pytest

from bookbuild.errors import BookError
from bookbuild.pipeline import BuildOptions, build
from conftest import EPOCH, ROOT

SECRET = "TOP-SECRET-7f3a9c"


class _Recorder(http.server.BaseHTTPRequestHandler):
    requests: list[str] = []

    def do_GET(self):  # noqa: N802 (the stdlib's name)
        _Recorder.requests.append(self.path)
        self.send_response(200)
        self.send_header("Content-Type", "image/png")
        self.end_headers()
        self.wfile.write(SECRET.encode())

    def log_message(self, *args):
        pass


@pytest.fixture
def server():
    _Recorder.requests = []
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Recorder)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()


def outputs_text(folder: Path) -> str:
    """Every byte of every output, zip members unpacked, as text."""
    chunks = []
    for path in sorted(folder.rglob("*")):
        if not path.is_file():
            continue
        data = path.read_bytes()
        chunks.append(data.decode("latin-1"))
        if path.suffix == ".epub":
            with zipfile.ZipFile(path) as z:
                chunks.extend(z.read(n).decode("latin-1") for n in z.namelist())
    return "\n".join(chunks)


def test_sources_can_neither_fetch_nor_leak(mini, server, tmp_path):
    secret = mini.parent / "secret.txt"
    secret.write_text(SECRET)
    (mini / "book/images/secret-link.svg").symlink_to(secret)
    hostile = f"""

## Attempts {{#sec:attempts}}

<img src="{server}/raw-img.png"> <img src="file://{secret}">
<iframe src="{server}/frame"></iframe><script src="{server}/script.js"></script>
<link rel="stylesheet" href="{server}/style.css"><style>@import url("{server}/import.css");</style>
<object data="file://{secret}"></object>

```{{=html}}
<img src="{server}/rawblock.png">
```

```{{=latex}}
\\input{{{secret}}}
```

\\input{{{secret}}} \\include{{{secret}}}

A [link to the server]({server}/link) is only a link; [file](file://{secret}) and [js](javascript:alert(1)) are removed.
"""
    chapter = mini / "book/chapters/intro.md"
    chapter.write_text(chapter.read_text() + hostile)
    os.environ["SOURCE_DATE_EPOCH"] = EPOCH
    result = build(BuildOptions(root=mini, out=tmp_path / "out"))
    warnings = "\n".join(str(d) for d in result.report.warnings)
    assert "raw HTML <script>" in warnings and "intro.md:" in warnings
    text = outputs_text(tmp_path / "out")
    assert SECRET not in text
    own = '<script type="text/javascript" src="site.js" defer="defer"></script>'  # the site's own (templates/)
    assert "<script" not in text.replace(own, "")  # no script from the book
    assert "javascript:" not in text
    assert _Recorder.requests == []

    # every way of pointing an image at the secret or the server is refused outright
    for url in (f"{server}/img.png", f"//127.0.0.1/{secret.name}", str(secret), "../../../secret.txt",
                "../images/secret-link.svg"):
        (mini / "book/chapters/intro.md").write_text(f"# Intro {{#sec:intro}}\n\n![x]({url})\n\n@sec:how @fig:dot @tbl:sizes\n")
        with pytest.raises(BookError) as info:
            build(BuildOptions(root=mini, out=tmp_path / "refused"))
        messages = [str(d) for d in info.value.report.errors]
        assert any("intro.md:3:1: error:" in m for m in messages), messages
    assert not (tmp_path / "refused").exists()
    assert _Recorder.requests == []


def test_hung_converter_is_a_clear_error(mini, tmp_path, monkeypatch):
    import bookbuild.pandoc as pandoc
    fake = tmp_path / "pandoc"
    fake.write_text("#!/bin/sh\nsleep 30\n")
    fake.chmod(0o755)
    monkeypatch.setattr(pandoc, "pandoc_path", lambda: str(fake))
    monkeypatch.setattr(pandoc, "TIMEOUT", 1)
    started = time.monotonic()
    with pytest.raises(BookError) as info:
        build(BuildOptions(root=mini, formats=("html",)))
    assert "did not finish reading this chapter within 1 s" in info.value.message
    # the error names the chapter pandoc was reading, as every diagnostic does
    assert [d.pos.path.endswith(".md") for d in info.value.report.errors] == [True], info.value.report.items
    assert time.monotonic() - started < 20


def _snapshot(folder: Path) -> dict[str, bytes]:
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


@pytest.mark.slow
def test_killed_build_leaves_whole_outputs(mini):
    env = {**os.environ, "SOURCE_DATE_EPOCH": EPOCH}
    cmd = [sys.executable, str(ROOT / "build.py"), "--book", str(mini)]
    subprocess.run(cmd, env=env, check=True, capture_output=True, timeout=300)
    dist = mini / "dist" / "release"
    versions = [_snapshot(dist)]
    stats = mini / "questions/stats.yaml"
    for n, delay in enumerate((0.4, 0.9, 1.4, 1.9, 2.6)):
        stats.write_text(stats.read_text().replace("Think of", f"Think ({n}) of"))
        proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(delay)
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        # run the next build's start-up recovery, then look: each output is one whole version
        from bookbuild.output import recover_folder
        recover_folder(dist / "html")
        now = _snapshot(dist)
        html_now = {k: v for k, v in now.items() if k.startswith("html/")}
        # the same book always makes the same pages: a whole site has every one of them
        assert set(html_now) == {k for k in versions[0] if k.startswith("html/")}, f"half a site after a kill at {delay}s"
        for name in ("mini-book.epub", "mini-book.pdf"):
            data = now[name]
            assert any(data == old.get(name) for old in versions) or _whole(name, dist / name), name
        leftovers = [p.name for p in dist.iterdir() if "-part-" in p.name or "-new-" in p.name]
        # a killed build may leave scratch files; they never replace an output and the next build removes them
        assert all(not (dist / name).is_dir() or name.startswith("html-new-") for name in leftovers)
        versions.append(now)
    done = subprocess.run(cmd, env=env, capture_output=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert not [p.name for p in dist.iterdir() if "-new-" in p.name or "-old-" in p.name]


def _whole(name: str, path: Path) -> bool:
    data = path.read_bytes()
    if name.endswith(".epub"):
        with zipfile.ZipFile(path) as z:
            return z.testzip() is None
    return data.startswith(b"%PDF") and data.rstrip().endswith(b"%%EOF")


def test_a_cache_that_comes_with_the_book_is_not_trusted(mini):
    """Cached objects and the outputs record are signed with this user's key: forged ones are rebuilt."""
    from bookbuild.cache import Cache

    os.environ["SOURCE_DATE_EPOCH"] = EPOCH
    build(BuildOptions(root=mini, formats=("html",)))
    page = mini / "dist" / "release" / "html" / "sec-basics.html"
    assert "alert(1)" not in page.read_text()
    objects = [p for p in (mini / ".bookbuild-cache" / "objects").rglob("*") if p.is_file()]
    assert objects
    for path in objects:  # what a book could ship: the right keys, the signature copied, the text changed
        mac, _, text = path.read_text().partition("\n")
        path.write_text(mac + "\n" + text.replace("Basics", "<script>alert(1)</script>Basics"))
    record = mini / ".bookbuild-cache" / "outputs.json"
    mac, _, text = record.read_text().partition("\n")
    record.write_text("0" * 64 + "\n" + text)
    page.write_text("<p>shipped with the book</p>")
    assert Cache(mini).get("anything") is None
    assert not Cache(mini).fresh([page], "any key")
    build(BuildOptions(root=mini, formats=("html",)))
    assert "alert(1)" not in page.read_text()  # not even as text: the forged objects were not read
    assert "shipped with the book" not in page.read_text()
    assert "Basics" in page.read_text()


# --- limits on what book text makes the converters do (issue 22) ---

def test_pandoc_failure_is_one_sentence_at_the_file_it_wrote():
    from bookbuild.pandoc import run_pandoc
    with pytest.raises(BookError) as info:
        run_pandoc(["-f", "markdown", "-t", "chunkedhtml", "-o", "/proc/nope/site"], "Hello.")
    message = info.value.message
    assert "\n" not in message and "HasCallStack" not in message and "ghc-internal" not in message
    assert message.startswith("pandoc failed to convert the book: /proc/nope: createDirectory"), message
    assert [str(d.pos.path) for d in info.value.report.errors] == ["/proc/nope/site"]


def test_an_output_folder_that_cannot_be_made_is_one_error(mini, monkeypatch):
    monkeypatch.setenv("SOURCE_DATE_EPOCH", EPOCH)
    with pytest.raises(BookError) as info:
        build(BuildOptions(root=mini, formats=("html",), out=Path("/proc/nope")))
    assert [str(d) for d in info.value.report.errors] == \
        ["/proc/nope/release:1:1: error: cannot make the output folder: No such file or directory"]


def test_book_templates_are_bounded_in_time_and_output(mini, monkeypatch):
    import bookbuild.templating as templating
    from bookbuild.pipeline import check
    questions = (mini / "templates")
    questions.mkdir(exist_ok=True)
    body = (ROOT / "templates" / "questions.md.j2").read_text()

    def errors(first_line: str) -> list:
        (questions / "questions.md.j2").write_text(first_line + "\n" + body)
        started = time.monotonic()
        _, report = check(mini)
        assert time.monotonic() - started < 10
        assert len(report.errors) == 1 and report.errors[0].pos.path.endswith("templates/questions.md.j2")
        return report.errors
    # loops in loops: their steps are counted
    [error] = errors("{% for a in range(99999) %}{% for b in range(99999) %}{% endfor %}{% endfor %}")
    assert error.pos.line == 1 and error.message.startswith("template stopped: the template's loops and range() "
                                                            "took more than 1,000,000 steps")
    # the time, which the book's blocks share
    monkeypatch.setattr(templating, "MAX_SECONDS", 0.5)
    [error] = errors("{% for a in range(99999) %}{{ ('x' * 999999)|length }}{% endfor %}")
    assert error.pos.line == 1 and error.message == "template stopped: the book's templates ran for more than 0.5 s"
    # the output: a block writes little more than the book text it places
    monkeypatch.setattr(templating, "MAX_SECONDS", 20.0)
    [error] = errors("\n{% for a in range(99999) %}xxxxxxxxxxxxxxxxxxxx{% endfor %}")
    assert error.pos.line == 2 and error.message.startswith("template stopped: the template wrote more than 1 MB")
    monkeypatch.setattr(templating, "MAX_OUTPUT", 1000)
    [error] = errors("\n{% for a in range(9999) %}xxxxxxxxxx{% endfor %}")
    assert error.pos.line == 2 and error.message == "template stopped: the template wrote more than 1,000 characters"
    [error] = errors("{{ lipsum(10000) }}")  # pages of placeholder text: not there
    assert error.message == "template error: 'lipsum' is undefined"


def test_typesetting_a_formula_is_bounded_in_time(monkeypatch):
    import bookbuild.formulas as formulas
    monkeypatch.setattr(formulas, "TYPESET_SECONDS", 0.5)
    started = time.monotonic()
    assert formulas._typeset("{" * 18 + "x" + "}" * 18, False) is None  # minutes without the limit
    assert time.monotonic() - started < 5
    assert formulas._typeset("x^2", False) is not None


def test_a_lone_less_than_sign_reads_the_same_escaped():
    """`x < y` is given to pandoc as `x \\< y`: the same text, without a search for a tag's end."""
    from bookbuild.markdown import escape_lone_lt
    from bookbuild.pandoc import run_pandoc
    text = ("If x < y and y <= z, then `a < b` and $a < b$ stay; <b>tags</b>, <!-- notes --> and "
            "<https://example.org> too.\n\n    code < here\n\n[a]{title=\"1 < 2\"} < end\n")
    escaped = escape_lone_lt(text)
    assert escaped.count("\\<") == 3 and "`a < b`" in escaped and "$a < b$" in escaped
    args = ["-f", "markdown", "-t", "json"]
    assert run_pandoc(args, escaped) == run_pandoc(args, text)


@pytest.mark.slow
def test_what_check_accepts_pandoc_reads_in_linear_time(tmp_path):
    """Text as dense as check allows in what made pandoc's time explode (links, tags, quotes,
    emphasis, brackets, a lone '<'), 200 KB each: read in about the time of plain prose."""
    import textwrap
    from bookbuild.errors import Pos
    from bookbuild.markdown import escape_lone_lt, scan
    from bookbuild.pandoc import run_pandoc
    words = "lorem ipsum dolor sit amet consectetur adipiscing elit sed do eiusmod tempor "

    def dense(unit: str) -> str:
        para = textwrap.fill((unit + " " + words) * 40, 79)
        return (para + "\n\n") * (200_000 // len(para))
    texts = {"prose": dense("plain"), "links": dense("[a](https://e.org/b(c)d)"), "less-than": dense("x < y"),
             "tags": dense("word") + "<b>x</b>\n" * 1000, "quotes": dense("'a'"), "open-quote": dense("'90s"),
             "emphasis": dense("*a* _b_ ~~c~~ H~2~O x^2^"), "brackets": dense("[[a] b]"), "spans": dense("[a]{.b}")}
    times = {}
    for name, text in texts.items():
        assert not [p for p in scan(text, Pos("x.md")).problems if p[1] == "error"], name
        started = time.monotonic()
        run_pandoc(["-f", "markdown-yaml_metadata_block", "-t", "json"], escape_lone_lt(text))
        times[name] = time.monotonic() - started
    assert all(t < 5 * times["prose"] + 2 for t in times.values()), times


def test_check_takes_long_chapters_of_ordinary_text():
    """The time budgets add up over a chapter without refusing ordinary text: 2 MB of paragraphs,
    each with an emphasis mark and a quote left open, a lone '<' and brackets."""
    from bookbuild.errors import Pos
    from bookbuild.markdown import scan
    text = "Some *emphasis*, x^2^, H~2~O, [a link](https://e.org) [1], x < y, *one left open, the '90s.\n\n" * 22000
    assert [p for p in scan(text, Pos("x.md")).problems if p[1] == "error"] == []


def test_pdf_warnings_name_the_image_and_its_line(tmp_path):
    """What WeasyPrint says of an image names its file, not the data: URI the PDF embeds it as, and
    knows the line that shows it (errors.Located): in its question's text, else its chapter."""
    import shutil

    import panflute as pf

    from bookbuild.builders.pdf import Places, embed_images, layout_message
    from bookbuild.load import load_book
    root = tmp_path / "book"
    shutil.copytree(ROOT / "tests" / "corpus" / "114-svg-refers-outside-itself", root)  # an image on line 10
    book, _ = load_book(root)
    image = pf.Image(pf.Str("Styled."), url="book/images/style.svg")
    question = pf.Div(pf.Para(pf.Image(url="book/images/dot.svg")), attributes={"data-qid": "first"})
    doc = pf.Doc(pf.Header(pf.Str("Introduction"), level=2, attributes={"data-file": "intro.md"}),
                 pf.Para(image), question)
    found: dict = {}
    embed_images(doc, root, Places(book), found)
    assert image.url.startswith("data:image/svg+xml;base64,")
    message = layout_message(f"Failed to load image at '{image.url}': ", found)
    assert message == "PDF layout: Failed to load image at 'book/images/style.svg'"
    assert (message.pos.path, message.pos.line, message.pos.col) == (str(root / "book/chapters/intro.md"), 10, 36)
    # the dot is in no question's text: its chapter shows it (at line 5)
    [dot] = [where for url, where in found.values() if url == "book/images/dot.svg"]
    assert dot.line == 5
    other = layout_message("Failed to load image at 'data:image/png;base64," + "A" * 10_000 + "': broken", found)
    assert other == "PDF layout: Failed to load image at 'data:image/png;base64," + "A" * 18 + "...': broken"
    assert not hasattr(other, "pos")


@pytest.mark.parametrize("name", ["mini-book.pdf", "pagemap.json", "mini-book.epub"])
def test_a_folder_where_an_output_goes_is_an_error_before_the_work(mini, monkeypatch, name):
    monkeypatch.setenv("SOURCE_DATE_EPOCH", EPOCH)
    folder = mini / "dist" / "release" / name
    folder.mkdir(parents=True)
    with pytest.raises(BookError) as info:
        build(BuildOptions(root=mini, formats=("pdf", "epub")))
    assert [str(d) for d in info.value.report.errors] == \
        [f"{folder}:1:1: error: a folder is where the build writes this file: remove it"]
    assert not (mini / "dist" / "release" / "mini-book.epub").is_file()


def test_book_templates_make_no_value_too_large(monkeypatch, tmp_path):
    """A value a template makes is bounded however it is made (else it could double at each step
    until memory runs out): by `~`, `+`, a str method or a filter, checked before the work where
    it could be far larger than what it is given (replace, join, format, padding)."""
    import bookbuild.templating as templating
    monkeypatch.setattr(templating, "MAX_VALUE", 1000)
    env = templating.markdown_env(tmp_path)
    refused = ["{{ ('x' * 600) ~ ('y' * 600) }}", "{{ ('x' * 600) + ('y' * 600) }}",
               "{{ ('x' * 100).replace('x', 'y' * 20) }}", "{{ ('x' * 100)|replace('x', 'y' * 20) }}",
               "{{ ['x' * 600, 'y' * 600]|join }}", "{{ ','.join(['x' * 600, 'y' * 600]) }}", "{{ 'x'.center(5000) }}",
               "{{ '{:99999999}'.format(1) }}", "{{ [1]|batch(5000, 0)|list }}",
               "{% set ns = namespace(a='x' * 999) %}{% for i in range(40) %}{% set ns.a = ns.a ~ ns.a %}{% endfor %}"]
    for source in refused:
        with pytest.raises(templating.TemplateFailure) as info:
            env.from_string(source).render()
        assert "template stopped:" in str(info.value), source
    fine = {"{{ 'a' ~ 'b' ~ 3 }}": "ab3", "{{ (range(100)|join(','))|length }}": "289", "{{ 123456789012|abs }}":
            "123456789012", "{{ ('x' * 600).count('x') }}": "600", "{{ '%s-%s'|format(1, 2) }}": "1-2"}
    assert {source: env.from_string(source).render() for source in fine} == fine
    html = templating.html_env(tmp_path)  # `~` still escapes under autoescape
    assert html.from_string("{{ '<c>' ~ 'd' }}").render() == "&lt;c&gt;d"
