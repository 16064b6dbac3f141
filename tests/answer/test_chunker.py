"""SentenceChunker: speakable pieces from a token stream, never splitting numbers, ids or abbreviations."""
from __future__ import annotations

import pytest

from labvoice.answer.chunker import SentenceChunker

MIN_WORDS, MAX_WORDS = 5, 22


def _split(text: str, step: int) -> list[str]:
    return [text[i:i + step] for i in range(0, len(text), step)]


def chunk(text: str, min_words: int = MIN_WORDS, max_words: int = MAX_WORDS) -> list[str]:
    """Pieces for `text`, checked to be the same however the text is tokenized."""
    results = {step: SentenceChunker(min_words, max_words).feed_all(_split(text, step)) for step in (1, 2, 3, 7, 1000)}
    words = [SentenceChunker(min_words, max_words).feed_all(t + " " for t in text.split(" "))]
    first = results[1]
    for step, pieces in results.items():
        assert pieces == first, f"tokenized by {step} chars: {pieces} != {first}"
    assert [" ".join(p.split()) for p in words[0]] == first
    return first


def test_sentences():
    assert chunk("Hello there. How are you? Fine!") == ["Hello there.", "How are you?", "Fine!"]


def test_sentence_end_needs_following_space_or_end():
    assert chunk("Done.") == ["Done."]
    assert chunk("It is done.Next") == ["It is done.Next"]


@pytest.mark.parametrize("text", [
    "The best accuracy was 0.95 on the test set.",
    "Use a learning rate of 3.5e-4 for this model.",
    "Version v1.2.3 fixed it.",
    "There were 1,000 samples, in total.",
    "It started at 12:30 today.",
    "A value of .5 is the default.",
])
def test_numbers_versions_and_times_stay_whole(text):
    assert chunk(text) == [text]


@pytest.mark.parametrize("run_id", ["68305ae9", "run-2024-03-01", "exp_lr_3e-4", "a1b2c3d4-e5f6", "resnet50.v2"])
def test_run_ids_stay_whole(run_id):
    pieces = chunk(f"The best run is {run_id}. It used the default settings, as usual for that model.")
    assert pieces[0] == f"The best run is {run_id}."
    assert all(run_id in piece for piece in pieces[:1])


def test_abbreviations_do_not_end_sentences():
    text = "Use an optimizer, e.g. Adam or SGD, i.e. anything stable. Dr. Smith agrees vs. the others."
    assert chunk(text, min_words=50, max_words=60) == [
        "Use an optimizer, e.g. Adam or SGD, i.e. anything stable.", "Dr. Smith agrees vs. the others."]


def test_etc_and_et_al_end_a_sentence_only_before_a_capital():
    assert chunk("Try dropout, weight decay, etc. and more.", min_words=50, max_words=60) == [
        "Try dropout, weight decay, etc. and more."]
    assert chunk("Try dropout, weight decay, etc. Then train.", min_words=50, max_words=60) == [
        "Try dropout, weight decay, etc.", "Then train."]
    assert chunk("As shown by Smith et al. The model wins.", min_words=50, max_words=60) == [
        "As shown by Smith et al.", "The model wins."]


def test_number_sign_and_no():
    assert chunk("The answer is no. Then No. 5 wins.") == ["The answer is no.", "Then No. 5 wins."]


def test_initials_do_not_end_sentences():
    assert chunk("Ask J. Smith about it.") == ["Ask J. Smith about it."]


def test_waits_for_the_next_word_before_deciding():
    chunker = SentenceChunker(MIN_WORDS, MAX_WORDS)
    assert chunker.feed("Try more regularization etc. ") == []   # "etc." may or may not end it
    assert chunker.feed("Then") == ["Try more regularization etc."]
    assert chunker.flush() == "Then"


def test_clause_break_after_min_words():
    assert chunk("One, two, three four five six, seven eight; nine ten eleven twelve: done") == [
        "One, two, three four five six,", "seven eight; nine ten eleven twelve:", "done"]


def test_short_clauses_are_kept_together():
    assert chunk("Yes, it did, and well.") == ["Yes, it did, and well."]


def test_long_text_is_cut_at_a_word_boundary_past_max_words():
    words = [f"word{i}" for i in range(50)]
    pieces = chunk(" ".join(words), min_words=3, max_words=10)
    assert [len(p.split()) for p in pieces] == [10, 10, 10, 10, 10]
    assert " ".join(pieces) == " ".join(words)


def test_long_number_lists_are_not_split_inside_numbers():
    text = " ".join(f"{i}.{i}5" for i in range(30))
    pieces = chunk(text, min_words=3, max_words=8)
    assert " ".join(pieces).split() == text.split()


def test_newlines_end_pieces_and_markup_alone_is_dropped():
    assert chunk("Results:\n- run 68305ae9 is best\n- run 1b2c3d4e is second\n**") == [
        "Results:", "- run 68305ae9 is best", "- run 1b2c3d4e is second"]


def test_ellipsis_and_repeated_punctuation():
    assert chunk("Well... that is odd?! Really.") == ["Well...", "that is odd?!", "Really."]


def test_quotes_and_brackets_stay_with_their_sentence():
    assert chunk('He said "it works." (It did.) Fine.') == ['He said "it works."', "(It did.)", "Fine."]


def test_whitespace_is_normalised():
    assert chunk("  Lots   of\tspace  here.   Next  ") == ["Lots of space here.", "Next"]


def test_flush_and_reset():
    chunker = SentenceChunker(MIN_WORDS, MAX_WORDS)
    assert chunker.feed("An unfinished thought about 0.") == []
    assert chunker.pending == "An unfinished thought about 0."
    assert chunker.flush() == "An unfinished thought about 0."
    assert chunker.flush() == ""
    chunker.feed("stale text")
    chunker.reset()
    assert chunker.pending == "" and chunker.flush() == ""


def test_only_punctuation_is_not_speakable():
    assert chunk("... !!") == []


def test_from_config(cpu_config):
    chunker = SentenceChunker.from_config(cpu_config.pipeline)
    assert (chunker.min_words, chunker.max_words) == (cpu_config.pipeline.chunk_min_words,
                                                      cpu_config.pipeline.chunk_max_words)


def test_bad_limits_are_rejected():
    with pytest.raises(ValueError):
        SentenceChunker(10, 5)


@pytest.mark.parametrize("piece, parts", [
    ("The run with the best validation accuracy on digits is an MLP on digits from today,",
     ["The run with the best validation accuracy on digits", "is an MLP on digits from today,"]),
    ("The most recent run is an MLP on breast cancer from today,",
     ["The most recent run", "is an MLP on breast cancer from today,"]),
    ("4 runs are flagged for publishing:", ["4 runs are flagged for publishing:"]),              # short enough
    ("There are no runs using random forest with validation accuracy above ninety percent today.",  # no phrase end
     ["There are no runs using random forest with validation accuracy above ninety percent today."]),
])
def test_a_long_first_piece_is_cut_where_its_first_phrase_ends(piece, parts):
    from labvoice.answer.chunker import split_first_piece

    assert split_first_piece(piece) == parts
