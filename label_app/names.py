"""Annotator names: one canonical spelling per person.

"Sara", "sara" and " SARA " are one annotator. Every place a name enters (the name box and `?annotator=` in the
app, sign-in, `users add/remove`, label imports, the store's append) passes it through `canonical_name`, so the
label log, agreement figures and accounts never split one person in two. The canonical form is lower case:
names are restricted to ASCII letters, digits, '.', '_' and '-', so lower-casing is exact and reversible by
nobody's expectations.
"""

from __future__ import annotations


def canonical_name(name: str) -> str:
    """The canonical spelling of an annotator name: surrounding spaces removed, lower case.

    Does not validate (store.validate_annotator does, on the result); a non-string is returned unchanged so the
    validator can report it.
    """
    if not isinstance(name, str):
        return name
    return name.strip().lower()


def same_name(a: str, b: str) -> bool:
    """Whether two spellings name the same annotator."""
    return canonical_name(a) == canonical_name(b)
