"""Where a long run's memory grows: tracemalloc snapshots at a baseline turn and at the end, and
the allocation sites that grew most between them (the soak's `top_growing_sites`).

`malloc_mb()` splits the rest with glibc's own counts (mallinfo2): memory malloc has handed out
and not had back (any library's: llama.cpp, onnxruntime, CTranslate2, Python) against free memory
malloc still holds (fragmentation that `malloc_trim` could give back).

tracemalloc sees what Python's allocators hand out (objects, numpy arrays, ctypes buffers such as
llama.cpp's saved states); memory that C libraries take with their own malloc (llama.cpp's KV
cache, onnxruntime's arenas, glibc's free lists) shows in RSS only. Its own bookkeeping grows
with the number of live allocations, so `overhead_mb()` is reported for subtracting from RSS.
"""
from __future__ import annotations

import ctypes
import ctypes.util
import tracemalloc
from dataclasses import dataclass

TRACE_FRAMES = 12      # deep enough to reach the package's frame behind a library's allocation
PACKAGE_MARK = "labvoice"


@dataclass(frozen=True)
class GrowingSite:
    """One allocation site and how much more it held at the end than at the baseline."""

    where: str        # file:line of the allocation itself
    via: str          # the innermost labvoice frame that led there ("" if none)
    grew_kib: float
    blocks_grew: int

    def as_dict(self) -> dict:
        return {"where": self.where, "via": self.via, "grew_kib": round(self.grew_kib, 1),
                "blocks_grew": self.blocks_grew}


def _short(frame) -> str:
    path = frame.filename
    for mark in ("site-packages/", "src/", "lib/python"):
        if mark in path:
            path = path.split(mark, 1)[1]
            break
    return f"{path}:{frame.lineno}"


def _site(diff: tracemalloc.StatisticDiff) -> GrowingSite:
    frames = list(diff.traceback)[::-1]    # tracemalloc lists the oldest frame first: the allocation is last
    via = next((f for f in frames if PACKAGE_MARK in f.filename and "evaluation/memory" not in f.filename), None)
    return GrowingSite(where=_short(frames[0]), via=_short(via) if via is not None else "",
                       grew_kib=diff.size_diff / 1024, blocks_grew=diff.count_diff)


class MemoryTrace:
    """Start tracing, mark a baseline once the run has settled, then ask what grew since."""

    def __init__(self, frames: int = TRACE_FRAMES) -> None:
        self.frames = frames
        self._baseline: tracemalloc.Snapshot | None = None
        self._started_here = False

    def start(self) -> "MemoryTrace":
        if not tracemalloc.is_tracing():
            tracemalloc.start(self.frames)
            self._started_here = True
        return self

    @property
    def marked(self) -> bool:
        return self._baseline is not None

    def mark(self) -> None:
        self._baseline = self._snapshot()

    def top_growing(self, limit: int = 10) -> list[GrowingSite]:
        """The sites whose live memory grew most since `mark()`, largest first (none before it)."""
        if self._baseline is None:
            return []
        diffs = self._snapshot().compare_to(self._baseline, "traceback")
        return [_site(d) for d in diffs[:limit] if d.size_diff > 0]

    def overhead_mb(self) -> float:
        """tracemalloc's own memory (counted in RSS, not by the application)."""
        return tracemalloc.get_tracemalloc_memory() / 2**20 if tracemalloc.is_tracing() else 0.0

    def stop(self) -> None:
        self._baseline = None
        if self._started_here:
            tracemalloc.stop()
            self._started_here = False

    @staticmethod
    def _snapshot() -> tracemalloc.Snapshot:
        return tracemalloc.take_snapshot().filter_traces((
            tracemalloc.Filter(False, tracemalloc.__file__), tracemalloc.Filter(False, "<frozen importlib._bootstrap>"),
            tracemalloc.Filter(False, "<unknown>")))


class _MallInfo2(ctypes.Structure):
    _fields_ = [(name, ctypes.c_size_t) for name in ("arena", "ordblks", "smblks", "hblks", "hblkhd", "usmblks",
                                                     "fsmblks", "uordblks", "fordblks", "keepcost")]


def _mallinfo2():
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        function = libc.mallinfo2
    except (OSError, AttributeError):      # not glibc, or glibc older than 2.33
        return None
    function.restype = _MallInfo2
    return function


_MALLINFO2 = _mallinfo2()


def malloc_mb() -> tuple[float, float] | None:
    """(in use, free but held) MB by glibc's malloc, all arenas and mmapped blocks; None without glibc."""
    if _MALLINFO2 is None:
        return None
    info = _MALLINFO2()
    return (info.uordblks + info.hblkhd) / 2**20, info.fordblks / 2**20
