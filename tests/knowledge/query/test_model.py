"""The query model: validated, frozen, JSON round trip, a JSON schema an LLM can be constrained to."""
import json

import pytest
from pydantic import ValidationError

from labvoice.knowledge.query.model import (Field, Filter, Order, RunQuery, Unsupported, parse_parsed_json,
                                            parsed_json_schema, query_json)


def best_mlp() -> RunQuery:
    return RunQuery(shape="rank", filters=(Filter(field=Field(kind="model"), op="=", value="mlp"),
                                           Filter(field=Field(kind="param", name="learning_rate"), op="<", value=0.01)),
                    order=Order(field=Field(kind="metric", name="val_accuracy")), limit=1)


def test_round_trip_through_json():
    q = best_mlp()
    data = query_json(q)
    assert json.loads(json.dumps(data)) == data
    assert parse_parsed_json(json.dumps(data)) == q
    assert q.datasets == () and q.model_kinds == ("mlp",) and q.metric_name == "val_accuracy"


@pytest.mark.parametrize("bad", [
    {"type": "runs", "shape": "rank"},                                            # no order
    {"type": "runs", "shape": "param_of_best", "metric": "val_accuracy"},          # no select
    {"type": "runs", "shape": "list", "filters": [{"field": {"kind": "dataset"}, "op": ">", "value": 3}]},
    {"type": "runs", "shape": "list", "filters": [{"field": {"kind": "metric"}, "op": ">", "value": 3}]},
    {"type": "runs", "shape": "list", "filters": [{"field": {"kind": "param", "name": "lr"}, "op": "between",
                                                   "value": [1]}]},
    {"type": "runs", "shape": "rank", "order": {"field": {"kind": "time"}}, "limit": 500},
    {"type": "runs", "shape": "count", "surprise": 1},
    {"type": "weather"},
])
def test_invalid_queries_are_rejected(bad):
    with pytest.raises(ValidationError):
        parse_parsed_json(bad)


def test_frozen_and_schema():
    q = best_mlp()
    with pytest.raises(ValidationError):
        q.limit = 3
    schema = parsed_json_schema()
    text = json.dumps(schema)
    assert "param_effect" in text and "unsupported" in text and "between" in text
    assert parse_parsed_json({"type": "unsupported", "reason": "x"}) == Unsupported(reason="x")
