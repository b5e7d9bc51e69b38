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
    assert "did not finish within 1 s" in info.value.message
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
