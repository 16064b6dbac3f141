"""End of turn per voice (issue 19): the rig's questions said by each espeak-ng voice, whole and with a pause
in the middle, through the app's endpointer (Silero VAD, Smart Turn, the words so far transcribed with the
DB's names as the prompt and linked, read by the lab DB's parser for whether they can be acted on).

Per voice: `end_of_turn_silence_ms` (p50/p95 of the silence heard after the whole question before the turn
was decided: the same on any machine), `end_of_turn_ms` (the same with this machine's compute in it),
`unclear_waits` (whole questions whose words could not be acted on, so the turn waited `vad.unclear_wait_ms`),
`turn_probability_p50` (Smart Turn's probability at the last check of a whole question; "finished" needs
`vad.turn_complete_at`), and `premature_cutoffs` over the paused ones (the turn ended in the pause). The
judge is the app's (`app`); other judges hear the same audio, so cost and gain show side by side:
`sure_turn_model` (words Whisper was unsure of may end the turn when Smart Turn is sure, > SURE_TURN, and the
words read as finished: the app lets unsure words never end a turn, listening/words.py) and, with
`compare_unclear_wait`, `no_unclear_wait` (words that cannot be acted on wait no longer than the rest).
"""
from __future__ import annotations

import functools
import time
from pathlib import Path
from typing import Any, Iterable

from labvoice.benchmarks.paused_speech import PausedSpeech, cut_early, endpoint
from labvoice.benchmarks.pauses_bench import SURE_TURN
from labvoice.evaluation.hearing import HearingQuestion
from labvoice.evaluation.hearing_voices import Voice, speak_paused
from labvoice.evaluation.scoring import rounded_percentile

TURN_PAUSES_S = (0.55, 0.9)
TAIL_S = 2.0                 # silence after the question: the longest wait (turn_fallback_ms) must fit


def acts_on_rules(finder):
    """`Retriever.acts_on` over one lab DB, with the parser's rules only (no MiniLM shape classifier)."""
    from labvoice.knowledge.query.model import SmallTalk, Unsupported

    def acts_on(words: str) -> bool:
        parsed = finder.parse(words).parsed
        if isinstance(parsed, SmallTalk):
            return parsed.kind != "other"
        return not (isinstance(parsed, Unsupported) and parsed.about == "shape")

    return acts_on


def sure_turn_judge(base):
    """`base` (a TurnJudge class) built with `unsure_complete_at=SURE_TURN`: the app's own judge with the
    setting `bench.py --pauses` measures beside the configured one, so both benchmarks judge alike."""
    return functools.partial(base, unsure_complete_at=SURE_TURN)


def turn_items(voice: Voice, questions: Iterable[HearingQuestion]) -> list[tuple[HearingQuestion, PausedSpeech]]:
    """Each question whole, and once with a pause after its first half of words (0.55 s and 0.9 s in turn)."""
    items = []
    for i, question in enumerate(questions):
        words = question.text.split()
        for after, pause_s in ((None, 0.0), (len(words) // 2, TURN_PAUSES_S[i % len(TURN_PAUSES_S)])):
            said = speak_paused(question.text, voice, after, pause_s, TAIL_S)
            label = question.text if after is None else \
                " ".join(words[:after] + [f"| {pause_s:.2f}s |"] + words[after:])
            items.append((question, PausedSpeech(label, said.audio, said.speech_end_s, said.pause)))
    return items


def _figures(rows: list[dict]) -> dict[str, Any]:
    whole = [r for r in rows if not r["paused"]]
    decided = [r for r in whole if r.get("heard_ms") is not None]
    paused = [r for r in rows if r["paused"]]
    return {"whole": len(whole), "paused": len(paused),
            "end_of_turn_silence_ms": {"p50": rounded_percentile([r["heard_ms"] for r in decided], 0.5),
                                       "p95": rounded_percentile([r["heard_ms"] for r in decided], 0.95)},
            "end_of_turn_ms": {"p50": rounded_percentile([r["decided_ms"] for r in decided], 0.5)},
            "unclear_waits": sum(1 for r in decided if r.get("actionable") is False),
            "turn_probability_p50": rounded_percentile([r["turn_probability"] for r in decided
                                                        if r.get("turn_probability") is not None], 0.5),
            "ended_by": {k: sum(1 for r in decided if r["ended_by"] == k)
                         for k in sorted({r["ended_by"] for r in decided})},
            "premature_cutoffs": sum(r["cut"] for r in paused),
            "premature_cutoff_share": round(sum(r["cut"] for r in paused) / len(paused), 3) if paused else None,
            "whole_cut": sum(r["cut"] for r in whole)}


def measure_turns(voices: Iterable[Voice], questions: Iterable[HearingQuestion], dbs: dict[str, Path],
                  config, compare_unclear_wait: bool = False) -> dict[str, Any]:
    """Every voice's questions through the endpointer with each judge; figures per voice and judge."""
    from labvoice.evaluation.hearing import Judge
    from labvoice.pipeline.hearing import hear_utterance
    from labvoice.listening.endpointer import EndOfSpeechDetector, VadOptions
    from labvoice.listening.judge import TurnJudge
    from labvoice.listening.smart_turn import SmartTurn
    from labvoice.listening.vad import SileroVad
    from labvoice.stt.base import Heard
    from labvoice.stt.faster_whisper import FasterWhisperTranscriber

    stt = FasterWhisperTranscriber.from_config(config, "cpu")
    stt.warmup()
    vad, model = SileroVad.from_config(config), SmartTurn.from_config(config)
    options = VadOptions.from_config(config.vad)
    finders = {db: Judge(path).finder for db, path in dbs.items()}

    def hear(finder):
        def words(audio) -> Heard:               # as Stages.hear
            return hear_utterance(stt, audio, finder.catalog)
        return words

    wait = config.vad.unclear_wait_ms
    judges = {"app": (TurnJudge, wait), "sure_turn_model": (sure_turn_judge(TurnJudge), wait),
              **({"no_unclear_wait": (TurnJudge, 0)} if compare_unclear_wait else {})}
    detectors = {db: {name: EndOfSpeechDetector(vad, options, kind(
                          model, hear(f), acts_on=acts_on_rules(f), unclear_wait_ms=ms))
                      for name, (kind, ms) in judges.items()}
                 for db, f in finders.items()}
    rows: dict[str, dict[str, list[dict]]] = {}
    for voice in voices:
        for question, item in turn_items(voice, questions):
            for name, detector in detectors[question.db].items():
                heard: list[float] = []
                utterances, delay = endpoint(detector, item, heard)
                row = {"label": item.label, "paused": item.pause is not None, "cut": cut_early(utterances, item)}
                if item.pause is None and utterances and delay is not None:
                    last = utterances[-1]
                    row.update(decided_ms=delay, heard_ms=heard[-1], ended_by=last.ended_by,
                               actionable=None if last.transcript is None else last.transcript.actionable,
                               turn_probability=detector.judge.last_probability,
                               words=None if last.transcript is None else last.transcript.text)
                rows.setdefault(voice.name, {}).setdefault(name, []).append(row)
    return {"per_voice": {v: {judge: _figures(r) for judge, r in by.items()} for v, by in rows.items()},
            "overall": {judge: _figures([r for by in rows.values() for r in by[judge]]) for judge in judges},
            "rows": rows}


def run_turns(folder: Path, voices: tuple[Voice, ...], questions: tuple[HearingQuestion, ...],
              config=None) -> dict[str, Any]:
    """Build the DBs the questions need in `folder` and measure the end of turn per voice."""
    from labvoice.config import load_config
    from labvoice.evaluation.lab_dbs import build_lab_dbs

    t0 = time.perf_counter()
    config = config or load_config(environ={}).replace(profile="cpu")
    built = build_lab_dbs(Path(folder), sorted({q.db for q in questions}))
    summary = measure_turns([v for v in voices if v.engine == "espeak"], questions,
                            {name: db.path for name, db in built.items()}, config)
    summary["unclear_wait_ms"] = config.vad.unclear_wait_ms
    summary["seconds"] = round(time.perf_counter() - t0, 1)
    return summary
