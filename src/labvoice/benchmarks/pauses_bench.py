"""`scripts/bench.py --pauses`: the endpointer alone over questions with mid-sentence pauses
(benchmarks/paused_speech.py), frame by frame as the listener runs it, on three kinds of voice: Piper
(the app's own; five question sets), LibriVox people, and espeak-ng voices (benchmarks/espeak_paused.py).
"""
from __future__ import annotations

import time
from pathlib import Path

import numpy as np

from labvoice.benchmarks.paused_speech import (FRESH_QUESTIONS, HELD_OUT_QUESTIONS, LATER_QUESTIONS, PAUSES_S,
                                               QUESTIONS, SPEAKING_RATES, UNSEEN_QUESTIONS, AlignedVoice, PausedSpeech,
                                               cut_early, endpoint, human_speech, spoken_questions,
                                               whisper_word_end)
from labvoice.evaluation.scoring import rounded_percentile

# Which sets each kind of voice speaks (`by_voice`).
VOICE_OF_SET = {"questions": "piper", "held_out": "piper", "fresh": "piper", "unseen": "piper", "later": "piper",
                "people": "librivox", "espeak": "espeak", "espeak_later": "espeak"}
# The other setting of `vad.unsure_complete_at` measured beside the configured one on the same audio:
# 1.0 (unsure words never end a turn) against Smart Turn being this sure.
SURE_TURN = 0.95
SET_FIGURES = ("premature_cutoff_share", "premature_cutoffs", "paused_utterances", "plain_cut", "end_of_turn_ms",
               "end_of_turn_silence_ms", "plain_ended_by")


def _run(detector, items: list[PausedSpeech], transcribe) -> list[dict]:
    """Each item through the endpointer: cut off early or not; on the plain ones, end of speech ->
    turn decided and -> transcript ready (a turn without a speculative transcript transcribes after
    the end)."""
    rows = []
    for item in items:
        heard: list[float] = []
        utterances, delay = endpoint(detector, item, heard)
        row = {"label": item.label, "paused": item.pause is not None, "cut": cut_early(utterances, item)}
        if item.pause is None and not row["cut"] and delay is not None and utterances:
            row["decided_ms"] = row["ready_ms"] = delay
            row["heard_ms"], row["ended_by"] = heard[-1], utterances[-1].ended_by
            if utterances[-1].transcript is None:
                started = time.perf_counter()
                transcribe(utterances[-1].audio)
                row["ready_ms"] = round(delay + (time.perf_counter() - started) * 1000, 1)
        rows.append(row)
    return rows


def _summary(rows: list[dict]) -> dict:
    cut = [r["cut"] for r in rows if r["paused"]]
    decided = [r["decided_ms"] for r in rows if "decided_ms" in r]
    ready = [r["ready_ms"] for r in rows if "ready_ms" in r]
    heard = [r["heard_ms"] for r in rows if "heard_ms" in r]
    ended_by: dict[str, int] = {}
    for r in rows:
        if "ended_by" in r:
            ended_by[r["ended_by"]] = ended_by.get(r["ended_by"], 0) + 1
    return {"premature_cutoff_share": round(sum(cut) / len(cut), 3) if cut else None,
            "premature_cutoffs": sum(cut), "paused_utterances": len(cut),
            "plain_cut": sum(r["cut"] for r in rows if not r["paused"]),
            "end_of_turn_ms": {"p50": rounded_percentile(decided, 0.5), "p95": rounded_percentile(decided, 0.95)},
            "end_of_turn_silence_ms": {"p50": rounded_percentile(heard, 0.5), "p95": rounded_percentile(heard, 0.95)},
            "plain_ended_by": ended_by,
            "transcript_ready_ms": {"p50": rounded_percentile(ready, 0.5), "p95": rounded_percentile(ready, 0.95)},
            "plain_utterances": len(decided)}


def other_unsure_setting(configured: float) -> float:
    """The setting of `vad.unsure_complete_at` measured beside the configured one: on if off, else off."""
    return SURE_TURN if configured >= 1.0 else 1.0


def measure(config) -> dict:
    """The endpointer as configured (turn model + speculative words) against today's fixed silence
    (`vad.end_silence_ms`, no turn model), the turn model alone, and the configured judge with the other
    setting of `vad.unsure_complete_at` (`other_unsure_rule`), on eight sets, each whole and with pauses:
    QUESTIONS (Piper, the rules were tuned on them), HELD_OUT_QUESTIONS, FRESH_QUESTIONS, UNSEEN_QUESTIONS
    and LATER_QUESTIONS (Piper, written in turn, each before the rules were changed after the one before),
    the LibriVox people and espeak-ng voices (FRESH and UNSEEN said by the hearing rig's voices; LATER apart,
    as `espeak_later`). The headline figures are over all eight sets; `by_set` and `by_voice` split them.
    `end_of_turn_ms` is end of speech -> turn decided with this machine's compute in it (Whisper and the
    turn model hold the listener here); `end_of_turn_silence_ms` is the silence heard before deciding. Loads
    only the VAD, Whisper, Piper and the turn model."""
    from labvoice.backends import make_transcriber
    from labvoice.benchmarks.espeak_paused import espeak_questions, espeak_voices
    from labvoice.benchmarks.human_speech import librivox_clips
    from labvoice.listening.endpointer import EndOfSpeechDetector, VadOptions
    from labvoice.listening.judge import TurnJudge
    from labvoice.listening.smart_turn import SmartTurn
    from labvoice.listening.vad import SileroVad
    from labvoice.models import resolve_model

    vad = SileroVad.from_config(config)
    transcriber = make_transcriber(config, "cpu")
    transcriber.warmup()
    voice = AlignedVoice(resolve_model("tts", config.tts.piper.voice, config.paths.models))
    model = SmartTurn.from_config(config)
    word_end = whisper_word_end(resolve_model("stt", config.stt.cpu.model, config.paths.models))
    sets = {"questions": spoken_questions(voice, QUESTIONS, per_point=2),
            "held_out": spoken_questions(voice, HELD_OUT_QUESTIONS, per_point=2),
            "fresh": spoken_questions(voice, FRESH_QUESTIONS, per_point=2),
            "unseen": spoken_questions(voice, UNSEEN_QUESTIONS, per_point=2),
            "later": spoken_questions(voice, LATER_QUESTIONS, per_point=2),
            "people": human_speech(librivox_clips(), word_end),
            "espeak": espeak_questions(espeak_voices()),
            "espeak_later": espeak_questions(espeak_voices(), LATER_QUESTIONS)}
    options = VadOptions.from_config(config.vad)
    # Words that make no question it can act on wait longer, read by the app's own parser (app.py), and
    # the words are heard as the app hears them (Stages.hear): the DB's names as the prompt, Whisper's
    # certainty, the reading naming most of the DB's names.
    from labvoice.app import load_passage_source
    from labvoice.knowledge.query.heard import hint_words
    from labvoice.knowledge.retriever import Retriever
    from labvoice.pipeline.hearing import hear_utterance

    retriever = Retriever.from_config(config, load_passage_source(config, []))
    catalog = None
    if config.stt.hint_db_names and Path(config.paths.db).is_file():
        catalog = retriever.finder().catalog

    def words(audio: np.ndarray):
        return hear_utterance(transcriber, audio, catalog)

    configured, other = config.vad.unsure_complete_at, other_unsure_setting(config.vad.unsure_complete_at)

    def app_judge(unsure_complete_at: float) -> TurnJudge:
        return TurnJudge(model, words, acts_on=retriever.acts_on, unclear_wait_ms=config.vad.unclear_wait_ms,
                         unsure_complete_at=unsure_complete_at)

    detectors = {"semantic": EndOfSpeechDetector(vad, options, app_judge(configured)),
                 "other_unsure_rule": EndOfSpeechDetector(vad, options, app_judge(other)),
                 "turn_model_only": EndOfSpeechDetector(vad, options, TurnJudge(model, None)),
                 "today": EndOfSpeechDetector(vad, options)}
    rows = {name: {set_name: _run(detector, items, words) for set_name, items in sets.items()}
            for name, detector in detectors.items()}
    every = {name: [r for set_rows in by_set.values() for r in set_rows] for name, by_set in rows.items()}
    semantic, today = _summary(every["semantic"]), _summary(every["today"])
    voices = sorted(set(VOICE_OF_SET.values()))
    return {**semantic,
            "premature_cutoff_share_today": today["premature_cutoff_share"],
            "end_of_turn_ms_today": today["end_of_turn_ms"],
            "cut_off": [r["label"] for r in every["semantic"] if r["cut"]],
            "cut_off_other_unsure_rule": [r["label"] for r in every["other_unsure_rule"] if r["cut"]],
            "by_voice": {kind: {name: {k: v for k, v in _summary(
                                    [r for s, set_rows in rows[name].items() if VOICE_OF_SET[s] == kind
                                     for r in set_rows]).items() if k in SET_FIGURES}
                                for name in ("semantic", "other_unsure_rule", "today")}
                         for kind in voices},
            "by_set": {set_name: {name: {k: v for k, v in _summary(rows[name][set_name]).items() if k in SET_FIGURES}
                                  for name in detectors}
                       for set_name in sets},
            "today": today, "turn_model_only": _summary(every["turn_model_only"]),
            "other_unsure_rule": _summary(every["other_unsure_rule"]),
            "settings": {"stt_hints": list(hint_words(catalog)) if catalog is not None else [],
                         "stt_beam_size": config.stt.beam_size, "turn_check_ms": options.turn_check_ms,
                         "turn_fallback_ms": options.turn_fallback_ms, "turn_complete_at": model.complete_at,
                         "unclear_wait_ms": config.vad.unclear_wait_ms,
                         "unsure_complete_at": configured, "other_unsure_complete_at": other,
                         "today_end_silence_ms": options.end_silence_ms, "pauses_s": list(PAUSES_S),
                         "voices": f"Piper questions ({len(QUESTIONS)} tuned on, "
                                   f"{sum(map(len, (HELD_OUT_QUESTIONS, FRESH_QUESTIONS, UNSEEN_QUESTIONS, LATER_QUESTIONS)))}"
                                   " held out) "
                                   f"at length scales {list(SPEAKING_RATES)} + LibriVox clips (5) + the fresh, "
                                   f"unseen and later questions said by {len(espeak_voices())} espeak-ng voices"}}
