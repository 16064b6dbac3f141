"""Listening: when has the person finished speaking? Each part its own module: the voice activity
detector (vad.py, Silero), the endpointer that turns its per-frame probabilities into speech-start and
utterance events (endpointer.py), the Smart Turn model on faster-whisper's log-mel features
(smart_turn.py), the word rules (words.py), and the judge that asks both at a pause (judge.py)."""
