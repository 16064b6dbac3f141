"""A slice of the hearing rig (evaluation/hearing.py): two espeak-ng voices say four questions about two
producer-made lab DBs, the CPU profile's tiny.en hears them; linking what it heard to the DB's names must
lose no name it had before, and must never link a misheard name to a name the typed question lacks; the app's
hearing (beam readings where unsure, the one naming most names) must lose no more names than the greedy app
before it, and name nothing the typed question lacks."""
from __future__ import annotations

import pytest

from labvoice.evaluation.hearing import QUESTIONS, Recognizer, hear, summarize, word_error_rate
from labvoice.evaluation.hearing_voices import VOICES, speak

SLICE_VOICES = (VOICES[0], VOICES[1])          # en-us+m3 150 wpm, en-gb 135 wpm
SLICE = ("how many runs on yelp polarity used a weight decay above 0.01",
         "what learning rate did the best electra run use on yelp polarity",
         "how many xception runs are there on tf flowers",
         "which mobilenet v2 run had the best validation accuracy on cats vs dogs")


@pytest.fixture(scope="module")
def dbs(tmp_path_factory):
    from labvoice.evaluation.lab_dbs import build_lab_dbs

    built = build_lab_dbs(tmp_path_factory.mktemp("hearing"), ("wandb", "keras"))
    return {name: db.path for name, db in built.items()}


@pytest.fixture(scope="module")
def hearings(dbs, whisper_transcriber):
    questions = [q for q in QUESTIONS if q.text in SLICE]
    assert len(questions) == len(SLICE)
    from labvoice.pipeline.hearing import hear_utterance
    from labvoice.stt.faster_whisper import FasterWhisperTranscriber

    assert whisper_transcriber.beam_size > 1          # the app's hearing keeps the beam's readings
    greedy = FasterWhisperTranscriber(whisper_transcriber.model_path, threads=2, beam_size=1)
    return hear(SLICE_VOICES, questions, dbs, {"stt": Recognizer(
        lambda audio, hints: greedy.transcribe_text(audio, hints=hints),
        lambda audio, catalog: hear_utterance(whisper_transcriber, audio, catalog).text)})


def test_the_voices_are_not_the_apps_and_say_the_question():
    audio = speak(SLICE[0], SLICE_VOICES[0])
    assert audio.dtype.name == "float32" and 3 * 16000 < len(audio) < 12 * 16000
    assert 0.05 < float(abs(audio).max()) <= 0.9
    assert all(v.espeak.startswith("en") for v in VOICES) and len({v.espeak for v in VOICES}) == len(VOICES)


def test_word_error_rate():
    assert word_error_rate("which run on sst 2", "Which run on SST 2?") == 0
    assert word_error_rate("which run on sst 2", "which run on") == pytest.approx(0.4)


def test_linking_loses_no_name_and_links_none_wrongly(hearings):
    summary = summarize(hearings)
    for voice, rows in summary["per_voice"].items():
        assert rows["before"]["questions"] == len(SLICE)
        assert rows["link_only"]["name_error_rate"] <= rows["before"]["name_error_rate"], (voice, rows)
        assert rows["names_linked"]["name_error_rate"] <= rows["hints_only"]["name_error_rate"], (voice, rows)
        assert rows["names_linked"]["wrong_links"] == 0 and rows["link_only"]["wrong_links"] == 0, (voice, rows)
    assert all(h.typed_answered for h in hearings)         # the typed questions are answerable at all
    overall = summary["overall"]
    # espeak-ng voices lose names (issue 19: that is why they are here), and linking wins some back
    assert overall["before"]["name_error_rate"] > 0
    assert overall["names_linked"]["name_error_rate"] < overall["before"]["name_error_rate"], overall
    assert overall["after"]["name_error_rate"] <= overall["names_linked"]["name_error_rate"], overall
    assert overall["after"]["name_error_rate"] < overall["before"]["name_error_rate"], overall
    assert overall["after"]["wrong_names"] == 0, overall


def test_a_name_heard_before_linking_is_still_heard_after(hearings):
    by = {(h.voice, h.question, h.condition): h for h in hearings}
    for (voice, question, condition), h in by.items():
        assert not h.wrong_links, h
        unlinked = {"link_only": "before", "names_linked": "hints_only"}.get(condition)
        if unlinked is not None:
            assert set(h.missed) <= set(by[voice, question, unlinked].missed), (h, by[voice, question, unlinked])


def test_a_decoder_looping_on_the_name_prompt_hears_again_without_it(whisper_transcriber, caplog):
    """tiny.en went on with the prompt's names ("mr. sst, stsb, db, db, db ...") for this en-us+m3 question;
    the backend drops the loop and hears the utterance again without the prompt."""
    import logging

    hints = ("mrpc", "sst 2", "stsb", "imdb", "bert base uncased", "distilbert base uncased", "roberta base",
             "roberta large")
    audio = speak("how many runs of bert base used imdb", VOICES[0])
    with caplog.at_level(logging.DEBUG, logger="labvoice.stt.faster_whisper"):
        text = whisper_transcriber.transcribe_text(audio, hints=hints)
    assert "how many runs" in text.lower(), text
    assert ", db, db" not in text
    # where this machine's decoder looped, it was heard again (not given up as noise)
    assert "looped on the name prompt" in caplog.text or "dropped noise" not in caplog.text, caplog.text
