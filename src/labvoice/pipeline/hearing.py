"""One utterance to the words the assistant acts on, the same for the live app, the end-of-turn judge and
the hearing rig (evaluation/hearing.py): the DB's names as Whisper's prompt, the decoder's readings (an
unsure first guess also respelled toward the query words of the lexicon), and of those the one naming most
of the DB's names, its sound-alikes written as the name
(knowledge/query/heard.py). Typed questions never come here."""
from __future__ import annotations

import logging

import numpy as np

from labvoice.cancel import NEVER, CancelToken
from labvoice.knowledge.lexicon import lexicon
from labvoice.knowledge.query.catalog import Catalog
from labvoice.knowledge.query.heard import choose, hint_words
from labvoice.stt.base import Heard, Transcriber, readings

log = logging.getLogger(__name__)
# Query words an unsure transcript may be read as ("best" where tiny.en wrote "mass"): the lexicon's.
RESPELL_WORDS = lexicon().respell_words


def hear_utterance(transcriber: Transcriber, audio: np.ndarray, catalog: Catalog | None,
                   cancel: CancelToken = NEVER) -> Heard:
    """The words said, with Whisper's certainty (the lowest segment's) and its first guess, which the
    end-of-turn judge reads. Without a `catalog` (no DB, or names as hints turned off) the likeliest
    reading is taken as it is."""
    segments = list(transcriber.transcribe(audio, cancel, hint_words(catalog) if catalog is not None else (),
                                           RESPELL_WORDS if catalog is not None else ()))
    certainty = min((seg.avg_logprob for seg in segments), default=None)
    ending = segments[-1].ending_logprob if segments else None
    heard = readings(segments)
    first_guess = " ".join(seg.text.strip() for seg in segments).strip()
    if not heard:
        return Heard("", certainty, ending_certainty=ending)
    text = heard[0] if catalog is None else choose(heard, catalog).text
    if text != first_guess:
        log.info("heard %r as %r", first_guess, text)
    return Heard(text, certainty, first_guess=first_guess if text != first_guess else None, ending_certainty=ending)
