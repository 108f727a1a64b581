"""Article and sentence ids that survive edited articles and changed segmentation.

The scheme (docs/ingestion.md, "Sentence identity"):

* An article's own id comes from where it lives in seeds/ (`source_article_id`: the file's path, or the
  table and row id), not from its text, so fixing a word does not make it a new article.
* A sentence's own id is its article's id plus a hash of its normalised text (`sentence_id_for`), with
  `.2`, `.3`... for repeats of the same text in one article; so an unchanged sentence keeps its id when
  others around it change, move, merge or split.
* Labels are never rewritten (the log is append-only and versions are immutable). Instead, ids are
  resolved at ingest time from the labels (`assign_ids`): an article whose sentences carry the texts of an
  earlier article id's labels takes that id (its labels keep pointing at it), and every sentence whose
  normalised text equals a label's text in that article takes the label's sentence id. A label with no
  known article attaches to the one corpus sentence with its text, if there is exactly one (with several it
  stays an orphan, reported with the articles it matches: `IdAssignment.ambiguous`). So labels made
  under an earlier id scheme, before an edit or before a segmentation change stay attached whenever their
  sentence text still exists; the rest are orphans (`label_app.orphans`), reported and kept.
"""

from __future__ import annotations

import hashlib
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from ..textnorm import normalise_article, normalise_text


def article_id_for(text: str) -> str:
    """Content id of an article text: 'a' + 12 hex of the sha256 of its normalised text.

    Two files with the same article (however their lines or spaces differ) have the same content id;
    ingestion keeps the first and notes the other as a duplicate. It was the article id before ids came
    from the source; labels made then carry it, and `assign_ids` maps them back.
    """
    return "a" + hashlib.sha256(normalise_article(text).encode("utf-8")).hexdigest()[:12]


def source_article_id(source: str) -> str:
    """Id of the article at `source` (its path inside seeds/, `table.csv#row`): 'a' + 12 hex."""
    return "a" + hashlib.sha256(f"source:{source}".encode()).hexdigest()[:12]


def sentence_id_for(article_id: str, text: str | int, occurrence: int = 1) -> str:
    """Own id of a segment: `<article id>-<10 hex of sha256(normalised text)>`, `.N` for the N-th repeat.

    Given an int position instead of a text, the id of the earlier scheme, `<article id>-<position:04d>`
    (what corpus records written without stored ids use).
    """
    if isinstance(text, int):
        return f"{article_id}-{text:04d}"
    return _id_of_normalised(article_id, normalise_text(text), occurrence)


def _id_of_normalised(article_id: str, key: str, occurrence: int) -> str:
    h = hashlib.sha256(key.encode("utf-8")).hexdigest()[:10]
    return f"{article_id}-{h}" if occurrence <= 1 else f"{article_id}-{h}.{occurrence}"


def own_sentence_ids(article_id: str, texts: Sequence[str]) -> list[str]:
    """`sentence_id_for` of each segment text of one article, repeats numbered in order."""
    seen: Counter[str] = Counter()
    out = []
    for t in texts:
        key = normalise_text(t)
        seen[key] += 1
        out.append(_id_of_normalised(article_id, key, seen[key]))
    return out


@dataclass
class IdAssignment:
    """Result of `assign_ids`: final ids per article and how they were found."""

    article_ids: list[str]
    sentence_ids: list[list[str]]
    aliases: dict[str, str] = field(default_factory=dict)  # earlier article id -> article id now
    adopted_sentences: int = 0
    # normalised text of a label of no known article that was not attached because several sentences have it
    # -> the index of the article of each such sentence (in corpus order, an article once per sentence)
    ambiguous: dict[str, list[int]] = field(default_factory=dict)


def assign_ids(articles: Sequence[tuple[str, Sequence[str]]], labels: Iterable[dict[str, str]]) -> IdAssignment:
    """Final article and sentence ids for a corpus, given the current labels.

    `articles`: per article, (own id from `source_article_id`, its segment texts in order);
    `labels`: label dicts with at least sentence_id, article_id and text (the store's current labels).
    Returns ids parallel to `articles`. Deterministic: the same corpus and labels give the same ids.
    """
    own_ids = [aid for aid, _ in articles]
    own_set = set(own_ids)
    norm_texts = [[normalise_text(t) for t in texts] for _, texts in articles]

    # label texts per earlier article id, and the sentence ids used for each (article id, text)
    by_article: dict[str, set[str]] = defaultdict(set)
    sids_for: dict[tuple[str, str], Counter[str]] = defaultdict(Counter)
    unplaced: dict[str, Counter[str]] = defaultdict(Counter)  # text -> sentence ids, labels of no article
    for lab in labels:
        text = normalise_text(lab.get("text", ""))
        sid, aid = lab.get("sentence_id", ""), lab.get("article_id", "")
        if not text or not sid:
            continue
        if aid:
            by_article[aid].add(text)
            sids_for[(aid, text)][sid] += 1
        else:
            unplaced[text][sid] += 1

    # earlier article ids (not an article's own id): the article holding most of their label texts
    where: dict[str, list[int]] = defaultdict(list)
    for i, texts in enumerate(norm_texts):
        for t in set(texts):
            where[t].append(i)
    aliases_of: dict[int, list[str]] = defaultdict(list)
    best_claim: dict[int, tuple[int, str]] = {}
    for old in sorted(by_article):
        if old in own_set:
            continue
        hits: Counter[int] = Counter()
        for t in by_article[old]:
            hits.update(where.get(t, ()))
        if not hits:
            unplaced_texts = by_article[old]
            for t in unplaced_texts:
                for sid, n in sids_for[(old, t)].items():
                    unplaced[t][sid] += n
            continue
        top = max(hits.values())
        i = min(k for k, v in hits.items() if v == top)
        aliases_of[i].append(old)
        if top > best_claim.get(i, (0, ""))[0]:
            best_claim[i] = (top, old)

    labelled_own = {aid for aid in by_article if aid in own_set}
    final_ids: list[str] = []
    aliases: dict[str, str] = {}
    for i, own in enumerate(own_ids):
        # an article whose labels already use its own id keeps it; otherwise it takes its earlier id
        final = own if own in labelled_own or i not in best_claim else best_claim[i][1]
        final_ids.append(final)
        for old in aliases_of.get(i, ()):
            aliases[old] = final

    used: set[str] = set()
    sentence_ids: list[list[str]] = []
    adopted = 0
    for i, texts in enumerate(norm_texts):
        keys = [final_ids[i], *aliases_of.get(i, ())]
        if own_ids[i] != final_ids[i]:
            keys.append(own_ids[i])
        own = own_sentence_ids(final_ids[i], texts)
        out: list[str] = []
        for t, own_sid in zip(texts, own, strict=True):
            counts: Counter[str] = Counter()
            for k in keys:
                counts.update(sids_for.get((k, t), {}))
            choice = ""
            for sid, _n in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0])):
                if sid not in used:
                    choice = sid
                    break
            if choice and choice != own_sid:
                adopted += 1
            out.append(choice or own_sid)
            used.add(out[-1])
        sentence_ids.append(out)

    # labels of no known article: the one corpus sentence with their text, if there is exactly one (with
    # several, the label cannot say which it meant: it stays an orphan, reported with every article it matches)
    ambiguous: dict[str, list[int]] = {}
    if unplaced:
        spots: dict[str, list[tuple[int, int]]] = defaultdict(list)
        for i, texts in enumerate(norm_texts):
            for j, t in enumerate(texts):
                if t in unplaced:
                    spots[t].append((i, j))
        for t, sids in unplaced.items():
            if len(spots.get(t, ())) > 1:
                ambiguous[t] = [i for i, _j in spots[t]]
            if len(spots.get(t, ())) != 1:
                continue
            i, j = spots[t][0]
            current = sentence_ids[i][j]
            own = own_sentence_ids(final_ids[i], norm_texts[i])[j]
            if current != own:
                continue  # already attached to another label's id
            sid = min(sids, key=lambda s: (-sids[s], s))
            if sid not in used:
                used.add(sid)
                sentence_ids[i][j] = sid
                adopted += 1
    return IdAssignment(final_ids, sentence_ids, aliases, adopted, ambiguous)


__all__ = [
    "IdAssignment", "article_id_for", "assign_ids", "own_sentence_ids", "sentence_id_for", "source_article_id",
]
