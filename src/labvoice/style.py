"""The style ("emotion") sliders and how they map onto the LLM and the voices."""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Style:
    """Warmth, humour, energy, verbosity, each 0..1. Frozen: set_style() swaps the whole object."""

    warmth: float = 0.5
    humour: float = 0.3
    energy: float = 0.5
    verbosity: float = 0.4

    def __post_init__(self) -> None:
        for name in ("warmth", "humour", "energy", "verbosity"):
            value = getattr(self, name)
            if not 0.0 <= float(value) <= 1.0:
                raise ValueError(f"style.{name} = {value!r} is not allowed: use a value from 0 to 1")

    @classmethod
    def from_config(cls, cfg) -> "Style":
        return cls(warmth=cfg.warmth, humour=cfg.humour, energy=cfg.energy, verbosity=cfg.verbosity)

    def llm_temperature(self, base: float) -> float:
        """Humour loosens sampling a little; never past 1.0 so facts stay readable."""
        return round(min(1.0, base + 0.4 * self.humour), 3)

    def max_sentences(self) -> int:
        return 1 + round(3 * self.verbosity)

    def instructions(self) -> str:
        tone = "warm and friendly" if self.warmth >= 0.5 else "neutral and concise"
        pace = "upbeat" if self.energy >= 0.6 else ("calm" if self.energy <= 0.3 else "even")
        humour = "A light touch of humour is welcome." if self.humour >= 0.6 else "No jokes."
        return (f"Speak in a {tone}, {pace} tone. {humour} "
                f"Answer in at most {self.max_sentences()} short sentences.")
