"""The LLM prompt: a stable system prefix (so llama.cpp reuses its KV cache across turns), then
recent history, then this turn's facts, passages, style and question.

Only what the answer needs goes in: the facts' display lines (full run ids, exact values, so a
remark's claims can be checked against the typed rows), or at most two short passages for a
document question. `instructions()` lists the prompt's own sentences, which no spoken piece may
say back."""
from __future__ import annotations

from labvoice.knowledge.retriever import Retrieval
from labvoice.llm.base import ChatMessage
from labvoice.style import Style

SYSTEM_PROMPT = (
    "You are labvoice, a spoken assistant for machine-learning experiments. "
    "Answer the question using only the FACTS and NOTES you are given. "
    "Copy run ids, dataset names and numbers exactly as written; never invent any. "
    "Speak plainly in short sentences, with no lists and no markdown."
)
SMALL_TALK_PROMPT = (
    "There are no facts for this message: it is small talk. Reply in one short friendly sentence "
    "without numbers or run ids, and offer to help with the user's training runs."
)
PASSAGE_CHARS = 400   # each passage is trimmed so the prompt stays short (prefill dominates on CPU)
PROMPT_PASSAGES = 2   # passages put in the prompt (all retrieved ones still ground the guard)
REMARK_PROMPT = (
    "You have already said the ANSWER above, word for word. Do not repeat it. Add at most {n} short "
    "sentence{s} about these runs that helps the user, such as what stands out or what to try next."
)
QUESTION_CHARS = 400  # likewise a question (this turn's or in history): 5,000 pasted characters cost minutes


def build_messages(retrieval: Retrieval, style: Style, history: list[tuple[str, str]],
                   history_turns: int, already_said: str = "", remark_sentences: int = 0) -> list[ChatMessage]:
    """The chat for one answer; with `already_said`, the facts were spoken already and the model
    is asked only for up to `remark_sentences` sentences that add to them."""
    messages = [ChatMessage("system", SYSTEM_PROMPT)]
    for user_text, assistant_text in history[-history_turns:] if history_turns else []:
        messages.append(ChatMessage("user", user_text[:QUESTION_CHARS]))
        messages.append(ChatMessage("assistant", assistant_text))
    parts = []
    facts = retrieval.factset.facts
    if facts:
        parts.append("FACTS:\n" + "\n".join(f"- {f.display}" for f in facts))
    if retrieval.passages and not facts:
        # Facts already carry what run cards would say; passages only feed document questions.
        # Prefill dominates time to first token on CPU, so few and short.
        passages = retrieval.passages[:PROMPT_PASSAGES]
        parts.append("NOTES:\n" + "\n".join(f"- {p.text[:PASSAGE_CHARS]}" for p in passages))
    if not facts and not retrieval.passages:
        parts.append(SMALL_TALK_PROMPT)
    parts.append(style.instructions())
    parts.append(f"QUESTION: {retrieval.question[:QUESTION_CHARS]}")
    if already_said:
        parts.append(f"ANSWER: {already_said}")
        parts.append(REMARK_PROMPT.format(n=remark_sentences, s="" if remark_sentences == 1 else "s"))
    messages.append(ChatMessage("user", "\n\n".join(parts)))
    return messages


def instructions(style: Style, remark_sentences: int = 0) -> tuple[str, ...]:
    """The prompt's instruction texts (what a small model may say back instead of answering)."""
    texts = [SYSTEM_PROMPT, SMALL_TALK_PROMPT, style.instructions()]
    if remark_sentences:
        texts.append(REMARK_PROMPT.format(n=remark_sentences, s="" if remark_sentences == 1 else "s"))
    return tuple(texts)
