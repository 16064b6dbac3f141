"""The espeak-ng people of the barge-in benchmark and the espeak-ng paused questions of `bench.py --pauses`:
voices the hearing rig never used, heard by the VAD as a voice long enough to barge in, at the LibriVox
reader's loudness; pauses where the question says they are."""
from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest

from labvoice.benchmarks.espeak_paused import espeak_questions
from labvoice.benchmarks.espeak_talkers import INTERRUPTIONS, TALKERS, espeak_clips, voiced_rms
from labvoice.benchmarks.human_speech import librivox_clips
from labvoice.benchmarks.paused_speech import PAUSES_S, cut_early
from labvoice.benchmarks.pauses_bench import SURE_TURN, other_unsure_setting
from labvoice.evaluation.hearing_heldout import HELDOUT_VOICES
from labvoice.evaluation.hearing_voices import VOICES
from labvoice.listening.vad import FRAME_SAMPLES, SAMPLE_RATE


@pytest.fixture(scope="module")
def clips(tmp_path_factory):
    return espeak_clips(tmp_path_factory.mktemp("espeak-people"))


def test_the_talkers_are_voices_the_hearing_rig_never_used():
    rig = {(v.espeak, v.speed, v.pitch) for v in VOICES + HELDOUT_VOICES}
    assert not rig & {(v.espeak, v.speed, v.pitch) for v in TALKERS}
    assert not {v.espeak for v in VOICES + HELDOUT_VOICES} & {v.espeak for v in TALKERS}
    assert len({v.speed for v in TALKERS}) == len({v.pitch for v in TALKERS}) == len(TALKERS)


def test_each_line_is_a_wav_at_the_readers_loudness(clips):
    import soundfile

    assert [c.text for c in clips] == list(INTERRUPTIONS)
    target = float(np.median([voiced_rms(c.audio) for c in librivox_clips()]))
    for clip in clips:
        audio, rate = soundfile.read(str(clip.path), dtype="float32")
        assert rate == SAMPLE_RATE and audio.ndim == 1
        assert voiced_rms(audio) == pytest.approx(target, rel=0.15)
        assert 1.5 < clip.duration_s < 5.5, clip.text   # an interruption, not a speech


def test_the_vad_hears_each_line_as_speech_long_enough_to_barge_in(clips, silero_vad, cpu_config):
    """Barge-in needs `pipeline.barge_in_min_speech_ms` of unbroken speech: each line has it, and its
    silent start does not."""
    for clip in clips:
        silero_vad.reset()
        frames = clip.audio[:clip.audio.size - clip.audio.size % FRAME_SAMPLES].reshape(-1, FRAME_SAMPLES)
        voiced = np.array([silero_vad(f) >= cpu_config.vad.threshold for f in frames])
        longest, run = 0, 0
        for v in voiced:
            run = run + 1 if v else 0
            longest = max(longest, run)
        assert longest * FRAME_SAMPLES / SAMPLE_RATE * 1000 >= cpu_config.pipeline.barge_in_min_speech_ms, clip.text
        assert not voiced[:int(clip.speech_onset_s() * SAMPLE_RATE) // FRAME_SAMPLES].any(), clip.text


def test_paused_questions_pause_at_their_point_and_go_on_after_it():
    voices = (VOICES[0], HELDOUT_VOICES[1])
    items = espeak_questions(voices, ("Which run used the | largest batch size?",
                                      "Show me the | runs that were | stopped early."), per_point=2)
    whole = [i for i in items if i.pause is None]
    paused = [i for i in items if i.pause is not None]
    assert len(whole) == 2 and len(paused) == 2 + 4
    assert whole[0].label.startswith(VOICES[0].name) and whole[1].label.startswith(HELDOUT_VOICES[1].name)
    for item in paused:
        start, end = item.pause
        said = float(item.label.rsplit("pause ", 1)[1].rstrip("s]"))
        assert said in PAUSES_S
        assert end - start >= said - 0.05, item.label                # at least the break asked for
        assert start > 0.5 and end < item.speech_end_s - 0.3, item.label   # words either side
        assert np.max(np.abs(item.audio[int(start * SAMPLE_RATE):int(end * SAMPLE_RATE)])) < 0.01
    # A turn that ended at the pause is a cut-off; one that ended with the speech is not.
    first = paused[0]
    assert cut_early([SimpleNamespace(t_speech_end=first.pause[0])], first)
    assert not cut_early([SimpleNamespace(t_speech_end=first.speech_end_s)], first)


def test_the_bench_measures_the_other_unsure_setting_beside_the_configured_one():
    assert other_unsure_setting(1.0) == SURE_TURN < 1.0
    assert other_unsure_setting(SURE_TURN) == 1.0
