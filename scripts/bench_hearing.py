"""The hearing rig of issue 19: ~30 questions about the six lab DBs, typed and spoken by espeak-ng voices
(not the app's own Piper voice), transcribed by the CPU profile's tiny.en. Prints per voice the word error
rate, the name error rate, wrong links and spoken-vs-typed answers, before and after the names-as-names
work (see src/labvoice/evaluation/hearing.py and docs/hearing.md).

    python scripts/bench_hearing.py [--json] [--voices N] [--questions N] [--keep DIR] [--details]
                                    [--heldout | --heldout2] [--references] [--conditions after,...]
                                    [--stt NAME=MODEL ...] [--turns]

--turns measures the end of turn per voice instead (evaluation/hearing_turns.py): each question whole and
with a pause, through the app's endpointer. --references adds the reference voices (the app's own Piper voice; an espeak-ng talker with a LibriVox reader
talking in the room). --heldout hears the held-out check instead (evaluation/hearing_heldout.py: voices and questions never tuned
on), in the `after` condition unless --conditions says otherwise; --heldout2 the second held-out check the same way
(evaluation/hearing_heldout2.py). --stt compares recognizers on the same
utterances (e.g. --stt tiny.en=bundled --stt base=/path/to/faster-whisper-base), alternating their order.
"""
from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path


def _table(summary: dict) -> str:
    lines = [f"{'voice':<24} {'condition':<16} {'WER':>6} {'names':>6} {'wrong':>6} {'same':>6} {'right':>6} "
             f"(typed answered) {'vs typed':>8} {'stt s':>6}"]
    for voice, rows in list(summary["per_voice"].items()) + [("ALL", summary["overall"])]:
        for condition, fig in rows.items():
            ratio = "-" if fig["spoken_vs_typed"] is None else f"{fig['spoken_vs_typed']:.3f}"
            lines.append(f"{voice:<24} {condition:<16} {fig['wer']:>6.3f} {fig['name_error_rate']:>6.3f} "
                         f"{fig['wrong_links']:>6} {fig['spoken_same']:>6.3f} {fig['spoken_right']:>6.3f} "
                         f"({fig['typed_answered']:.3f})          {ratio:>8} {fig['stt_s_p50']:>6.3f}")
    lines.append(f"seconds: {summary['seconds']}")
    return "\n".join(lines)


def _turn_table(summary: dict) -> str:
    lines = [f"{'voice':<24} {'judge':<16} {'silence p50':>11} {'p95':>6} {'eot p50':>8} {'unclear':>7} "
             f"{'cut':>9}"]
    for voice, rows in list(summary["per_voice"].items()) + [("ALL", summary["overall"])]:
        for judge, fig in rows.items():
            lines.append(f"{voice:<24} {judge:<16} {fig['end_of_turn_silence_ms']['p50']:>11} "
                         f"{fig['end_of_turn_silence_ms']['p95']:>6} {fig['end_of_turn_ms']['p50']:>8} "
                         f"{fig['unclear_waits']:>3}/{fig['whole']:<3} {fig['premature_cutoffs']:>4}/{fig['paused']:<4}")
    lines.append(f"unclear_wait_ms: {summary['unclear_wait_ms']}; seconds: {summary['seconds']}")
    return "\n".join(lines)


def _spread(questions: tuple, n: int) -> tuple:
    """N questions taken evenly across the list (so a subset still covers every DB)."""
    if n >= len(questions):
        return questions
    return tuple(questions[round(i * len(questions) / n)] for i in range(n))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", action="store_true", help="print the summary as JSON")
    parser.add_argument("--voices", type=int, help="only the first N voices")
    parser.add_argument("--questions", type=int, help="N questions spread evenly over the list (every DB)")
    parser.add_argument("--keep", type=Path, help="build the DBs in DIR and keep them")
    parser.add_argument("--details", action="store_true", help="with --json: every transcript and its judgement")
    parser.add_argument("--heldout", action="store_true", help="the held-out voices and questions")
    parser.add_argument("--heldout2", action="store_true", help="the second held-out voices and questions")
    parser.add_argument("--references", action="store_true",
                        help="also the reference voices: Piper joe, and a LibriVox reader in the background")
    parser.add_argument("--progress", type=Path, help="append each hearing to FILE as a JSON line as it is made")
    parser.add_argument("--summarize", type=Path, help="only summarize the hearings a --progress FILE holds")
    parser.add_argument("--turns", action="store_true", help="end-of-turn delay and cut-offs per voice")
    parser.add_argument("--conditions", help="comma-separated: before, link_only, hints_only, after")
    parser.add_argument("--stt", action="append", default=[], metavar="NAME=MODEL",
                        help="a recognizer to compare ('bundled' or a CTranslate2 Whisper folder); repeatable")
    args = parser.parse_args(argv)

    from labvoice.evaluation.hearing import CONDITIONS, QUESTIONS, Hearing, run_rig, summarize

    if args.summarize:
        hearings = [Hearing(**{k: tuple(v) if isinstance(v, list) else v for k, v in json.loads(line).items()})
                    for line in args.summarize.read_text(encoding="utf-8").splitlines() if line.strip()]
        summary = {**summarize(hearings), "seconds": {}}
        print(json.dumps(summary, indent=2) if args.json else _table(summary))
        return 0
    from labvoice.evaluation.hearing_heldout import HELDOUT_QUESTIONS, HELDOUT_VOICES
    from labvoice.evaluation.hearing_heldout2 import HELDOUT2_QUESTIONS, HELDOUT2_VOICES
    from labvoice.evaluation.hearing_voices import REFERENCE_VOICES, VOICES

    if args.heldout and args.heldout2:
        parser.error("--heldout and --heldout2 are two checks: name one")
    all_voices, all_questions = ((HELDOUT_VOICES, HELDOUT_QUESTIONS) if args.heldout
                                 else (HELDOUT2_VOICES, HELDOUT2_QUESTIONS) if args.heldout2 else (VOICES, QUESTIONS))
    voices = all_voices[:args.voices] if args.voices else all_voices
    if args.references:
        voices = tuple(voices) + REFERENCE_VOICES
    questions = _spread(all_questions, args.questions) if args.questions else all_questions
    conditions = (tuple(args.conditions.split(",")) if args.conditions
                  else ("after",) if args.heldout or args.heldout2 else CONDITIONS)
    unknown = set(conditions) - set(CONDITIONS)
    if unknown:
        parser.error(f"unknown conditions {sorted(unknown)}; choose from {', '.join(CONDITIONS)}")
    stt_models = dict(item.split("=", 1) for item in args.stt) or None
    if args.turns:
        from labvoice.evaluation.hearing_turns import run_turns

        with tempfile.TemporaryDirectory(prefix="labvoice-turns-") as scratch:
            summary = run_turns(args.keep or Path(scratch), voices, questions)
        if not args.details:
            summary.pop("rows")
        print(json.dumps(summary, indent=2) if args.json else _turn_table(summary))
        return 0
    with tempfile.TemporaryDirectory(prefix="labvoice-hearing-") as scratch:
        progress = open(args.progress, "a", encoding="utf-8") if args.progress else None

        def on_hearing(hearing) -> None:
            if progress is not None:
                progress.write(json.dumps(hearing.__dict__) + "\n")
                progress.flush()
        try:
            summary = run_rig(args.keep or Path(scratch), voices, questions, stt_models=stt_models,
                              conditions=conditions, on_hearing=on_hearing)
        finally:
            if progress is not None:
                progress.close()
    if not args.details:
        summary.pop("hearings")
    print(json.dumps(summary, indent=2) if args.json else _table(summary))
    return 0


if __name__ == "__main__":
    sys.exit(main())
