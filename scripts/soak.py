"""Soak the whole pipeline on the CPU profile: N turns with interrupts, barge-ins, typed and spoken
questions and style changes; report errors, threads, memory growth, stale audio and latency drift.

    python scripts/soak.py --turns 500 [--json] [--config FILE] [--db PATH] [--index DIR] [--seed N]
                           [--no-virtual-audio] [--no-tracemalloc]
    python scripts/soak.py --stress 3000 [--seed N] [--json] ...   # the lifecycle stress test, long

With --stress, seeded random interleavings of typed and spoken questions, interrupts, barge-ins,
pause/resume and stop/start run against the same models and devices, with the invariants of
labvoice.evaluation.stress checked after every step (exit 1 on any violation, error, stale audio
or thread growth). tests/pipeline/test_stress.py runs a short one in `make test`.

Spoken questions are synthesized by Piper and played into a private PulseAudio virtual microphone
(labvoice/benchmarks/pulse.py, started before anything opens the audio devices); the answers play on
its virtual speaker, which is recorded around every interrupt to prove nothing stale is heard.
Without PulseAudio (or with --no-virtual-audio) spoken questions go through `ask_audio` and no
audio device is opened. The mix of turns is printed with the results. Exit code 1 when a target
of issues 6 and 22 is missed (errors, thread growth, RSS growth > 20 MB/100 turns fitted over the
last 200 turns or the last two thirds of a shorter run, stale audio, p50 latency drift > 20 %), 2 on
bad input. tracemalloc runs throughout (unless --no-tracemalloc) and the allocation sites that grew
most between turn 20 and the end are reported (`top_growing_sites`); its own tables are subtracted
from the RSS figures.
"""
from __future__ import annotations

import argparse
import json
import logging
import shutil
import sys
import tempfile
import time
from pathlib import Path

from labvoice.config import ConfigError, load_config

EXIT_OK, EXIT_TARGET_MISSED, EXIT_BAD_INPUT = 0, 1, 2
MAX_RSS_SLOPE_MB = 20.0
MAX_LATENCY_DRIFT = 0.20
PAD_S = (0.4, 0.9)
PROGRESS_EVERY = 25
# Questions with short answers (the soak measures the pipeline, not the answers; an answer that
# spells out run ids takes 10-15 s to speak), plus two with a run id, so long pieces occur too.
QUESTIONS = ("How many runs used a perceptron?", "How many runs trained a random forest?",
             "How many runs used an MLP?", "How many runs used logistic regression?", "Hi there, how are you?",
             "Thanks, that's all for now.", "Which run had the best validation accuracy on digits?",
             "Which run had the lowest validation loss on iris?")
SPOKEN = ("How many runs used a perceptron?", "How many runs used an MLP?", "Hello there, how are you?",
          "How many runs trained a random forest?")
# The LLM stops after one sentence at verbosity 0, but a sentence that never ends runs to
# llm.max_tokens (120: ~4 s on a busy 2-core box); the soak caps it to keep 500 turns well under an hour.
SOAK_MAX_TOKENS = 48

log = logging.getLogger("labvoice.scripts.soak")


def start_virtual_audio(root: Path):
    """The virtual devices (labvoice/benchmarks/pulse.py); before anything imports sounddevice."""
    from labvoice.benchmarks.pulse import start_virtual_audio as start

    return start(root)


def mix_description(with_mic: bool, max_tokens: int) -> str:
    from labvoice.evaluation.soak import BLOCK, BLOCK_TURNS

    names = {"text": "typed, played to the end", "text_interrupt": "typed, then stop button",
             "supersede": "typed, superseded by a typed question (2 turns)",
             "spoken": "spoken via the virtual mic" if with_mic else "spoken via ask_audio",
             "barge_in": ("typed, barge-in by voice on the mic (2 turns)" if with_mic
                          else "typed, superseded by ask_audio (2 turns)"),
             "audio": "spoken via ask_audio (file path)"}
    parts = ", ".join(f"{n} x {names[a]}" for a, n in BLOCK)
    return (f"per {BLOCK_TURNS} turns: {parts}; style change before 15% of actions; verbosity 0-0.15; "
            f"llm.max_tokens {max_tokens}")


def targets_missed(out: dict) -> list[str]:
    missed = []
    if out["errors"]:
        missed.append(f"{out['errors']} errors")
    if out["threads_end"] > out["threads_start"]:
        missed.append(f"threads grew {out['threads_start']} -> {out['threads_end']}")
    if (out["rss_slope_mb_per_100_turns"] or 0) > MAX_RSS_SLOPE_MB:
        missed.append(f"RSS grows {out['rss_slope_mb_per_100_turns']} MB per 100 turns")
    if out["stale_audio_after_interrupt"]:
        missed.append(f"{out['stale_audio_after_interrupt']} stale audio after interrupts")
    if out["latency_drift_p50"] is not None and out["latency_drift_p50"] > MAX_LATENCY_DRIFT:
        missed.append(f"p50 latency drifted {out['latency_drift_p50']:+.0%}")
    return missed


def prepare_questions(stages, folder: Path):
    from labvoice.audio.wavio import to_pipeline_rate
    from labvoice.evaluation.soak import SpokenQuestion

    voice = stages.synthesizer
    spoken = []
    for i, text in enumerate(SPOKEN):
        wav = voice.synthesize_to_wav(text, folder / f"question-{i}.wav", pad_s=PAD_S)
        spoken.append(SpokenQuestion(text, wav, to_pipeline_rate(voice.synthesize_all(text), voice.sample_rate)))
    return spoken


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--turns", type=int, default=100, help="turns to run (default 100)")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.add_argument("--config", type=Path, help="config file (default: config/config.yaml)")
    parser.add_argument("--db", type=Path, help="manifests DB (default: config paths.db)")
    parser.add_argument("--index", type=Path, help="knowledge index (default: config paths.index)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--no-virtual-audio", action="store_true", help="no audio devices: ask_audio only")
    parser.add_argument("--no-tracemalloc", action="store_true",
                        help="do not trace allocations (no top_growing_sites; a little faster)")
    parser.add_argument("--max-tokens", type=int, default=SOAK_MAX_TOKENS,
                        help=f"llm.max_tokens for the soak (default {SOAK_MAX_TOKENS})")
    parser.add_argument("--stress", type=int, metavar="STEPS",
                        help="instead of the turn soak: the lifecycle stress test for STEPS random steps "
                             "(typed and spoken questions, interrupts, barge-ins, pause/resume, stop/start; "
                             "invariants checked after each step)")
    args = parser.parse_args(argv)
    if args.stress is not None and args.stress < 1:
        print("error: --stress takes a number of steps, at least 1", file=sys.stderr)
        return EXIT_BAD_INPUT
    if args.turns < 4:
        print("error: --turns must be at least 4 (quarters are compared)", file=sys.stderr)
        return EXIT_BAD_INPUT
    work = Path(tempfile.mkdtemp(prefix="labvoice-soak-"))
    mic = None
    try:
        if not args.no_virtual_audio:   # before anything imports sounddevice
            try:
                mic = start_virtual_audio(work / "pulse")
            except Exception as err:  # no PulseAudio here: the file path still soaks everything else
                print(f"virtual audio unavailable ({err}); spoken questions go through ask_audio", file=sys.stderr)
        try:
            config = load_config(args.config)
        except ConfigError as err:
            print(f"error: {err}", file=sys.stderr)
            return EXIT_BAD_INPUT
        overrides = {"profile": "cpu", "paths.logs": work / "logs", "llm.max_tokens": args.max_tokens}
        if args.db:
            overrides["paths.db"] = args.db.resolve()
        if args.index:
            overrides["paths.index"] = args.index.resolve()
        if mic is not None:
            overrides.update({"audio.input_device": mic.input_device, "audio.output_device": mic.output_device})
        if mic is not None and args.stress:   # no echo path between the virtual devices: headphones
            overrides.update({"audio.echo_canceller": "none", "pipeline.barge_in": "headphones"})
        config = config.replace(**overrides)
        return run(config, args, mic, work)
    finally:
        if mic is not None:
            mic.stop()
        shutil.rmtree(work, ignore_errors=True)


def run(config, args, mic, work: Path) -> int:
    from labvoice.evaluation.soak import Soak, summary
    from labvoice.knowledge.store import ManifestStore, StoreError
    from labvoice.pipeline.orchestrator import Orchestrator
    from labvoice.pipeline.stages import Stages

    try:
        ManifestStore(config.paths.db).check()
    except StoreError as err:
        print(f"error: {err}", file=sys.stderr)
        return EXIT_BAD_INPUT
    t0 = time.monotonic()
    stages = Stages.load(config)
    logging.getLogger().setLevel(logging.WARNING)   # 500 turns of INFO lines hide the results
    spoken = prepare_questions(stages, work)
    orch = Orchestrator(config, stages=stages, with_audio_input=mic is not None, with_audio_output=mic is not None)
    orch.start()
    what = f"{args.stress} stress steps" if args.stress else f"{args.turns} turns"
    print(f"models loaded and devices open in {time.monotonic() - t0:.0f} s; soaking {what} "
          f"({'virtual PulseAudio devices' if mic else 'no audio devices'})", file=sys.stderr, flush=True)
    if args.stress:
        return run_stress(orch, spoken, mic, work, args)

    def progress(res) -> None:
        if res.turns and res.turns % PROGRESS_EVERY in (0, 1) and getattr(progress, "last", -1) != res.turns // PROGRESS_EVERY:
            progress.last = res.turns // PROGRESS_EVERY
            print(f"  {res.turns} turns, RSS {res.rss_mb[-1]:.0f} MB, errors {res.errors + res.hung_turns}",
                  file=sys.stderr, flush=True)

    soak = Soak(orch, list(QUESTIONS), spoken, mic=mic, seed=args.seed, workdir=work,
                trace_memory=not args.no_tracemalloc)
    try:
        res = soak.run(args.turns, progress)
    finally:
        orch.close()
    out = summary(res, mix_description(mic is not None, config.llm.max_tokens))
    out["conversation_log_lost_turns"] = orch.log.lost_turns
    out["targets_missed"] = targets_missed(out)
    print_growing_sites(out)
    return report(out, args.json)


def print_growing_sites(out: dict) -> None:
    if out["top_growing_sites"]:
        print(f"top growing allocation sites since turn {out['top_growing_sites_since_turn']}:", file=sys.stderr)
    for site in out["top_growing_sites"]:
        via = f" (via {site['via']})" if site["via"] and site["via"] != site["where"] else ""
        print(f"  {site['grew_kib']:+10.1f} KiB {site['blocks_grew']:+7d} blocks  {site['where']}{via}", file=sys.stderr)


def report(out: dict, as_json: bool) -> int:
    if as_json:
        print(json.dumps(out))
    else:
        for key, value in out.items():
            print(f"{key}: {value}")
    return EXIT_TARGET_MISSED if out["targets_missed"] else EXIT_OK


def stress_targets_missed(out: dict) -> list[str]:
    missed = [f"{out[key]} {label}" for key, label in (("violations", "invariant violations"), ("errors", "errors"),
                                                        ("stale_audio", "stale audio"),
                                                        ("stale_chunks", "stale pieces")) if out[key]]
    if out["threads_after"] > out["threads_before"]:
        missed.append(f"threads grew {out['threads_before']} -> {out['threads_after']}")
    if out["turns_started"] != out["turns_ended"]:
        missed.append(f"{out['turns_started'] - out['turns_ended']} turns never ended")
    return missed


def run_stress(orch, spoken, mic, work: Path, args) -> int:
    from labvoice.evaluation.stress import LifecycleStress

    stress = LifecycleStress(orch, list(QUESTIONS), spoken, mic=mic, seed=args.seed, workdir=work)

    def progress(res) -> None:
        print(f"  {res.steps} steps, {res.turns_ended} turns, violations {len(res.violations)}, "
              f"errors {len(res.errors)}, stale audio {res.stale_audio}", file=sys.stderr, flush=True)

    try:
        res = stress.run(args.stress, progress)
    finally:
        stress.close()
        orch.close()
    out = res.summary()
    out["mode"] = "virtual PulseAudio devices" if mic else "no audio devices (ask_audio for spoken questions)"
    out["targets_missed"] = stress_targets_missed(out)
    return report(out, args.json)


if __name__ == "__main__":
    sys.exit(main())
