"""The voice (TTS) fails on one sentence, or speech recognition (STT) crashes: the turn goes on or
ends cleanly, the error is reported, and the next turn works. Real Piper and Whisper, wrapped."""
from __future__ import annotations

import numpy as np

from labvoice.audio.wavio import to_pipeline_rate
from labvoice.events import AnswerDelta, Transcript

from tests.pipeline.conftest import assert_next_turn_works
from tests.pipeline.faults import INJECTED, FailingSynthesizer, FailingTranscriber

# A leaderboard answer comes in several speakable pieces (one per clause), so one can fail.
MULTI_PIECE_QUESTION = "What are the top three runs by test accuracy?"
# Spoken: tiny.en hears "an MLP" as "in mnop" about half the time (Piper's noise), and this test is
# about recovering from the crash, not about spelling.
SPOKEN_QUESTION = "Which run has the best test accuracy?"
FAILING_PIECE = 0


def test_tts_failure_on_one_sentence_keeps_the_text_and_speaks_the_next(make_driver, live_stages, heldout_rows):
    synth = FailingSynthesizer(live_stages.synthesizer)
    driver = make_driver(synthesizer=synth)
    driver.orch.set_style(verbosity=1.0)
    synth.arm(fail_at_call=FAILING_PIECE)
    turn = driver.ask(MULTI_PIECE_QUESTION)
    failed_text = synth.texts[FAILING_PIECE]
    assert len(synth.texts) >= 2, synth.texts
    assert any(e.stage == "tts" and INJECTED in e.message for e in turn.errors), turn.errors
    assert turn.ended.reason == "done"
    assert FAILING_PIECE + 1 in turn.played          # the next sentence was spoken
    assert FAILING_PIECE not in turn.played
    assert failed_text in turn.of(AnswerDelta)[-1].text
    assert failed_text in turn.done.text, "the sentence the voice could not speak vanished from the answer"
    assert not turn.done.interrupted
    driver.orch.set_style(verbosity=0.0)
    assert_next_turn_works(driver, heldout_rows)


def test_stt_failure_is_reported_and_the_next_spoken_question_is_answered(make_driver, live_stages, heldout_rows):
    stt = FailingTranscriber(live_stages.transcriber)
    driver = make_driver(transcriber=stt)
    voice = live_stages.synthesizer
    speech = to_pipeline_rate(voice.synthesize_all(SPOKEN_QUESTION), voice.sample_rate)
    audio = np.concatenate([np.zeros(4000, np.float32), speech, np.zeros(4000, np.float32)])
    stt.arm()
    failed = driver.ask_audio(audio)
    assert any(e.stage == "stt" and INJECTED in e.message for e in failed.errors), failed.events
    assert failed.ended.reason == "error" and failed.done is None
    heard = driver.ask_audio(audio)
    expected = {max(heldout_rows, key=lambda r: r["test_acc"])["run_id"]}
    assert "test accuracy" in heard.of(Transcript)[0].text.lower()
    assert set(heard.done.used_run_ids) == expected and not heard.errors
    assert_next_turn_works(driver, heldout_rows)
