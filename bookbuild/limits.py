"""A time limit on Python code that has no limit of its own (a template's loops, a typesetter).

`deadline(seconds, error)` raises `error` in the calling thread once `seconds` have passed, at
whatever Python line it is running: a loop that neither returns nor yields (a book template's
`range()` in `range()`, ziamath on deeply nested braces) cannot be stopped otherwise. An
exception that would arrive after the block has ended is withdrawn.
"""

from __future__ import annotations

import ctypes
import threading


class deadline:
    """`with deadline(10, MyTimeout): ...` raises MyTimeout (a class, made without arguments)
    in this thread if the block runs for more than 10 seconds."""

    def __init__(self, seconds: float, error: type[BaseException]):
        self.seconds, self.error = seconds, error

    def __enter__(self) -> "deadline":
        self.thread = threading.get_ident()
        self.lock = threading.Lock()
        self.active, self.fired = True, False
        self.timer = threading.Timer(self.seconds, self._fire)
        self.timer.daemon = True
        self.timer.start()
        return self

    def _fire(self) -> None:
        with self.lock:
            if self.active:
                self.fired = True
                _set_async_exc(self.thread, self.error)

    def __exit__(self, kind, value, tb) -> bool:
        self.timer.cancel()
        with self.lock:
            self.active = False
            if self.fired and kind is None:  # fired as the block ended: withdrawn if not yet raised
                _set_async_exc(self.thread, None)
        return False


def _set_async_exc(thread: int, error: type[BaseException] | None) -> None:
    ctypes.pythonapi.PyThreadState_SetAsyncExc(ctypes.c_ulong(thread),
                                               ctypes.py_object(error) if error is not None else None)
