"""The rig's reference voices (evaluation/hearing_voices.py): the app's own Piper voice, and an espeak-ng
talker with a real person (LibriVox) reading aloud in the room behind it."""
from __future__ import annotations

import numpy as np

from labvoice.evaluation.hearing import word_error_rate
from labvoice.evaluation.hearing_voices import REFERENCE_VOICES, VOICES, Voice, speak

QUESTION = "which roberta large run did best on imdb"


def test_piper_reference_is_heard_as_said(whisper_transcriber):
    piper = next(v for v in REFERENCE_VOICES if v.engine == "piper")
    audio = speak(QUESTION, piper)
    assert np.array_equal(audio, speak(QUESTION, piper))          # no sampling noise: the same every time
    heard = whisper_transcriber.transcribe_text(audio, hints=("imdb", "roberta large"))
    # the plain words are heard; tiny.en missed even Piper's "roberta" and "imdb" here (issue 19: names
    # are the hard part, for the app's own voice too)
    assert "large run did best on" in heard.lower() and word_error_rate(QUESTION, heard) <= 0.5, heard


def test_babble_is_a_person_talking_under_the_question_at_its_level():
    babbled = next(v for v in REFERENCE_VOICES if v.babble_snr_db is not None)
    dry = Voice("dry", babbled.espeak, babbled.speed, babbled.pitch)
    clean, noisy = speak(QUESTION, dry), speak(QUESTION, babbled)
    assert clean.size == noisy.size
    lead = int(0.25 * 16000)                 # the padding before the question: silent without the talker
    assert float(np.abs(clean[:lead]).max()) < 1e-3 < float(np.abs(noisy[:lead]).max())
    # the talker sits about babble_snr_db below the question (both peak-normalised alike)
    scale = float(np.abs(noisy).max()) / float(np.abs(clean).max())
    talker = noisy / scale - clean
    snr = 10 * np.log10(np.mean(clean[np.abs(clean) > 1e-4] ** 2) / np.mean(talker ** 2))
    assert babbled.babble_snr_db - 3 < snr < babbled.babble_snr_db + 6, snr
    assert babbled.espeak in {v.espeak for v in VOICES}     # the same talker as a rig voice, with a room


def test_a_pause_inside_one_spoken_question_is_where_and_as_long_as_asked():
    from labvoice.evaluation.hearing_voices import speak_paused

    text = "which resnet 50 run had the best top 5 accuracy"
    whole = speak_paused(text, VOICES[0], None, 0.0, 2.0)
    paused = speak_paused(text, VOICES[0], 4, 0.7, 2.0)
    assert whole.pause is None and paused.pause is not None
    start, end = paused.pause
    assert 0.6 <= end - start <= 0.8, paused.pause                   # espeak's break, found in the audio
    assert 0.3 + 0.5 < start and end < paused.speech_end_s - 0.5     # after "which resnet 50 run", words after it
    assert abs((paused.speech_end_s - whole.speech_end_s) - 0.7) < 0.3
    assert paused.audio.size / 16000 >= paused.speech_end_s + 2.0 - 0.01   # the tail the fallback needs
