"""The text-to-speech interface: Piper (CPU) and Sesame CSM (GPU) implement it."""
from __future__ import annotations

from typing import Iterator, Protocol

import numpy as np

from labvoice.cancel import CancelToken
from labvoice.style import Style


class Synthesizer(Protocol):
    """Speaks one piece of text as float32 mono chunks at `sample_rate`, checking `cancel` between chunks."""

    sample_rate: int

    def synthesize(self, text: str, style: Style, cancel: CancelToken) -> Iterator[np.ndarray]: ...
