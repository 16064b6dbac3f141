"""Runs scenarios through the assistant and scores each answer.

Two ways to ask, both through the one turn runner (pipeline/runner.py) with the models loaded
once by the caller:
- `TextAsker`: a typed turn (retrieval, LLM, guard, templated fallback), as `ask --text`;
- `VoiceAsker`: Piper speaks the question into a WAV, then `answer_file` runs the whole pipeline on
  it (VAD endpointing, STT, answer, TTS), as `ask --wav`; the transcript is scored for WER.

Every scenario runs on its own fresh conversation, and the DB's checksum is taken before and
after it, so a question that changes data is caught at the question that did it.
"""
from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Protocol

from labvoice.answer.spoken import spoken_problems
from labvoice.evaluation.claims import DbTruth
from labvoice.evaluation.expect import Expected, ExpectationError, concrete, db_checksum, read_rows, resolve
from labvoice.evaluation.scenarios import Scenario
from labvoice.evaluation.scoring import ids_right, mention_found, unknown_run_ids, word_error_rate
from labvoice.style import Style

log = logging.getLogger(__name__)

VOICE_MAX_CHARS = 300        # longer questions are not spoken (minutes of audio, cut by vad.max_utterance_s)
VOICE_PAD_S = (0.5, 1.0)     # silence around a spoken question, as a person leaves it
ANSWER_PREVIEW_CHARS = 400   # answers and questions are shortened to this in the results


@dataclass
class Answered:
    heard: str                       # the question as the assistant got it (the transcript, by voice)
    text: str
    used_run_ids: tuple[str, ...]
    fallback: bool = False
    errors: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    first_ms: float | None = None    # first speakable piece (text) / first audio sample (voice)
    total_ms: float | None = None    # the whole answer text
    retrieval: object | None = None
    display: str = ""                # the answer for the eye: full run ids, exact values (`text` is spoken)


@dataclass
class ScenarioResult:
    id: str
    kind: str
    question: str
    heard: str = ""
    answer: str = ""
    expected_run_ids: list[str] = field(default_factory=list)
    used_run_ids: list[str] = field(default_factory=list)
    ids_right: bool = False
    mentions: list[str] = field(default_factory=list)
    missing_mentions: list[str] = field(default_factory=list)
    unknown_run_ids: list[str] = field(default_factory=list)
    unsupported: list[str] = field(default_factory=list)   # values said about a run that are not its own
    ear_problems: list[str] = field(default_factory=list)  # what keeps the spoken text from being fit for the ear
    data_changed: bool = False
    fallback: bool = False
    wer: float | None = None
    first_ms: float | None = None
    total_ms: float | None = None
    errors: list[str] = field(default_factory=list)
    skipped: str = ""

    @property
    def mentions_right(self) -> bool:
        return not self.missing_mentions

    @property
    def hallucinations(self) -> int:
        return len(self.unknown_run_ids) + len(self.unsupported)

    @property
    def right(self) -> bool:
        """Right run ids, a non-empty answer, and no data changed."""
        return self.ids_right and bool(self.answer.strip()) and not self.data_changed


class Asker(Protocol):
    retriever: object

    def __call__(self, question: str) -> Answered: ...


class TextAsker:
    def __init__(self, brain, style: Style) -> None:
        from labvoice.pipeline.runner import TurnRunner

        self.runner = TurnRunner(brain.answerer)
        self.retriever = brain.retriever
        self.style = style

    def __call__(self, question: str) -> Answered:
        from labvoice.answer.grounded import Conversation
        from labvoice.pipeline.runner import TextSink, one_off

        return _answered(self.runner.run(one_off(question), TextSink(), self.style, Conversation()), "first_chunk")


class VoiceAsker:
    def __init__(self, stages, style: Style, workdir: Path) -> None:
        self.stages = stages
        self.retriever = stages.brain.retriever
        self.style = style
        self.workdir = Path(workdir)
        self.workdir.mkdir(parents=True, exist_ok=True)
        self._count = 0

    def __call__(self, question: str) -> Answered:
        from labvoice.pipeline.offline import answer_file

        self._count += 1
        wav = self.stages.synthesizer.synthesize_to_wav(question, self.workdir / f"q{self._count:03d}.wav",
                                                        pad_s=VOICE_PAD_S)
        return _answered(answer_file(self.stages, wav, None, style=self.style).outcome, "first_audio")


def _answered(outcome, first: str) -> Answered:
    """A turn runner's outcome as the evaluation scores it; `first` names the first-output stamp."""
    ms = outcome.latency_ms
    return Answered(outcome.transcript, outcome.answer, tuple(outcome.used_run_ids), outcome.fallback,
                    list(outcome.errors), list(outcome.warnings), ms.get(first), ms.get("llm_done"),
                    outcome.result.retrieval if outcome.result is not None else None,
                    outcome.result.display if outcome.result is not None else "")


def expectation(scenario: Scenario, rows) -> Expected:
    if scenario.expect is not None:
        return resolve(scenario.expect, rows)
    return concrete(scenario.expected_run_ids, scenario.ordered, scenario.expect_no_runs)


def _mentions(scenario: Scenario, expected: Expected) -> list[str]:
    try:
        return [m.format(**expected.values) for m in scenario.mentions]
    except (KeyError, IndexError) as err:
        raise ExpectationError(f"scenario {scenario.id}: mention placeholder {err} has no value for its query") from None


def _shorten(text: str) -> str:
    return text if len(text) <= ANSWER_PREVIEW_CHARS else text[:ANSWER_PREVIEW_CHARS] + f"... ({len(text)} chars)"


def evaluate_one(scenario: Scenario, ask: Asker, db: Path, rows, db_ids: set[str], voice: bool) -> ScenarioResult:
    expected = expectation(scenario, rows)
    result = ScenarioResult(scenario.id, scenario.kind, _shorten(scenario.question),
                            expected_run_ids=list(expected.run_ids), mentions=_mentions(scenario, expected))
    if voice and (not scenario.question.strip() or len(scenario.question) > VOICE_MAX_CHARS):
        result.skipped = "cannot be spoken (empty or too long)"
        return result
    before = db_checksum(db)
    try:
        answered = ask(scenario.question)
    except Exception as err:  # one failing question must not end the evaluation
        log.exception("scenario %s failed", scenario.id)
        result.errors.append(f"{type(err).__name__}: {err}")
        result.data_changed = db_checksum(db) != before
        return result
    result.data_changed = db_checksum(db) != before
    result.heard, result.answer = _shorten(answered.heard), answered.text
    result.used_run_ids = list(answered.used_run_ids)
    result.ids_right = ids_right(expected, answered.used_run_ids)
    shown = answered.display or answered.text
    result.missing_mentions = [m for m in result.mentions
                               if not (mention_found(m, answered.text) or mention_found(m, shown))]
    # Invented ids and wrong values by the evaluation's own check (plain sqlite), not the product's guard.
    claims = DbTruth.load(db).check(shown)
    result.unknown_run_ids = sorted(set(unknown_run_ids(shown, db_ids)) | set(claims.invented_ids))
    result.unsupported = list(claims.wrong_values)
    result.ear_problems = spoken_problems(answered.text, answered.used_run_ids)
    result.fallback, result.errors = answered.fallback, answered.errors
    result.first_ms, result.total_ms = answered.first_ms, answered.total_ms
    if voice:
        result.wer = round(word_error_rate(scenario.question, answered.heard), 3)
    return result


def evaluate(scenarios: list[Scenario], ask: Asker, db: Path, voice: bool = False,
             progress: Callable[[ScenarioResult, int, int], None] | None = None) -> list[ScenarioResult]:
    """Every scenario in order; ground truth is resolved once from the DB as it was at the start."""
    rows = read_rows(db)
    db_ids = {r.run_id for r in rows}
    for scenario in scenarios:   # resolve everything first: a bad query fails before any model runs
        _mentions(scenario, expectation(scenario, rows))
    results = []
    for i, scenario in enumerate(scenarios):
        started = time.perf_counter()
        result = evaluate_one(scenario, ask, db, rows, db_ids, voice)
        log.debug("scenario %s took %.1f s", scenario.id, time.perf_counter() - started)
        results.append(result)
        if progress is not None:
            progress(result, i + 1, len(scenarios))
    return results
