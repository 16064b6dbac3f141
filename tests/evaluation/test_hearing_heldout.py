"""The held-out spoken check (evaluation/hearing_heldout.py) is apart from what the rig was tuned on, and the
rig's summary compares recognizers and reports spoken-right against typed (evaluation/hearing.py)."""
from __future__ import annotations

from collections import Counter

from labvoice.evaluation.hearing import QUESTIONS, Hearing, summarize
from labvoice.evaluation.hearing_heldout import HELDOUT_QUESTIONS, HELDOUT_VOICES
from labvoice.evaluation.hearing_voices import VOICES, speak
from labvoice.evaluation.lab_dbs import CONVENTIONS


def test_heldout_voices_and_questions_are_not_the_tuning_ones():
    assert not {v.espeak for v in HELDOUT_VOICES} & {v.espeak for v in VOICES}
    assert not {q.text for q in HELDOUT_QUESTIONS} & {q.text for q in QUESTIONS}
    assert Counter(q.db for q in HELDOUT_QUESTIONS) == {db: 12 for db in CONVENTIONS}
    assert len(set(HELDOUT_QUESTIONS)) == len(HELDOUT_QUESTIONS)     # one question is asked of two DBs


def test_every_heldout_voice_speaks():
    for voice in HELDOUT_VOICES:
        audio = speak(HELDOUT_QUESTIONS[0].text, voice)
        assert audio.dtype.name == "float32" and 2 * 16000 < len(audio) < 10 * 16000, voice
        assert 0.05 < float(abs(audio).max()) <= 0.9 + 1e-6, voice     # peak-normalised to 0.9 in float32


def _hearing(stt: str, voice: str, right: bool, seconds: float) -> Hearing:
    return Hearing(voice, "after", "hf", "q", "q", 0.0, ("imdb",), () if right else ("imdb",), (), (), True,
                   right, (), right, stt, seconds)


def test_summary_keys_each_recognizer_and_reports_spoken_right_against_typed():
    rows = [_hearing("tiny", "a", True, 0.5), _hearing("base", "a", True, 1.0),
            _hearing("tiny", "a", False, 0.7), _hearing("base", "a", True, 1.2)]
    overall = summarize(rows)["overall"]
    assert set(overall) == {"tiny:after", "base:after"}
    assert overall["tiny:after"]["spoken_right"] == 0.5 and overall["tiny:after"]["spoken_vs_typed"] == 0.5
    assert overall["base:after"]["name_error_rate"] == 0 and overall["base:after"]["spoken_vs_typed"] == 1.0
    assert overall["tiny:after"]["stt_s_p50"] == 0.6 and overall["base:after"]["stt_s_p50"] == 1.1
    assert set(summarize(rows[:1])["overall"]) == {"after"}    # one recognizer: plain condition keys


def test_hearings_written_as_they_are_made_summarize_as_the_run_would(tmp_path, capsys):
    import importlib.util
    import json
    from pathlib import Path

    spec = importlib.util.spec_from_file_location("bench_hearing", Path(__file__).parents[2] / "scripts" / "bench_hearing.py")
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)
    rows = [_hearing("tiny", "a", True, 0.5), _hearing("tiny", "b", False, 0.7)]
    progress = tmp_path / "hearings.jsonl"
    progress.write_text("".join(json.dumps(h.__dict__) + "\n" for h in rows))
    assert bench.main(["--summarize", str(progress), "--json"]) == 0
    printed = json.loads(capsys.readouterr().out)
    assert printed["overall"] == summarize(rows)["overall"]
    assert set(printed["per_voice"]) == {"a", "b"}
