"""Pausing the answer on the first hint of the person talking over it, before the barge-in is
confirmed (the listener's part; `audio.playback.Speaker.hold` is the speaker's).

Why pause first: the person is not talked over while the listener makes sure, and the echo
canceller, no longer busy with our own voice, stops muting their first words (WebRTC AEC3's
suppressor mutes 0.1-0.4 s of a voice that starts over the echo). What it costs: an answer now and
then pauses on its own echo residue; such a pause runs out by itself (`HOLD_RENEW_S`) once the
listener stops renewing it, and the answer goes on where it paused.
"""
from __future__ import annotations

from typing import Callable

from labvoice.events import Event, OutputHeld

HOLD_RENEW_S = 0.3        # a hold lasts this long unless the next frames renew it (32 ms apart)
HOLD_DRAIN_S = 0.25       # after a hold the echo of what had gone out still reaches the mic this long
HOLD_CONFIRM_S = 0.1      # near-end speech after that drain which confirms a barge-in during a hold


class AnswerHold:
    """Per frame, `update()` pauses the answer (`hold_output(seconds)`) while near-end speech of
    at least `hold_s` goes on (after a blip the pause runs out); `drained()` tells the barge-in rule
    whether speech was heard once the paused answer's echo had drained. Publishes `OutputHeld`
    when a pause starts and when it ends. One owner thread (the listener)."""

    def __init__(self, hold_output: Callable[[float], None], hold_s: float,
                 publish: Callable[[Event], None]) -> None:
        self.hold_output = hold_output
        self.hold_s = hold_s
        self.publish = publish
        self.held_at: float | None = None   # capture time the answer was paused (None: it is not)
        self._held_until = 0.0              # ... when that pause runs out unless renewed
        self._turn_id = 0

    def update(self, t_end: float, speaking: bool, run_from: float | None, speaking_since: float,
               turn_id: int) -> None:
        """`run_from`: start of the current run of near-end speech frames (None: not in one)."""
        heard_s = t_end - max(run_from, speaking_since) if run_from is not None else 0.0
        if speaking and heard_s >= self.hold_s - 1e-3:   # frame times are sums of floats
            self.hold_output(HOLD_RENEW_S)
            self._held_until = t_end + HOLD_RENEW_S
            if self.held_at is None:
                self.held_at, self._turn_id = t_end, turn_id
                self.publish(OutputHeld(turn_id, held=True))
            return
        if self.held_at is None:
            return
        if not speaking or t_end >= self._held_until:
            # The turn was cut or ended, or the pause ran out. Letting go as soon as a short run
            # stopped (64 ms later) was tried: echo pauses fell to ~90 ms, but a voice's first
            # syllables break the run too, the answer came back over them and AEC3 muted them
            # again (40 answers: detected 0.95, p50 492 ms, against 1.0 and ~260 ms).
            self._let_go()

    def drained(self, confirm_from: float | None, t_end: float) -> bool:
        """Whether a barge-in may be confirmed: no pause, or near-end speech heard for
        HOLD_CONFIRM_S once the paused answer's echo had drained (it still reaches the mic from
        the buffers and the room for a while; being sure costs the person nothing, it is paused)."""
        if self.held_at is None:
            return True
        return confirm_from is not None and t_end - max(confirm_from, self.held_at + HOLD_DRAIN_S) >= HOLD_CONFIRM_S

    def _let_go(self) -> None:
        self.held_at = None
        self.publish(OutputHeld(self._turn_id, held=False))
