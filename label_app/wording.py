"""Counts in words: "1 row matches", "2 rows match", never "1 rows"."""

from __future__ import annotations


def plural(n: int, singular: str, plural_form: str | None = None) -> str:
    """`n` with the noun phrase in the right number, thousands separated: plural(1, "row matches",
    "rows match") -> "1 row matches"; plural(2_000, "sentence") -> "2,000 sentences" (an "s" is added
    when no plural form is given)."""
    return f"{n:,} {singular if n == 1 else (plural_form or singular + 's')}"
