"""The hearing rig of issue 19: ~30 questions about the six lab DBs, typed and spoken by espeak-ng voices
(not the app's own Piper voice), transcribed by the CPU profile's tiny.en. Prints per voice the word error
rate, the name error rate, wrong links and spoken-vs-typed answers, before and after the names-as-names
work (see src/labvoice/evaluation/hearing.py and docs/hearing.md).

    python scripts/bench_hearing.py [--json] [--voices N] [--questions N] [--keep DIR] [--details]
"""
from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path


def _table(summary: dict) -> str:
    lines = [f"{'voice':<20} {'condition':<11} {'WER':>6} {'names':>6} {'wrong':>6} {'same':>6} (typed answered)"]
    for voice, rows in list(summary["per_voice"].items()) + [("ALL", summary["overall"])]:
        for condition, fig in rows.items():
            lines.append(f"{voice:<20} {condition:<11} {fig['wer']:>6.3f} {fig['name_error_rate']:>6.3f} "
                         f"{fig['wrong_links']:>6} {fig['spoken_same']:>6.3f} ({fig['typed_answered']:.3f})")
    lines.append(f"seconds: {summary['seconds']}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", action="store_true", help="print the summary as JSON")
    parser.add_argument("--voices", type=int, help="only the first N voices")
    parser.add_argument("--questions", type=int, help="only the first N questions")
    parser.add_argument("--keep", type=Path, help="build the DBs in DIR and keep them")
    parser.add_argument("--details", action="store_true", help="with --json: every transcript and its judgement")
    args = parser.parse_args(argv)

    from labvoice.evaluation.hearing import QUESTIONS, run_rig
    from labvoice.evaluation.hearing_voices import VOICES

    voices = VOICES[:args.voices] if args.voices else VOICES
    questions = QUESTIONS[:args.questions] if args.questions else QUESTIONS
    with tempfile.TemporaryDirectory(prefix="labvoice-hearing-") as scratch:
        summary = run_rig(args.keep or Path(scratch), voices, questions)
    if not args.details:
        summary.pop("hearings")
    print(json.dumps(summary, indent=2) if args.json else _table(summary))
    return 0


if __name__ == "__main__":
    sys.exit(main())
