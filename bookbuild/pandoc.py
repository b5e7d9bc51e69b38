"""Running the pandoc that ships inside pypandoc-binary (it is not on PATH)."""

from __future__ import annotations

import functools
import os
import subprocess

import pypandoc

from .errors import BookError

TIMEOUT = 300  # seconds; a hung converter becomes a clear error, never a stuck build


@functools.cache
def pandoc_path() -> str:
    return pypandoc.get_pandoc_path()


def run_pandoc(args: list[str], text: str | None = None, *, cwd: str | None = None,
               timeout: float = TIMEOUT, env: dict | None = None) -> str:
    """Run pandoc with `args`, `text` on stdin; its stdout, or a BookError saying what failed."""
    full_env = {**os.environ, **(env or {})}
    try:
        done = subprocess.run([pandoc_path(), *args], input=text, capture_output=True, text=True,
                              encoding="utf-8", cwd=cwd, timeout=timeout, env=full_env)
    except subprocess.TimeoutExpired:
        raise BookError(f"pandoc did not finish within {timeout:.0f} s ({' '.join(args[:4])} ...); "
                        "the input may be pathological") from None
    if done.returncode != 0:
        raise BookError(f"pandoc failed ({' '.join(args[:4])} ...): {done.stderr.strip()[:2000]}")
    return done.stdout
