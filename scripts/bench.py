"""Voice pipeline benchmark (CPU profile): end of speech -> first answer audio, streaming vs a
sequential baseline, stage breakdown, and interrupt -> silence. Not a test: it reports figures.

    python scripts/bench.py [--json] [--questions N] [--config FILE] [--files]
    python scripts/bench.py --pauses [--json]     # end of turn on questions with mid-sentence pauses
    python scripts/bench.py --peer-questions --json   # the peer harness's five questions, twice
    python scripts/bench.py --remarks --questions 40 --json   # also: the remarks after the facts, counted

The run questions and the document questions (answered from knowledge_base/,
labvoice/benchmarks/documents.py) alternate, and both first-audio p50s come from the same run.

Questions are Piper-synthesized and played into a virtual microphone (a private PulseAudio with
null sinks, as in the tests); answers are recorded from the virtual speaker's monitor. With
--files (or when PulseAudio is not installed) the same questions are fed as files instead.
The sequential baseline answers the same utterances in the same run: whole answer, then whole
TTS, then play, through the same speaker. Every latency counts from the true end of speech of the
WAV (its last audible sample; the VAD's end comes ~30-60 ms later and is reported), and each answer
is checked against the runs the same question typed gets (`answered_right`); a document answer must
name its source and show the question's key fact. --remarks sends the same WAVs through the STT path
once more (files, shipped style and verbosity 1.0) and counts the remarks spoken after the facts and
those that said nothing new (labvoice/benchmarks/remark_check.py, independent of the check that
decides).
"""
from __future__ import annotations

import argparse
import functools
import json
import queue
import shutil
import statistics
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT / "src")]   # tests/ is not a package the scripts use

QUESTIONS = [
    "Which run had the best validation accuracy on digits?",
    "What are the top three runs by validation accuracy on wine?",
    "Which runs are flagged for publishing?",
    "Which run has the lowest training loss?",
    "What learning rate did the best random forest use?",
    "Which runs have validation accuracy above 0.97?",
    "What is the most recent run?",
    "Which runs diverged?",
    "How many runs used a perceptron?",
    "Compare the best random forest with the best perceptron on iris.",
    "Which run had the best validation accuracy on breast cancer?",
    "Hello, how are you today?",
]
# The five questions of the peer harness (../shared/peers/README.md), for side-by-side runs.
PEER_QUESTIONS = [
    "Which run has the best validation accuracy on the digits dataset?",
    "Compare the two best SVM runs.",
    "What learning rate did run seven use?",
    "Which runs are flagged for publishing?",
    "Tell me a joke.",
]
PAD_S = (0.6, 1.2)
SILENCE = 0.003
INTERRUPT_AFTER_S = 0.6
TURN_TIMEOUT_S = 120
STAGES = ("endpointing", "stt", "retrieval", "first_token", "first_chunk", "tts_first_audio", "first_audio")


def pct(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    k = (len(ordered) - 1) * q
    lo, hi = int(k), min(int(k) + 1, len(ordered) - 1)
    return round(ordered[lo] + (ordered[hi] - ordered[lo]) * (k - lo), 1)


def stage_durations(cumulative: dict[str, float]) -> dict[str, float]:
    """Cumulative stamps (ms since end of speech) -> time spent in each stage on the way to the
    first audio, in time order. Stages that came after the first audio (the LLM, when the facts
    were spoken first) are not on that path and are left out."""
    end = cumulative.get("first_audio", float("inf"))
    path = sorted((t, name) for name, t in cumulative.items() if name in STAGES and t <= end)
    out, previous = {}, 0.0
    for t, name in path:
        out[name] = round(t - previous, 1)
        previous = t
    return out


def wait_event(events, kinds, turn_id, timeout=TURN_TIMEOUT_S, where=lambda e: True):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            event = events.get(timeout=0.1)
        except queue.Empty:
            continue
        if isinstance(event, kinds) and event.turn_id == turn_id and where(event):
            return event
    raise TimeoutError(f"turn {turn_id}: no {kinds} within {timeout}s")


def llm_first(cumulative: dict[str, float]) -> bool:
    """The LLM's first token came before the first audio (small talk, documents): it was on the path."""
    return "first_token" in cumulative and cumulative["first_token"] <= cumulative.get("first_audio", float("inf"))


def synthesize_questions(stages, folder: Path, n: int, questions: list[str] = QUESTIONS) -> list[Path]:
    paths = []
    for i, text in enumerate((questions * 3)[:n]):
        paths.append(stages.synthesizer.synthesize_to_wav(text, folder / f"q{i:02d}.wav", pad_s=PAD_S))
    return paths


def vad_lag_ms(stages, wav: Path) -> float:
    """How much later than the WAV's true end of speech (its last audible sample) the app's endpointer
    puts the end: the turn's stamps count from there, so this is added back to every figure."""
    from labvoice.audio.wavio import read_for_pipeline
    from labvoice.benchmarks.truth import vad_end_after_true_end_ms
    from labvoice.pipeline.offline import first_utterance

    audio = read_for_pipeline(wav, 16000)
    utterance, _ = first_utterance(stages, audio)
    if utterance is None:
        raise RuntimeError(f"the endpointer found no speech in {wav}")
    return vad_end_after_true_end_ms(audio, 16000, utterance.t_speech_end)


def sequential_first_audio(stages, wav: Path, speaker, turn_id: int, first_audio: "queue.Queue | None" = None) -> float:
    """Baseline: endpoint, STT, the whole answer, the whole TTS, then play. ms from the VAD's end of speech."""
    from labvoice.answer.grounded import Conversation
    from labvoice.audio.wavio import read_for_pipeline
    from labvoice.pipeline.offline import first_utterance
    from labvoice.pipeline.runner import TextSink, one_off
    from labvoice.style import Style

    audio = read_for_pipeline(wav, 16000)
    utterance, decided_at = first_utterance(stages, audio)
    t_speech_end = time.monotonic() - (decided_at - utterance.t_speech_end)
    job = one_off(audio=utterance.audio, t_start=t_speech_end)
    # It stops where the streaming figure does: the facts (or the LLM's first sentence), no remarks
    # after them (verbosity 0 leaves no room for any), so both count the same answer's first part.
    style = replace(Style.from_config(stages.config.style), verbosity=0.0)
    outcome = stages.runner().run(job, TextSink(), style, Conversation())
    speech = stages.synthesizer.synthesize_all(outcome.answer)   # the whole answer, then the whole TTS
    if speaker is None:
        return (time.monotonic() - t_speech_end) * 1000
    speaker.set_current_turn(turn_id)
    speaker.play(turn_id, 0, speech, stages.synthesizer.sample_rate)
    while True:
        turn, t_first = first_audio.get(timeout=30)
        if turn == turn_id:
            break
    speaker.flush()
    return (t_first - t_speech_end) * 1000


def run_live(config, stages, wavs: list[Path], virtual, workdir: Path, quick: bool = False) -> dict:
    from labvoice.audio.playback import Speaker
    from labvoice.events import AnswerDone, Latency, Status, StatusChanged, TurnEnded, Transcript
    from labvoice.pipeline.orchestrator import Orchestrator

    orch = Orchestrator(config, stages=stages)
    events = orch.events()
    orch.start()
    first_audio, stages_ms, transcripts, interrupts, llm_path = [], {s: [] for s in STAGES}, [], [], []
    asked = []   # the wav index of each first_audio entry (a turn that got no audio leaves a gap)
    each = []    # each answered turn's stage durations
    used = {}    # wav index -> the run ids its answer used
    shown = {}   # wav index -> (the answer shown, its document sources)
    try:
        time.sleep(1.0)
        for i, wav in enumerate(wavs):
            playback = virtual.play_into_mic(wav)
            turn, transcript = None, ""
            deadline = time.monotonic() + TURN_TIMEOUT_S
            while turn is None and time.monotonic() < deadline:
                event = events.get(timeout=TURN_TIMEOUT_S)
                if isinstance(event, Transcript):
                    turn, transcript = event.turn_id, event.text
                elif isinstance(event, TurnEnded) and event.reason == "empty":
                    break
            playback.wait(30)
            if turn is None:
                continue
            transcripts.append(transcript)
            done = wait_event(events, AnswerDone, turn)   # published before its Latency
            used[i], shown[i] = done.used_run_ids, (done.display, done.sources)
            latency = wait_event(events, Latency, turn)
            wait_event(events, TurnEnded, turn)
            if "first_audio" in latency.stages_ms:
                first_audio.append(latency.stages_ms["first_audio"])
                asked.append(i)
                llm_path.append(llm_first(latency.stages_ms))
                durations = stage_durations(latency.stages_ms)
                each.append({name: round(value, 1) for name, value in durations.items()})
                for name, value in durations.items():
                    stages_ms[name].append(value)
            time.sleep(0.3)
        # interrupt -> silence, measured on the speaker's recording
        orch.set_style(verbosity=1.0)
        for i in range(0 if quick else 3):
            virtual.record_speaker(workdir / f"interrupt{i}.wav")
            turn = orch.ask_text("What are the top five runs by validation accuracy?")
            wait_event(events, StatusChanged, turn, where=lambda e: e.status is Status.SPEAKING)
            time.sleep(INTERRUPT_AFTER_S)
            t_interrupt = time.monotonic()
            orch.interrupt()
            wait_event(events, TurnEnded, turn)
            time.sleep(1.0)
            rec = virtual.stop_recording()
            start = rec.index_at(t_interrupt)
            loud = [j for j in range(start, len(rec.audio)) if abs(rec.audio[j]) > SILENCE]
            interrupts.append(round((loud[-1] - start) / rec.sample_rate * 1000, 1) if loud else 0.0)
        orch.set_style(verbosity=config.style.verbosity)
    finally:
        orch.stop()
    first_audio_q: queue.Queue = queue.Queue()
    speaker = Speaker.from_config(config, on_first_audio=lambda turn, t: first_audio_q.put((turn, t)))
    speaker.start()
    try:
        sequential = [sequential_first_audio(stages, wav, speaker, 10_000 + i, first_audio_q)
                      for i, wav in enumerate(wavs) if not quick]
    finally:
        speaker.stop()
    return {"first_audio": first_audio, "llm_first": llm_path, "stages": stages_ms, "sequential": sequential,
            "interrupt": interrupts, "asked": asked, "stages_each": each, "used": used, "shown": shown,
            "transcripts": transcripts, "mode": "virtual audio devices (PulseAudio null sinks)"}


def run_files(config, stages, wavs: list[Path]) -> dict:
    from labvoice.pipeline.offline import answer_file

    first_audio, stages_ms, transcripts, llm_path, asked, used, shown = [], {s: [] for s in STAGES}, [], [], [], {}, {}
    for i, wav in enumerate(wavs):
        outcome = answer_file(stages, wav, None).outcome
        transcripts.append(outcome.transcript)
        used[i] = outcome.used_run_ids
        result = outcome.result
        shown[i] = (result.display, result.sources) if result is not None else (outcome.answer, ())
        if "first_audio" in outcome.latency_ms:
            first_audio.append(outcome.latency_ms["first_audio"])
            asked.append(i)
            llm_path.append(llm_first(outcome.latency_ms))
            for name, value in stage_durations(outcome.latency_ms).items():
                stages_ms[name].append(value)
    sequential = [sequential_first_audio(stages, wav, None, 0) for wav in wavs]
    return {"first_audio": first_audio, "llm_first": llm_path, "stages": stages_ms, "sequential": sequential,
            "interrupt": [], "asked": asked, "used": used, "shown": shown,
            "transcripts": transcripts, "mode": "files (no audio devices)"}


def count_remarks(stages, wavs: list[Path], verbosities: tuple[float, ...]) -> dict:
    """--remarks: each WAV through the STT path (files) at each verbosity; the remarks spoken after the
    facts, and how many of them said nothing new (benchmarks/remark_check.py)."""
    from labvoice.benchmarks.remark_check import RemarkTally
    from labvoice.pipeline.offline import answer_file
    from labvoice.style import Style

    report = {}
    for verbosity in verbosities:
        style = replace(Style.from_config(stages.config.style), verbosity=verbosity)
        tally, with_facts = RemarkTally(), 0
        for wav in wavs:
            result = answer_file(stages, wav, None, style).outcome.result
            if result is None or not result.facts or result.sources:
                continue     # remarks follow run facts only (documents, small talk: none)
            with_facts += 1
            spoken_remarks = " ".join(result.remarks)
            facts_said = result.text[:len(result.text) - len(spoken_remarks)] if spoken_remarks else result.text
            rows = [r.as_dict() for r in result.retrieval.factset.rows] if result.retrieval is not None else []
            tally.add(result.remarks, facts_said, result.facts, rows, refused=len(result.remarks_refused))
        report[f"verbosity_{verbosity:g}"] = tally.as_dict()
    return report


def bench_pauses(args) -> int:
    """--pauses: the endpointer alone, frame by frame as the listener runs it (labvoice/benchmarks/pauses_bench.py)."""
    from labvoice.config import load_config
    from labvoice.hardware import device_summary
    from labvoice.benchmarks.pauses_bench import measure

    report = {"machine": device_summary(), **measure(load_config(args.config).replace(profile="cpu"))}
    if args.json:
        print(json.dumps(report))
    else:
        for key, value in report.items():
            print(f"{key}: {value}")
    return 0


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--config")
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--questions", type=int, help="how many to ask (the list repeats; default: each once)")
    parser.add_argument("--no-documents", action="store_true", help="run questions only, as before documents")
    parser.add_argument("--remarks", action="store_true",
                        help="also count the remarks after the facts on the same WAVs (STT path, verbosity as "
                             "shipped and 1.0): spoken, and those that said nothing new")
    parser.add_argument("--files", action="store_true", help="feed files instead of the virtual devices")
    parser.add_argument("--peer-questions", action="store_true",
                        help="the peer harness's five questions, twice (side-by-side runs with ../shared/peers)")
    parser.add_argument("--quick", action="store_true",
                        help="first audio only: no interrupt or sequential-baseline runs (development)")
    parser.add_argument("--inline-speculation", action="store_true",
                        help="speculative transcription on the listener thread, as before its worker (before/after)")
    parser.add_argument("--pauses", action="store_true",
                        help="end of turn only: questions with mid-sentence pauses (premature cut-offs, today's beside)")
    args = parser.parse_args(argv)
    if args.pauses:
        return bench_pauses(args)

    workdir = Path(tempfile.mkdtemp(prefix="labvoice-bench-"))
    virtual = None
    if not args.files and shutil.which("pulseaudio"):
        from labvoice.benchmarks.pulse import start_virtual_audio

        virtual = start_virtual_audio(workdir / "pulse")   # before sounddevice is imported
    from labvoice.benchmarks.documents import DOC_QUESTIONS, doc_answered_right, interleave
    from labvoice.benchmarks.truth import answered_right, expected_run_ids
    from labvoice.config import load_config
    from labvoice.hardware import device_summary
    from labvoice.pipeline.stages import Stages

    config = load_config(args.config).replace(profile="cpu", **{"paths.logs": workdir / "logs"})
    if virtual is not None:
        config = config.replace(**{"audio.input_device": virtual.input_device,
                                   "audio.output_device": virtual.output_device})
    stages = Stages.load(config)
    if args.inline_speculation:
        stages.new_endpointer = functools.partial(stages.new_endpointer, background=False)
    try:
        if args.peer_questions:
            questions = PEER_QUESTIONS
        else:
            questions = QUESTIONS if args.no_documents else interleave(QUESTIONS, [q.text for q in DOC_QUESTIONS])
        count = 2 * len(PEER_QUESTIONS) if args.peer_questions else (args.questions or len(questions))
        wavs = synthesize_questions(stages, workdir, count, questions)
        asked_texts = (questions * 3)[:count]
        expected = expected_run_ids(stages.brain.retriever.retrieve, asked_texts)   # as typed
        lags = [vad_lag_ms(stages, wav) for wav in wavs]
        raw = run_live(config, stages, wavs, virtual, workdir, args.quick) if virtual else run_files(config, stages, wavs)
        if args.remarks:
            raw["remarks"] = count_remarks(stages, wavs, (config.style.verbosity, 1.0))
    finally:
        stages.close()
        if virtual is not None:
            virtual.stop()
    # Every figure is measured from the true end of speech of our own WAVs: the turn's stamps count
    # from the VAD's end of speech, which comes `lags[i]` later, so that lag is added back.
    raw["first_audio"] = [v + lags[i] for v, i in zip(raw["first_audio"], raw["asked"])]
    raw["sequential"] = [v + lag for v, lag in zip(raw["sequential"], lags)]
    documents = {q.text: q for q in DOC_QUESTIONS}

    def right_for(i: int) -> bool:
        if asked_texts[i] in documents:   # a document answer: its source named, the key fact shown
            display, sources = raw["shown"][i]
            return doc_answered_right(documents[asked_texts[i]], display, sources)
        return answered_right(expected[asked_texts[i]], tuple(raw["used"][i]))

    right = [right_for(i) for i in sorted(raw["used"])]
    doc_right = [right_for(i) for i in sorted(raw["used"]) if asked_texts[i] in documents]
    p50 = pct(raw["first_audio"], 0.5)
    kinds = ["documents" if asked_texts[i] in documents else "llm" if on_path else "facts"
             for i, on_path in zip(raw["asked"], raw["llm_first"])]
    llm_ms = [v for v, kind in zip(raw["first_audio"], kinds) if kind == "llm"]
    facts_ms = [v for v, kind in zip(raw["first_audio"], kinds) if kind == "facts"]
    doc_ms = [v for v, kind in zip(raw["first_audio"], kinds) if kind == "documents"]
    seq50 = pct(raw["sequential"], 0.5)
    report = {
        "machine": device_summary(),
        "mode": raw["mode"],
        "questions": len(wavs),
        "answered": len(raw["first_audio"]),
        "answered_right": sum(right),    # the runs the same question typed gets (a misheard one is not right)
        "answered_right_each": right,
        "clock_start_offset_ms": 0.0,    # the clock starts at the true end of speech (the WAV's last audible sample)
        "vad_end_after_true_end_ms": {"p50": pct(lags, 0.5), "each": lags},
        "first_audio_ms": {"p50": p50, "p95": pct(raw["first_audio"], 0.95)},
        "llm_first_audio_ms": {"p50": pct(llm_ms, 0.5), "count": len(llm_ms)},
        "facts_first_audio_ms": {"p50": pct(facts_ms, 0.5), "count": len(facts_ms)},   # run questions, facts first
        "documents_first_audio_ms": {"p50": pct(doc_ms, 0.5), "p95": pct(doc_ms, 0.95), "count": len(doc_ms)},
        # the done-when of the documents: within 150 ms of the facts' p50, in the same run
        "documents_minus_facts_p50_ms": round(pct(doc_ms, 0.5) - pct(facts_ms, 0.5), 1) if doc_ms and facts_ms else None,
        "documents_answered_right": {"right": sum(doc_right), "of": len(doc_right)},
        "first_audio_kind_each": kinds,
        "first_audio_each_ms": [round(v, 1) for v in raw["first_audio"]],
        "first_audio_questions": [(questions * 3)[i] for i in raw["asked"]],   # the question of each entry above
        "llm_first_each": raw["llm_first"],
        "sequential_first_audio_ms": {"p50": seq50, "p95": pct(raw["sequential"], 0.95)},
        "ratio": round(p50 / seq50, 3) if seq50 else None,
        "interrupt_ms": {"p50": pct(raw["interrupt"], 0.5), "max": max(raw["interrupt"]) if raw["interrupt"] else None},
        "stages_ms": {name: pct(values, 0.5) for name, values in raw["stages"].items() if values},
        "stages_each_ms": raw.get("stages_each", []),
        "transcripts": raw["transcripts"],
    }
    if "remarks" in raw:
        report["remarks"] = raw["remarks"]
    shutil.rmtree(workdir, ignore_errors=True)
    if args.json:
        print(json.dumps(report))
    else:
        print(f"machine: {report['machine']}\nmode: {report['mode']}; {report['answered']}/{report['questions']} answered, "
              f"{report['answered_right']} right (the runs the typed question gets)")
        print(f"clock from the true end of speech (the VAD ends it {report['vad_end_after_true_end_ms']['p50']} ms later)")
        print(f"end of speech -> first audio: p50 {p50} ms, p95 {report['first_audio_ms']['p95']} ms")
        print(f"  run facts p50 {report['facts_first_audio_ms']['p50']} ms ({len(facts_ms)}), documents p50 "
              f"{report['documents_first_audio_ms']['p50']} ms ({len(doc_ms)}; {sum(doc_right)}/{len(doc_right)} "
              f"right), difference {report['documents_minus_facts_p50_ms']} ms")
        print(f"sequential baseline:          p50 {seq50} ms, p95 {report['sequential_first_audio_ms']['p95']} ms")
        print(f"ratio streaming/sequential:   {report['ratio']}")
        print(f"interrupt -> silence:         p50 {report['interrupt_ms']['p50']} ms, max {report['interrupt_ms']['max']} ms")
        print("stage p50 (ms): " + ", ".join(f"{k} {v}" for k, v in report["stages_ms"].items()))
        for name, tally in report.get("remarks", {}).items():
            print(f"remarks ({name}, {tally['turns']} turns with facts): {tally['remarks_spoken']} spoken, "
                  f"{tally['said_nothing_new']} said nothing new, {tally['refused_by_checks']} refused by the checks")
    return 0


if __name__ == "__main__":
    sys.exit(main())
