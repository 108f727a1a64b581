"""Sentence annotation by topic and stance, with a versioned, append-only label store."""

__version__ = "0.1.0"
