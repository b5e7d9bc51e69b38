"""`bookbuild serve`: build the HTML site, serve it on 127.0.0.1, rebuild and reload on change.

The live-reload script is added to pages as they are served, never written into the site. A
page waits (a long poll) for a build newer than the one it was served from, and reloads where
the reader was: at the element with an id nearest the top of the window, not at a pixel offset.
Only a build that succeeded counts: a failed one leaves the open pages as they are.
"""

from __future__ import annotations

import http.server
import re
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable
from urllib.parse import parse_qs, urlsplit

from .errors import BookError
from .pipeline import BuildOptions, build

HOST = "127.0.0.1"  # never another interface: this is a preview, not a web server
VERSION_PATH = "/__bookbuild__/version"
LONG_POLL = 20.0  # seconds a page's request for the next build is held open before it asks again
WATCHED = ("book", "questions", "templates")

# The script waits for a build other than the page's own, then keeps, for the reload, the element
# of the page's text with an id at or just above the top of the window (the top counts down to its
# scroll-padding-top, where a link puts its target) and how far from the top it starts, and the
# others nearest the top (the first of them still on the page stands in for one the edit removed).
# After the reload it scrolls that element back to its place and marks the page with
# <html data-bookbuild-restored="<id>">. Only a reload it made restores (kept in sessionStorage for
# the page, and the navigation is a reload): a link or #hash the reader follows goes where it
# points. The browser's own restoring is off until the page is left (it would come after ours).
# Hidden tabs do not wait, as browsers give a host 6 connections; they ask again when shown.
RELOAD_SCRIPT = """<script>/* bookbuild serve: live reload */(function () {
  "use strict";
  var built = "@VERSION@", key = "bookbuild-serve:" + location.pathname, waiting = false, reloading = false;

  function places() {
    var text = document.querySelector("main") || document.body;
    return Array.prototype.filter.call(text.querySelectorAll("[id]"), function (el) {
      return document.getElementById(el.id) === el && el.getClientRects().length > 0;
    }).map(function (el) { return {id: el.id, top: el.getBoundingClientRect().top}; });
  }

  function reload() {
    var line = (parseFloat(getComputedStyle(document.documentElement).scrollPaddingTop) || 0) + 1;
    var all = places(), above = all.filter(function (p) { return p.top <= line; });
    var first = above.reduce(function (a, p) { return p.top > a.top + 1 ? p : a; }, above[0]);
    all.sort(function (a, b) { return Math.abs(a.top) - Math.abs(b.top); });
    try {
      sessionStorage.setItem(key, JSON.stringify((first ? [first] : []).concat(all.slice(0, 20))));
    } catch (e) { /* no storage: the page reloads at its top */ }
    reloading = true;
    history.scrollRestoration = "manual";  /* until the page is left: the browser's own comes after load */
    location.reload();
  }

  function restore() {
    var saved = null, nav = performance.getEntriesByType("navigation")[0];
    try {
      saved = JSON.parse(sessionStorage.getItem(key));
      sessionStorage.removeItem(key);
    } catch (e) { return; }
    if (!saved || !nav || nav.type !== "reload") return;
    for (var i = 0; i < saved.length; i++) {
      var el = document.getElementById(saved[i].id);
      if (el && el.getClientRects().length > 0) {
        window.scrollTo({top: window.scrollY + el.getBoundingClientRect().top - saved[i].top, behavior: "instant"});
        document.documentElement.dataset.bookbuildRestored = saved[i].id;
        return;
      }
    }
  }

  function wait() {
    if (waiting || document.hidden) return;
    waiting = true;
    fetch("@PATH@?after=" + built, {cache: "no-store"})
      .then(function (r) { return r.ok ? r.text() : Promise.reject(r.status); })
      .then(function (v) { waiting = false; if (v !== built) reload(); else wait(); },
            function () { waiting = false; setTimeout(wait, 1000); });
  }

  window.addEventListener("load", restore);
  window.addEventListener("pagehide", function () { if (!reloading) history.scrollRestoration = "auto"; });
  document.addEventListener("visibilitychange", wait);
  wait();
})();</script>
""".replace("@PATH@", VERSION_PATH)


@dataclass
class LiveSite:
    """The folder being served and the number of successful builds so far (what pages wait on)."""

    folder: Path
    version: int = 0
    changed: threading.Condition = field(default_factory=threading.Condition)

    def bump(self) -> None:
        with self.changed:
            self.version += 1
            self.changed.notify_all()

    def wait(self, seen: str, timeout: float) -> int:
        """The version as soon as it is not `seen` (the one a page was served with), or after `timeout` s."""
        with self.changed:
            self.changed.wait_for(lambda: str(self.version) != seen, timeout)
            return self.version


def inject_reload(page: bytes, version: int = 0) -> bytes:
    """The page, served from build `version`, with the live-reload script before `</body>` (or at its end)."""
    script = RELOAD_SCRIPT.replace("@VERSION@", str(version)).encode("utf-8")
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
            url = urlsplit(self.path)
            if url.path == VERSION_PATH:  # ?after=N: held until a build other than N (a long poll)
                after = parse_qs(url.query).get("after")
                version = site.wait(after[0], LONG_POLL) if after else site.version
                return self._send(str(version).encode(), "text/plain; charset=utf-8")
            path = Path(self.translate_path(self.path))
            if path.is_dir() and url.path.endswith("/"):
                path = path / "index.html"
            if path.suffix == ".html" and path.is_file():
                version = site.version  # before the page: a build that ends in between reloads it again
                try:
                    page = path.read_bytes()
                except OSError:  # the site folder is being swapped for a new build
                    return self.send_error(503, "rebuilding; reload in a moment")
                return self._send(inject_reload(page, version), "text/html; charset=utf-8")
            return super().do_GET()

        def _send(self, body: bytes, content_type: str) -> None:
            try:
                self.send_response(200)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)
            except ConnectionError:  # the tab was closed or reloaded while its request waited
                pass

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
