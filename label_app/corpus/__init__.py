"""Corpus ingestion: article files -> articles -> sentences with ids that survive edits.

One job per module:

* `reading`  - reading article files (.txt/.md, .csv/.jsonl tables) and walking folders;
* `lines`    - line classification (sentence / heading / meta) and line joining;
* `segment`  - sentence segmentation (pysbd with our line rules; a spaCy pipeline if configured);
* `fast`     - the pre-labeling segmenter, which must give exactly `segment`'s segments;
* `ids`      - article and sentence ids, resolved from the labels so they survive edits;
* `ingest`   - ingestion and the corpus cache (`.cache/corpus.jsonl`);
* `seeds`    - managing seeds/ (safe names, uploads, near-duplicates).

Everything outside the package imports from `label_app.corpus` (the names below), never a module's
private names.
"""

from __future__ import annotations

from ..tables import MAX_ARTICLE_BYTES, MAX_TABLE_BYTES, decode_bytes
from ..textnorm import normalise_article, normalise_text
from .fast import FastSegmenter, check_same_segments
from .ids import (
    IdAssignment,
    article_id_for,
    assign_ids,
    own_sentence_ids,
    sentence_id_for,
    source_article_id,
)
from .ingest import (
    CORPUS_COLUMNS,
    CORPUS_FORMAT,
    IngestReport,
    ingest,
    iter_corpus_records,
    load_corpus,
    load_corpus_frame,
    row_skipped_note,
)
from .lines import (
    KIND_HEADING,
    KIND_META,
    KIND_SENTENCE,
    SENTENCE_FINAL,
    classify_line,
    classify_lines,
    ends_sentence,
    has_words,
    split_lines,
    word_count,
)
from .reading import (
    ARTICLE_EXTS,
    SUPPORTED_EXTS,
    TABLE_EXTS,
    RawArticle,
    articles_from_bytes,
    read_article_file,
    title_from,
    unsupported_reason,
    walk_files,
)
from .seeds import (
    NEAR_DUPLICATE_SHARE,
    NearDuplicate,
    check_upload,
    copy_into_seeds,
    near_duplicates,
    replace_in_seeds,
    safe_filename,
    save_into_seeds,
)
from .segment import (
    MAX_PIECE,
    SEGMENTER_NAME,
    Segment,
    get_nlp,
    segment_articles,
    segment_text,
    sentence_kind,
    spacy_model_name,
    split_sentence_line,
)

__all__ = [
    "ARTICLE_EXTS", "CORPUS_COLUMNS", "CORPUS_FORMAT", "KIND_HEADING", "KIND_META", "KIND_SENTENCE",
    "MAX_ARTICLE_BYTES", "MAX_PIECE", "MAX_TABLE_BYTES", "NEAR_DUPLICATE_SHARE", "SEGMENTER_NAME",
    "SENTENCE_FINAL", "SUPPORTED_EXTS", "TABLE_EXTS", "FastSegmenter", "IdAssignment", "IngestReport",
    "NearDuplicate", "RawArticle", "Segment", "article_id_for", "articles_from_bytes", "assign_ids",
    "check_same_segments", "check_upload", "classify_line", "classify_lines", "copy_into_seeds", "decode_bytes", "ends_sentence",
    "get_nlp", "has_words", "ingest", "iter_corpus_records", "load_corpus", "load_corpus_frame",
    "near_duplicates", "normalise_article", "normalise_text", "own_sentence_ids", "read_article_file",
    "replace_in_seeds", "row_skipped_note", "safe_filename", "save_into_seeds", "segment_articles", "segment_text",
    "sentence_id_for", "sentence_kind", "source_article_id", "spacy_model_name", "split_lines",
    "split_sentence_line", "title_from", "unsupported_reason", "walk_files", "word_count",
]
