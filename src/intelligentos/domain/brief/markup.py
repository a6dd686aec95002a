"""Markdown text for the brief: user text escaped so it shows as written, ids in code
spans, pipe tables.

Pure Python: no SQL, no Textual.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence

from intelligentos.domain.formatting import literal

# Characters that can start inline markup (emphasis, code, links, autolinks and raw HTML,
# entities, strikethrough) or end a table cell.
_INLINE = re.compile(r"([\\`*_{}\[\]<>!|~&#])")
# What would open a block (heading, quote, list, rule) at the start of a line.
_BLOCK_START = re.compile(r"^(\s*)([+=\-])(?=[\s+=\-]|$)|^(\s*\d+)([.)])(?=\s|$)")


def md(text: str) -> str:
    """User text for Markdown: one line (control characters made visible by
    :func:`~intelligentos.domain.formatting.literal`), every markup character escaped."""
    one_line = literal(" ".join(text.split()))
    escaped = _INLINE.sub(r"\\\1", one_line)
    return _BLOCK_START.sub(
        lambda m: f"{m[1]}\\{m[2]}" if m[2] else f"{m[3]}\\{m[4]}", escaped, count=1
    )


def code(text: str) -> str:
    """An id in a code span, or escaped text when it could not sit in one safely."""
    if not text or any(ch in text for ch in "`|\n\r") or not text.isprintable():
        return md(text)
    return f"`{text}`"


def table(header: Sequence[str], align: Sequence[str], rows: Iterable[Sequence[str]]) -> str:
    lines = [
        "| " + " | ".join(header) + " |",
        "|" + "|".join({"l": "---", "r": "---:"}[a] for a in align) + "|",
    ]
    lines += ["| " + " | ".join(cell or " " for cell in row) + " |" for row in rows]
    return "\n".join(lines)
