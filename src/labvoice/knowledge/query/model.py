"""The typed query language over runs, and the typed result of executing one.

A question becomes one `Parsed` value (a discriminated union on `type`):

- `RunQuery` (type "runs"): a question answered from the run manifests. Its `shape` says what is
  asked; the other fields fill it in:
    rank              runs ordered by `order` (a metric, a parameter or the time), top `limit`
    list              every run passing the filters (thresholds, parameter values, time ranges)
    count             how many runs pass the filters
    group             `aggregate` of `metric` per value of `group_by` (or over all runs when None)
    param_of_best     the `select` parameter of the best run by `metric`
    best_param_value  the value of the `select` parameter with the best mean `metric`
    param_effect      mean `metric` per value of `select` plus a Spearman rank correlation
    distribution      min, quartiles, max of `metric`
    compare           each entry of `compare` (a run, the best of a kind, a group) side by side
    details           everything about `run_ids`
    flagged           runs flagged for publishing
    notes             runs whose note contains the `note` filter's terms
  `filters` narrow the runs first (field, op, value); `refers_back` marks "it", "that one", "the
  second": the parser fills `run_ids` from the previous turn.
- `FlagRequest` (type "flag"): flag (or unflag) runs for publishing; a write the app performs.
- `SmallTalk` (type "small_talk"), `DocumentQuestion` (type "documents").
- `Clarify` (type "clarify"): two names fit the words said; the answer asks which, and the next
  utterance completes the question.
- `Unsupported` (type "unsupported"): about the runs, but the language cannot express it, or a word of
  it binds to nothing (`about="unbound"`); `reason` says why. Never the nearest query that happens to
  parse, never the question without the word.

All models are frozen and reject unknown keys, so an LLM planner's JSON (constrained with
`parsed_json_schema()`) is validated exactly like the rule parser's output (`parse_parsed_json`).

A `QueryResult` is what the executor returns for any `Parsed`: typed `rows`, `facts` (each with a
display text keeping full run ids and exact values, and a spoken text for the synthesizer),
`claims` ((run_id, field, value) triples a guard can check), the run ids used, and the query.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Annotated, Any, Literal, Union

from pydantic import BaseModel, ConfigDict, Discriminator, Field as PydField, TypeAdapter, model_validator

MAX_LIMIT = 50
ALL_PARAMS = "*"   # `select` name meaning every parameter of the run (param_of_best: "the best run's settings")

FieldKind = Literal["metric", "param", "dataset", "model", "note", "time", "run_id"]
Op = Literal["=", "!=", "<", "<=", ">", ">=", "in", "not_in", "between", "contains"]
Aggregate = Literal["count", "mean", "median", "min", "max", "std"]
Shape = Literal["rank", "list", "count", "group", "param_of_best", "best_param_value", "param_effect",
                "distribution", "compare", "details", "flagged", "notes"]
SHAPES: tuple[str, ...] = Shape.__args__  # type: ignore[attr-defined]
Scalar = Union[float, str]


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Field(_Frozen):
    """What a filter, an ordering or a grouping is about. `name` is the metric or parameter name
    as stored in the DB (required for kinds metric and param, absent otherwise). A time value is an
    ISO-8601 UTC string."""

    kind: FieldKind
    name: str | None = None

    @model_validator(mode="after")
    def _named(self) -> "Field":
        if self.kind in ("metric", "param") and not self.name:
            raise ValueError(f"a {self.kind} field needs a name")
        if self.kind not in ("metric", "param") and self.name is not None:
            raise ValueError(f"a {self.kind} field takes no name")
        return self

    def label(self) -> str:
        return self.name if self.name else self.kind


class Filter(_Frozen):
    """`field op value`: `in` and `not_in` take a list, `between` a [low, high] pair (inclusive), `contains`
    a text (note terms, case-insensitive; on the note field `in` means: contains any of the terms)."""

    field: Field
    op: Op
    value: Scalar | tuple[Scalar, ...]

    @model_validator(mode="after")
    def _value_fits(self) -> "Filter":
        many = isinstance(self.value, tuple)
        if self.op == "between" and not (many and len(self.value) == 2):
            raise ValueError("between needs a [low, high] pair")
        if self.op in ("in", "not_in") and not (many and self.value):
            raise ValueError(f"{self.op} needs a non-empty list")
        if self.op not in ("in", "not_in", "between") and many:
            raise ValueError(f"{self.op} takes one value")
        if self.op in ("<", "<=", ">", ">=", "between") and self.field.kind not in ("metric", "param", "time"):
            raise ValueError(f"{self.op} needs a metric, parameter or time field")
        return self


class Order(_Frozen):
    field: Field
    descending: bool = True


class _ParsedBase(_Frozen):
    """What every kind of parsed question is (its fields are its own: read them after an isinstance)."""


class RunQuery(_ParsedBase):
    """A question about the runs; see the module docstring for the shapes."""

    type: Literal["runs"] = "runs"
    shape: Shape
    filters: tuple[Filter, ...] = ()
    run_ids: tuple[str, ...] = ()
    metric: str | None = None
    order: Order | None = None
    limit: int | None = PydField(default=None, ge=1, le=MAX_LIMIT)
    offset: int = PydField(default=0, ge=0, le=MAX_LIMIT)   # rank: skip the first `offset` ("the second best": 1)
    group_by: Field | None = None       # rank: the best `limit` runs of each group; group: the groups
    aggregate: Aggregate | None = None
    select: Field | None = None          # the parameter asked about (or, for details, the field asked)
    compare: tuple["RunQuery", ...] = ()
    refers_back: bool = False

    @model_validator(mode="after")
    def _shape_fits(self) -> "RunQuery":
        needs_metric = ("param_of_best", "best_param_value", "param_effect", "distribution")
        if self.shape in needs_metric and not self.metric:
            raise ValueError(f"a {self.shape} query needs a metric")
        if self.shape in ("param_of_best", "best_param_value", "param_effect") and self.select is None:
            raise ValueError(f"a {self.shape} query needs `select` (the parameter)")
        if self.shape == "rank" and self.order is None:
            raise ValueError("a rank query needs `order`")
        if self.shape == "group" and (self.aggregate is None or (self.aggregate != "count" and not self.metric)):
            raise ValueError("a group query needs an aggregate (and a metric unless it counts)")
        if self.shape == "compare" and len(self.compare) < 2 and not (
                len(self.compare) == 1 and (self.compare[0].limit or 1) >= 2):
            raise ValueError("a compare query needs two sides (or one side of two or more runs)")
        if self.shape == "details" and not self.run_ids and not self.refers_back:
            raise ValueError("a details query needs run ids")
        return self

    @property
    def datasets(self) -> tuple[str, ...]:
        found: list[str] = []
        for f in self.filters:
            if f.field.kind == "dataset":
                found += [str(v) for v in (f.value if isinstance(f.value, tuple) else (f.value,))]
        return tuple(found)

    @property
    def model_kinds(self) -> tuple[str, ...]:
        found: list[str] = []
        for f in self.filters:
            if f.field.kind == "model" and f.op in ("=", "in"):
                found += [str(v) for v in (f.value if isinstance(f.value, tuple) else (f.value,))]
        return tuple(found)

    @property
    def metric_name(self) -> str | None:
        if self.metric:
            return self.metric
        if self.order is not None and self.order.field.kind == "metric":
            return self.order.field.name
        return None


class FlagRequest(_ParsedBase):
    type: Literal["flag"] = "flag"
    run_ids: tuple[str, ...] = ()
    unflag: bool = False
    refers_back: bool = False
    target: RunQuery | None = None       # the runs described in the request ("the best digits run")


class SmallTalk(_ParsedBase):
    type: Literal["small_talk"] = "small_talk"
    kind: Literal["greeting", "joke", "capabilities", "thanks", "goodbye", "other"] = "other"


class DocumentQuestion(_ParsedBase):
    type: Literal["documents"] = "documents"
    topic: str = ""


class Clarify(_ParsedBase):
    """Two or more names fit what was said ("cifar": cifar10 or cifar100?): ask which. `question` is
    the question to complete, `said` the words that fit several names, `options` those names."""

    type: Literal["clarify"] = "clarify"
    question: str
    said: str
    options: tuple[str, ...]
    kind: Literal["metric", "param", "dataset", "model"] = "dataset"


class Unsupported(_ParsedBase):
    """`about`: "names" when the question names a metric, parameter, dataset, model or run the DB does
    not have (`reason` then names what it has), "shape" when no query shape can express it."""

    type: Literal["unsupported"] = "unsupported"
    reason: str
    about: Literal["names", "shape", "unbound"] = "shape"


Parsed = Annotated[Union[RunQuery, FlagRequest, SmallTalk, DocumentQuestion, Clarify, Unsupported],
                   Discriminator("type")]
PARSED_ADAPTER: TypeAdapter = TypeAdapter(Parsed)


def parsed_json_schema() -> dict[str, Any]:
    """The JSON schema of `Parsed`, for LLM-constrained decoding (vLLM guided_json, response_format)."""
    return PARSED_ADAPTER.json_schema()


def parse_parsed_json(text: str | bytes | dict) -> Any:
    """Validate an LLM's JSON (text or dict) into a `Parsed`; raises pydantic.ValidationError."""
    if isinstance(text, dict):
        return PARSED_ADAPTER.validate_python(text)
    return PARSED_ADAPTER.validate_json(text)


def query_json(parsed: Any) -> dict[str, Any]:
    """A `Parsed` as plain JSON data (for `ask --json`'s `query` field)."""
    return json.loads(parsed.model_dump_json(exclude_defaults=True)) | {"type": parsed.type}


# --- results -----------------------------------------------------------------------------------

Value = Union[float, str, None]


@dataclass(frozen=True)
class Claim:
    """`run_id`'s `field` had `value`. field: "metric:NAME", "param:NAME", "dataset", "model", "time"."""

    run_id: str
    field: str
    value: float | str


@dataclass(frozen=True)
class Row:
    """One typed row of a result: a run (run_id set) or a group (group set, run_ids its members).
    `values` are the fields the answer used, by name ("val_accuracy", "param:learning_rate", "mean")."""

    run_id: str | None = None
    dataset: str = ""
    model_kind: str = ""
    values: tuple[tuple[str, Value], ...] = ()
    group: str | None = None
    run_ids: tuple[str, ...] = ()
    timestamp: str = ""

    def value(self, name: str) -> Value:
        return dict(self.values).get(name)

    def as_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"values": dict(self.values)}
        if self.run_id:
            out |= {"run_id": self.run_id, "dataset": self.dataset, "model_kind": self.model_kind,
                    "timestamp": self.timestamp}
        if self.group is not None:
            out |= {"group": self.group, "run_ids": list(self.run_ids)}
        return out


@dataclass(frozen=True)
class Fact:
    """One statement of an answer: `display` (full run ids, exact values) for the window and the LLM
    prompt, `spoken` (words for the ear) for the synthesizer, and the run ids it rests on."""

    kind: str
    display: str
    spoken: str
    run_ids: tuple[str, ...] = ()
    action: tuple[str, ...] | None = None   # a write the app performs after confirming, e.g. ("flag", run_id)

    def as_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "text": self.display, "spoken": self.spoken, "run_ids": list(self.run_ids)}


@dataclass(frozen=True)
class QueryResult:
    """What executing one `Parsed` gave. `confidence` is the parser's (0..1); `shape` names the
    query's shape for reports ("small_talk", "unsupported", ... for the other kinds)."""

    query: Parsed
    rows: tuple[Row, ...] = ()
    facts: tuple[Fact, ...] = ()
    claims: tuple[Claim, ...] = ()
    used_run_ids: tuple[str, ...] = ()
    confidence: float = 1.0
    warnings: tuple[str, ...] = field(default_factory=tuple)

    @property
    def shape(self) -> str:
        return self.query.shape if isinstance(self.query, RunQuery) else self.query.type

    @property
    def templated_answer(self) -> str:
        """The spoken sentences (what the voice says when the LLM adds nothing)."""
        return " ".join(f.spoken for f in self.facts)

    @property
    def display_answer(self) -> str:
        return " ".join(f.display for f in self.facts)

    def as_dict(self) -> dict[str, Any]:
        return {"query": query_json(self.query), "confidence": round(self.confidence, 3),
                "rows": [r.as_dict() for r in self.rows], "facts": [f.as_dict() for f in self.facts],
                "claims": [[c.run_id, c.field, c.value] for c in self.claims],
                "run_ids": list(self.used_run_ids)}
