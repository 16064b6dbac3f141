"""Component speed figures that tests used to assert (tests check behaviour, not the clock): each is
measured here a few times on the CPU profile and reported as a median next to the bound the test
once held it to. Not a test: it always exits 0 unless the set-up fails.

    python scripts/bench_timing.py [--json] [--repeat N] [--no-virtual-audio]

Figures: Silero VAD per frame, Whisper tiny.en per spoken question and its return on a cancelled
token, Piper's first piece, a read while a writer holds the DB's write lock, and on the virtual
PulseAudio speaker: flush() -> silence, the flush() call itself, and a superseded turn's play-out
without a flush. The pipeline's interrupt -> silence is in scripts/bench.py; the window's Tk loop
stall is printed by tests/gui/test_window.py.
"""
from __future__ import annotations

import argparse
import json
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT / "src")]

QUESTIONS = ("Which run had the best validation accuracy last week?",
             "Show me the learning rate of the most recent run.",
             "Which experiment finished most recently, and what was its accuracy?")
SENTENCE = "The best run reached a validation accuracy of ninety eight percent on the test set."
LOUD = 0.05
VOICE_RATE = 22050
# figure -> (bound the test asserted, unit)
BOUNDS = {
    "vad_us_per_frame": (5000, "us"), "whisper_s_per_question": (5.0, "s"), "whisper_cancelled_ms": (50, "ms"),
    "piper_first_piece_s": (3.0, "s"), "db_read_during_write_lock_ms": (1000, "ms"),
    "speaker_flush_to_silence_ms": (50, "ms"), "speaker_flush_call_ms": (500, "ms"),
    "speaker_superseded_playout_ms": (150, "ms"),
}


def _median(samples: list[float]) -> float:
    return round(statistics.median(samples), 1)


def _timed(fn) -> float:
    started = time.perf_counter()
    fn()
    return time.perf_counter() - started


def bench_models(config, repeat: int, work: Path) -> dict[str, list[float]]:
    from labvoice.audio.wavio import read_for_pipeline
    from labvoice.cancel import CancelToken
    from labvoice.stt.faster_whisper import FasterWhisperTranscriber
    from labvoice.style import Style
    from labvoice.tts.piper import PiperSynthesizer
    from labvoice.listening.endpointer import EndOfSpeechDetector, VadOptions, segment_file
    from labvoice.listening.vad import FRAME_SAMPLES, SileroVad

    piper = PiperSynthesizer.from_config(config)
    vad = SileroVad.from_config(config)
    whisper = FasterWhisperTranscriber.from_config(config, "cpu")
    whisper.warmup()
    out: dict[str, list[float]] = {k: [] for k in ("vad_us_per_frame", "whisper_s_per_question",
                                                   "whisper_cancelled_ms", "piper_first_piece_s")}
    audios = [read_for_pipeline(piper.synthesize_to_wav(q, work / f"q{i}.wav", pad_s=(1.0, 1.2)))
              for i, q in enumerate(QUESTIONS)]
    cancelled = CancelToken()
    cancelled.cancel("bench")
    for _ in range(repeat):
        for audio in audios:
            frames = audio[:len(audio) - len(audio) % FRAME_SAMPLES].reshape(-1, FRAME_SAMPLES)
            vad.reset()
            out["vad_us_per_frame"].append(_timed(lambda: [vad(f) for f in frames]) / len(frames) * 1e6)
            (utterance,) = segment_file(audio, EndOfSpeechDetector(vad, VadOptions.from_config(config.vad)))
            out["whisper_s_per_question"].append(_timed(lambda: list(whisper.transcribe(utterance.audio,
                                                                                        CancelToken()))))
            out["whisper_cancelled_ms"].append(_timed(lambda: list(whisper.transcribe(audio, cancelled))) * 1000)
        stream = piper.synthesize(SENTENCE, Style(), CancelToken())
        out["piper_first_piece_s"].append(_timed(lambda: next(stream)))
        list(stream)
    return out


def bench_db(repeat: int, work: Path) -> dict[str, list[float]]:
    from labvoice.knowledge.store import ManifestStore, connect_rw

    path = work / "runs.db"
    writer = connect_rw(path)
    writer.execute("CREATE TABLE IF NOT EXISTS manifests (run_id TEXT PRIMARY KEY, timestamp TEXT, git_hash TEXT, "
                   "git_diff TEXT, command TEXT, python_version TEXT, pip_freeze TEXT, device_info TEXT, "
                   "dataset_id TEXT, params_json TEXT, final_metrics_json TEXT, artifacts_json TEXT, "
                   "wandb_url TEXT, note TEXT)")
    writer.execute("INSERT INTO manifests (run_id, final_metrics_json) VALUES ('committed', '{\"a\": 1}')")
    writer.commit()
    waits = []
    try:
        for i in range(repeat):
            writer.execute("BEGIN IMMEDIATE")
            writer.execute("INSERT INTO manifests (run_id) VALUES (?)", (f"pending{i}",))
            waits.append(_timed(lambda: ManifestStore(path).runs()) * 1000)
            writer.rollback()
    finally:
        writer.close()
    return {"db_read_during_write_lock_ms": waits}


def bench_speaker(config, repeat: int, virtual, work: Path) -> dict[str, list[float]]:
    import numpy as np

    from labvoice.audio.playback import Speaker

    tone = (0.5 * np.sin(2 * np.pi * 440 * np.arange(VOICE_RATE * 3) / VOICE_RATE)).astype(np.float32)
    chunks = [tone[i:i + int(VOICE_RATE * 0.15)] for i in range(0, len(tone), int(VOICE_RATE * 0.15))]
    out: dict[str, list[float]] = {"speaker_flush_to_silence_ms": [], "speaker_flush_call_ms": [],
                                   "speaker_superseded_playout_ms": []}
    speaker = Speaker.from_config(config)
    speaker.start()
    try:
        for _ in range(repeat):
            for flush in (True, False):
                virtual.record_speaker(work / "speaker.wav")
                time.sleep(0.2)
                turn = speaker.current_turn + 1
                speaker.set_current_turn(turn)
                for i, chunk in enumerate(chunks):
                    speaker.play(turn, i, chunk, VOICE_RATE)
                time.sleep(0.7)
                t_cut = time.monotonic()
                if flush:
                    speaker.flush()
                    out["speaker_flush_call_ms"].append((time.monotonic() - t_cut) * 1000)
                else:
                    speaker.set_current_turn(turn + 1)
                time.sleep(0.5)
                rec = virtual.stop_recording()
                loud = np.nonzero(np.abs(rec.audio) > LOUD)[0]
                after_ms = (rec.time_of(int(loud[-1]) + 1) - t_cut) * 1000 if loud.size else 0.0
                out["speaker_flush_to_silence_ms" if flush else "speaker_superseded_playout_ms"].append(after_ms)
    finally:
        speaker.stop()
    return out


def start_virtual_audio(root: Path):
    """The virtual devices (labvoice/benchmarks/pulse.py); before sounddevice is imported."""
    from labvoice.benchmarks.pulse import start_virtual_audio as start

    return start(root)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--no-virtual-audio", action="store_true")
    args = parser.parse_args(argv)
    work = Path(tempfile.mkdtemp(prefix="labvoice-bench-timing-"))
    virtual = None
    try:
        if not args.no_virtual_audio:
            virtual = start_virtual_audio(work / "pulse")
        from labvoice.config import load_config

        config = load_config(environ={}).replace(profile="cpu")
        samples = bench_models(config, args.repeat, work)
        samples.update(bench_db(args.repeat, work))
        if virtual is not None:
            config = config.replace(**{"audio.output_device": virtual.output_device})
            samples.update(bench_speaker(config, args.repeat, virtual, work))
    finally:
        if virtual is not None:
            virtual.stop()
        shutil.rmtree(work, ignore_errors=True)
    report = {}
    for name, values in samples.items():
        bound, unit = BOUNDS[name]
        median = _median(values)
        report[name] = {"median": median, "max": round(max(values), 1), "n": len(values), "unit": unit,
                        "test_bound": bound, "within_bound": median <= bound}
    if args.json:
        print(json.dumps(report))
    else:
        for name, row in report.items():
            flag = "" if row["within_bound"] else "  (over the old test bound)"
            print(f"{name:32s} median {row['median']:>8} {row['unit']:<3} max {row['max']:>8}  "
                  f"bound {row['test_bound']}{flag}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
