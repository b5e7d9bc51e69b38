"""`bookbuild serve`: build the HTML site, serve it on 127.0.0.1, rebuild and reload on change.

The live-reload script is added to pages as they are served, never written into the site:
it polls a version number that goes up after every rebuild and reloads the page when it does.
"""

from __future__ import annotations

import http.server
import re
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable
from urllib.parse import urlsplit

from .errors import BookError
from .pipeline import BuildOptions, build

HOST = "127.0.0.1"  # never another interface: this is a preview, not a web server
VERSION_PATH = "/__bookbuild__/version"
WATCHED = ("book", "questions", "templates")
RELOAD_SCRIPT = (
    "<script>/* bookbuild serve: live reload */(function () {\n"
    "  var seen = null;\n"
    "  function poll() {\n"
    f"    fetch('{VERSION_PATH}', {{cache: 'no-store'}}).then(function (r) {{ return r.text(); }})\n"
    "      .then(function (v) { if (seen !== null && v !== seen) location.reload(); seen = v; })\n"
    "      .catch(function () {}).then(function () { setTimeout(poll, 700); });\n"
    "  }\n"
    "  poll();\n"
    "})();</script>\n"
)


@dataclass
class LiveSite:
    """The folder being served and the number of builds so far (what pages poll)."""

    folder: Path
    version: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)

    def bump(self) -> None:
        with self.lock:
            self.version += 1


def inject_reload(page: bytes) -> bytes:
    """The page with the live-reload script before `</body>` (or at its end)."""
    script = RELOAD_SCRIPT.encode("utf-8")
    at = page.rfind(b"</body>")
    return page[:at] + script + page[at:] if at >= 0 else page + script


def handler_for(site: LiveSite) -> type[http.server.SimpleHTTPRequestHandler]:
    class Handler(http.server.SimpleHTTPRequestHandler):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, directory=str(site.folder), **kwargs)

        def end_headers(self):
            self.send_header("Cache-Control", "no-store")
            super().end_headers()

        def do_GET(self):
            url_path = urlsplit(self.path).path
            if url_path == VERSION_PATH:
                return self._send(str(site.version).encode(), "text/plain; charset=utf-8")
            path = Path(self.translate_path(self.path))
            if path.is_dir() and url_path.endswith("/"):
                path = path / "index.html"
            if path.suffix == ".html" and path.is_file():
                try:
                    page = path.read_bytes()
                except OSError:  # the site folder is being swapped for a new build
                    return self.send_error(503, "rebuilding; reload in a moment")
                return self._send(inject_reload(page), "text/html; charset=utf-8")
            return super().do_GET()

        def _send(self, body: bytes, content_type: str) -> None:
            self.send_response(200)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format, *args):  # noqa: A002 - the stdlib's name
            pass  # one line per request drowns the rebuild messages

    return Handler


def watched_paths(root: Path) -> list[Path]:
    return [root / name for name in WATCHED if (root / name).is_dir()]


# files editors write beside the one being saved, and remove (or keep) afterwards: a change to one
# is no change to the book (and a rebuild started by one may find it gone)
_EDITOR_TEMP = re.compile(
    r"\.sw[a-z]$"            # vim's swap files: .x.md.swp, .swo, .swx...
    r"|^\d+$"                # vim's probe that the folder is writable: 4913 (then 5036...)
    r"|~$"                   # vim's and emacs's backups: x.md~
    r"|^\.#|^#.*#$"          # emacs's lock (.#x.md) and auto-save (#x.md#) files
    r"|___jb_(?:tmp|old|bak)___$"  # JetBrains' safe write: x.md___jb_tmp___
    r"|^\.goutputstream-"    # GNOME (gedit, GIO's safe write)
    r"|^\.~lock\.|\.kate-swp$|\.(?:tmp|temp|bak|crdownload|part)$"
    r"|^\.DS_Store$|^Thumbs\.db$|^desktop\.ini$",
    re.IGNORECASE)


class SourceFilter:
    """watchfiles' `watch_filter` for `serve`: whether a changed path is a source of the book, not
    an editor's temporary file, nor anything in a hidden folder (.git) or a cache."""

    def __init__(self, root: Path):
        self.roots = (root, root.absolute())

    def __call__(self, change, path: str) -> bool:
        target = Path(path)
        if _EDITOR_TEMP.search(target.name):
            return False
        for root in self.roots:
            if target.is_relative_to(root):
                folders = target.relative_to(root).parts[:-1]
                return not any(part.startswith(".") or part == "__pycache__" for part in folders)
        return True


def build_site(options: BuildOptions, log: Callable[[str], None]) -> None:
    """Build the HTML site once, logging its warnings; raises BookError when the book has errors."""
    started = time.monotonic()
    result = build(options)
    for d in result.report.sorted():
        log(str(d))
    log(f"built the site in {time.monotonic() - started:.1f} s")


def rebuild(options: BuildOptions, log: Callable[[str], None]) -> bool:
    """Build the site again after a change; on errors log them and keep the old site. True when built."""
    try:
        build_site(options, log)
    except BookError as exc:
        for d in exc.report.sorted():
            log(str(d))
        if not exc.report.items:
            log(f"error: {exc.message}")
        log("the site was not rebuilt: fix the errors above and save again")
        return False
    return True


def serve(options: BuildOptions, port: int, log: Callable[[str], None]) -> None:
    """Build, serve on 127.0.0.1:`port` (0: any free port), rebuild on change; returns on Ctrl-C.

    A book that does not build at the start is an error (BookError), as it is for `build`."""
    import watchfiles

    options.formats = ("html",)
    site = LiveSite((options.out or options.root / "dist") / options.edition / "html")
    server = None
    try:
        build_site(options, log)
        server = http.server.ThreadingHTTPServer((HOST, port), handler_for(site))
        server.daemon_threads = True
        threading.Thread(target=server.serve_forever, name="bookbuild-serve", daemon=True).start()
        log(f"serving http://{HOST}:{server.server_address[1]}/ (Ctrl-C to stop)")
        for changes in watchfiles.watch(*watched_paths(options.root), watch_filter=SourceFilter(options.root)):
            names = sorted({Path(p).name for _, p in changes})
            log(f"changed: {', '.join(names[:5])}{' ...' if len(names) > 5 else ''}")
            if rebuild(options, log):
                site.bump()
    except KeyboardInterrupt:
        pass  # Ctrl-C during a build: the builders leave the previous site whole
    finally:
        if server is not None:
            server.shutdown()
            server.server_close()
            log("stopped")
