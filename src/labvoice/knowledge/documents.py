"""Reading the documents a lab really has into sections (heading + text), for the knowledge index.

Formats: Markdown (`.md`, `.markdown`), plain text (`.txt`), reStructuredText (`.rst`, e.g.
scikit-learn's dataset descriptions), PDF (`pypdf`) and Jupyter notebooks (`.ipynb`: the markdown
cells only; code and outputs are not prose a person wrote to be read). Each section keeps the
heading it sits under, so every passage can say where it comes from ("evaluation_protocol.md,
Splits"). Markup that would be read aloud or confuse matching (rST roles and directives, Markdown
emphasis, link targets) is removed; the words stay.
"""
from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path

DOC_SUFFIXES = (".md", ".markdown", ".txt", ".rst", ".pdf", ".ipynb")
TEXT_ENCODING = "utf-8"
HEADING_MAX_CHARS = 80           # a longer line is prose, not a heading (PDF and plain text)
_MD_HEADING = re.compile(r"^\s{0,3}(#{1,6})\s+(.*?)\s*#*\s*$")
_RST_UNDERLINE = re.compile(r"^([=\-~^\"'`#*+_.:])\1{2,}\s*$")
_RST_DIRECTIVE = re.compile(r"^\s*\.\.\s+(?:_[^:]+:|\|[^|]+\|\s+\S+::.*|[a-z-]+::.*|\[[^\]]+\].*)?\s*$", re.I)
_RST_ROLE = re.compile(r":[a-z]+:`([^`<]*?)(?:\s*<[^>]*>)?`", re.I)
_RST_SUBST = re.compile(r"\|[a-z-]+\|", re.I)
_RST_LINK = re.compile(r"`([^`<]+?)\s*<[^>]+>`_+")
_MD_LINK = re.compile(r"\[([^\]]+)\]\([^)]*\)")
_EMPHASIS = re.compile(r"(\*\*|__|\*|``)(?=\S)(.+?)(?<=\S)\1")
_LIST_ITEM = re.compile(r"^\s{0,3}(?:[-*+]|\d{1,2}[.)])\s+\S")
_FIELD = re.compile(r"^\s*:([^:]{2,60}):\s*(.*)$")


class DocumentError(ValueError):
    """A knowledge-base file could not be read; the message names the file and the fix."""

    code = "document_unreadable"


@dataclass(frozen=True)
class Section:
    """A run of text under one heading ("" before the first heading)."""

    heading: str
    text: str


def clean_inline(text: str) -> str:
    """Words without markup: rST roles, links and substitutions, Markdown links and emphasis."""
    text = _RST_LINK.sub(r"\1", _RST_ROLE.sub(r"\1", text))
    text = _MD_LINK.sub(r"\1", _RST_SUBST.sub("", text))
    text = _EMPHASIS.sub(r"\2", text)
    return text.replace("`", "")


def _sections(pairs: list[tuple[str, list[str]]]) -> tuple[Section, ...]:
    out = []
    for heading, lines in pairs:
        text = "\n".join(lines).strip()
        if text:
            out.append(Section(clean_inline(heading).strip(), text))
    return tuple(out)


def markdown_sections(text: str) -> tuple[Section, ...]:
    """Sections under `#` headings; fenced code is kept out of the prose."""
    pairs: list[tuple[str, list[str]]] = [("", [])]
    fenced = False
    for line in text.splitlines():
        if line.lstrip().startswith(("```", "~~~")):
            fenced = not fenced
            continue
        match = None if fenced else _MD_HEADING.match(line)
        if match:
            pairs.append((match.group(2), []))
        elif not fenced:
            if _LIST_ITEM.match(line):      # each item its own paragraph: one statement, not a run-on
                pairs[-1][1].append("")
            pairs[-1][1].append(clean_inline(line))
    return _sections(pairs)


def rst_sections(text: str) -> tuple[Section, ...]:
    """Sections under underlined (or over- and underlined) titles; directives and targets dropped,
    field lists (`:Number of Instances: 150`) kept as "Number of Instances: 150"."""
    lines = text.splitlines()
    pairs: list[tuple[str, list[str]]] = [("", [])]
    skip = set()
    for i, line in enumerate(lines):
        if i in skip:
            continue
        nxt = lines[i + 1] if i + 1 < len(lines) else ""
        if line.strip() and not _RST_UNDERLINE.match(line) and _RST_UNDERLINE.match(nxt) \
                and len(nxt.strip()) >= len(line.strip()) - 2:
            pairs.append((line.strip(), []))
            skip.add(i + 1)
            continue
        if _RST_UNDERLINE.match(line) or _RST_DIRECTIVE.match(line):
            continue
        field = _FIELD.match(line)
        if field:   # one field is one statement: give it a full stop so it reads (and splits) as one
            value = clean_inline(field.group(2)).strip()
            line = f"{field.group(1)}: {value}" + ("." if value and not value.endswith((".", ":")) else "")
        pairs[-1][1].append(line if field else clean_inline(line))
    return _sections(pairs)


def _looks_like_heading(line: str, following: str) -> bool:
    words = line.split()
    return (0 < len(line) <= HEADING_MAX_CHARS and 1 <= len(words) <= 8 and not line.endswith((".", ",", ";", ":"))
            and line[:1].isupper() and following.strip()[:1].isupper() and not line[:1].isdigit())


def plain_sections(text: str) -> tuple[Section, ...]:
    """Plain text and PDF pages: a short capitalised line without a full stop that starts a
    paragraph (after a blank line or a finished sentence: PDF text has no blank lines) and is
    followed by a capitalised line is taken as a heading."""
    lines = text.splitlines()
    pairs: list[tuple[str, list[str]]] = [("", [])]
    for i, line in enumerate(lines):
        line = line.rstrip()
        before = lines[i - 1].strip() if i else ""
        after = next((n for n in lines[i + 1:] if n.strip()), "")
        if (not before or before.endswith((".", "!", "?", ":"))) and _looks_like_heading(line.strip(), after if i else "A"):
            pairs.append((line.strip(), []))
            pairs[-1][1].append("")
        else:
            pairs[-1][1].append(line)
    return _sections(pairs)


def _notebook_markdown(path: Path) -> str:
    try:
        notebook = json.loads(path.read_text(encoding=TEXT_ENCODING))
        cells = notebook["cells"]
    except (ValueError, KeyError, TypeError):
        raise DocumentError(f"{path}: not a readable notebook (no cells in its JSON); "
                            "save it again from Jupyter or remove it") from None
    texts = []
    for cell in cells:
        if isinstance(cell, dict) and cell.get("cell_type") == "markdown":
            source = cell.get("source", "")
            texts.append("".join(source) if isinstance(source, list) else str(source))
    return "\n\n".join(texts)


def _pdf_text(path: Path) -> str:
    from pypdf import PdfReader

    try:
        reader = PdfReader(path)
        if reader.is_encrypted:
            raise DocumentError(f"{path}: PDF is encrypted; save an unencrypted copy")
        pages = [page.extract_text() or "" for page in reader.pages]
    except (DocumentError, OSError):
        raise
    except Exception as err:  # pypdf raises many exception types on corrupt files
        raise DocumentError(f"{path}: not a readable PDF ({type(err).__name__}: {err}); "
                            "replace or remove it") from None
    return "\n\n".join(pages)


def read_text(path: Path) -> str:
    """The plain text of one document (notebooks: their markdown cells; PDFs: their pages)."""
    suffix = path.suffix.lower()
    try:
        if suffix == ".pdf":
            return _pdf_text(path)
        if suffix == ".ipynb":
            return _notebook_markdown(path)
        return path.read_text(encoding=TEXT_ENCODING)
    except UnicodeDecodeError:
        raise DocumentError(f"{path}: not {TEXT_ENCODING} text; re-save it as UTF-8 or remove it") from None
    except OSError as err:
        raise DocumentError(f"{path}: cannot be read ({err.strerror or err})") from None


def read_sections(path: Path) -> tuple[Section, ...]:
    """One document as sections; raises DocumentError (naming the file) when it cannot be read."""
    text = read_text(path)
    suffix = path.suffix.lower()
    if suffix in (".md", ".markdown", ".ipynb"):
        return markdown_sections(text)
    if suffix == ".rst":
        return rst_sections(text)
    return plain_sections(text)
