"""Side by side with the peer (Pipecat 1.14, harness in ../shared/peers/): end of speech -> first
output audio on the same five spoken questions, back to back, alternating, one run at a time.

    .venv/bin/python scripts/bench_peer.py [--rounds 3] [--peer-python PATH] [--out DIR]

Each round runs the peer harness (`pipecat_bench.py run --setting default --reps 2`: 10 measured
turns) and then `scripts/bench.py --peer-questions --quick --json` (the same five questions, twice). The
llama.cpp server the peer needs is started here from this venv (port 18181, 1 thread, as in the
harness README) and stopped on exit, also on Ctrl-C or an error. Prints a table per round and, as
the last line, one JSON object: per-run p50s, labvoice/pipecat ratios of adjacent runs and their
median, per-question median ratios (q5 "Tell me a joke." is the small-talk one), labvoice's stage
breakdown, pipecat's own breakdown, the machine and its load at start and end.

The peer is not part of `make install`: set its venv up as ../shared/peers/README.md says (Setup),
then pass --peer-python or set LABVOICE_PEER_PYTHON. Only same-run ratios mean anything; absolute
times do not travel between machines.
"""
from __future__ import annotations

import argparse
import ctypes
import json
import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT / "src"), str(ROOT)]

DEFAULT_PEER_PYTHON = "/tmp/h6/peer/venv/bin/python"
DEFAULT_HARNESS = ROOT.parent / "shared" / "peers" / "pipecat_bench.py"
README_HINT = "../shared/peers/README.md (section Setup)"
PEER_SETTING = "default"          # Smart Turn v3.2 + VAD stop_secs 0.2: pipecat 1.14 as it ships
PEER_REPS = 2                     # q1..q5 twice = 10 measured turns, as bench.py --peer-questions
PORT = 18181
SERVER_READY_S = 120
PEER_RUN_TIMEOUT_S = 900          # a run takes ~3 min on 2 cores; this only catches a hang
LABVOICE_RUN_TIMEOUT_S = 1200
PR_SET_PDEATHSIG = 1              # linux/prctl.h: the server dies with this script, even on SIGKILL
NOTES = [
    "Same metric on both sides: end of speech -> first output audio. Pipecat's clock starts when the 20 ms "
    "input chunk holding the last sample with |x| >= 200 is pushed (0-20 ms after that sample) and stops when "
    "the first TTS frame reaches its in-process output (write_audio_frame). labvoice's starts at the capture "
    "(ADC) time of the end of its last voiced 32 ms VAD frame and stops at the DAC time of the first answer "
    "sample at the virtual PulseAudio speaker: it also counts the output device latency (~65 ms, "
    "tts_first_audio -> first_audio) and the input buffering, which pipecat's clock does not see.",
    "clock_check weighs the two starts (on the harness's WAVs, where labvoice's VAD ends the speech after the "
    "last audible sample; pipecat's from its own turns) against labvoice's output latency: "
    "net_ms_against_labvoice > 0 means labvoice's figure covers that much more time than pipecat's.",
    "labvoice plays its own Piper renderings of the same five questions (same joe voice) into a virtual "
    "microphone; pipecat is fed the harness's 16 kHz WAVs in-process.",
    "labvoice's LLM is in-process (llama-cpp-python, config threads); the peer's is the llama.cpp server "
    "started here with 1 thread. The server stays up but idle while labvoice runs: "
    "llama_server_cpu_s_during_labvoice is the CPU time it used meanwhile.",
]


class BenchError(Exception):
    """Something the user must fix or look at; the message is one line."""


# -- the peer and its server ---------------------------------------------------------------------
def peer_paths(peer_python: str | None, harness: str | None) -> tuple[Path, Path]:
    """The peer venv's python and the harness, checked; BenchError with how to set them up."""
    python = Path(peer_python or os.environ.get("LABVOICE_PEER_PYTHON") or DEFAULT_PEER_PYTHON)
    script = Path(harness or os.environ.get("LABVOICE_PEER_HARNESS") or DEFAULT_HARNESS)
    if not script.is_file():
        raise BenchError(f"the peer harness is missing at {script}; it lives in ../shared/peers/ "
                         f"(see {README_HINT}), or pass --harness PATH")
    if not (python.is_file() and os.access(python, os.X_OK)):
        raise BenchError(f"the peer venv's python is missing at {python} (the peer is not part of make install): "
                         f"set it up as {README_HINT} says, then pass --peer-python PATH or set LABVOICE_PEER_PYTHON")
    done = subprocess.run([str(python), "-c", "import pipecat, piper, faster_whisper, openai"],
                          capture_output=True, text=True, timeout=180)
    if done.returncode != 0:
        last = (done.stderr.strip().splitlines() or ["no output"])[-1]
        raise BenchError(f"the peer venv at {python} cannot import pipecat/piper ({last}): "
                         f"rebuild it as {README_HINT} says")
    return python, script


def _die_with_parent() -> None:
    ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGTERM)


class LlamaServer:
    """llama.cpp's OpenAI-compatible server with the bundled SmolLM2 GGUF, on loopback."""

    def __init__(self, port: int, log_path: Path) -> None:
        self.port, self.log_path, self.process = port, log_path, None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    def start(self) -> None:
        from labvoice.models import bundled_path

        with socket.socket() as probe:
            if probe.connect_ex(("127.0.0.1", self.port)) == 0:
                raise BenchError(f"port {self.port} is in use (another llama server?); stop it or pass --port")
        gguf = bundled_path("llm")
        log = open(self.log_path, "w")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "llama_cpp.server", "--model", str(gguf), "--host", "127.0.0.1",
             "--port", str(self.port), "--n_ctx", "2048", "--n_threads", "1"],
            stdout=log, stderr=subprocess.STDOUT, preexec_fn=_die_with_parent)
        log.close()
        deadline = time.monotonic() + SERVER_READY_S
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise BenchError(f"the llama server exited at start (code {self.process.returncode}); see {self.log_path}")
            try:
                with urllib.request.urlopen(f"{self.url}/models", timeout=2):
                    return
            except OSError:
                time.sleep(0.5)
        raise BenchError(f"the llama server did not answer within {SERVER_READY_S} s; see {self.log_path}")

    def cpu_s(self) -> float:
        """CPU time (user + system) the server has used so far."""
        fields = Path(f"/proc/{self.process.pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


class Child:
    """One benchmark process at a time; ended by its own id when this script is stopped."""
    current: subprocess.Popen | None = None

    @classmethod
    def run(cls, cmd: list[str], stdout: Path, stderr: Path, timeout: float, cwd: Path) -> None:
        with open(stdout, "w") as out, open(stderr, "w") as err:
            cls.current = subprocess.Popen(cmd, stdout=out, stderr=err, cwd=cwd)
            try:
                code = cls.current.wait(timeout)
            except subprocess.TimeoutExpired:
                cls.stop()
                raise BenchError(f"{Path(cmd[1]).name} ran past {timeout} s; see {stderr}") from None
            cls.current = None   # (on Ctrl-C it stays set, and main's cleanup ends it)
        if code != 0:
            tail = (stderr.read_text(errors="replace").strip().splitlines() or ["no output"])[-1]
            raise BenchError(f"{Path(cmd[1]).name} failed (exit {code}): {tail[:300]}; see {stderr}")

    @classmethod
    def stop(cls) -> None:
        process, cls.current = cls.current, None
        if process is not None and process.poll() is None:
            process.terminate()
            try:
                process.wait(15)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


# -- parsing and ratios ------------------------------------------------------------------------------
def median(values, digits: int = 1):
    values = [v for v in values if v is not None]
    return round(statistics.median(values), digits) if values else None


def parse_pipecat(path: Path) -> dict:
    """The harness's results JSONL -> one run's summary (measured turns only)."""
    header, turns = {}, []
    for line in Path(path).read_text().splitlines():
        if line.strip():
            row = json.loads(line)
            if row.get("kind") == "header":
                header = row
            elif row.get("kind") == "turn" and row.get("phase") == "measure":
                turns.append(row)
    e2e = [t["e2e_ms"] for t in turns if t.get("e2e_ms") is not None]
    by_question: dict[str, list[float]] = {}
    for t in turns:
        if t.get("e2e_ms") is not None:
            by_question.setdefault(t["q"], []).append(t["e2e_ms"])
    labels = list(dict.fromkeys(part["label"] for t in turns for part in t.get("pipecat_breakdown") or []))
    breakdown = {label: median([next((p["ms"] for p in t.get("pipecat_breakdown") or [] if p["label"] == label), 0.0)
                                for t in turns]) for label in labels}   # a part missing in a turn counts 0
    verdicts = [m.get("is_complete") for t in turns for m in t["metrics"]
                if m["type"] in ("SmartTurnMetricsData", "TurnMetricsData")]
    # eos_spoken: the last audible sample on the real-time schedule; the clock starts at eos_fed
    fed_after = [-t["rel_ms"]["eos_spoken"] for t in turns if "eos_spoken" in t.get("rel_ms", {})]
    return {"who": "pipecat", "setting": header.get("setting"), "turns": len(turns), "answered": len(e2e),
            "p50": median(e2e), "min": min(e2e, default=None), "max": max(e2e, default=None),
            "by_question": {q: sorted(v) for q, v in sorted(by_question.items())},
            "breakdown_ms": breakdown, "smart_turn_incomplete": sum(v is False for v in verdicts),
            "clock_start_after_last_sample_ms": median(fed_after), "versions": header.get("versions", {})}


def parse_labvoice(report: dict, question_ids: dict[str, str]) -> dict:
    """bench.py --peer-questions --json's report -> one run's summary, questions named as the peer's."""
    each = report["first_audio_each_ms"]
    texts = report.get("first_audio_questions")
    if texts is None or len(texts) != len(each):
        raise BenchError("scripts/bench.py --json does not say which question each turn was "
                         "(first_audio_questions); update scripts/bench.py")
    by_question: dict[str, list[float]] = {}
    for text, ms in zip(texts, each):
        if text not in question_ids:
            raise BenchError(f"bench.py asked {text!r}, which is not one of the peer's questions")
        by_question.setdefault(question_ids[text], []).append(ms)
    llm_first = report.get("llm_first_each") or []
    return {"who": "labvoice", "turns": report["questions"], "answered": report["answered"],
            "p50": median(each), "min": min(each, default=None), "max": max(each, default=None),
            "by_question": {q: sorted(v) for q, v in sorted(by_question.items())},
            "stages_ms": report.get("stages_ms", {}),
            "llm_first_turns": {question_ids[t]: sum(1 for u, on in zip(texts, llm_first) if u == t and on)
                                for t in dict.fromkeys(texts)} if llm_first else {},
            "transcripts": report.get("transcripts", [])}


def adjacent_ratios(runs: list[dict]) -> list[dict]:
    """labvoice p50 / pipecat p50 for each pair of adjacent runs (P L P L ... gives 2n-1 pairs),
    overall and per question (the medians of each run's turns of that question)."""
    pairs = []
    for n, (first, second) in enumerate(zip(runs, runs[1:]), start=1):
        if {first["who"], second["who"]} != {"labvoice", "pipecat"}:
            continue
        ours, peer = (first, second) if first["who"] == "labvoice" else (second, first)
        per_q = {}
        for q in sorted(set(ours["by_question"]) & set(peer["by_question"])):
            theirs = median(peer["by_question"][q])
            per_q[q] = round(median(ours["by_question"][q]) / theirs, 3) if theirs else None
        pairs.append({"runs": [n, n + 1],
                      "ratio": round(ours["p50"] / peer["p50"], 3) if ours["p50"] and peer["p50"] else None,
                      "per_question": per_q})
    return pairs


def summarize(runs: list[dict]) -> dict:
    pairs = adjacent_ratios(runs)
    questions = sorted({q for pair in pairs for q in pair["per_question"]})
    ours = [r for r in runs if r["who"] == "labvoice"]
    peers = [r for r in runs if r["who"] == "pipecat"]
    stages = list(dict.fromkeys(s for r in ours for s in r["stages_ms"]))
    parts = list(dict.fromkeys(p for r in peers for p in r["breakdown_ms"]))
    return {
        "p50_ms": [{"run": i + 1, "who": r["who"], "p50": r["p50"], "min": r["min"], "max": r["max"],
                    "answered": r["answered"], "turns": r["turns"]} for i, r in enumerate(runs)],
        "ratios": [p["ratio"] for p in pairs],
        "ratio_median": median([p["ratio"] for p in pairs], 3),
        "per_question_ratio_median": {q: median([p["per_question"].get(q) for p in pairs], 3) for q in questions},
        "pairs": pairs,
        "labvoice_stages_p50_ms": {s: median([r["stages_ms"].get(s) for r in ours]) for s in stages},
        "pipecat_breakdown_p50_ms": {p: median([r["breakdown_ms"].get(p) for r in peers]) for p in parts},
    }


# -- checks and machine ------------------------------------------------------------------------------
def vad_clock_start(wav_dir: Path, manifest: list[dict]) -> dict:
    """Where labvoice's endpointer puts the end of speech on the harness's WAVs, in ms after the
    peer's (its last |x| >= 200 sample): > 0 means labvoice's clock starts later than pipecat's."""
    import numpy as np

    from labvoice.audio.wavio import read_for_pipeline
    from labvoice.config import load_config
    from labvoice.listening.endpointer import EndOfSpeechDetector, segment_file

    detector = EndOfSpeechDetector.from_config(load_config(None))
    offsets = {}
    for item in manifest:
        audio = read_for_pipeline(wav_dir / item["file"], 16000)
        audio = np.concatenate((audio, np.zeros(3 * 16000, dtype=np.float32)))   # silence to end the turn
        utterances = segment_file(audio, detector)
        if utterances:
            offsets[item["id"]] = round((utterances[-1].t_speech_end - (item["speech_end_sample"] + 1) / 16000) * 1000, 1)
    return {"by_question": offsets, "median": median(list(offsets.values()))}


def clock_check(vad: dict, runs: list[dict], stages_p50: dict) -> dict:
    """Do both clocks measure the same span? Starts: ms after the last audible sample; stop: labvoice
    also counts the audio device's output latency. > 0 in the net means labvoice's figure is longer."""
    ours_start = vad.get("median")
    peer_start = median([r.get("clock_start_after_last_sample_ms") for r in runs if r["who"] == "pipecat"])
    output = stages_p50.get("first_audio")     # tts_first_audio -> the first sample at the speaker
    net = (round(output - (ours_start - peer_start), 1)
           if None not in (ours_start, peer_start, output) else None)
    return {"labvoice_start_after_last_sample_ms": vad, "pipecat_start_after_last_sample_ms": peer_start,
            "labvoice_output_latency_ms": output, "net_ms_against_labvoice": net}


def machine() -> dict:
    info = {}
    try:
        for line in subprocess.run(["lscpu"], capture_output=True, text=True, timeout=10).stdout.splitlines():
            key, _, value = line.partition(":")
            if key.strip() in ("Model name", "CPU(s)"):
                info.setdefault(key.strip(), value.strip())
    except (OSError, subprocess.TimeoutExpired):
        pass
    return {"cpu": info.get("Model name", "?"), "cores": int(info.get("CPU(s)") or os.cpu_count() or 0)}


def load() -> str:
    try:
        return subprocess.run(["uptime"], capture_output=True, text=True, timeout=10).stdout.strip()
    except (OSError, subprocess.TimeoutExpired):
        return "load average: " + " ".join(Path("/proc/loadavg").read_text().split()[:3])


# -- printing ----------------------------------------------------------------------------------------
def print_round(n: int, rounds: int, runs: list[dict], seconds: dict, load_now: str) -> None:
    questions = sorted({q for r in runs for q in r["by_question"]})
    print(f"\nround {n}/{rounds}: pipecat {seconds['pipecat']:.0f} s, labvoice {seconds['labvoice']:.0f} s; "
          f"{load_now}", flush=True)
    print(f"{'run':<20}{'p50':>9}{'min':>9}{'max':>9}{'n':>4}" + "".join(f"{q:>9}" for q in questions))
    for i, run in enumerate(runs):
        label = f"{i + 1} " + ("pipecat " + (run.get("setting") or "") if run["who"] == "pipecat" else "labvoice")
        cells = "".join(f"{median(run['by_question'].get(q, [])) or '-':>9}" for q in questions)
        print(f"{label:<20}{run['p50'] or '-':>9}{run['min'] or '-':>9}{run['max'] or '-':>9}{run['answered']:>4}{cells}")
    for pair in adjacent_ratios(runs)[-2:]:
        cells = "".join(f"{pair['per_question'].get(q) or '-':>9}" for q in questions)
        print(f"{'ratio runs %d-%d' % tuple(pair['runs']):<20}{pair['ratio'] or '-':>9}{'':>22}{cells}", flush=True)


# -- main --------------------------------------------------------------------------------------------
def _terminate(signum, frame):
    raise SystemExit(128 + signum)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3, help="pipecat then labvoice, this many times (default 3)")
    parser.add_argument("--peer-python", help=f"the peer venv's python (default $LABVOICE_PEER_PYTHON or {DEFAULT_PEER_PYTHON})")
    parser.add_argument("--harness", help="pipecat_bench.py (default ../shared/peers/pipecat_bench.py)")
    parser.add_argument("--out", help="folder for every raw result and log (default: a new temporary folder)")
    parser.add_argument("--port", type=int, default=PORT, help=f"the llama server's port (default {PORT})")
    args = parser.parse_args(argv)
    if args.rounds < 1:
        parser.error("--rounds must be at least 1")
    try:
        peer_python, harness = peer_paths(args.peer_python, args.harness)
    except (BenchError, subprocess.TimeoutExpired) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    out = Path(args.out) if args.out else Path(tempfile.mkdtemp(prefix="labvoice-peer-"))
    out.mkdir(parents=True, exist_ok=True)
    signal.signal(signal.SIGTERM, _terminate)
    server = LlamaServer(args.port, out / "llama_server.log")
    load_start, t_start = load(), time.monotonic()
    print(f"results and logs in {out}; {load_start}", flush=True)
    runs, round_s, server_cpu = [], [], []
    try:
        server.start()
        wav_dir = out / "wav"
        Child.run([str(peer_python), str(harness), "make-wavs", "--out", str(wav_dir)],
                  out / "make_wavs.log", out / "make_wavs.err", 300, out)
        manifest = json.loads((wav_dir / "manifest.json").read_text())
        question_ids = {item["text"]: item["id"] for item in manifest}
        for n in range(1, args.rounds + 1):
            seconds, t_round = {}, time.monotonic()
            results = out / f"round{n}_pipecat.jsonl"
            Child.run([str(peer_python), str(harness), "run", "--setting", PEER_SETTING, "--reps", str(PEER_REPS),
                       "--wavs", str(wav_dir), "--out", str(results), "--llm-url", server.url],
                      out / f"round{n}_pipecat.log", out / f"round{n}_pipecat.err", PEER_RUN_TIMEOUT_S, out)
            runs.append({**parse_pipecat(results), "round": n})
            seconds["pipecat"] = time.monotonic() - t_round
            cpu_before, t_ours = server.cpu_s(), time.monotonic()
            report_path = out / f"round{n}_labvoice.json"
            # --quick: first audio only (the interrupt and sequential-baseline runs are not compared)
            Child.run([sys.executable, str(ROOT / "scripts" / "bench.py"), "--peer-questions", "--quick", "--json"],
                      report_path, out / f"round{n}_labvoice.err", LABVOICE_RUN_TIMEOUT_S, ROOT)
            server_cpu.append(round(server.cpu_s() - cpu_before, 2))
            lines = [line for line in report_path.read_text().splitlines() if line.startswith("{")]
            if not lines:
                raise BenchError(f"scripts/bench.py printed no JSON; see {report_path}")
            runs.append({**parse_labvoice(json.loads(lines[-1]), question_ids), "round": n})
            seconds["labvoice"] = time.monotonic() - t_ours
            round_s.append(round(time.monotonic() - t_round, 1))
            print_round(n, args.rounds, runs, seconds, load())
        try:
            clock_start = vad_clock_start(wav_dir, manifest)
        except Exception as err:  # noqa: BLE001 - a check beside the figures; say why it is missing
            clock_start = {"error": f"{type(err).__name__}: {err}"}
    except BenchError as err:
        print(f"error: {err}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print(f"interrupted; what was measured is in {out}", file=sys.stderr)
        return 130
    finally:
        Child.stop()
        server.stop()
    summary = summarize(runs)
    report = {
        "command": "scripts/bench_peer.py " + " ".join(argv if argv is not None else sys.argv[1:]),
        "rounds": args.rounds,
        "peer": {"setting": PEER_SETTING, "reps": PEER_REPS, "harness": str(harness), "python": str(peer_python),
                 "versions": next((r["versions"] for r in runs if r["who"] == "pipecat"), {})},
        "questions": {v: k for k, v in question_ids.items()},
        **summary,
        "runs": runs,
        "clock_check": clock_check(clock_start, runs, summary["labvoice_stages_p50_ms"]),
        "llama_server_cpu_s_during_labvoice": server_cpu,
        "round_s": round_s,
        "total_s": round(time.monotonic() - t_start, 1),
        "machine": machine(),
        "load_start": load_start,
        "load_end": load(),
        "out": str(out),
        "notes": NOTES,
    }
    print(json.dumps(report))
    return 0


if __name__ == "__main__":
    sys.exit(main())
