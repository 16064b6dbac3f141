"""`python main.py listen`: the live assistant on the microphone and speaker, without a window.
Prints what it hears and says; Ctrl-C stops it cleanly."""
from __future__ import annotations

import queue
import signal
import sys
import threading

from labvoice.events import AnswerDone, ErrorEvent, Latency, StatusChanged, Transcript
from labvoice.pipeline.orchestrator import Orchestrator


def render(event, out=sys.stdout) -> None:
    if isinstance(event, StatusChanged):
        print(f"[{event.status.value}] {event.detail}".rstrip(), file=out, flush=True)
    elif isinstance(event, Transcript):
        print(f"you> {event.text}", file=out, flush=True)
    elif isinstance(event, AnswerDone):
        flag = " (interrupted)" if event.interrupted else ""
        print(f"labvoice> {event.text}{flag}", file=out, flush=True)
    elif isinstance(event, Latency) and "first_audio" in event.stages_ms:
        print(f"  first audio {event.stages_ms['first_audio']:.0f} ms after you stopped talking", file=out, flush=True)
    elif isinstance(event, ErrorEvent):
        print(f"error ({event.stage}): {event.message}", file=sys.stderr, flush=True)


def listen(config) -> int:
    orch = Orchestrator(config)
    events = orch.events()
    stop = threading.Event()
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    try:
        orch.start()
        print("Listening. Speak a question; Ctrl-C to quit.", flush=True)
        while not stop.is_set():
            try:
                render(events.get(timeout=0.1))
            except queue.Empty:
                pass
    finally:
        orch.close()
        print("stopped.", flush=True)
    return 0
