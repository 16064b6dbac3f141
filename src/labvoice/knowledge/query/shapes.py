"""Which shape of query a question has, recognised by meaning: the bundled MiniLM embeds the question
(with the DB's names replaced by stand-in words, so only the shape is left) against exemplars of each
shape, embedded once and cached; cue words add to a shape's score and break ties. Without an
embedder the cues alone decide (less robust to paraphrase, still deterministic).
"""
from __future__ import annotations

import logging
import re
import threading
from dataclasses import dataclass

import numpy as np

from labvoice.knowledge.query.extract import Slots, plain_text

log = logging.getLogger(__name__)

# Exemplars, written with stand-in words: metric "accuracy", parameter "learning rate", dataset
# "wine", model "MLP", a run "run abc", a number "5".
EXEMPLARS: dict[str, tuple[str, ...]] = {
    "rank": (
        "which run has the best accuracy", "top 5 runs by accuracy", "show me the 3 strongest runs on wine",
        "what is the best MLP on wine", "which run had the lowest accuracy", "the weakest run",
        "leaderboard for wine", "best accuracy on wine", "which model did best on wine", "the worst MLP",
        "rank the runs by accuracy", "which run had the highest learning rate", "which run used the largest learning rate",
        "what is the most recent run", "what did I train most recently on wine", "the latest MLP run",
        "the first run ever logged", "the oldest run", "winner on wine", "what's the best we've got on wine",
        "which run took longest to train", "the fastest run",
    ),
    "list": (
        "which runs have accuracy above 5", "show me the runs with learning rate below 5",
        "list the wine runs that trained for 5 epochs", "runs from last week", "MLP runs in November",
        "show all MLP runs on wine", "which runs used learning rate 5", "runs with more than 5 epochs",
        "which runs got accuracy between 5 and 5", "the runs from yesterday", "any runs before the 5th",
        "give me every run on wine", "which runs used the adam solver",
    ),
    "count": (
        "how many runs are there", "how many MLP runs on wine", "how many runs have accuracy above 5",
        "number of runs last week", "count the wine runs", "how many experiments did I run in November",
        "how many times did I train an MLP",
    ),
    "group": (
        "average accuracy by model type", "mean accuracy per dataset", "which dataset is the hardest on average",
        "which model type does best on average", "median accuracy of MLPs", "standard deviation of accuracy",
        "how does each model do on average", "average accuracy on wine", "what is the typical accuracy of an MLP",
        "how many runs per dataset", "maximum accuracy for each model", "which dataset is easiest",
        "compare model types by mean accuracy", "average accuracy per learning rate",
    ),
    "param_of_best": (
        "what learning rate did the best run use", "what learning rate did the best MLP on wine use",
        "how many epochs did the best wine run train for", "which learning rate was used by the top run",
        "the best run's learning rate", "learning rate of the winning MLP", "what settings did the best run have",
    ),
    "best_param_value": (
        "which learning rate works best on average", "what is the best learning rate on average",
        "which value of learning rate gives the highest mean accuracy", "optimal learning rate for MLPs",
        "what learning rate should I use", "which learning rate is best for accuracy",
    ),
    "param_effect": (
        "how does learning rate affect accuracy", "what is the effect of learning rate on accuracy",
        "does learning rate matter", "is accuracy correlated with learning rate",
        "impact of learning rate on accuracy", "does a higher learning rate help",
        "relationship between learning rate and accuracy", "how sensitive is accuracy to learning rate",
    ),
    "distribution": (
        "distribution of accuracy", "what is the spread of accuracy", "quartiles of accuracy on wine",
        "range of accuracy across runs", "how much does accuracy vary", "summary statistics of accuracy",
        "min and max accuracy", "give me the percentiles of accuracy",
    ),
    "compare": (
        "compare the best MLP with the best SVM", "MLP versus SVM on wine", "compare run abc and run abc",
        "how does run abc compare with run abc", "compare the two best SVM runs", "which is better MLP or SVM",
        "difference between the best MLP and the best SVM", "compare MLPs and SVMs on average",
        "compare it with the best SVM", "wine versus iris",
    ),
    "details": (
        "tell me about run abc", "what are the details of run abc", "what learning rate did run abc use",
        "describe run abc", "what was the accuracy of run abc", "what about run abc", "show run abc",
        "when was run abc trained", "tell me more about it", "what dataset did that one use",
    ),
    "flagged": (
        "which runs are flagged for publishing", "which runs should go in the paper", "what's marked for publication",
        "show the runs flagged", "anything flagged", "which results are ready to publish",
    ),
    "notes": (
        "did anything blow up during training", "which runs diverged", "runs whose note mentions nan",
        "any unstable runs", "which runs crashed", "show notes that say diverged", "what went wrong",
    ),
}
# Cue words per shape: (pattern, bonus). Deterministic tie-breakers and the whole story without an embedder.
CUES: dict[str, tuple[tuple[str, float], ...]] = {
    "rank": ((r"\b(best|top|worst|highest|lowest|strongest|weakest|winner|winning|leaderboard|rank|greatest|"
              r"largest|biggest|smallest|poorest|most accurate|least accurate|leading|max(imum)?|min(imum)?)\b", 0.2),
             (r"\b(most recent(ly)?|latest|newest|last (run|one|thing|experiment|model|time)|earliest|oldest|first run|"
              r"first .{0,20}(logged|trained|ever|tried|ran)|recently|longest|slowest|fastest|quickest|shortest|"
              r"first (time|try|attempt)|very first|came (out )?(on )?top|"
              r"number one|came first|performed (the )?(best|worst|poorest)|"
              r"(train|trained|ran|run|logged|did|tried) first)\b", 0.3),
             (r"\b(\d+|the) (best|worst|strongest|weakest|highest|lowest|top)\b.{0,30}\b(by|for|on|in)\b", 0.1),
             (r"\b(sort|sorted|order|ordered|rank|ranked)\b.{0,12}\bby\b", 0.4)),
    "list": ((r"\b(which|what|show|list|all|every|give me|any|find)\b.{0,30}\bruns\b|\b(every|each|all) (\w+ )?runs?\b", 0.15),
             (r"\bruns?\b.{0,12}\b(with|that|where|whose|from|using|used|in|trained)\b", 0.1)),
    "count": ((r"\bhow many\b|\bnumber of (\w+ ){0,2}(runs|experiments|models|trainings)\b|\bcount\b|\bhow often\b|"
               r"\btotal (number|count)\b", 0.5),),
    "group": ((r"\b(average|mean|avg|median|std|standard deviation|variance|typical(ly)?|on average|overall)\b", 0.35),
              (r"\b(by|per|for each|across|each|grouped by|broken down by)\b.{0,12}"
               r"\b(model|type|kind|dataset|family|architecture|algorithm)s?\b", 0.3),
              (r"\b(hardest|easiest|toughest|most difficult|struggle\w*)\b", 0.35)),
    "param_of_best": ((r"\b(did|does|was|were|had|has)\b.{0,40}\b(best|top|winning|strongest|leading)\b.{0,40}"
                       r"\b(use|used|have|had|train|trained|run with|set)\b", 0.25),
                      (r"\b(best|top|winning|strongest)\b.{0,30}'s\b", 0.2)),
    "best_param_value": ((r"\b(works?|worked|is|does|did)\b.{0,10}\bbest\b.{0,30}\b(on average|averaged|overall|generally|typically)\b", 0.35),
                         (r"\b(optimal|ideal|sweet spot|should i use|which value|best value|best setting)\b", 0.3),
                         (r"\bon average\b", 0.1)),
    "param_effect": ((r"\b(effect|affects?|impact|influence|correlat\w*|relationship|relation|depend\w*|matter|"
                      r"sensitiv\w*|trend|help|hurt)\b", 0.45),),
    "distribution": ((r"\b(distribution|spread|quartiles?|percentiles?|range|ranges|vary|varies|variation|histogram|"
                      r"summary statistics|stats|statistics|min and max|spread out|five[- ]number|"
                      r"(min|minimum|lowest),? (median|mean|average)?,? ?(and )?(max|maximum|highest)|how consistent)\b", 0.5),),
    "compare": ((r"\b(compare|compared|comparison|versus|vs\.?|against|difference between|differ|"
                 r"head to head|ahead|beat|beats|outperform\w*|win|wins|"
                 r"won|better)\b", 0.45),
                (r"\bwhich is better\b|\bor\b.{0,20}\?$|\bbetween\b.{0,40}\band\b", 0.15)),
    "details": ((r"\b(tell me (more )?about|details?|describe|what about|info(rmation)? on)\b", 0.25),),
    "flagged": ((r"\b(flagged|flag|publish\w*|paper|publication|camera[- ]ready|marked|shortlist\w*|"
                 r"starred|tagged|selected for|chosen for|picked for|set aside)\b", 0.6),),
    "notes": ((r"\b(notes?|diverg\w*|blow(n)? up|blew up|explod\w*|nan|unstable|crash\w*|went wrong|fail\w*|"
               r"broke|broken|instabilit\w*|went bad|problems?|issues?|anomal\w*|weird|glitch\w*|"
               r"go wrong|gone wrong|troubled|spiked?|oom|out of memory|memory errors?)\b", 0.6),),
}
STAND_INS = {"metric": "accuracy", "param": "learning rate", "dataset": "wine", "model": "MLP", "value": "adam"}


def masked(slots: Slots) -> str:
    """The question with the DB's names replaced by stand-in words (exemplars use the same)."""
    spans = []
    for kind, found in (("metric", slots.metrics), ("param", slots.params), ("dataset", slots.datasets),
                        ("model", slots.models), ("value", slots.values)):
        for m in found:
            spans.append((m.start, m.end, STAND_INS[kind]))
    words = [t.text for t in slots.tokens]
    out: list[str] = []
    i = 0
    spans.sort()
    while i < len(words):
        span = next((s for s in spans if s[0] == i), None)
        if span:
            out.append(span[2])
            i = max(span[1], i) + 1
            continue
        word = words[i]
        out.append("abc" if re.fullmatch(r"[0-9a-f]{6,}", word) and re.search(r"\d", word) else
                   ("5" if re.fullmatch(r"[\d.]+%?(e-?\d+)?", word) else word))
        i += 1
    return " ".join(out)


def cue_scores(text: str) -> dict[str, float]:
    scores = {}
    for shape, cues in CUES.items():
        scores[shape] = sum(bonus for pattern, bonus in cues if re.search(pattern, text))
    return scores


@dataclass(frozen=True)
class ShapeScores:
    scores: dict[str, float]        # combined, higher is better
    similarity: dict[str, float]    # embedding part only (empty without an embedder)
    ms: float = 0.0


class ShapeClassifier:
    """Scores each shape for a question; the exemplars are embedded on first use, once per embedder."""

    def __init__(self, embedder=None) -> None:
        self.embedder = embedder
        self._lock = threading.Lock()
        self._matrix: np.ndarray | None = None
        self._labels: list[str] = []

    def _exemplars(self) -> tuple[np.ndarray, list[str]]:
        with self._lock:
            if self._matrix is None:
                labels, texts = [], []
                for shape, items in EXEMPLARS.items():
                    labels += [shape] * len(items)
                    texts += list(items)
                self._matrix = np.asarray(self.embedder.embed(texts), dtype=np.float32)
                self._labels = labels
            return self._matrix, self._labels

    def warm(self) -> None:
        if self.embedder is not None:
            self._exemplars()

    def score(self, slots: Slots) -> ShapeScores:
        import time

        t0 = time.perf_counter()
        cues = cue_scores(plain_text(slots))
        similarity: dict[str, float] = {}
        if self.embedder is not None:
            try:
                matrix, labels = self._exemplars()
                vector = np.asarray(self.embedder.embed_query(masked(slots)), dtype=np.float32)
                sims = matrix @ vector
                for label, sim in zip(labels, sims):
                    if sim > similarity.get(label, -1.0):
                        similarity[label] = float(sim)
            except Exception as err:  # the cues still work; say so once in the log
                log.warning("shape embedding failed, using cue words only: %s", err)
                similarity = {}
        scores = {shape: cues.get(shape, 0.0) + similarity.get(shape, 0.0) for shape in EXEMPLARS}
        return ShapeScores(scores, similarity, (time.perf_counter() - t0) * 1000)
