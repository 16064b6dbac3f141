"""The LLM query planner: when the rule parser is unsure, a capable LLM writes the query.

The model is asked for JSON constrained to the query language's schema (vLLM guided decoding or
`response_format` json_schema on an OpenAI-compatible server; llama.cpp's JSON-schema grammar),
narrowed to this DB's own metric, parameter, dataset and model names. Its reply is validated by
the same pydantic models as the parser's output and then checked against the DB's vocabulary; it
is executed like any other query. The LLM never computes a number: it only says what to look up.
On anything invalid the caller keeps the parser's own result (or Unsupported).

Only `RunQuery` and `Unsupported` may be planned: the LLM cannot ask for a write (flagging).
Whether a configured model plans at all is `planner_enabled()`: `llm.planner: auto` uses it with
vLLM and OpenAI-compatible servers and not with the bundled SmolLM2 (too weak to fill a schema).
"""
from __future__ import annotations

import copy
import json
import logging
import time
from dataclasses import dataclass
from typing import Annotated, Any, Iterable, Union

from pydantic import Discriminator, TypeAdapter, ValidationError

from labvoice.cancel import CancelToken
from labvoice.knowledge.query.model import Filter, RunQuery, Unsupported
from labvoice.config import LlmConfig
from labvoice.knowledge.facts import FactFinder
from labvoice.llm.base import ChatMessage, ChatModel, GenerationOptions, LlmError, can_write_json

log = logging.getLogger(__name__)

PLANNABLE = Annotated[Union[RunQuery, Unsupported], Discriminator("type")]
PLAN_ADAPTER: TypeAdapter = TypeAdapter(PLANNABLE)
PLAN_MAX_TOKENS = 400
MAX_LISTED_NAMES = 60          # names put in the prompt (the schema's enums carry all of them)
PLANNER_BACKENDS = ("vllm", "openai")   # `auto`: backends whose models can fill the schema

PLANNER_SYSTEM = (
    "You translate a question about machine-learning training runs into one JSON query for a "
    "database of runs. You never answer the question and never compute numbers: you only say what "
    "to look up. Use only the metric, parameter, dataset and model names listed. If the question "
    "cannot be expressed as a query, answer {\"type\": \"unsupported\", \"reason\": \"...\"}."
)
SHAPE_GUIDE = (
    "Shapes: rank (order by a field, limit = how many), list (all runs passing filters), count, "
    "group (aggregate of metric per group_by), param_of_best (select = the parameter of the best "
    "run by metric), best_param_value (which value of select has the best mean metric), "
    "param_effect (how select affects metric), distribution (spread of metric), compare (two or more "
    "sub-queries in compare), details (run_ids), flagged, notes (filter on field note, op contains)."
)
EXAMPLES = (
    ("Which two runs have the highest val_accuracy on iris?",
     {"type": "runs", "shape": "rank", "filters": [{"field": {"kind": "dataset"}, "op": "=", "value": "iris"}],
      "order": {"field": {"kind": "metric", "name": "val_accuracy"}, "descending": True}, "limit": 2}),
    ("Average val_accuracy per model type?",
     {"type": "runs", "shape": "group", "metric": "val_accuracy", "group_by": {"kind": "model"},
      "aggregate": "mean"}),
)


@dataclass(frozen=True)
class PlanOutcome:
    """What the planner made of one question: a validated query, or why there is none."""

    parsed: Any = None          # RunQuery | Unsupported | None
    problem: str = ""
    raw: str = ""
    ms: float = 0.0


@dataclass(frozen=True)
class PlannerNames:
    """The DB's names a planned query may use."""

    metrics: tuple[str, ...]
    params: tuple[str, ...]
    datasets: tuple[str, ...]
    model_kinds: tuple[str, ...]
    run_ids: frozenset[str]


def planner_names(finder: FactFinder) -> PlannerNames:
    """Names from a fact finder: its vocabulary, plus the text parameters its catalog knows (the
    vocabulary lists numeric parameters only)."""
    vocab = finder.vocab
    text_params = tuple(finder.catalog.category_values)
    params = tuple(dict.fromkeys(tuple(vocab.params) + text_params))
    return PlannerNames(tuple(vocab.metrics), params, tuple(vocab.datasets), tuple(vocab.model_kinds),
                        frozenset(vocab.run_ids))


def planner_enabled(llm_config: LlmConfig, backend: str, chat_model: ChatModel) -> bool:
    """`llm.planner`: on, off, or auto (on for vLLM and OpenAI-compatible servers only)."""
    mode = llm_config.planner
    if mode == "off" or not can_write_json(chat_model):
        return False
    return mode == "on" or backend in PLANNER_BACKENDS


def make_planner(config, profile: str, chat_model) -> "QueryPlanner | None":
    """The planner for this config and profile, or None where `llm.planner` leaves it off."""
    backend = config.llm.gpu_backend if profile == "gpu" else config.llm.cpu_backend
    return QueryPlanner(chat_model) if planner_enabled(config.llm, backend, chat_model) else None


def _names_enum(schema: dict, defs_key: str, prop: str, names: Iterable[str]) -> None:
    names = sorted(set(names))
    target = schema["$defs"].get(defs_key, {}).get("properties", {}).get(prop)
    if target is None or not names:
        return
    target.pop("anyOf", None)
    target.pop("type", None)
    target["anyOf"] = [{"type": "string", "enum": names}, {"type": "null"}]


def plan_schema(metrics: Iterable[str], params: Iterable[str]) -> dict:
    """The plannable part of the query schema with this DB's metric and parameter names as enums,
    so constrained decoding cannot write a name the DB does not have."""
    schema = copy.deepcopy(PLAN_ADAPTER.json_schema())
    for name in ("RunQuery", "Unsupported"):   # the union's tag must be written, not left to its default
        definition = schema["$defs"].get(name, {})
        if "type" in definition.get("properties", {}):
            definition["required"] = ["type"] + [r for r in definition.get("required", []) if r != "type"]
    metrics, params = tuple(metrics), tuple(params)
    _names_enum(schema, "Field", "name", metrics + params)
    _names_enum(schema, "RunQuery", "metric", metrics)
    return schema


class QueryPlanner:
    """Asks a structured-output chat model for a query; validates it against the schema and the DB."""

    def __init__(self, chat_model, max_tokens: int = PLAN_MAX_TOKENS) -> None:
        self.chat_model = chat_model
        self.options = GenerationOptions(max_tokens=max_tokens, temperature=0.0)
        self._schemas: dict[tuple, dict] = {}

    def messages(self, question: str, vocab, context_run_ids: tuple[str, ...] = ()) -> list[ChatMessage]:
        """System prompt (stable), then the DB's names and the question."""
        def listed(names) -> str:
            names = list(names)
            return ", ".join(names[:MAX_LISTED_NAMES]) + (" ..." if len(names) > MAX_LISTED_NAMES else "") or "none"

        examples = "\n".join(f"Q: {q}\nA: {json.dumps(a)}" for q, a in EXAMPLES)
        lines = [SHAPE_GUIDE, f"Examples:\n{examples}",
                 f"Metrics: {listed(vocab.metrics)}", f"Parameters: {listed(vocab.params)}",
                 f"Datasets: {listed(vocab.datasets)}", f"Model kinds: {listed(vocab.model_kinds)}"]
        if context_run_ids:
            lines.append(f"The previous answer was about runs: {', '.join(context_run_ids[:5])}")
        lines.append(f"Question: {question}")
        return [ChatMessage("system", PLANNER_SYSTEM), ChatMessage("user", "\n".join(lines))]

    def schema(self, vocab) -> dict:
        key = (tuple(vocab.metrics), tuple(vocab.params))
        if key not in self._schemas:
            self._schemas = {key: plan_schema(*key)}
        return self._schemas[key]

    def plan(self, question: str, vocab, cancel: CancelToken | None = None,
             context_run_ids: tuple[str, ...] = ()) -> PlanOutcome:
        started = time.perf_counter()
        cancel = cancel or CancelToken()
        try:
            raw = self.chat_model.complete_json(self.messages(question, vocab, context_run_ids),
                                                self.schema(vocab), self.options, cancel)
        except LlmError as err:
            return PlanOutcome(problem=f"planner LLM failed: {err}", ms=_ms(started))
        if cancel.cancelled:
            return PlanOutcome(problem="cancelled", raw=raw, ms=_ms(started))
        try:
            parsed = PLAN_ADAPTER.validate_python(_tagged(json.loads(raw)))
        except ValueError as err:   # not JSON, or (ValidationError) not a valid query
            if not isinstance(err, ValidationError):
                return PlanOutcome(problem=f"planner JSON is not a valid query: not JSON ({err})", raw=raw,
                                   ms=_ms(started))
            first = err.errors()[0] if err.errors() else {}
            where = ".".join(str(p) for p in first.get("loc", ()))
            return PlanOutcome(problem=f"planner JSON is not a valid query: {where} {first.get('msg', err)}".strip(),
                               raw=raw, ms=_ms(started))
        problem = unknown_names(parsed, vocab)
        if problem:
            return PlanOutcome(problem=f"planner query {problem}", raw=raw, ms=_ms(started))
        return PlanOutcome(parsed=parsed, raw=raw, ms=_ms(started))


def _tagged(data: Any) -> Any:
    """The union's tag where a model left it out: a "reason" makes it unsupported, else a run query."""
    if isinstance(data, dict) and "type" not in data:
        return {"type": "unsupported" if "reason" in data and "shape" not in data else "runs", **data}
    return data


def _ms(started: float) -> float:
    return round((time.perf_counter() - started) * 1000, 1)


def _filter_problem(flt: Filter, vocab) -> str:
    values = flt.value if isinstance(flt.value, tuple) else (flt.value,)
    kind = flt.field.kind
    if kind == "dataset":
        known = {d.lower() for d in vocab.datasets}
        bad = [v for v in values if str(v).lower() not in known]
        return f"names dataset {bad[0]!r}, which the DB does not have" if bad else ""
    if kind == "model":
        known = {k.lower() for k in vocab.model_kinds}
        bad = [v for v in values if str(v).lower() not in known]
        return f"names model kind {bad[0]!r}, which the DB does not have" if bad else ""
    if kind == "run_id":
        bad = [v for v in values if str(v) not in vocab.run_ids]
        return f"names run {bad[0]!r}, which the DB does not have" if bad else ""
    return ""


def unknown_names(parsed, vocab) -> str:
    """Why a planned query names something this DB does not have ("" when it names nothing unknown).
    The schema's enums already hold metric and parameter names; values need this check."""
    if not isinstance(parsed, RunQuery):
        return ""
    bad_ids = [rid for rid in parsed.run_ids if rid not in vocab.run_ids]
    if bad_ids:
        return f"names run {bad_ids[0]!r}, which the DB does not have"
    names = set(vocab.metrics) | set(vocab.params)
    fields = [f.field for f in parsed.filters] + [parsed.group_by, parsed.select,
                                                  parsed.order.field if parsed.order else None]
    for fld in fields:
        if fld is not None and fld.name is not None and fld.name not in names:
            return f"names {fld.kind} {fld.name!r}, which the DB does not have"
    if parsed.metric and parsed.metric not in vocab.metrics:
        return f"names metric {parsed.metric!r}, which the DB does not have"
    for flt in parsed.filters:
        problem = _filter_problem(flt, vocab)
        if problem:
            return problem
    for side in parsed.compare:
        problem = unknown_names(side, vocab)
        if problem:
            return problem
    return ""

