"""Harnesses shared by the benchmark scripts (scripts/bench*.py, scripts/soak.py) and the tests:
a private PulseAudio daemon with a virtual microphone and speaker (pulse.py), real human speech
(human_speech.py), speech with pauses and its ground truth (paused_speech.py), and the barge-in
trial (barge_in.py). Scripts import these from the package, never from `tests`."""
