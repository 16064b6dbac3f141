"""Barge-in benchmark through a real echo path: talk over the assistant on open (virtual) speakers.

    python scripts/bench_barge_in.py [--json] [--answers 40] [--latency-ms 60] [--attenuation-db 6]
                                     [--talker librivox|espeak]

A private PulseAudio routes what the app plays back into its microphone (module-loopback,
delayed and attenuated, labvoice/benchmarks/pulse.py), and a real person's voice (LibriVox clips from
Debian's pocketsphinx-testdata, with sox room reverb) is played into the same microphone part-way
through each answer (`--talker espeak`: short interruptions said by espeak-ng voices the hearing rig
never used, labvoice/benchmarks/espeak_talkers.py, at the same loudness and with the same reverb). The
app runs with its shipped settings (`pipeline.barge_in: auto`); the same
trials then run with the canceller off (`audio.echo_canceller: none`, so auto falls back to speaker
mode) for contrast, under `without_aec`. Last line with --json: one JSON object.

Figures: `self_interruptions` (answers cut by their own echo), `barge_in_detected_share` (answers
the person talked over that stopped), `barge_in_to_silence_ms` (person's first word at the mic ->
speaker silent: the voice is found in a recording of the mic feed by cross-correlation, the silence
in the speaker's recording),
`erle_db` (the canceller's echo return loss enhancement over each answer's echo-only part, median),
`echo_holds` / `answers_paused_by_echo` (pauses of an answer before the person spoke: the cost of
pausing on a first hint, `pipeline.barge_in_hold_ms`; such an answer goes on after ~0.3 s).
"""
from __future__ import annotations

import argparse
import json
import random
import shutil
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import soundfile

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT / "src")]   # tests/ is not a package the scripts use

QUESTIONS = [                  # long answers: the person talks over them 1-3 s in
    "What are the top five runs by validation accuracy?",
    "Compare the best random forest with the best perceptron on iris.",
    "What are the top three runs by validation accuracy on wine?",
    "What are the top five runs by training loss?",
]
TALK_AFTER_S = (1.0, 3.0)     # the person starts this long after the answer's audio starts
SEED = 12
TALKERS = {"librivox": "LibriVox (pocketsphinx-testdata) + sox reverb",
           "espeak": "espeak-ng interruptions (benchmarks/espeak_talkers.py) + sox reverb"}


def run_arm(config, stages, virtual, people, answers: int, workdir: Path, progress) -> dict:
    from labvoice.pipeline.orchestrator import Orchestrator
    from labvoice.benchmarks.barge_in import run_trial, summarize

    rng = random.Random(SEED)
    orch = Orchestrator(config, stages=stages)
    events = orch.events()
    orch.start()
    trials = []
    try:
        orch.set_style(verbosity=1.0)
        time.sleep(1.0)
        canceller = orch.echo_canceller
        echo_stats = (lambda: canceller.stats) if canceller is not None else None

        def dump(turn: int) -> None:   # what the canceller saw before a self-interruption
            if canceller is not None:
                t0, near, far, out = canceller.recent()
                folder = ROOT / "logs" / "barge_in"
                folder.mkdir(parents=True, exist_ok=True)
                soundfile.write(str(folder / f"self_cut_{turn}.wav"), np.stack([near, far, out], axis=1), 16000)
                progress(f"  self-interruption: mic/reference/output written to {folder}/self_cut_{turn}.wav")

        for i in range(answers):
            trial = run_trial(orch, events, virtual, QUESTIONS[i % len(QUESTIONS)], people[i % len(people)],
                              rng.uniform(*TALK_AFTER_S), workdir, echo_stats, dump)
            trials.append(trial)
            progress(f"  {i + 1}/{answers}: {trial}")
            if canceller is not None:
                offsets = np.array(canceller.reference.offsets) * 1000
                progress(f"    reference re-anchors so far {canceller.reference.reanchors}; DAC-time jitter ms "
                         f"p5 {np.percentile(offsets, 5):.1f} p50 {np.percentile(offsets, 50):.1f} "
                         f"p95 {np.percentile(offsets, 95):.1f}")
    finally:
        orch.stop()
    summary = summarize(trials)
    summary["echo_cancelled"] = echo_stats is not None
    return summary


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--config")
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--answers", type=int, default=40)
    parser.add_argument("--latency-ms", type=int, default=60, help="echo path delay (40-120 ms)")
    parser.add_argument("--attenuation-db", type=float, default=6.0, help="echo level below the played level")
    parser.add_argument("--without-aec-only", action="store_true", help="skip the run with the canceller")
    parser.add_argument("--aec-only", action="store_true", help="skip the contrast run without the canceller")
    parser.add_argument("--talker", choices=sorted(TALKERS), default="librivox",
                        help="who talks over the answers: LibriVox readers (default) or espeak-ng voices")
    args = parser.parse_args(argv)
    log = (lambda msg: print(msg, file=sys.stderr, flush=True))

    if shutil.which("pulseaudio") is None:
        print("bench_barge_in needs PulseAudio for the echo path: apt-get install pulseaudio pulseaudio-utils "
              "libasound2-plugins sox pocketsphinx-testdata (or make system-deps)", file=sys.stderr)
        return 2
    workdir = Path(tempfile.mkdtemp(prefix="labvoice-barge-"))
    from labvoice.benchmarks.pulse import start_virtual_audio

    virtual = start_virtual_audio(workdir / "pulse")   # before sounddevice is imported
    try:
        from labvoice.config import load_config
        from labvoice.hardware import device_summary
        from labvoice.pipeline.stages import Stages
        from labvoice.benchmarks.barge_in import prepare_people
        from labvoice.benchmarks.espeak_talkers import espeak_clips
        from labvoice.benchmarks.human_speech import librivox_clips

        config = load_config(args.config).replace(profile="cpu", **{
            "paths.logs": workdir / "logs", "audio.input_device": virtual.input_device,
            "audio.output_device": virtual.output_device})
        clips = librivox_clips() if args.talker == "librivox" else espeak_clips(workdir / "espeak")
        people = prepare_people(clips, workdir / "people")
        log("loading models")
        stages = Stages.load(config)
        arms = []
        if not args.without_aec_only:
            arms.append(("with_aec", config))
        if not args.aec_only:
            arms.append(("without_aec", config.replace(**{"audio.echo_canceller": "none"})))
        results = {}
        try:
            with virtual.echo_path(latency_ms=args.latency_ms, attenuation_db=args.attenuation_db):
                for name, arm_config in arms:
                    log(f"{name}: {args.answers} answers")
                    results[name] = run_arm(arm_config, stages, virtual, people, args.answers, workdir, log)
        finally:
            stages.close()
    finally:
        virtual.stop()
    report = {"machine": device_summary(), "barge_in": config.pipeline.barge_in,
              "barge_in_min_speech_ms": config.pipeline.barge_in_min_speech_ms,
              "barge_in_hold_ms": config.pipeline.barge_in_hold_ms,
              "echo_path": {"latency_ms": args.latency_ms, "attenuation_db": args.attenuation_db,
                            "person": TALKERS[args.talker]}, "talker": args.talker}
    report.update(results.get("with_aec", {}))
    if "without_aec" in results:
        report["without_aec"] = results["without_aec"]
    shutil.rmtree(workdir, ignore_errors=True)
    if args.json:
        print(json.dumps(report))
    else:
        for key, value in report.items():
            print(f"{key}: {value}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
