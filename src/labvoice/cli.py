"""Command line: `labvoice [run|ask|chat|listen|doctor|import|index|log]` (also `python -m labvoice`, `python main.py`).

Every command takes --config FILE and --log-level LEVEL (a rotating log file in the user log folder
gets the same records; `labvoice doctor` prints where). Expected problems (bad config, missing DB or model, no audio
device) print one line saying what is wrong and how to fix it, and exit with code 2.
"""
from __future__ import annotations

import argparse
import json
import signal
import sys
import time
from pathlib import Path

from labvoice.config import ConfigError, load_config

EXIT_USAGE = 2
LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR")


def _user_errors() -> tuple[type[BaseException], ...]:
    from labvoice.backends import BackendUnavailable
    from labvoice.knowledge.embedder import EmbedderError
    from labvoice.knowledge.importers.base import SourceError
    from labvoice.knowledge.rebuild import IndexBuildError
    from labvoice.knowledge.store import StoreError
    from labvoice.llm.base import LlmError
    from labvoice.models import ModelMissing

    errors: list[type[BaseException]] = [ConfigError, StoreError, ModelMissing, BackendUnavailable, LlmError,
                                         SourceError, IndexBuildError, EmbedderError]
    try:
        from labvoice.audio.devices import AudioDeviceError
        from labvoice.audio.wavio import AudioFileError

        errors += [AudioDeviceError, AudioFileError]
    except ImportError:
        pass
    return tuple(errors)


def _start_logging(level: str | None, file_level: str = "INFO") -> None:
    """--log-level sets both; without it stderr shows warnings and errors, the log file `file_level`."""
    from labvoice.locations import locations
    from labvoice.logfile import setup_logging

    setup_logging(level or "WARNING", level or file_level, locations().log_file)


def _load(args) -> "object":
    config = load_config(args.config)
    overrides = {}
    if getattr(args, "db", None):
        overrides["paths.db"] = Path(args.db).resolve()
    if getattr(args, "index", None):
        overrides["paths.index"] = Path(args.index).resolve()
    if getattr(args, "kb", None):
        overrides["paths.knowledge_base"] = Path(args.kb).resolve()
    config = config.replace(**overrides) if overrides else config
    _start_logging(getattr(args, "log_level", None), config.logging.level)
    return config


def _result_json(outcome) -> dict:
    """`ask --json`: one object per question, one shape for --text, --batch and --wav
    (a pipeline.runner.TurnOutcome; latency_ms as described there). `answer` is for the eye (full
    run ids, exact values), `spoken` exactly what the synthesizer got, `query` the executed query."""
    result = outcome.result
    return {
        "transcript": outcome.transcript,
        "answer": (result.display if result is not None and result.display else outcome.answer),
        "spoken": outcome.answer,
        "query": result.query if result is not None else None,
        "used_run_ids": list(outcome.used_run_ids),
        "facts": list(outcome.facts),
        "sources": list(result.sources) if result is not None else [],   # documents: file, heading, sentences
        "latency_ms": dict(outcome.latency_ms),
        "interrupted": outcome.interrupted,
        "fallback": outcome.fallback,
        "warnings": list(outcome.warnings),
        "errors": list(outcome.errors),
    }


def cmd_ask(args) -> int:
    config = _load(args)
    if args.wav:
        from labvoice.pipeline.offline import answer_wav

        answer = answer_wav(config, Path(args.wav), Path(args.out) if args.out else None)
        payload = {**_result_json(answer.outcome), "answer_wav": str(answer.answer_wav) if answer.answer_wav else None,
                   "answer_seconds": answer.answer_seconds}
        print(json.dumps(payload) if args.json else answer.outcome.answer)
        return 0
    from labvoice.answer.grounded import Conversation
    from labvoice.app import load_brain
    from labvoice.pipeline.runner import TextSink, TurnRunner, one_off
    from labvoice.style import Style

    brain = load_brain(config)
    runner = TurnRunner(brain.answerer)
    style = Style.from_config(config.style)
    if args.text is not None:
        questions = [args.text]
    else:
        source = sys.stdin if args.batch == "-" else open(args.batch, encoding="utf-8")
        with source:
            questions = [line.strip() for line in source if line.strip()]
    for question in questions:
        outcome = runner.run(one_off(question), TextSink(), style, Conversation())
        print(json.dumps(_result_json(outcome)) if args.json else outcome.answer, flush=True)
    brain.close()
    return 0


def cmd_chat(args) -> int:
    from labvoice.answer.grounded import Conversation
    from labvoice.app import load_brain
    from labvoice.pipeline.runner import TextSink, TurnRunner, one_off
    from labvoice.style import Style

    config = _load(args)
    print("labvoice: loading models...", file=sys.stderr, flush=True)
    brain = load_brain(config)
    for warning in brain.warnings:
        print(f"warning: {warning}", file=sys.stderr)
    runner = TurnRunner(brain.answerer)
    style = Style.from_config(config.style)
    conversation = Conversation()
    show = TextSink(lambda piece: print(piece, end=" ", flush=True))
    print("Ask about your runs (empty line or Ctrl-D to quit; Ctrl-C stops an answer).", flush=True)
    while True:
        try:
            question = input("you> ").strip()
        except (EOFError, KeyboardInterrupt):
            print()
            break
        if not question:
            break
        job = one_off(question)
        print("labvoice> ", end="", flush=True)
        previous = signal.signal(signal.SIGINT, lambda *_: job.cancel.cancel("ctrl-c"))   # Ctrl-C ends the answer
        try:
            outcome = runner.run(job, show, style, conversation)
        finally:
            signal.signal(signal.SIGINT, previous)
        ms = outcome.latency_ms
        print(f"\n  [runs: {', '.join(outcome.used_run_ids) or '-'}; first words {ms.get('first_chunk', 0):.0f} ms, "
              f"answer {ms.get('llm_done', 0):.0f} ms{'; templated' if outcome.fallback else ''}"
              f"{'; interrupted' if outcome.interrupted else ''}]", flush=True)
    brain.close()
    return 0


def cmd_listen(args) -> int:
    from labvoice.pipeline.headless import listen

    return listen(_load(args))


def cmd_doctor(args) -> int:
    from labvoice.doctor import run_doctor

    return run_doctor(_load(args), as_json=args.json)


def cmd_index(args) -> int:
    from labvoice.knowledge.rebuild import rebuild_index

    report = rebuild_index(_load(args), progress=not args.no_progress and sys.stderr.isatty())
    for line in report.skipped_documents:
        print(f"warning: {line}", file=sys.stderr)
    print(report.summary())
    return 0


def cmd_gui(args) -> int:
    from labvoice.gui.app import run_gui

    return run_gui(_load(args))


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="labvoice", description="Local voice assistant for your ML runs.")
    parser.add_argument("--config", help="config YAML (default: config/config.yaml in a checkout, else the "
                        "packaged default with the user config over it; `labvoice doctor` shows which)")
    parser.add_argument("--log-level", type=str.upper, choices=LOG_LEVELS, help="log level (default: logging.level)")
    sub = parser.add_subparsers(dest="command")

    def common(p):
        p.add_argument("--config", default=argparse.SUPPRESS, help="config YAML")
        p.add_argument("--log-level", type=str.upper, choices=LOG_LEVELS, default=argparse.SUPPRESS,
                       help="log level for stderr and the log file")
        return p

    ask = common(sub.add_parser("ask", help="answer one question (text or WAV) or a batch"))
    src = ask.add_mutually_exclusive_group(required=True)
    src.add_argument("--text", help="the question")
    src.add_argument("--batch", help="file with one question per line ('-' = stdin)")
    src.add_argument("--wav", help="a WAV file with the spoken question")
    ask.add_argument("--out", help="write the spoken answer here (with --wav)")
    ask.add_argument("--db", help="manifests DB (default from config)")
    ask.add_argument("--index", help="knowledge index folder (default from config)")
    ask.add_argument("--json", action="store_true", help="print JSON")
    ask.set_defaults(func=cmd_ask)
    chat = common(sub.add_parser("chat", help="interactive text console"))
    chat.add_argument("--db")
    chat.add_argument("--index")
    chat.set_defaults(func=cmd_chat)
    listen = common(sub.add_parser("listen", help="live microphone and speaker, no window"))
    listen.add_argument("--db")
    listen.add_argument("--index")
    listen.set_defaults(func=cmd_listen)
    doctor = common(sub.add_parser("doctor", help="check GPU, models, audio devices and index"))
    doctor.add_argument("--json", action="store_true")
    doctor.add_argument("--db", help="manifests DB to check (default from config)")
    doctor.add_argument("--index", help="knowledge index folder to check (default from config)")
    doctor.set_defaults(func=cmd_doctor)
    gui = common(sub.add_parser("run", aliases=["gui"], help="open the window (default)"))
    gui.set_defaults(func=cmd_gui)
    index = common(sub.add_parser("index", help="build or refresh the knowledge index (documents, summaries, notes)"))
    index.add_argument("--db", help="manifests DB (default from config)")
    index.add_argument("--kb", help="knowledge-base folder (default from config)")
    index.add_argument("--index", help="index folder (default from config)")
    index.add_argument("--no-progress", action="store_true", help="no progress bar")
    index.set_defaults(func=cmd_index)
    from labvoice.knowledge.importers.command import add_parser as add_import_parser

    add_import_parser(sub, common)
    from labvoice.knowledge.journal_command import add_parser as add_log_parser

    add_log_parser(sub, common)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        args.func, args.command = cmd_gui, "gui"
    _start_logging(args.log_level)
    try:
        return args.func(args)
    except _user_errors() as err:
        print(f"labvoice: error: {err}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        return 130
