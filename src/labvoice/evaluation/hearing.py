"""The hearing rig (issue 19): the same question texts typed and spoken by voices other than the app's own
(hearing_voices.py), over the six producer-made lab DBs, transcribed by the app's own STT (tiny.en on the
CPU profile). Per voice and per condition it reports

- `wer`: word error rate of what the parser is given against the question text;
- `name_error_rate`: of the DB names the typed question's parse links (datasets, models, metrics,
  parameters), the share missing from the spoken question's parse;
- `wrong_links`: rewrites of the sound-alike linker (knowledge/query/heard.py) to a name the typed parse
  does not have (a misheard name silently linked to a wrong name); `wrong_names`: such names in the
  spoken parse from any cause;
- `typed_answered` / `spoken_same`: the share of typed questions answered with facts, and the share of
  spoken ones whose parse and facts equal the typed question's.

Conditions: `before` (greedy, Whisper prompt from `Vocabulary.spoken_names()`, no linking: the app before
issue 19), `link_only` (that transcript, linked), `hints_only` (greedy, the spoken-form prompt of
`heard.hint_names`, not linked), `names_linked` (that transcript, linked: the app of the first stop on issue
19) and `after` (the app now, `pipeline.hearing.hear_utterance`: dataset, model, metric and parameter names
as the prompt, the configured beam's readings, the one naming most of the DB's names, linked).
"""
from __future__ import annotations

import re
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Iterable

from labvoice.evaluation.hearing_voices import VOICES, Voice, speak

CONDITIONS = ("before", "link_only", "hints_only", "names_linked", "after")
GREEDY = ("before", "link_only", "hints_only", "names_linked")


@dataclass(frozen=True)
class HearingQuestion:
    db: str
    text: str


# Written for the rig (not taken from the lab suite): each names a dataset, checkpoint, metric or parameter.
QUESTIONS: tuple[HearingQuestion, ...] = tuple(HearingQuestion(db, text) for db, text in (
    ("hf", "which roberta large run did best on sst 2"),
    ("hf", "what was the lowest eval loss of distilbert on mrpc"),
    ("hf", "how many runs of bert base used imdb"),
    ("hf", "which weight decay gave the best accuracy for roberta base"),
    ("hf", "what is the average calibration error on imdb"),
    ("wandb", "which deberta v3 large run had the best f1 on ag news"),
    ("wandb", "what learning rate did the best electra run use on yelp polarity"),
    ("wandb", "average brier score of deberta v3 base runs"),
    ("wandb", "how many runs on yelp polarity used a weight decay above 0.01"),
    ("wandb", "lowest eval loss on ag news"),
    ("mlflow", "which resnet 50 run had the best top 5 accuracy on cifar 100"),
    ("mlflow", "best validation loss of convnext tiny on imagenet 1k"),
    ("mlflow", "what batch size did the best vit b 16 run on cifar 10 use"),
    ("mlflow", "how many resnet 18 runs on cifar 10 have a learning rate below 0.01"),
    ("mlflow", "which model depth gave the lowest training loss"),
    ("keras", "which mobilenet v2 run had the best validation accuracy on cats vs dogs"),
    ("keras", "lowest validation loss of densenet 121 on oxford pets"),
    ("keras", "how many xception runs are there on tf flowers"),
    ("keras", "what learning rate did the best efficientnet b0 run use"),
    ("keras", "average validation accuracy per model on cats vs dogs"),
    ("lightning", "which mobilenet v3 large run had the best test accuracy on eurosat"),
    ("lightning", "lowest validation loss of regnety 008 on food 101"),
    ("lightning", "how many runs on stl 10 used a batch size above 32"),
    ("lightning", "what weight decay did the best efficientnet b0 run on food 101 use"),
    ("lightning", "best validation nll on stl 10"),
    ("sklearn", "which random forest run had the best mean test score on moons"),
    ("sklearn", "what max depth did the best decision tree on circles use"),
    ("sklearn", "how many svc runs on the hastie data have a c above 1"),
    ("sklearn", "average fit time of random forest on circles"),
    ("sklearn", "best mean test score on make moons per model"),
))


@dataclass(frozen=True)
class Hearing:
    """One question said by one voice, in one condition."""

    voice: str
    condition: str
    db: str
    question: str
    transcript: str              # what the parser was given
    wer: float
    expected: tuple[str, ...]    # DB names the typed question's parse links
    missed: tuple[str, ...]      # of those, the ones missing from the spoken parse
    wrong_names: tuple[str, ...]
    wrong_links: tuple[str, ...]
    typed_answered: bool
    same_as_typed: bool
    rewrites: tuple[str, ...] = ()   # the linker's rewrites: "heard -> said (similarity, margin)"
    facts_same: bool = False         # the typed question was answered with facts, and the spoken one's equal them
    stt: str = "stt"                 # which speech recognizer heard it (the rig may compare several)
    stt_s: float = 0.0               # seconds that recognizer took for this transcript


def _words(text: str) -> list[str]:
    return re.sub(r"[^a-z0-9.' ]+", " ", text.lower().replace("-", " ")).replace(". ", " ").split()


def word_error_rate(reference: str, hypothesis: str) -> float:
    ref, hyp = _words(reference), [w.rstrip(".") for w in _words(hypothesis)]
    row = list(range(len(hyp) + 1))
    for i, r in enumerate(ref, 1):
        prev, row[0] = row[0], i
        for j, h in enumerate(hyp, 1):
            prev, row[j] = row[j], min(row[j] + 1, row[j - 1] + 1, prev + (r != h))
    return row[-1] / max(1, len(ref))


def _leaves(value: Any) -> Iterable[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for item in value.values():
            yield from _leaves(item)
    elif isinstance(value, (list, tuple)):
        for item in value:
            yield from _leaves(item)


class Judge:
    """Parses typed and spoken questions over one DB and says which DB names each parse links."""

    def __init__(self, db_path: Path) -> None:
        from labvoice.knowledge.facts import FactFinder
        from labvoice.knowledge.store import ManifestStore

        self.finder = FactFinder(ManifestStore(db_path).runs())
        catalog = self.finder.catalog
        self.names = frozenset(catalog.dataset_names + catalog.kind_names + catalog.metric_names
                               + catalog.param_names)
        self._typed: dict[str, tuple[frozenset[str], Any, bool]] = {}

    def parse(self, text: str) -> tuple[frozenset[str], Any, bool]:
        """(DB names in the parse, what identifies the answer, whether it was answered with facts)."""
        result = self.finder.ask(text)
        query = result.query
        dumped = query.model_dump(mode="json")   # every Parsed kind is a pydantic model
        names = frozenset(leaf for leaf in _leaves(dumped) if leaf in self.names)
        return names, (repr(sorted(dumped.items())), result.display_answer), bool(result.facts)

    def typed(self, text: str) -> tuple[frozenset[str], Any, bool]:
        if text not in self._typed:
            self._typed[text] = self.parse(text)
        return self._typed[text]

    def judge(self, voice: str, condition: str, question: HearingQuestion, transcript: str,
              linked=None, stt: str = "stt", stt_s: float = 0.0) -> Hearing:
        typed_names, typed_answer, answered = self.typed(question.text)
        names, answer, _ = self.parse(transcript)
        rewrites = linked.rewrites if linked is not None else ()
        linked_to = tuple(r.name for r in rewrites)
        return Hearing(voice, condition, question.db, question.text, transcript,
                       round(word_error_rate(question.text, transcript), 3), tuple(sorted(typed_names)),
                       tuple(sorted(typed_names - names)), tuple(sorted(names - typed_names)),
                       tuple(sorted(set(linked_to) - typed_names)), answered, answer == typed_answer,
                       tuple(f"{r.heard} -> {r.said} ({r.similarity}, {r.margin})" for r in rewrites),
                       answered and answer[1] == typed_answer[1], stt, round(stt_s, 3))


Transcribe = Callable[[Any, tuple[str, ...]], str]


@dataclass(frozen=True)
class Recognizer:
    """One speech recognizer of the rig: `greedy(audio, hints)` is its greedy transcript (the old
    conditions), `app(audio, catalog)` the words the app acts on (`pipeline.hearing.hear_utterance`)."""

    greedy: Transcribe
    app: Callable[[Any, Any], str]


def hear(voices: Iterable[Voice], questions: Iterable[HearingQuestion], dbs: dict[str, Path],
         recognizers: dict[str, Recognizer], conditions: tuple[str, ...] = CONDITIONS,
         on_hearing: Callable[[Hearing], None] | None = None) -> list[Hearing]:
    """Every question said by every voice, heard in each of `conditions` and judged. Several recognizers
    hear each utterance in turn (the order alternates, so their times are measured under the same load).
    `on_hearing` gets each judged hearing as it is made. `stt_s` is the time of the hearing with the names
    prompt (greedy for `hints_only` and `names_linked`, the app's for `after`; 0 for the old prompt)."""
    from labvoice.knowledge.query.heard import hint_names, link

    judges = {db: Judge(path) for db, path in dbs.items()}
    questions = list(questions)
    out: list[Hearing] = []
    turn = 0
    for voice in voices:
        for question in questions:
            judge = judges[question.db]
            catalog = judge.finder.catalog
            audio = speak(question.text, voice)
            order = list(recognizers.items())
            if turn % 2:
                order.reverse()
            turn += 1
            for stt, recognizer in order:
                heard: dict[str, tuple[str, Any, float]] = {}
                if {"before", "link_only"} & set(conditions):
                    old = recognizer.greedy(audio, judge.finder.vocab.spoken_names())
                    linked_old = link(old, catalog)
                    heard.update(before=(old, None, 0.0), link_only=(linked_old.text, linked_old, 0.0))
                if {"hints_only", "names_linked"} & set(conditions):
                    t0 = time.perf_counter()
                    new = recognizer.greedy(audio, hint_names(catalog))
                    seconds = time.perf_counter() - t0
                    linked_new = link(new, catalog)
                    heard.update(hints_only=(new, None, seconds), names_linked=(linked_new.text, linked_new, seconds))
                if "after" in conditions:
                    t0 = time.perf_counter()
                    words = recognizer.app(audio, catalog)
                    seconds = time.perf_counter() - t0
                    heard["after"] = (words, None, seconds)
                for condition in conditions:
                    text, linked, seconds = heard[condition]
                    out.append(judge.judge(voice.name, condition, question, text, linked, stt, seconds))
                    if on_hearing is not None:
                        on_hearing(out[-1])
    return out


def _median(values: list[float]) -> float:
    ordered = sorted(values)
    if not ordered:
        return 0.0
    mid = len(ordered) // 2
    return ordered[mid] if len(ordered) % 2 else (ordered[mid - 1] + ordered[mid]) / 2


def summarize(hearings: list[Hearing]) -> dict[str, Any]:
    """Figures per voice and condition, and over all voices. With several recognizers a condition's key
    is `<stt>:<condition>`."""
    def figures(rows: list[Hearing]) -> dict[str, Any]:
        expected = sum(len(h.expected) for h in rows)
        n = max(1, len(rows))
        typed, right = sum(h.typed_answered for h in rows) / n, sum(h.facts_same for h in rows) / n
        return {"questions": len(rows),
                "wer": round(sum(h.wer for h in rows) / n, 3),
                "name_error_rate": round(sum(len(h.missed) for h in rows) / max(1, expected), 3),
                "wrong_links": sum(len(h.wrong_links) for h in rows),
                "wrong_names": sum(len(h.wrong_names) for h in rows),
                "typed_answered": round(typed, 3),
                "spoken_same": round(sum(h.same_as_typed for h in rows) / n, 3),
                "spoken_right": round(right, 3),
                "spoken_vs_typed": round(right / typed, 3) if typed else None,
                "stt_s_p50": round(_median([h.stt_s for h in rows if h.stt_s]), 3)}

    voices = list(dict.fromkeys(h.voice for h in hearings))
    stts = list(dict.fromkeys(h.stt for h in hearings))
    keys = [(stt, c) for stt in stts for c in CONDITIONS if any(h.stt == stt and h.condition == c for h in hearings)]

    def key(stt: str, condition: str) -> str:
        return condition if len(stts) == 1 else f"{stt}:{condition}"

    def pick(rows: list[Hearing], stt: str, condition: str) -> list[Hearing]:
        return [h for h in rows if h.stt == stt and h.condition == condition]

    return {"per_voice": {v: {key(s, c): figures(pick([h for h in hearings if h.voice == v], s, c))
                              for s, c in keys} for v in voices},
            "overall": {key(s, c): figures(pick(hearings, s, c)) for s, c in keys}}


def run_rig(folder: Path, voices: tuple[Voice, ...] = VOICES, questions: tuple[HearingQuestion, ...] = QUESTIONS,
            config=None, stt_models: dict[str, str] | None = None,
            conditions: tuple[str, ...] = CONDITIONS,
            on_hearing: Callable[[Hearing], None] | None = None) -> dict[str, Any]:
    """Build the DBs the questions need in `folder`, load the CPU profile's STT with its second ear (or each of `stt_models`,
    name -> a model as `stt.cpu.model` takes it, "bundled" or a folder), hear every question."""
    from labvoice.config import load_config
    from labvoice.evaluation.lab_dbs import build_lab_dbs
    from labvoice.models import resolve_model
    from labvoice.pipeline.hearing import hear_utterance
    from labvoice.stt.faster_whisper import FasterWhisperTranscriber, second_ear_path

    t0 = time.perf_counter()
    config = config or load_config(environ={}).replace(profile="cpu")
    built = build_lab_dbs(Path(folder), sorted({q.db for q in questions}))
    t_dbs = time.perf_counter()
    cpu = config.stt.cpu
    recognizers = {}
    # the app's second ear hears with the configured model; recognizers compared by name hear alone
    second = None if stt_models else second_ear_path(cpu.second_ear, config.paths.models)
    for name, model in (stt_models or {"stt": cpu.model}).items():
        path = str(resolve_model("stt", model, config.paths.models, subdir="faster-whisper-"))
        greedy, app = (FasterWhisperTranscriber(path, device=cpu.device, compute_type=cpu.compute_type,
                                                threads=config.threads, language=config.stt.language, beam_size=beam,
                                                second_ear=ear)
                       for beam, ear in ((1, None), (config.stt.beam_size, second)))
        greedy.warmup()
        app.warmup()
        recognizers[name] = Recognizer(lambda audio, hints, stt=greedy: stt.transcribe_text(audio, hints=hints),
                                       lambda audio, catalog, stt=app: hear_utterance(stt, audio, catalog).text)
    hearings = hear(voices, questions, {name: db.path for name, db in built.items()}, recognizers,
                    conditions, on_hearing)
    summary = summarize(hearings)
    summary["voices"] = {v.name: {"engine": v.engine, "espeak": v.espeak, "speed": v.speed, "pitch": v.pitch,
                                  "snr_db": v.snr_db, "reverb_s": v.reverb_s, "babble_snr_db": v.babble_snr_db}
                         for v in voices}
    summary["seconds"] = {"dbs": round(t_dbs - t0, 1), "total": round(time.perf_counter() - t0, 1)}
    summary["hearings"] = [h.__dict__ for h in hearings]
    return summary
