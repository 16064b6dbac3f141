"""Give glibc's free-but-held memory back to the system after each turn.

The 300-turn soak (docs/reliability.md, "Memory in the soak") split its RSS growth with glibc's
own counts: once the Piper arena and the llama.cpp state cache were bounded, memory in use stayed
flat (+0.4 MB per 100 turns) while free memory that malloc kept grew 45 MB per 100 turns: the
fragments the turns' short-lived buffers (audio, features, tensors) leave in the arenas of the
stage threads. `malloc_trim(0)` returns every whole free page of every arena; done once a turn has
ended, between turns, it costs a few milliseconds and no allocation. Setting MALLOC_ARENA_MAX=2 or
a fixed mmap threshold was measured first and changed nothing. Not glibc (musl, macOS): nothing.
"""
from __future__ import annotations

import ctypes
import ctypes.util
import logging
import time

log = logging.getLogger(__name__)


def _malloc_trim():
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        function = libc.malloc_trim
    except (OSError, AttributeError):
        return None
    function.argtypes, function.restype = [ctypes.c_size_t], ctypes.c_int
    return function


_TRIM = _malloc_trim()


def release_free_memory() -> bool:
    """Return malloc's free pages to the system; True if any were returned (False without glibc)."""
    if _TRIM is None:
        return False
    t0 = time.perf_counter()
    released = bool(_TRIM(0))
    log.debug("malloc_trim: %s in %.1f ms", "released memory" if released else "nothing to release",
              (time.perf_counter() - t0) * 1000)
    return released
