"""The last check on every piece of text before it goes to the synthesizer.

What is spoken must be written for the ear: no underscores (Piper reads "val_accuracy" as "battle
accuracy"), no full run ids (eight hex characters spelled out take seconds), no number with more
than three significant digits. The facts' spoken wording already follows these rules (it is made
by knowledge/query/wording.py); this check is the backstop for everything, LLM remarks included:
a piece is rewritten where it can be (words for names, a short handle for an id, a rounded number)
and dropped where it cannot.
"""
from __future__ import annotations

import re
from functools import lru_cache
from typing import Callable, Iterable

from labvoice.knowledge.query.wording import short_handle, spoken_number, words_for_name

MAX_SIGNIFICANT = 3
MIN_ID_CHARS = 6           # shorter DB run ids ("run7", "42") are names, not ids to hide
# A run id as trackers write them: 8+ hex characters with at least one letter and one digit
# (log_run's 8, MLflow's 32), or any token the DB holds as a run id (passed in).
_HEX_ID = re.compile(r"\b(?=[0-9a-f]*[a-f])(?=[0-9a-f]*[0-9])[0-9a-f]{8,40}\b", re.I)
_IDENTIFIER = re.compile(r"\b\w*_\w*\b")
_SCIENTIFIC = re.compile(r"(?<![\w.])(-?\d+(?:\.\d+)?)[eE]([-+]?\d+)\b")
# A number as written: digits with thousands commas or a decimal part; not part of a word or id.
_NUMBER = re.compile(r"(?<![\w.,])(-?)(\d{1,3}(?:,\d{3})+|\d+)(\.\d+)?(?![\w]|\.\d)")
_YEAR = range(1900, 2100)
_ONES = ["zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten", "eleven",
         "twelve", "thirteen", "fourteen", "fifteen", "sixteen", "seventeen", "eighteen", "nineteen"]
_TENS = ["", "", "twenty", "thirty", "forty", "fifty", "sixty", "seventy", "eighty", "ninety"]


def significant_digits(number: str) -> int:
    """Significant digits of a number as written: "0.9806" -> 4, "1500" -> 2, "1,234" -> 4, "95.10" -> 4."""
    digits = number.lstrip("-+").replace(",", "")
    if "." in digits:
        whole, frac = digits.split(".", 1)
        return len((whole + frac).lstrip("0")) or 1
    return len(digits.lstrip("0").rstrip("0")) or 1


def _under_hundred(n: int) -> str:
    return _ONES[n] if n < 20 else _TENS[n // 10] + ("" if n % 10 == 0 else "-" + _ONES[n % 10])


def year_words(year: int) -> str:
    """2026 -> "twenty twenty-six", 2005 -> "two thousand five", 1999 -> "nineteen ninety-nine"."""
    high, low = divmod(year, 100)
    if 2000 <= year < 2010:
        return "two thousand" + ("" if low == 0 else " " + _ONES[low])
    return f"{_under_hundred(high)} {('hundred' if low == 0 else ('oh ' + _ONES[low] if low < 10 else _under_hundred(low)))}"


def spoken_problems(text: str, run_ids: Iterable[str] = ()) -> list[str]:
    """What keeps `text` from being spoken as it is; [] when it is fit for the ear."""
    problems = []
    if "_" in text:
        problems.append("underscore")
    ids = {rid.lower() for rid in run_ids if len(rid) >= MIN_ID_CHARS}
    tokens = set(re.findall(r"[\w\-]+", text.lower()))
    if _HEX_ID.search(text) or ids & tokens:
        problems.append("full run id")
    if _SCIENTIFIC.search(text):
        problems.append("number in exponent notation")
    for m in _NUMBER.finditer(_HEX_ID.sub(" ", text)):
        if significant_digits(m.group(2) + (m.group(3) or "")) > MAX_SIGNIFICANT:
            problems.append(f"number {m.group(0)} has more than {MAX_SIGNIFICANT} significant digits")
    return problems


def _rewrite_number(m: re.Match) -> str:
    sign, whole, frac = m.group(1), m.group(2), m.group(3) or ""
    written = whole + frac
    if significant_digits(written) <= MAX_SIGNIFICANT:
        return m.group(0)
    value = float(written.replace(",", ""))
    if not frac and "," not in whole and int(value) in _YEAR:
        return sign + year_words(int(value))
    rounded = spoken_number(value)
    return f"{sign}{rounded}" if frac else f"about {sign}{rounded}"


def _rewrite_scientific(m: re.Match) -> str:
    mantissa, exponent = float(m.group(1)), int(m.group(2))
    value = mantissa * 10 ** exponent
    if 0.001 <= abs(value) < 1e6:
        return spoken_number(value)
    power = "minus " + str(-exponent) if exponent < 0 else str(exponent)
    return f"{spoken_number(mantissa)} times ten to the {power}"


@lru_cache(maxsize=64)
def _ids_pattern(ids: tuple[str, ...]) -> re.Pattern:
    """One pattern for the run ids of an answer (longest first), built once per answer's ids."""
    return re.compile(r"\b(?:" + "|".join(re.escape(rid) for rid in ids) + r")\b", re.I)


def speakable(text: str, run_ids: Iterable[str] = (),
              words_for: Callable[[str], str] = words_for_name) -> str | None:
    """`text` rewritten for the ear, or None when it still is not fit (then it is not spoken).
    `words_for` reads a snake_case name aloud (by default as the facts' wording does)."""
    ids = sorted({rid for rid in run_ids if len(rid) >= MIN_ID_CHARS}, key=len, reverse=True)
    handles: list[str] = []

    def park(run_id: str) -> str:   # handles wait outside the number rewriting ("4e76" is no number)
        handles.append(short_handle(run_id))
        return f"\x00{len(handles) - 1}\x00"

    if ids:
        text = _ids_pattern(tuple(ids)).sub(lambda m: park(m.group(0)), text)
    text = _HEX_ID.sub(lambda m: park(m.group(0)), text)
    text = _IDENTIFIER.sub(lambda m: words_for(m.group(0)), text)
    text = _SCIENTIFIC.sub(_rewrite_scientific, text)
    text = _NUMBER.sub(_rewrite_number, text)
    text = " ".join(text.replace("_", " ").split())
    if not text or spoken_problems(text, ids):
        return None
    return re.sub("\x00(\\d+)\x00", lambda m: handles[int(m.group(1))], text)
