"""Running the pandoc that ships inside pypandoc-binary (it is not on PATH)."""

from __future__ import annotations

import functools
import os
import signal
import subprocess

import pypandoc

from .errors import BookError

TIMEOUT = 300  # seconds; a hung converter becomes a clear error, never a stuck build
# pandoc's own default asks its runtime for a 64 MB heap at once; 8 MB is ~15 % faster on a whole
# book and peaks 10-20 MB lower (measured on a 330-question book: HTML, EPUB and the PDF's HTML)
RTS = ["+RTS", "-H8m", "-RTS"]


@functools.cache
def pandoc_path() -> str:
    return pypandoc.get_pandoc_path()


def run_pandoc(args: list[str], text: str | None = None, *, cwd: str | None = None,
               timeout: float | None = None, env: dict | None = None) -> str:
    """Run pandoc with `args`, `text` on stdin; its stdout, or a BookError saying what failed."""
    limit = timeout or TIMEOUT
    # its own process group, so that a timeout ends everything it started
    proc = subprocess.Popen([pandoc_path(), *RTS, *args], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, encoding="utf-8", cwd=cwd,
                            env={**os.environ, **(env or {})}, start_new_session=True)
    try:
        out, err = proc.communicate(text, timeout=limit)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.communicate()
        raise BookError(f"pandoc did not finish within {limit:.0f} s ({' '.join(args[:4])} ...); "
                        "the input may be pathological") from None
    except BaseException:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
        raise
    if proc.returncode != 0:
        raise BookError(f"pandoc failed ({' '.join(args[:4])} ...): {err.strip()[:2000]}")
    return out
