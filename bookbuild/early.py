"""A worker process forked as early as can be, to import WeasyPrint while the book is read.

Importing WeasyPrint takes ~0.5 s of the ~2 s a practice sheet takes; this module imports
nothing heavy so that the command line can fork the worker before it imports the rest.
"""

from __future__ import annotations

import multiprocessing
import os
from pathlib import Path


class EarlyRenderer:
    """A process forked before the book is read: it imports WeasyPrint (~0.6 s) while this one
    reads the book, then lays out the longer PDF (the key) while this one lays out the sheet.

    Forked first, before this process starts any thread or pandoc; with one core, or when the
    fork fails, there is none and everything is laid out here.
    """

    def __init__(self, process, conn):
        self.process, self.conn, self.used = process, conn, False

    @classmethod
    def start(cls) -> EarlyRenderer | None:
        if (os.cpu_count() or 1) < 2 or not hasattr(os, "fork"):
            return None
        try:
            context = multiprocessing.get_context("fork")
            parent, child = context.Pipe()
            process = context.Process(target=_early_worker, args=(child,), daemon=True)
            process.start()
        except (OSError, ValueError):
            return None
        child.close()
        return cls(process, parent)

    def render(self, html: str, identifier: bytes, root: Path) -> None:
        self.used = True
        self.conn.send((html, identifier, root))

    def result(self) -> tuple[bytes, list[str]] | None:
        """The PDF and WeasyPrint's complaints; None when the worker failed (lay it out here)."""
        try:
            reply = self.conn.recv()
        except (EOFError, OSError):
            return None
        return reply if isinstance(reply, tuple) else None

    def close(self) -> None:
        if not self.used:  # nothing to lay out (the command failed first): no need to wait
            self.process.kill()
        try:
            self.conn.send(None)
        except (OSError, ValueError):
            pass
        self.conn.close()
        self.process.join(timeout=5)
        if self.process.is_alive():
            self.process.kill()
            self.process.join()


def _early_worker(conn) -> None:
    try:
        from .formulas import reuse_svg_drawings, use_cache
        from .weasy import pdf_bytes
        reuse_svg_drawings()  # imports WeasyPrint: the point of starting early
        job = conn.recv()
        if job is None:
            return
        html, identifier, root = job
        use_cache(root)
        conn.send(pdf_bytes(html, identifier))
    except (EOFError, KeyboardInterrupt):
        return
    except Exception as exc:  # reported by laying the PDF out again in the main process
        try:
            conn.send(f"{type(exc).__name__}: {exc}")
        except OSError:
            pass
