"""The static scans' prefilter: whether a source file can hold what an AST scan looks for."""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable


def names_any(source: str, words: Iterable[str]) -> bool:
    """Whether ``source`` contains any of ``words`` once normalised as Python compares
    identifiers (NFKC: a fullwidth ``ｄｕｃｋｄｂ`` names ``duckdb``). An import, call or
    assignment a scan looks for names its word in the source, so a file containing none
    of them has nothing to find and need not be parsed."""
    text = unicodedata.normalize("NFKC", source)
    return any(word in text for word in words)
