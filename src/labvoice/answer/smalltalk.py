"""Small talk answered, not deflected: a joke when asked for one, what the assistant can do with an
example of each kind of question, and the plain "I can't work that out" for run questions that no
query expresses.

Jokes: the LLM is asked with a short stable prompt and its reply is used only if it looks like a
usable joke (short, whole sentences, no instruction echoed, no claims about runs); otherwise, and
always at the lowest humour, one of the jokes below is told, chosen by the humour slider (more
humour, more play). SmolLM2 often rambles, so the built-in list carries the CPU profile.
"""
from __future__ import annotations

import itertools
import re
from dataclasses import dataclass

from labvoice.llm.base import ChatMessage

# (play 0 = dry, 1 = a classic set-up and punchline, 2 = silly), written for labvoice.
JOKES: tuple[tuple[int, str], ...] = (
    (0, "I tried to tell a joke about overfitting, but it only worked on people who had heard it before."),
    (0, "My validation loss and I have an understanding: it goes up exactly when I stop watching it."),
    (0, "Gradient descent is a lot like a Monday morning: small steps, and always downhill."),
    (0, "I would tell you a joke about early stopping, but I think you have heard enough."),
    (1, "Why did the neural network go to therapy? It had too many hidden layers."),
    (1, "Why was the learning rate never invited to parties? It could not settle down."),
    (1, "Why did the model break up with the training set? It wanted to see other data."),
    (1, "Why did the decision tree get lost in the forest? It kept branching out."),
    (2, "Why did the dropout layer get promoted? It knew exactly when not to show up."),
    (2, "My random seed and I have a lot in common: nobody knows why we work, but change us and everything falls apart."),
    (2, "Why do GPUs never feel lonely? They always have thousands of cores to talk to."),
    (2, "What did the overfit model say at the exam? I have seen every one of these questions, just not these ones."),
)
PLAY_LEVELS = 3
JOKE_PROMPT = "Tell me one short, clean joke about machine learning or computers. Reply with the joke only."
LLM_JOKE_MIN_HUMOUR = 0.2   # below this the dry built-in jokes are told without asking the LLM
JOKE_MIN_WORDS = 6
JOKE_MAX_WORDS = 45
JOKE_MAX_SENTENCES = 3

CANT_WORK_OUT = "I can't work that out from the runs yet."
LOST_PUNCHLINE = "Hmm, I've lost the punchline. Sorry about that."

_JOKE_REQUEST = re.compile(r"\bjokes?\b|\bmake me (laugh|smile)\b|\bsomething funny\b|\bcheer me up\b", re.I)
_CAPABILITIES = re.compile(r"\bwhat (can|could) you do\b|\bwhat (do|can) you know\b|\bwhat can i ask\b|"
                           r"\bhow can you help\b|\bwhat are you (able|good) (to|at)\b|\bwhat questions\b|"
                           r"\bwhat kinds? of questions?\b|^\s*help\W*$", re.I)
_REFUSAL = re.compile(r"\b(sorry|as an ai|i can(?:no|')t|i am unable|i'm unable|language model)\b", re.I)
_SENTENCE = re.compile(r"[^.!?]+[.!?]+")


@dataclass(frozen=True)
class Capability:
    """One kind of question, the query shapes behind it (knowledge/query/model.py) and an example."""

    kind: str
    shapes: tuple[str, ...]
    example: str


# The kinds of question the query language answers, with examples that name nothing in
# particular; `capabilities()` fills in the DB's own names where it can.
CAPABILITIES: tuple[Capability, ...] = (
    Capability("rank runs by a metric", ("rank",), "Which three runs have the best {metric} on {dataset}?"),
    Capability("filter runs by dataset, model, parameter, metric or date", ("list",),
               "Show the {kind} runs from last week."),
    Capability("average or spread a metric by model, dataset or parameter", ("group", "distribution"),
               "What is the average {metric} per model?"),
    Capability("say which setting works best and how it matters", ("best_param_value", "param_effect"),
               "Which {param} works best on average?"),
    Capability("compare runs or groups", ("compare",), "Compare the best {kind} with the best of the rest."),
    Capability("look up a run's details and settings", ("details", "param_of_best"),
               "What {param} did the best run use?"),
    Capability("count runs", ("count",), "How many runs used {dataset}?"),
    Capability("find runs by their notes or flags", ("notes", "flagged"), "Which runs are flagged for publishing?"),
)


def is_joke_request(text: str) -> bool:
    return bool(_JOKE_REQUEST.search(text))


def is_capability_question(text: str) -> bool:
    return bool(_CAPABILITIES.search(text))


_counters = {level: itertools.count() for level in range(PLAY_LEVELS)}


def play_level(humour: float) -> int:
    return min(PLAY_LEVELS - 1, int(humour * PLAY_LEVELS))


def builtin_joke(humour: float, turn: int | None = None) -> str:
    """A joke from the list with the play the humour slider asks for; `turn` picks one
    deterministically, else they take turns."""
    level = play_level(humour)
    jokes = [text for play, text in JOKES if play == level]
    index = next(_counters[level]) if turn is None else turn
    return jokes[index % len(jokes)]


def joke_messages(system_prompt: str) -> list[ChatMessage]:
    """The joke request: the answers' own system prompt first (llama.cpp keeps it cached), then a
    short prompt that is the same every time."""
    return [ChatMessage("system", system_prompt), ChatMessage("user", JOKE_PROMPT)]


def usable_joke(text: str, echo_of: tuple[str, ...] = (JOKE_PROMPT,), set_up_alone: bool = False) -> str | None:
    """The LLM's joke, trimmed to whole sentences, or None when it is not a usable joke (a set-up
    without its punchline is one only with `set_up_alone`: the opening of a joke still streaming)."""
    text = " ".join(text.replace("**", "").split()).strip(" \"'")
    sentences = _SENTENCE.findall(text)
    if not sentences:
        return None
    joke = " ".join(s.strip() for s in sentences[:JOKE_MAX_SENTENCES])
    words = joke.split()
    if not JOKE_MIN_WORDS <= len(words) <= JOKE_MAX_WORDS or _REFUSAL.search(joke):
        return None
    low = joke.lower()
    if any(instruction.lower().rstrip(".") in low for instruction in echo_of) or "joke" in low.split()[:3]:
        return None   # the prompt said back ("Tell me one short joke ...")
    if re.search(r"\d{2,}|https?:|[#*`<>{}\[\]]", joke):
        return None
    if "?" in joke and not joke.rstrip().endswith((".", "!")) and len(sentences) < 2 and not set_up_alone:
        return None   # a set-up without its punchline
    return joke


# A sentence is complete once whitespace follows its end mark (the stream may still add "..." or ".5").
_SENTENCE_BOUNDARY = re.compile(r"[.!?]+[\"')\]]*(?=\s)")


class JokeTeller:
    """The LLM's joke as it streams: `feed(token)` returns the sentences that can be told now, so
    the first audio does not wait for the whole reply. A sentence is told only when the joke so far
    (`usable_joke`) is usable; a set-up is told as soon as it is whole (as a person tells one: the
    punchline is decoded while the set-up is spoken), a too-short opening waits for more. Once
    something was told, a sentence that would spoil the joke ends it (`done`); the rest is not told.
    `finish()` at the end of the stream returns what the last, unterminated sentence adds.
    `hanging`: the set-up was told and no punchline will follow (the stream ended or spoiled it);
    the caller then owns up with LOST_PUNCHLINE rather than leave the question in the air."""

    def __init__(self, echo_of: tuple[str, ...] = (JOKE_PROMPT,)) -> None:
        self.echo_of = echo_of
        self.text = ""
        self.told: list[str] = []      # sentences handed out, in order
        self.done = False              # nothing more will be told (spoiled, or the sentence limit)

    def feed(self, token: str) -> list[str]:
        self.text += token
        boundary = None
        for boundary in _SENTENCE_BOUNDARY.finditer(self.text):
            pass
        return self._tell(self.text[:boundary.end()]) if boundary is not None else []

    def finish(self) -> list[str]:
        return self._tell(self.text)

    def _tell(self, complete: str) -> list[str]:
        if self.done:
            return []
        joke = usable_joke(complete, self.echo_of, set_up_alone=True)
        if joke is None:
            self.done = bool(self.told)   # a sentence after a told opening spoiled it: stop there
            return []
        sentences = [s.strip() for s in _SENTENCE.findall(joke)]
        if sentences[:len(self.told)] != self.told:
            self.done = True              # cannot happen with usable_joke's trimming; never repeat or reword
            return []
        new = sentences[len(self.told):]
        self.told.extend(new)
        self.done = len(self.told) >= JOKE_MAX_SENTENCES
        return new

    @property
    def hanging(self) -> bool:
        """Only the set-up of a joke has been told (a question, nothing after it)."""
        return bool(self.told) and self.told[-1].rstrip("\"')]").endswith("?")


def capabilities(metric: str = "validation accuracy", dataset: str = "your dataset", kind: str = "MLP",
                 param: str = "learning rate") -> list[tuple[str, str]]:
    """(kind of question, example) pairs, the examples in the DB's own names."""
    names = {"metric": metric, "dataset": dataset, "kind": kind, "param": param}
    return [(c.kind, c.example.format(**names)) for c in CAPABILITIES]


def capabilities_answer(pairs: list[tuple[str, str]], spoken_kinds: int = 3) -> tuple[str, str]:
    """(display, spoken): every kind with its example for the window; the first few aloud."""
    display = "I answer questions about your training runs. I can " + "; ".join(
        f"{kind} (for example: \"{example}\")" for kind, example in pairs) + "."
    said = pairs[:spoken_kinds]
    spoken = ("I answer questions about your training runs. " +
              " ".join(f"I can {kind}, for example: {example}" for kind, example in said) +
              " I can also " + ", ".join(kind for kind, _ in pairs[spoken_kinds:-1]) +
              f", and {pairs[-1][0]}.")
    return display, spoken


def cant_work_out(pairs: list[tuple[str, str]], reason: str = "") -> tuple[str, str]:
    """(display, spoken) for a question about the runs that no query can answer."""
    kinds = [kind for kind, _ in pairs[:4]]
    offer = "I can " + ", ".join(kinds[:-1]) + f", or {kinds[-1]}. For example: {pairs[0][1]}"
    display = CANT_WORK_OUT + (f" ({reason})" if reason else "") + " " + offer
    return display, CANT_WORK_OUT + " " + offer
