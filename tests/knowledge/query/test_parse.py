"""Question -> Parsed, as a table (cue words only, so it runs without the embedding model; the suite
test covers the MiniLM path). Each row: the question, the shape, and filters that must be present."""
import pytest

from labvoice.evaluation.suite_dbs import SUITE_NOW, build_documented_db
from labvoice.knowledge.facts import FactFinder
from labvoice.knowledge.query.compose import Context
from labvoice.knowledge.query.model import FlagRequest, RunQuery, SmallTalk, Unsupported
from labvoice.knowledge.store import ManifestStore


@pytest.fixture(scope="module")
def finder(tmp_path_factory):
    return FactFinder(ManifestStore(build_documented_db(tmp_path_factory.mktemp("parse") / "d.db")).runs())


def described(parsed) -> tuple:
    if not isinstance(parsed, RunQuery):
        return (parsed.type,)
    return (parsed.shape, frozenset((f.field.kind, f.field.name, f.op) for f in parsed.filters))


TABLE = [
    ("Show me the three strongest runs on cifar10", ("rank", {("dataset", None, "=")}), {"limit": 3}),
    ("What did I train most recently on mnist?", ("rank", {("dataset", None, "=")}), {"order_kind": "time"}),
    ("How many epochs did the best mnist run train for?", ("param_of_best", {("dataset", None, "=")}), {"select": "n_epochs"}),
    ("how many runs have val acc above 0.9 on mnist", ("count", {("dataset", None, "="), ("metric", "val_acc", ">")}), {}),
    ("best MLP with learning rate below 0.001", ("rank", {("model", None, "="), ("param", "learning_rate", "<")}), {}),
    ("runs with more than 100 epochs", ("list", {("param", "n_epochs", ">")}), {}),
    ("runs from last week", ("list", {("time", None, ">=")}), {}),
    ("how many runs in November", ("count", {("time", None, ">="), ("time", None, "<")}), {}),
    ("average validation accuracy by model type", ("group", set()), {"group_by": "model"}),
    ("Which dataset is the hardest on average?", ("group", set()), {"group_by": "dataset", "limit": 1}),
    ("Which learning rate works best on average?", ("best_param_value", set()), {"select": "learning_rate"}),
    ("How does dropout affect validation accuracy?", ("param_effect", set()), {"select": "dropout"}),
    ("What's the spread of test accuracy?", ("distribution", set()), {"metric": "test_acc"}),
    ("Compare the two best SVM runs", ("compare", {("model", None, "=")}), {}),
    ("compare the best cnn with the best svm", ("compare", set()), {}),
    ("Which runs should go in the paper?", ("flagged", set()), {}),
    ("Did anything blow up during training?", ("notes", set()), {}),
    ("What learning rate did run seven use?", ("details", set()), {"select": "learning_rate"}),
    ("Which run used the largest batch size?", ("rank", set()), {"order_kind": "param"}),
]


@pytest.mark.parametrize("question,expected,extra", TABLE)
def test_question_to_query(finder, question, expected, extra):
    parsed = finder.parse(question, now=SUITE_NOW).parsed
    shape, filters = described(parsed)
    assert shape == expected[0] and filters >= frozenset(expected[1]), (question, parsed)
    if "limit" in extra:
        assert parsed.limit == extra["limit"]
    if "order_kind" in extra:
        assert parsed.order.field.kind == extra["order_kind"]
    if "select" in extra:
        assert parsed.select.name == extra["select"]
    if "group_by" in extra:
        assert parsed.group_by.kind == extra["group_by"]
    if "metric" in extra:
        assert parsed.metric == extra["metric"]


@pytest.mark.parametrize("question,kind", [
    ("tell me a joke", SmallTalk), ("what can you do?", SmallTalk),
    ("which run had the best accuracy on imagenet?", Unsupported), ("which run overfit the most?", Unsupported),
    ("what's the best run on mnist by GPU memory?", Unsupported),
])
def test_other_kinds(finder, question, kind):
    assert isinstance(finder.parse(question, now=SUITE_NOW).parsed, kind)


def test_follow_ups_refer_back(finder):
    first = finder.ask("top 3 runs on mnist", now=SUITE_NOW)
    context = Context(run_ids=first.used_run_ids, datasets=("mnist",), metric="val_acc")
    second = finder.parse("tell me more about the second one", context, now=SUITE_NOW).parsed
    assert second.shape == "details" and second.run_ids == (first.used_run_ids[1],)
    flag = finder.parse("flag that one for publishing", context, now=SUITE_NOW).parsed
    assert isinstance(flag, FlagRequest) and flag.run_ids == (first.used_run_ids[0],)
    more = finder.parse("and what dropout did it use?", context, now=SUITE_NOW).parsed
    assert more.shape == "details" and more.select.name == "dropout"
