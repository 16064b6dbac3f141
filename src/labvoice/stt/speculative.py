"""Speculative transcription off the listener thread: the words said so far are transcribed on a
worker while the listener keeps hearing frames and the turn model judges the pause.

The endpointer (listening.endpointer.EndOfSpeechDetector) submits the utterance so far at a short pause, tagged with
a number; it polls for that number's transcript once per frame and ignores any other (a voiced frame
makes the pending request stale). Only the newest request waiting is transcribed: a request that
was overtaken before the worker took it is dropped unheard. The worker and the listener share only
two queues.
"""
from __future__ import annotations

import logging
import queue
import threading
from typing import Callable

import numpy as np

log = logging.getLogger(__name__)

JOIN_TIMEOUT_S = 5.0


class BackgroundTranscriber:
    """`submit(number, audio)` returns at once; `result(number)` is (True, words) once that request
    is done (whatever `transcribe` returns: a `Heard` in the app; None when transcription failed),
    else (False, None). One caller thread
    (the listener) for submit/result. The worker starts with the object; `close()` ends it (a later
    submit starts a new one)."""

    def __init__(self, transcribe: Callable[[np.ndarray], str]) -> None:
        self._transcribe = transcribe
        self._requests: "queue.Queue[tuple[int, np.ndarray] | None]" = queue.Queue()
        self._results: "queue.Queue[tuple[int, str | None]]" = queue.Queue()
        self._thread: threading.Thread | None = None
        self._start()   # now, not at the first pause: the thread count stays flat while the listener runs

    def _start(self) -> None:
        self._thread = threading.Thread(target=self._work, name="speculative-stt", daemon=True)
        self._thread.start()

    def submit(self, number: int, audio: np.ndarray) -> None:
        if self._thread is None or not self._thread.is_alive():
            self._start()
        self._requests.put((number, np.array(audio, dtype=np.float32, copy=True)))

    def result(self, number: int) -> tuple[bool, str | None]:
        """Results of other numbers are stale (the caller only ever waits for its newest) and dropped."""
        while True:
            try:
                done, text = self._results.get_nowait()
            except queue.Empty:
                return False, None
            if done == number:
                return True, text

    def close(self) -> None:
        thread, self._thread = self._thread, None
        if thread is not None and thread.is_alive():
            self._requests.put(None)
            thread.join(JOIN_TIMEOUT_S)
            if thread.is_alive():
                log.warning("speculative transcription did not stop within %.0f s", JOIN_TIMEOUT_S)

    def _work(self) -> None:
        while True:
            request = self._requests.get()
            while request is not None:            # only the newest waiting request is worth hearing
                try:
                    newer = self._requests.get_nowait()
                except queue.Empty:
                    break
                request = newer
            if request is None:
                return
            number, audio = request
            try:
                text: str | None = self._transcribe(audio)
            except Exception as err:  # noqa: BLE001 - speculation is an optimisation: the turn transcribes again
                log.warning("speculative transcription failed: %s", err)
                text = None
            self._results.put((number, text))
