"""Readable text: the training report printed by the CLI, the Markdown model card, curve and error tables."""

from __future__ import annotations

from typing import Any


def _params(p: dict[str, Any]) -> str:
    return ", ".join(f"{k}={v}" for k, v in p.items())


def _confusion(conf: dict[str, Any], indent: str = "  ") -> list[str]:
    labels, matrix = conf["labels"], conf["matrix"]
    if not labels:
        return []
    short = [lab[:9] for lab in labels]
    width = max(9, max(len(s) for s in short))
    lines = [f"{indent}confusion matrix (rows: gold, columns: predicted)",
             indent + " " * (width + 1) + " ".join(f"{s:>{width}}" for s in short)]
    for s, row in zip(short, matrix, strict=True):
        lines.append(indent + f"{s:<{width}} " + " ".join(f"{v:>{width}d}" for v in row))
    return lines


def scores_lines(m: dict[str, Any], indent: str = "  ") -> list[str]:
    """Per-class table, macro-F1/accuracy and confusion matrix of a classification_report dict."""
    lines = [f"{indent}macro-F1 {m['macro_f1']:.3f}   accuracy {m['accuracy']:.3f}   ({m['n']} sentences)"]
    cal = m.get("calibration")
    if cal:
        extra = (f" (uncalibrated {cal['ece_uncalibrated']:.3f}, {cal['brier_uncalibrated']:.3f}; "
                 f"temperature {cal['temperature']:.2f})" if "temperature" in cal else "")
        lines.append(f"{indent}calibration: ECE {cal['ece']:.3f}, Brier {cal['brier']:.3f}{extra}")
    lines.append(f"{indent}{'class':<14}{'precision':>10}{'recall':>8}{'f1':>7}{'support':>9}")
    for lab, s in m["per_class"].items():
        lines.append(f"{indent}{lab[:14]:<14}{s['precision']:>10.3f}{s['recall']:>8.3f}{s['f1']:>7.3f}"
                     f"{s['support']:>9d}")
    lines.extend(_confusion(m["confusion"], indent))
    return lines


def _member(f: dict[str, Any]) -> str:
    return (f["features"] + (f"/{f['topic_mode']}" if f.get("topic_mode") else "")
            + (" + self-training" if f.get("self_training") else ""))


def _measure(m: dict[str, Any]) -> str:
    """The measure a task's model was selected by: "F_avg" (stance with favor and against) or "macro-F1"."""
    return "F_avg" if "F_avg" in m.get("cv", {}).get("selection", "") else "macro-F1"


def self_training_text(m: dict[str, Any]) -> str | None:
    """What self-training did for a task, in one line (None for metrics written before it existed), e.g.
    "tried on 975 unlabelled corpus sentences, chosen (CV macro-F1 0.795 against 0.786 without)"."""
    st = m.get("self_training")
    if st is None:
        return None
    if not st["tried"]:
        return f"not tried: {st['reason']}" if st.get("reason") else "not tried"
    n = st["unlabelled_sentences"]
    verdict = "chosen" if st["chosen"] else "not chosen"
    figures = (f" (CV {_measure(m)} {st['cv_self_trained']:.3f} against {st['cv_plain']:.3f} without)"
               if "cv_plain" in st else "")
    return f"tried on {n:,} unlabelled corpus sentence{'' if n == 1 else 's'}, {verdict}{figures}"


def training_report(metrics: dict[str, Any], version_created: bool = False) -> str:
    """The report `python -m train` prints after training."""
    v = metrics["labels_version"]
    lines = [f"label version {v} ({metrics['labels_rows']} labels"
             + ("; created now from changed labels)" if version_created else ")")]
    for task, m in metrics["tasks"].items():
        lines.append("")
        if not m.get("trained"):
            lines.append(f"{task}: SKIPPED: {m['skipped']}")
            if m.get("n_ties"):
                lines.append(f"  {m['n_ties']} tied sentences left out")
            continue
        cv = m["cv"]
        lines.append(f"{task}: {m['n_sentences']} gold sentences, {m['n_ties']} {'tie' if m['n_ties'] == 1 else 'ties'} left out; "
                     f"{cv['folds']}-fold CV grouped by {cv['grouped_by']} ({cv['n_groups']} groups)")
        counts = ", ".join(f"{k} {c}" for k, c in m["class_counts"].items())
        lines.append(f"  class counts: {counts}")
        measure = _measure(m)
        lines.append(f"  chosen: {m.get('chosen_features', '')}; {_params(m['chosen'])}  "
                     f"(of {len(m['grid'])} settings, by CV {measure})")
        if m.get("family"):
            key = "f_avg" if measure == "F_avg" else "macro_f1"
            lines.append(f"  family (best CV {measure} of each): " + "; ".join(
                f"{_member(f)} {f[key]:.3f}" for f in m["family"]))
        if (st := self_training_text(m)) is not None:
            lines.append(f"  self-training: {st}")
            if m["cv"].get("staged_note"):
                lines.append(f"  ({m['cv']['staged_note']})")
        for note in m.get("notes", []):
            lines.append(f"  note: {note}")
        lines.extend(scores_lines(m))
    if metrics.get("model_id"):
        lines.append("")
        lines.append(f"saved model {metrics['model_id']} (now current) in {metrics.get('training_seconds', 0):.1f} s")
    return "\n".join(lines)


def model_card(metrics: dict[str, Any]) -> str:
    """A short Markdown model card; '{model_id}' is filled in when the id is known."""
    cfg = metrics["config"]
    lines = [
        "# Model {model_id}",
        "",
        f"- Data: label version {metrics['labels_version']} ({metrics['labels_rows']} label rows, "
        f"sha256 {metrics['labels_sha256'][:12]}...)",
        f"- Schema fingerprint: {metrics['schema_fingerprint'][:12]}...",
        f"- Created: {metrics['created']}",
        "- Libraries: " + ", ".join(f"{k} {v}" for k, v in metrics["library_versions"].items()),
        "",
        "## Method",
        "",
        "Model selection over a small family, per task, by pooled out-of-fold macro-F1 (F_avg, the mean F1 of "
        "favor and against, for a task that has both, as stance) in "
        f"{cfg['cv_folds']}-fold ({cfg['few_folds']}-fold from {cfg['few_folds_from']} sentences) "
        "cross-validation grouped by article (stratified). Feature sets: `tfidf` = TF-IDF over word "
        f"{tuple(cfg['word_ngrams'])}-grams"
        + (f" and char_wb {tuple(cfg['char_ngrams'])}-grams" if cfg["char_ngrams"] else "")
        + f" (sublinear tf; n-grams seen once are dropped from {cfg['min_df_from']} sentences up); `embedding` = "
        "wordllama's bundled 256-dim static sentence embedding (loaded from the installed wheel, never "
        "downloaded); `both` = the two side by side. Stance is conditioned on the annotator's topic, else the "
        "predicted topic, either `pooled` (one model, topic x word features added) or `per_topic` (one model per "
        f"topic). Classifier: LinearSVC, C from {list(cfg['c_values'])}"
        + (f" (from {cfg['staged_from']} sentences the members are compared at C={cfg['c_values'][0]} and the "
           "other C values are tried for the best member only)" if cfg.get("staged_from") else "")
        + ", class weights from "
        f"{list(cfg['class_weights'])}. "
        + (f"Below {cfg['self_train_until']} gold labels, for tasks not conditioned on a topic, the CV winner is "
           "also tried self-trained (the same folds): refitted with pseudo-labels for the "
           f"{cfg['self_train_share']:.0%} of a sample of the corpus's unlabelled sentences (at most "
           f"{cfg['self_train_sample']}) it is surest of, equal numbers per class, each weighted "
           f"{cfg['self_train_weight']}; chosen only if it scores higher. " if cfg.get("self_training") else "")
        + "Probabilities: softmax of decision scores with a temperature fitted on out-of-fold scores.",
        "",
        "Gold labels: an adjudicated label wins, else the annotators' majority; ties are left out.",
        "",
        "## Scores (cross-validated)",
        "",
        "| task | sentences | ties | chosen | macro-F1 | accuracy | ECE | Brier |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for task, m in metrics["tasks"].items():
        if not m.get("trained"):
            lines.append(f"| {task} | {m['n_sentences']} | {m['n_ties']} | skipped: {m['skipped']} | | | | |")
            continue
        cal = m["calibration"]
        lines.append(f"| {task} | {m['n_sentences']} | {m['n_ties']} | {_params(m['chosen'])} | "
                     f"{m['macro_f1']:.3f} | {m['accuracy']:.3f} | {cal['ece']:.3f} | {cal['brier']:.3f} |")
    for task, m in metrics["tasks"].items():
        if not m.get("trained"):
            continue
        lines += ["", f"### {task}", "", f"Chosen: {m.get('chosen_features', '')} (by CV {_measure(m)}).", ""]
        if (st := self_training_text(m)) is not None:
            lines += [f"Self-training: {st}.", ""]
        for note in m.get("notes", []):
            lines += [f"Note: {note}", ""]
        if m.get("family"):
            has_favg = any("f_avg" in f for f in m["family"])
            lines += ["| family member | best C | CV macro-F1 |" + (" CV F_avg |" if has_favg else ""),
                      "|---|---|---|" + ("---|" if has_favg else "")]
            for f in m["family"]:
                lines.append(f"| {_member(f)} | {f['C']} | {f['macro_f1']:.3f} |"
                             + (f" {f['f_avg']:.3f} |" if has_favg else ""))
            lines.append("")
            if m["cv"].get("staged_note"):
                lines += [f"Selection staged ({m['n_sentences']} sentences): {m['cv']['staged_note']}.", ""]
        lines += ["| class | count | precision | recall | F1 |", "|---|---|---|---|---|"]
        for lab, count in m["class_counts"].items():
            s = m["per_class"].get(lab, {"precision": 0.0, "recall": 0.0, "f1": 0.0})
            lines.append(f"| {lab} | {count} | {s['precision']:.3f} | {s['recall']:.3f} | {s['f1']:.3f} |")
    lines += ["", "Load only through `train.load_model`: the joblib file is code, checked against manifest.json."]
    return "\n".join(lines) + "\n"


def evaluation_report(result: dict[str, Any]) -> str:
    lines = [f"model {result['model_id']} on label version {result['labels_version']}"]
    for task, m in result["tasks"].items():
        lines.append("")
        if not m.get("evaluated"):
            lines.append(f"{task}: not evaluated: {m['reason']}")
            continue
        lines.append(f"{task}: {m['n']} gold sentences ({m['n_ties']} {'tie' if m['n_ties'] == 1 else 'ties'} left out)")
        if m["in_training_data"]:
            lines.append(f"  note: {m['in_training_data']} of them were in the model's training data "
                         "(scores on those are optimistic)")
        lines.extend(scores_lines(m))
    return "\n".join(lines)


def curve_report(result: dict[str, Any]) -> str:
    lines = [f"learning curve: model {result['model_id']}, label version {result['labels_version']} "
             "(macro-F1, cross-validated, folds grouped by article)"]
    for task, v in result["tasks"].items():
        if "skipped" in v:
            lines.append(f"{task}: skipped: {v['skipped']}")
            continue
        lines.append(f"{task}:  {'labels %':>9}  {'n train':>8}  {'macro-F1':>8}  {'accuracy':>8}")
        for p in v["points"]:
            lines.append(f"{'':<{len(task) + 2}} {100 * p['fraction']:>9.0f}  {p['n_train']:>8.0f}  "
                         f"{p['macro_f1']:>8.3f}  {p['accuracy']:>8.3f}")
    lines.append(f"saved {result['path']} and chart {result['chart_path']}")
    return "\n".join(lines)


def errors_report(result: dict[str, Any], limit: int = 20) -> str:
    lines = [f"likely label errors: model {result['model_id']}, label version {result['labels_version']}, "
             f"out-of-fold prediction >= {result['min_confidence']:.2f} that disagrees with the gold label"]
    for task, v in result["tasks"].items():
        lines.append(f"  {task}: " + (f"skipped: {v['skipped']}" if "skipped" in v
                                      else f"{v['flagged']} of {v['checked']} flagged"))
    for r in result["errors"][:limit]:
        lines.append(f"{r['rank']:>4}. [{r['task']}] {r['sentence_id']}  gold {r['gold']} ({r['p_gold']:.2f}) -> "
                     f"predicted {r['predicted']} ({r['p_predicted']:.2f})  {r['text'][:70]!r}")
    if len(result["errors"]) > limit:
        lines.append(f"... {len(result['errors']) - limit} more in the CSV")
    lines.append(f"saved {result['path']}")
    return "\n".join(lines)
