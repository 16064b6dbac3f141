"""The paused questions of `scripts/bench.py --pauses` said by espeak-ng voices (issue 19): voices tiny.en is
often unsure of, where the end of turn leans on Smart Turn alone (listening/judge.py). Each question is said
in one breath by one voice in turn (the hearing rig's and its held-out ones), whole and with a pause at
each of its points (an SSML break: the sentence goes on after it, evaluation/hearing_voices.py).
"""
from __future__ import annotations

from labvoice.benchmarks.paused_speech import (FRESH_QUESTIONS, PAUSES_S, TAIL_S, UNSEEN_QUESTIONS, PausedSpeech,
                                               pause_points)
from labvoice.evaluation.hearing_voices import VOICES, Voice, speak_paused

# Two of the Piper sets, never tuned on (paused_speech.py); per point, two of PAUSES_S in turn.
ESPEAK_QUESTIONS = FRESH_QUESTIONS + UNSEEN_QUESTIONS
PER_POINT = 2


def espeak_voices() -> tuple[Voice, ...]:
    """The hearing rig's espeak-ng voices and its held-out ones."""
    from labvoice.evaluation.hearing_heldout import HELDOUT_VOICES

    return VOICES + HELDOUT_VOICES


def espeak_questions(voices: tuple[Voice, ...], questions=ESPEAK_QUESTIONS, pauses=PAUSES_S,
                     per_point: int = PER_POINT) -> list[PausedSpeech]:
    """Question i said by voice i % len(voices): whole, and with `per_point` of `pauses` (in turn) at
    each of its points."""
    items, turn = [], 0
    for i, question in enumerate(questions):
        voice = voices[i % len(voices)]
        text, points = pause_points(question)
        whole = speak_paused(text, voice, None, 0.0, TAIL_S)
        items.append(PausedSpeech(f"{voice.name}: {text}", whole.audio, whole.speech_end_s, None))
        words = text.split()
        for after in points:
            for j in range(per_point):
                pause_s = pauses[(turn + j * len(pauses) // per_point) % len(pauses)]
                said = speak_paused(text, voice, after, pause_s, TAIL_S)
                label = f"{voice.name}: {' '.join(words[:after] + ['|'] + words[after:])} [pause {pause_s:.2f}s]"
                items.append(PausedSpeech(label, said.audio, said.speech_end_s, said.pause))
            turn += 1
    return items
