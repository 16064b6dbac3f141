"""The end-of-turn rig's judges (evaluation/hearing_turns.py): the app's judge never lets words Whisper was
unsure of end a turn; `sure_turn_model` lets them when Smart Turn is sure and the words read as finished."""
from __future__ import annotations

import numpy as np

from labvoice.evaluation.hearing_turns import SURE_TURN, sure_turn_judge
from labvoice.listening.judge import TurnJudge
from labvoice.listening.words import UNSURE_LOGPROB
from labvoice.stt.base import Heard


class _SaysFinished:
    """Smart Turn's interface with a fixed probability (the decision, not the model, is under test)."""

    complete_at = 0.85

    def __init__(self, probability: float) -> None:
        self.p = probability

    def probability(self, audio) -> float:
        return self.p


AUDIO = np.zeros(16000, np.float32)
UNSURE = Heard("Which resnet 50 run and the messed top 5 on cifar 100.", UNSURE_LOGPROB - 0.3)
UNSURE_CUT = Heard("Which run had the best", UNSURE_LOGPROB - 0.3)
SURE = Heard("Which resnet 50 run had the best top 5 accuracy on cifar 100?", UNSURE_LOGPROB + 0.3)


def test_unsure_words_end_the_turn_only_where_smart_turn_is_sure():
    app, sure = TurnJudge(_SaysFinished(0.97)), sure_turn_judge(TurnJudge)(_SaysFinished(0.97))
    assert not app.is_complete(AUDIO, UNSURE) and app.last_probability is None
    assert sure.is_complete(AUDIO, UNSURE) and sure.last_probability == 0.97
    assert not sure_turn_judge(TurnJudge)(_SaysFinished(SURE_TURN - 0.03)).is_complete(AUDIO, UNSURE)


def test_words_that_read_unfinished_never_end_the_turn_and_sure_words_are_judged_as_before():
    sure = sure_turn_judge(TurnJudge)(_SaysFinished(0.99))
    assert not sure.is_complete(AUDIO, UNSURE_CUT)
    for p in (0.5, 0.9):
        assert sure_turn_judge(TurnJudge)(_SaysFinished(p)).is_complete(AUDIO, SURE) == \
            TurnJudge(_SaysFinished(p)).is_complete(AUDIO, SURE)
