"""Running the pandoc that ships inside pypandoc-binary (it is not on PATH)."""

from __future__ import annotations

import functools
import os
import select
import signal
import subprocess
import tempfile

import pypandoc

from .errors import BookError, Diagnostic, Pos, Report

TIMEOUT = 300  # seconds; a hung converter becomes a clear error, never a stuck build
# pandoc's own default asks its runtime for a 64 MB heap at once; 8 MB is ~15 % faster on a whole
# book and peaks 10-20 MB lower (measured on a 330-question book: HTML, EPUB and the PDF's HTML)
RTS = ["+RTS", "-H8m", "-RTS"]


@functools.cache
def pandoc_path() -> str:
    return pypandoc.get_pandoc_path()


def pandoc_message(stderr: str) -> str:
    """pandoc's complaint as one sentence: what it said before its Haskell call stack, on one line."""
    kept = []
    for line in stderr.replace("\r", "").split("\n"):
        if line.strip().startswith(("HasCallStack backtrace", "CallStack (from HasCallStack)")):
            break
        if line.strip() and not line.lstrip().startswith("[WARNING]"):
            kept.append(line.strip())
    text = " ".join(kept).removeprefix("pandoc: ").strip() or "no reason given"
    return text if len(text) <= 300 else text[:300] + "..."


def _failure(args: list[str], where: Pos | None, message: str) -> BookError:
    """A BookError at `where` (the source pandoc was reading), else at the file it was writing."""
    if where is None and "-o" in args[:-1]:
        where = Pos(args[args.index("-o") + 1])
    report = Report([Diagnostic(where, message)]) if where is not None else None
    return BookError(message, report)


def run_pandoc(args: list[str], text: str | None = None, *, cwd: str | None = None,
               timeout: float | None = None, env: dict | None = None, where: Pos | None = None,
               what: str = "") -> str:
    """Run pandoc with `args`, `text` on stdin; its stdout, or a BookError saying what failed.

    `where`: the source the text comes from, named by the error; `what`: what pandoc was doing,
    for the message ("reading this chapter").

    Input and output go through unnamed temporary files, not pipes: feeding a pipe takes a
    Python loop of 4 KB writes, each waiting for the interpreter lock, and while another thread
    computes (the builders run side by side) a whole book's JSON took pandoc twice as long to get.
    """
    limit = min(timeout, TIMEOUT) if timeout else TIMEOUT  # a caller may ask for less time, not more
    with tempfile.TemporaryFile() as stdin, tempfile.TemporaryFile() as stdout, \
            tempfile.TemporaryFile() as stderr:
        if text:
            try:
                stdin.write(text.encode("utf-8"))
            except UnicodeEncodeError as exc:  # a lone surrogate: check refuses those it can see
                raise _failure(args, where, f"the text for pandoc holds U+{ord(exc.object[exc.start]):04X}, half "
                               "of a UTF-16 surrogate pair, which it cannot read") from None
            stdin.seek(0)
        # its own process group, so that a timeout ends everything it started
        proc = subprocess.Popen([pandoc_path(), *RTS, *args], stdin=stdin, stdout=stdout, stderr=stderr,
                                cwd=cwd, env={**os.environ, **(env or {})}, start_new_session=True)
        try:
            _wait(proc, limit)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
            raise _failure(args, where, f"pandoc did not finish {what or 'its work'} within {limit:.0f} s: "
                           "something in the text makes it too slow (a long run of unclosed links, brackets "
                           "or tags?)") from None
        except BaseException:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
            raise
        if proc.returncode != 0:
            stderr.seek(0)
            err = stderr.read().decode("utf-8", errors="replace")
            raise _failure(args, where, f"pandoc failed {what or 'to convert the book'}: {pandoc_message(err)}")
        stdout.seek(0)
        # as a text-mode pipe reads it: universal newlines
        return stdout.read().decode("utf-8").replace("\r\n", "\n").replace("\r", "\n")


def _wait(proc: subprocess.Popen, limit: float) -> None:
    """Wait for `proc` to end, at most `limit` seconds. `Popen.wait` with a timeout polls, sleeping
    up to 50 ms between looks: each pandoc run would end that much late. A pidfd is readable the
    moment the process ends (Linux); elsewhere, the poll."""
    try:
        fd = os.pidfd_open(proc.pid)
    except (AttributeError, OSError):
        proc.wait(timeout=limit)
        return
    try:
        ready, _, _ = select.select([fd], [], [], limit)
    finally:
        os.close(fd)
    if not ready:
        raise subprocess.TimeoutExpired(proc.args, limit)
    proc.wait()
