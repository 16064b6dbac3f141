"""Questions with a natural mid-sentence pause ("which run had the best ... accuracy on digits"), for
the end-of-turn tests and `scripts/bench.py --pauses`.

A pause is inserted into a whole spoken sentence (not two halves spoken separately, whose first
half would end on a falling, finished-sounding tone), at the word gap after a part that is not a
finished sentence ("which run had the best"): the quietest 30 ms near where Whisper's word times
put the end of that part. Voices: Piper (the app's own voice, questions) and real human speech
(LibriVox clips). The endpointer then runs frame by frame over the audio, exactly as the listener
runs it, and a turn that ends before the pause is over is a premature cut-off.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

RATE = 16000
# (what is said before the pause, the rest): people pause where the sentence is not finished yet.
QUESTIONS = (
    ("Which run had the best", "validation accuracy on the digits dataset?"),
    ("What learning rate did", "the best random forest use on wine?"),
    ("Compare the two best", "support vector machine runs on iris."),
    ("Which runs with more than", "ten epochs reached a test accuracy above ninety five percent?"),
    ("How many runs used", "a perceptron on breast cancer?"),
    ("Show me the most recent run that was", "flagged for publishing."),
    ("What was the training loss of", "the multilayer perceptron on digits?"),
    ("Which model kind did best on", "fashion mnist last week?"),
)
PAUSES_S = (0.4, 0.55, 0.7, 0.9)
GAP_WINDOW_S = 0.03
LEAD_S, TAIL_S = 0.5, 2.0    # silence before the speech, and after it (the fallback must fit)


@dataclass(frozen=True, eq=False)
class PausedSpeech:
    label: str
    audio: np.ndarray        # 16 kHz mono float32
    speech_end_s: float      # the end of the whole utterance (after the pause)
    pause: tuple[float, float] | None   # (start, end) of the inserted pause, seconds into audio


def _speech_bounds(audio: np.ndarray, level: float = 0.01) -> tuple[int, int]:
    loud = np.nonzero(np.abs(audio) > level)[0]
    return (int(loud[0]), int(loud[-1]) + 1) if loud.size else (0, audio.size)


def quietest_gap(audio: np.ndarray, around: int, within_s: float = 0.08) -> int:
    """Sample index of the quietest 30 ms window within `within_s` of `around` (a word boundary)."""
    window = int(GAP_WINDOW_S * RATE)
    lo = max(0, around - int(within_s * RATE))
    hi = min(audio.size, around + int(within_s * RATE))
    energy = np.convolve(audio[lo:hi] ** 2, np.ones(window), mode="valid")
    return lo + int(np.argmin(energy)) + window // 2


def trim(speech: np.ndarray) -> np.ndarray:
    start, end = _speech_bounds(np.asarray(speech, dtype=np.float32))
    return np.asarray(speech[start:end], dtype=np.float32)


def with_pause(label: str, speech: np.ndarray, pause_s: float | None, at: int | None = None) -> PausedSpeech:
    """`speech` (16 kHz, trimmed) padded with silence, with `pause_s` of silence inserted at the
    word boundary nearest sample `at` (or with no pause)."""
    speech = trim(speech)
    lead = np.zeros(int(LEAD_S * RATE), np.float32)
    tail = np.zeros(int(TAIL_S * RATE), np.float32)
    if pause_s is None or at is None:
        audio = np.concatenate([lead, speech, tail])
        return PausedSpeech(label, audio, (lead.size + speech.size) / RATE, None)
    cut = quietest_gap(speech, at)
    gap = np.zeros(int(pause_s * RATE), np.float32)
    audio = np.concatenate([lead, speech[:cut], gap, speech[cut:], tail])
    pause_start = (lead.size + cut) / RATE
    return PausedSpeech(f"{label} [pause {pause_s:.2f}s]", audio, (lead.size + speech.size + gap.size) / RATE,
                        (pause_start, pause_start + pause_s))


def spoken_questions(say, word_end, pauses=PAUSES_S) -> list[PausedSpeech]:
    """Each question whole (no pause) and with each pause after its first part. `say(text)` returns
    16 kHz speech; `word_end(audio, n)` the sample where its n-th word ends (see whisper_word_end)."""
    items = []
    for first, rest in QUESTIONS:
        whole = trim(say(f"{first} {rest}"))
        boundary = word_end(whole, len(first.split()))
        items.append(with_pause(first, whole, None))
        items.extend(with_pause(first, whole, p, boundary) for p in pauses)
    return items


def whisper_word_end(model_path: str):
    """`word_end(audio, n)` from faster-whisper's word timestamps (the bundled tiny.en is enough)."""
    from faster_whisper import WhisperModel

    model = WhisperModel(str(model_path), device="cpu", compute_type="int8", cpu_threads=2)

    def word_end(audio: np.ndarray, n: int) -> int:
        segments, _ = model.transcribe(audio, language="en", beam_size=1, word_timestamps=True,
                                       condition_on_previous_text=False)
        words = [w for segment in segments for w in segment.words]
        if len(words) <= n:
            raise ValueError(f"Whisper heard only {len(words)} words, expected more than {n}")
        # Between the n-th word's end and the next word's start (Whisper's times are +-50 ms).
        return int((words[n - 1].end + words[n].start) / 2 * RATE)

    return word_end


def endpoint(detector, item: PausedSpeech) -> tuple[list, float | None]:
    """Run the endpointer over `item` frame by frame, as the listener would live. Returns its
    utterances and the delay from the end of the speech to the moment the (last) turn was decided,
    in ms: frame i arrives when it has been captured, the listener takes one frame at a time, and
    each frame costs what `feed` really took here (a turn model or speculative transcription
    holds the listener up)."""
    import time

    from labvoice.vad import FRAME_SAMPLES, Utterance

    detector.reset()
    frames = item.audio[:item.audio.size - item.audio.size % FRAME_SAMPLES].reshape(-1, FRAME_SAMPLES)
    utterances, decided, done = [], None, 0.0
    for i, frame in enumerate(frames):
        arrives = (i + 1) * FRAME_SAMPLES / RATE
        started = time.perf_counter()
        event = detector.feed(frame, i * FRAME_SAMPLES / RATE)
        done = max(done, arrives) + (time.perf_counter() - started)
        if isinstance(event, Utterance):
            utterances.append(event)
            decided = done
    last = detector.finish()
    if last is not None:
        utterances.append(last)
    delay = None if decided is None else round((decided - item.speech_end_s) * 1000, 1)
    return utterances, delay


def cut_early(utterances: list, item: PausedSpeech, margin_s: float = 0.1) -> bool:
    """The first turn ended before the whole utterance did: at the pause, or at a gap between words."""
    if not utterances:
        return False
    must_reach = item.pause[1] if item.pause is not None else item.speech_end_s - 0.3
    return utterances[0].t_speech_end < must_reach - margin_s


# Real human speech (LibriVox, tests/support/human_speech.py): after how many words (as Whisper
# splits them) each clip pauses mid-sentence, at a point that is not a finished sentence.
HUMAN_PAUSE_AFTER = {
    "sense_and_sensibility_01_austen_64kb-0880": 4,   # "he was not an | ill disposed young man"
    "sense_and_sensibility_01_austen_64kb-0930": 5,   # "he might even have been | made amiable himself"
    "sense_and_sensibility_01_austen_64kb-0890": 7,   # "unless to be rather cold hearted and | rather selfish ..."
    "sense_and_sensibility_01_austen_64kb-0920": 6,   # "had he married a more amiable | woman he might ..."
    "sense_and_sensibility_01_austen_64kb-0870": 5,   # "and mister john dashwood had | then leisure ..."
}


def human_speech(clips, word_end=None, pauses=PAUSES_S) -> list[PausedSpeech]:
    """Each LibriVox clip whole and, given `word_end` (see whisper_word_end), with each pause at
    its unfinished point."""
    items = []
    for clip in clips:
        label = "person: " + " ".join(clip.text.split()[:5])
        whole = trim(clip.audio)
        items.append(with_pause(label, whole, None))
        after = HUMAN_PAUSE_AFTER.get(clip.path.stem)
        if after is not None and word_end is not None and pauses:
            boundary = word_end(whole, after)
            items.extend(with_pause(label, whole, p, boundary) for p in pauses)
    return items


def _pct(values: list[float], q: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    k = (len(ordered) - 1) * q
    lo, hi = int(k), min(int(k) + 1, len(ordered) - 1)
    return round(ordered[lo] + (ordered[hi] - ordered[lo]) * (k - lo), 1)


def _run(detector, items: list[PausedSpeech], transcribe) -> dict:
    """Premature cut-offs on the paused items; on the plain ones, end of speech -> turn decided
    and -> transcript ready (a turn without a speculative transcript transcribes after the end)."""
    import time

    cut, decided, ready = [], [], []
    for item in items:
        utterances, delay = endpoint(detector, item)
        early = cut_early(utterances, item)
        if item.pause is not None:
            cut.append(early)
            continue
        if early or delay is None or not utterances:
            continue
        decided.append(delay)
        last = utterances[-1]
        if last.transcript is None:
            started = time.perf_counter()
            transcribe(last.audio)
            delay += (time.perf_counter() - started) * 1000
        ready.append(delay)
    return {"premature_cutoff_share": round(sum(cut) / len(cut), 3) if cut else None,
            "premature_cutoffs": sum(cut), "paused_utterances": len(cut),
            "end_of_turn_ms": {"p50": _pct(decided, 0.5), "p95": _pct(decided, 0.95)},
            "transcript_ready_ms": {"p50": _pct(ready, 0.5), "p95": _pct(ready, 0.95)},
            "plain_utterances": len(decided)}


def measure(config) -> dict:
    """`scripts/bench.py --pauses`: the endpointer as configured (turn model + speculative words)
    against today's fixed silence (`vad.end_silence_ms`, no turn model), on the Piper questions and
    the LibriVox clips, whole and with each pause. Loads only the VAD, Whisper, Piper and the turn model."""
    from labvoice.audio.resample import resample
    from labvoice.backends import make_synthesizer, make_transcriber
    from labvoice.models import resolve_model
    from labvoice.tts.piper import PiperParams
    from labvoice.turn_detect import SmartTurn, TurnJudge
    from labvoice.vad import EndOfSpeechDetector, SileroVad, VadOptions
    from tests.support.human_speech import librivox_clips

    vad = SileroVad.from_config(config)
    transcriber = make_transcriber(config, "cpu")
    transcriber.warmup()
    voice = make_synthesizer(config, "cpu").with_params(PiperParams(length_scale=1.0, noise_scale=0.0,
                                                                      noise_w_scale=0.0))
    model = SmartTurn.from_config(config)
    word_end = whisper_word_end(resolve_model("stt", config.stt.cpu.model, config.paths.models))
    items = spoken_questions(lambda text: resample(voice.synthesize_all(text), voice.sample_rate, RATE), word_end)
    items += human_speech(librivox_clips(), word_end)
    options = VadOptions.from_config(config.vad)
    hints: tuple[str, ...] = ()
    if config.stt.hint_db_names and Path(config.paths.db).is_file():   # as the app transcribes (stages.py)
        from labvoice.knowledge.live_runs import LiveRuns

        hints = LiveRuns(config.paths.db).snapshot().vocab.spoken_names()

    def words(audio: np.ndarray) -> str:
        return transcriber.transcribe_text(audio, hints=hints)

    semantic = _run(EndOfSpeechDetector(vad, options, TurnJudge(model, words)), items, words)
    model_only = _run(EndOfSpeechDetector(vad, options, TurnJudge(model, None)), items, words)
    today = _run(EndOfSpeechDetector(vad, options), items, words)
    return {**semantic,
            "premature_cutoff_share_today": today["premature_cutoff_share"],
            "today": today, "turn_model_only": model_only,
            "settings": {"stt_hints": list(hints), "turn_check_ms": options.turn_check_ms, "turn_fallback_ms": options.turn_fallback_ms,
                         "today_end_silence_ms": options.end_silence_ms, "pauses_s": list(PAUSES_S),
                         "voices": "Piper questions (8) + LibriVox clips (5)"}}
