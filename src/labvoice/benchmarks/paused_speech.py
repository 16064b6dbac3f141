"""Questions with a natural mid-sentence pause ("which run had the best ... accuracy on digits"), for
the end-of-turn tests and `scripts/bench.py --pauses`.

A pause is inserted into a whole spoken sentence (not two halves spoken separately, whose first
half would end on a falling, finished-sounding tone), at the word gap after a part that is not a
finished sentence ("which run had the best"). Voices: Piper (the app's own voice; the gap is
exact, from Piper's phoneme alignments), at three speaking rates, and real human speech (LibriVox
clips; the quietest 30 ms near where Whisper's word times put the gap). The endpointer then runs frame by frame over the audio, exactly as the listener
runs it, and a turn that ends before the pause is over is a premature cut-off (the benchmark itself:
benchmarks/pauses_bench.py; espeak-ng voices: benchmarks/espeak_paused.py).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

RATE = 16000
# People pause where the sentence is not finished yet; "|" marks where (each mark is one pause
# point: a question with two marks gives two paused items). Varied wording, lengths and points:
# after a determiner, a preposition, a verb that wants its object, mid noun phrase ("the best |
# validation accuracy"), inside a clause ("runs that were | flagged"). Never where the words so far
# are a finished question: a pause there is an end of turn for a listener too.
QUESTIONS = (
    "Which run had | the best | validation accuracy on the digits dataset?",
    "What learning rate did | the best random forest use on wine?",
    "Compare the two best | support vector machine runs on iris.",
    "Which runs with more than | ten epochs reached a test accuracy above | ninety five percent?",
    "How many runs used | a perceptron on breast cancer?",
    "Show me the most recent run that was | flagged for publishing.",
    "What was the training loss of the | multilayer perceptron on digits?",
    "Which model kind did best on | fashion mnist last week?",
    "Which dataset had the | highest average accuracy across all runs?",
    "Show me all the runs that used a | learning rate below zero point zero one.",
    "What is the | validation loss of the latest | logistic regression run?",
    "Can you tell me which | runs finished in under ten minutes?",
    "How does the random forest compare to | the linear SVM on wine?",
    "List the runs where the | test accuracy dropped after epoch five.",
    "Which of my | experiments used the most memory?",
    "I want to know the | batch size of the best | MLP run.",
    "What's the difference between | run seven and run eight?",
    "Is there a run on iris with | accuracy better than ninety eight percent?",
    "Tell me about the | last three runs on breast cancer.",
    "Which optimizer gave the | lowest validation loss on digits?",
)
# Held out: written before the end-of-turn rules were tuned and never looked at while tuning them;
# reported apart (`held_out`) as the check that the rules are general, not fitted to QUESTIONS.
HELD_OUT_QUESTIONS = (
    "Which runs on wine used | more than one hundred trees?",
    "What was the | best score on the iris dataset?",
    "Could you | list every | perceptron run from yesterday?",
    "How many epochs did | the top logistic regression run train for?",
    "Which run had a higher | F1 score than the baseline?",
    "Give me the learning rate and | batch size of run twelve.",
    "Which model performed | worst on breast cancer?",
    "Are there any runs that | crashed or diverged this week?",
    "What is the average | training time of the | random forest runs?",
    "Sort the digits runs by | validation loss, lowest first.",
    "Why did the | second MLP run fail?",
    "Which of the SVM runs has | the smallest gap between | training and validation accuracy?",
)
# A second held-out set, written after the first had been measured (and looked at: see the README),
# before the rules were changed again; never tuned on either.
FRESH_QUESTIONS = (
    "Which experiments on iris reached | a validation accuracy above ninety percent?",
    "Show me the | runs that were | stopped early.",
    "How long did the | slowest random forest run take?",
    "What dataset was the | best perceptron trained on?",
    "Tell me which | optimizer the best MLP used.",
    "Which run used the | largest batch size?",
    "Can you compare | the first and the last run on wine?",
    "What was the learning rate of | run twenty three?",
    "Did any of the | logistic regression runs beat | the random forest?",
    "Which runs were | flagged but not | published?",
    "How many runs finished in | less than five minutes?",
    "Please list the | three most recent runs on digits.",
)
# A third set, written after FRESH_QUESTIONS had been measured and looked at, before the last rule
# changes were measured; never tuned on.
UNSEEN_QUESTIONS = (
    "Which runs on breast cancer took | longer than an hour?",
    "What is the | median validation accuracy of the SVM runs?",
    "Remind me what | batch size we used for run nine.",
    "How many runs did we | launch on Tuesday?",
    "What was the | dropout rate of the best MLP?",
    "Could you tell me | how long the last run took?",
    "Is the newest run | better than the old baseline?",
    "Which runs have a | learning rate of zero point one?",
    "Why is the validation loss | going up on digits?",
    "Show me every run where | the training loss is below one.",
    "Tell me the | accuracy of run eight on iris.",
    "Which of the | random forest runs used the most trees?",
)
# A fourth set, written 2026-12-07 after UNSEEN_QUESTIONS had been measured and its cut-offs looked at,
# and committed before the rules were changed for them; never tuned on. Said by Piper ("later") and by
# the espeak-ng voices ("espeak_later", benchmarks/espeak_paused.py). Four pauses were moved one word on
# (after "the", not before it) because Piper runs a preposition into "the" with no gap to pause in.
LATER_QUESTIONS = (
    "Which of last night's runs | ran out of memory?",
    "What was the | peak learning rate in the warmup schedule?",
    "Can you find the run with the | fewest parameters?",
    "Tell me whether | the gradient norm exploded in run four.",
    "How much did the | validation accuracy improve after | we added dropout?",
    "Which checkpoint of the | transformer had the lowest perplexity?",
    "Do we have any runs on the | housing data with weight decay?",
    "Summarise the | results of the ablation on | label smoothing.",
    "What's the seed of the | run that scored highest on wine?",
    "Are any of the | gradient boosting runs still | running?",
    "Explain why the | loss curve flattened around epoch twenty.",
    "Find me the | cheapest run that | still beat ninety percent.",
)
PAUSES_S = (0.4, 0.55, 0.7, 0.9)
SPEAKING_RATES = (0.9, 1.0, 1.15)   # Piper length scales, one per question in turn
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


def with_pause(label: str, speech: np.ndarray, pause_s: float | None, at: int | None = None,
               snap: bool = True) -> PausedSpeech:
    """`speech` (16 kHz, trimmed) padded with silence, with `pause_s` of silence inserted at sample
    `at` (or with no pause): exactly there, or (`snap`, for word times that are only estimates) at
    the quietest 30 ms near it."""
    speech = trim(speech)
    lead = np.zeros(int(LEAD_S * RATE), np.float32)
    tail = np.zeros(int(TAIL_S * RATE), np.float32)
    if pause_s is None or at is None:
        audio = np.concatenate([lead, speech, tail])
        return PausedSpeech(label, audio, (lead.size + speech.size) / RATE, None)
    cut = quietest_gap(speech, at) if snap else at
    gap = np.zeros(int(pause_s * RATE), np.float32)
    audio = np.concatenate([lead, speech[:cut], gap, speech[cut:], tail])
    pause_start = (lead.size + cut) / RATE
    return PausedSpeech(f"{label} [pause {pause_s:.2f}s]", audio, (lead.size + speech.size + gap.size) / RATE,
                        (pause_start, pause_start + pause_s))


class AlignedVoice:
    """Piper with its phoneme alignments (the voice file patched in memory by piper itself; needs
    the onnx package): speech and the sample where each word gap is, so a pause goes between two
    words and never inside one (Whisper's word times are +-50 ms, enough to land in a word)."""

    def __init__(self, model_path) -> None:
        from piper import PiperVoice

        self._voice = PiperVoice.load(str(model_path), include_alignments=True)

    def say(self, text: str, length_scale: float = 1.0, natural: bool = True) -> tuple[np.ndarray, list[int]]:
        """16 kHz speech of `text` and the sample at the middle of each gap between its words.
        `natural=False` turns Piper's sampling noise off (the same audio every time, for tests)."""
        from piper import SynthesisConfig

        from labvoice.audio.resample import resample

        config = SynthesisConfig(length_scale=length_scale) if natural else \
            SynthesisConfig(length_scale=length_scale, noise_scale=0.0, noise_w_scale=0.0)
        pieces, gaps, offset, rate = [], [], 0, RATE
        for chunk in self._voice.synthesize(text, config, include_alignments=True):   # one per sentence
            rate, at = chunk.sample_rate, offset
            for alignment in chunk.phoneme_alignments or ():
                if alignment.phoneme == " ":
                    gaps.append(at + int(alignment.num_samples) // 2)
                at += int(alignment.num_samples)
            pieces.append(chunk.audio_float_array)
            offset += len(chunk.audio_float_array)
        audio = resample(np.concatenate(pieces).astype(np.float32), rate, RATE)
        return audio, [round(g * RATE / rate) for g in gaps]

    def spoken_words(self, text: str) -> int:
        """How many words Piper's phonemizer makes of `text` (espeak runs "on the" into one)."""
        return sum(sentence.count(" ") + 1 for sentence in self._voice.phonemize(text) if sentence)

    def gap_after(self, text: str, after: int, gaps: list[int]) -> int:
        """The gap (from `say(text)`) after the first `after` words of `text`."""
        words = text.split()
        before, rest = self.spoken_words(" ".join(words[:after])), self.spoken_words(" ".join(words[after:]))
        if before + rest != len(gaps) + 1:
            raise ValueError(f"Piper runs the words either side of the pause in {' '.join(words[:after])!r} | "
                             f"{' '.join(words[after:])!r} into one: move the pause")
        return gaps[before - 1]


def pause_points(question: str) -> tuple[str, list[int]]:
    """"Which run had | the best | accuracy?" -> the words, and after how many words each "|" is."""
    parts = question.split("|")
    return " ".join(" ".join(parts).split()), [len(" ".join(parts[:k + 1]).split()) for k in range(len(parts) - 1)]


def spoken_questions(voice: AlignedVoice, questions=QUESTIONS, pauses=PAUSES_S, per_point: int | None = None,
                     natural: bool = True) -> list[PausedSpeech]:
    """Each question whole (no pause) and with pauses at each of its points, spoken at the speaking
    rates in turn. Each point gets every pause in `pauses`, or (`per_point`) that many of them in
    turn, so short and long pauses fall at every kind of point."""
    items, turn = [], 0
    for i, question in enumerate(questions):
        text, points = pause_points(question)
        audio, gaps = voice.say(text, SPEAKING_RATES[i % len(SPEAKING_RATES)], natural)
        start, end = _speech_bounds(audio)
        whole = audio[start:end]
        items.append(with_pause(text, whole, None))
        for k, after in enumerate(points):
            words = text.split()
            label = " ".join(words[:after] + ["|"] + words[after:])
            chosen = pauses if per_point is None else \
                [pauses[(turn + j * len(pauses) // per_point) % len(pauses)] for j in range(per_point)]
            turn += 1
            at = voice.gap_after(text, after, gaps) - start
            items.extend(with_pause(label, whole, p, at, snap=False) for p in chosen)
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


def endpoint(detector, item: PausedSpeech, heard: list | None = None) -> tuple[list, float | None]:
    """Run the endpointer over `item` frame by frame, as the listener would live. Returns its
    utterances and the delay from the end of the speech to the moment the (last) turn was decided,
    in ms: frame i arrives when it has been captured, the listener takes one frame at a time, and
    each frame costs what `feed` really took here (a turn model or speculative transcription
    holds the listener up). `heard`, if given, gets the audio time from the end of the speech to
    the end of the deciding frame (the silence waited for; the same on any machine)."""
    import time

    from labvoice.listening.endpointer import Utterance
    from labvoice.listening.vad import FRAME_SAMPLES

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
            decided, decided_frame_end = done, arrives
    last = detector.finish()
    if last is not None:
        utterances.append(last)
    delay = None if decided is None else round((decided - item.speech_end_s) * 1000, 1)
    if heard is not None and decided is not None:
        heard.append(round((decided_frame_end - item.speech_end_s) * 1000, 1))
    return utterances, delay


def cut_early(utterances: list, item: PausedSpeech, margin_s: float = 0.1) -> bool:
    """The first turn ended before the whole utterance did: at the pause, or at a gap between words."""
    if not utterances:
        return False
    must_reach = item.pause[1] if item.pause is not None else item.speech_end_s - 0.3
    return utterances[0].t_speech_end < must_reach - margin_s


# Real human speech (LibriVox, labvoice/benchmarks/human_speech.py): after how many words (as Whisper
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
