"""Numbers said as words ("fifty epochs" -> "50 epochs", "zero point zero one" -> "0.01") and ordinals."""
from __future__ import annotations

import re

UNITS = {"zero": 0, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7, "eight": 8,
         "nine": 9, "ten": 10, "eleven": 11, "twelve": 12, "thirteen": 13, "fourteen": 14, "fifteen": 15,
         "sixteen": 16, "seventeen": 17, "eighteen": 18, "nineteen": 19}
TENS = {"twenty": 20, "thirty": 30, "forty": 40, "fifty": 50, "sixty": 60, "seventy": 70, "eighty": 80, "ninety": 90}
SCALES = {"hundred": 100, "thousand": 1000}
ORDINALS = {"first": 1, "second": 2, "third": 3, "fourth": 4, "fifth": 5, "sixth": 6, "seventh": 7, "eighth": 8,
            "ninth": 9, "tenth": 10, "eleventh": 11, "twelfth": 12}
_NUM_WORD = "|".join(list(UNITS) + list(TENS) + list(SCALES) + ["point", "and", "a"])
_PRONOUN_ONE = re.compile(r"\b(that|this|which|the|best|each|any|every|no|last|first|second|other|new|latest|"
                          r"recent|worst|top|better|good|bad|a|another|single)\s+one\b")


def words_to_numbers(text: str) -> str:
    """"fifty epochs" -> "50 epochs", "zero point zero one" -> "0.01", "a couple of" -> "2"."""
    text = re.sub(r"\ba couple(?: of)?\b", "2", text)
    text = re.sub(r"\ba (?:few|handful of)\b", "3", text)
    text = re.sub(r"\b(a )?dozen\b", "12", text)
    text = re.sub(r"\ban? (hundred|thousand)\b", r"one \1", text)
    text = _PRONOUN_ONE.sub(lambda m: m.group(0).replace(" one", " ONE_"), text)
    # "between one and two": two numbers ("and" joins a number only after hundred or thousand)
    small = "|".join(list(UNITS) + list(TENS))
    text = re.sub(rf"\b({small}) and (?=(?:{small})\b)", r"\1 AND_ ", text)

    def convert(m: re.Match) -> str:
        words = m.group(0).split()
        if all(w in ("and", "a", "point") for w in words):
            return m.group(0)
        total, current, decimals, in_decimal = 0, 0, "", False
        for w in words:
            if w == "point":
                in_decimal = True
            elif in_decimal and w in UNITS and UNITS[w] < 10:
                decimals += str(UNITS[w])
            elif w in UNITS:
                current += UNITS[w]
            elif w in TENS:
                current += TENS[w]
            elif w == "hundred":
                current = max(current, 1) * 100
            elif w == "thousand":
                total += max(current, 1) * 1000
                current = 0
        value = str(total + current)
        return value + (f".{decimals}" if decimals else "")

    pattern = rf"\b(?:{'|'.join(list(UNITS) + list(TENS))})(?:[\s-]+(?:{_NUM_WORD}))*\b"
    out = re.sub(pattern, lambda m: _trim_convert(m, convert), text)
    return scientific(out.replace("ONE_", "one").replace("AND_", "and"))


def scientific(text: str) -> str:
    """Scientific notation said or half-typed: "5 e minus 5", "5e minus 5", "5 times 10 to the minus 5",
    "10 to the minus 4", "5 x 10^-5" -> "5e-5" (one number, never split)."""
    sign = r"(?:minus|negative|-)\s*"
    text = re.sub(rf"\b(\d+(?:\.\d+)?)\s*(?:times|x|\*)\s*10\s*(?:to the\s*|\^\s*|\*\*\s*)(?:power of\s*)?{sign}(\d+)\b",
                  r"\1e-\2", text)
    text = re.sub(rf"\b10\s*(?:to the\s*|\^\s*|\*\*\s*)(?:power of\s*)?{sign}(\d+)\b", r"1e-\1", text)
    return re.sub(rf"\b(\d+(?:\.\d+)?)\s*e\s*{sign}(\d+)\b", r"\1e-\2", text)


def _trim_convert(m: re.Match, convert) -> str:
    text = m.group(0).replace("-", " ")
    trailing = ""
    while text.split() and text.split()[-1] in ("and", "a", "point"):
        trailing = " " + text.split()[-1] + trailing
        text = text.rsplit(" ", 1)[0]
    return convert(re.match(r".+", text)) + trailing
