"""Writing outputs so that a failed or killed build leaves the previous ones whole."""

from __future__ import annotations

import ctypes
import gc
import os
import shutil
from pathlib import Path


def write_atomic(path: Path, data: bytes | str) -> None:
    """Write `path` beside itself, then move it in with one rename."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f"{path.name}.part-{os.getpid()}")
    with open(tmp, "wb") as fh:
        fh.write(data.encode("utf-8") if isinstance(data, str) else data)
    os.replace(tmp, path)


def temp_beside(path: Path) -> Path:
    """A scratch path beside `path` (same file system, so a rename can move it in)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    return path.with_name(f"{path.stem}-part-{os.getpid()}{path.suffix}")


def recover_folder(target: Path) -> None:
    """Undo what an interrupted folder swap left: restore the old folder, drop a half-built one."""
    parent = target.parent
    if not parent.is_dir():
        return
    olds = sorted(parent.glob(f"{target.name}-old-*"))
    if not target.exists() and olds:
        os.rename(olds[-1], target)
        olds = olds[:-1]
    for leftover in [*olds, *parent.glob(f"{target.name}-new-*")]:
        shutil.rmtree(leftover, ignore_errors=True)


def new_folder(target: Path) -> Path:
    """A fresh folder beside `target` to build into (no dot in its name: pandoc would zip it)."""
    recover_folder(target)
    fresh = target.with_name(f"{target.name}-new-{os.getpid()}")
    shutil.rmtree(fresh, ignore_errors=True)
    return fresh


def swap_folder(fresh: Path, target: Path) -> None:
    """Put `fresh` where `target` is: at every instant a whole old or a whole new folder exists."""
    old = target.with_name(f"{target.name}-old-{os.getpid()}")
    if target.exists():
        os.rename(target, old)
    os.rename(fresh, target)
    shutil.rmtree(old, ignore_errors=True)


def remove_scratch(folder: Path) -> None:
    """Drop what a killed build left beside its outputs (never an output itself)."""
    if not folder.is_dir():
        return
    for path in folder.iterdir():
        if path.is_file() and ("-part-" in path.name or ".part-" in path.name):
            path.unlink(missing_ok=True)
    for name in ("html",):
        recover_folder(folder / name)


def give_back_memory() -> None:
    """Return freed memory to the system: a builder's copy of the book is freed once pandoc has
    it, but the C library keeps the pages for later unless asked (glibc; elsewhere nothing).
    The build's peak memory is this process, pandoc and the PDF's layout workers at once."""
    gc.collect()
    try:
        ctypes.CDLL(None).malloc_trim(0)
    except (OSError, AttributeError):
        pass
