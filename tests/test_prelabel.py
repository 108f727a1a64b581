"""Pre-labeling (`python -m train prelabel`): inputs, output, topic conditioning, resume after a kill,
joblib vs Dask, reading back, the fast segmenter and the active-learning order."""

from __future__ import annotations

import csv
import json
import os
import random
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from label_app.corpus import (
    FastSegmenter,
    check_same_segments,
    load_corpus,
    read_article_file,
    segment_articles,
)
from label_app.errors import BadInput, LabelAppError
from label_app.project import Project
from label_app.schema import load_schema
from label_app.suggest import predict
from train.prelabel import (
    COLUMNS,
    NoModel,
    PrelabelOutputError,
    prelabel,
    prelabel_path,
    read_prelabels,
    state_path,
)

REPO = Path(__file__).resolve().parent.parent

train = pytest.importorskip("train")


def _copy_project(root: Path) -> Project:
    (root / "labels").mkdir(parents=True)
    shutil.copy(REPO / "labels" / "schema.toml", root / "labels")
    shutil.copy(REPO / "labels" / "labels.csv", root / "labels")
    shutil.copytree(REPO / "labels" / "versions", root / "labels" / "versions")
    shutil.copytree(REPO / "seeds", root / "seeds", ignore=shutil.ignore_patterns(".*"))
    return Project.at(root)


@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory) -> Project:
    """A project with the shipped labels and seeds and a model trained on them (once for the module)."""
    project = _copy_project(tmp_path_factory.mktemp("prelabel") / "proj")
    train.train_project(project)
    return project


@pytest.fixture
def project(trained: Project, tmp_path: Path) -> Project:
    """A fresh copy of the trained project (models included), so tests do not share outputs."""
    dest = tmp_path / "proj"
    shutil.copytree(trained.root, dest, ignore=shutil.ignore_patterns("prelabels", ".cache"))
    return Project.at(dest)


@pytest.fixture(scope="module")
def model(trained: Project):  # noqa: ANN201
    return train.load_current_model(trained, load_schema(trained.schema_path))


def _rows(path: Path) -> list[dict[str, str]]:
    with open(path, encoding="utf-8", newline="") as fh:
        return list(csv.DictReader(fh))


def _seed_paragraphs() -> list[str]:
    paras = []
    for f in sorted((REPO / "seeds").glob("*.txt")):
        paras.extend(ln.strip() for ln in f.read_text("utf-8").splitlines() if len(ln.strip()) > 40)
    return paras


def _make_articles(folder: Path, n: int, seed: int = 0) -> list[Path]:
    """`n` distinct articles assembled from seed paragraphs (a unique dateline each)."""
    rng = random.Random(seed)
    paras = _seed_paragraphs()
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for i in range(n):
        body = "\n\n".join(rng.sample(paras, 6))
        p = folder / f"art{i:04d}.txt"
        p.write_text(f"Iran and Iraq news {i}\n\nNews ID: {seed}-{i}\n\n{body}\n", encoding="utf-8")
        paths.append(p)
    return paths


def _expected_ids(paths: list[Path]) -> list[str]:
    """Sentence ids of articles outside seeds/: content-derived article id, text-derived sentence ids."""
    from label_app.corpus import article_id_for, own_sentence_ids

    texts = [read_article_file(p, p.name)[0][0].text for p in paths]
    out = []
    for text, segs in zip(texts, segment_articles(texts), strict=True):
        sids = own_sentence_ids(article_id_for(text), [s.text for s in segs])
        out.extend(sid for sid, s in zip(sids, segs, strict=True) if s.kind == "sentence")
    return out


# ---------------------------------------------------------------- articles in


def test_default_seeds_ids_equal_corpus_and_second_run_does_nothing(project: Project, model) -> None:  # noqa: ANN001
    rep = prelabel(project)
    out = prelabel_path(project, model.model_id)
    assert rep.out == out and out.exists()
    with open(out, encoding="utf-8") as fh:
        assert fh.readline().rstrip("\n").split(",") == COLUMNS
    rows = _rows(out)
    corpus = load_corpus(project)
    sents = corpus[corpus["kind"] == "sentence"]
    assert [r["sentence_id"] for r in rows] == list(sents["sentence_id"])
    assert [r["text"] for r in rows] == list(sents["text"])
    assert {r["model_id"] for r in rows} == {model.model_id}
    schema = load_schema(project.schema_path)
    for r in rows:
        assert r["topic"] in schema.topic.names and r["stance"] in schema.stance.names
        assert 0 < float(r["topic_prob"]) <= 1 and 0 < float(r["stance_prob"]) <= 1
        assert 0 <= float(r["uncertainty"]) <= 1
    preds = model.predict([r["text"] for r in rows])
    assert [r["topic"] for r in rows] == [p.topic for p in preds]
    assert [r["stance"] for r in rows] == [p.stance for p in preds]

    again = prelabel(project)
    assert again.sentences == 0 and again.skipped_done == 5
    assert _rows(out) == rows


def test_new_seed_article_only_it_is_prelabeled(project: Project, model) -> None:  # noqa: ANN001
    prelabel(project)
    before = _rows(prelabel_path(project, model.model_id))
    new = _make_articles(project.seeds_dir / "new", 1, seed=7)
    rep = prelabel(project)
    assert rep.articles == 1 and rep.skipped_done == 5
    after = _rows(prelabel_path(project, model.model_id))
    assert after[: len(before)] == before
    corpus = load_corpus(project, refresh=False)
    new_rows = corpus[(corpus["source"] == f"new/{new[0].name}") & (corpus["kind"] == "sentence")]
    assert len(new_rows) > 0
    assert [r["sentence_id"] for r in after[len(before):]] == list(new_rows["sentence_id"])


def test_folder_and_files_and_article_table_in_folder(project: Project, tmp_path: Path) -> None:
    folder = tmp_path / "in"
    arts = _make_articles(folder, 3)
    table = folder / "zz_table.csv"
    table.write_text("id,text\nX1,\"Tehran and Baghdad agreed to expand trade. The deal covers gas.\"\n", encoding="utf-8")
    single = _make_articles(tmp_path / "single", 1, seed=3)[0]
    out = tmp_path / "out.csv"
    rep = prelabel(project, [folder, single], out=out)
    rows = _rows(out)
    table_text = read_article_file(table, table.name)[0][0].text
    from label_app.corpus import article_id_for, own_sentence_ids

    table_aid = article_id_for(table_text)
    table_sids = own_sentence_ids(table_aid, ["Tehran and Baghdad agreed to expand trade.", "The deal covers gas."])
    expect = _expected_ids(arts) + table_sids + _expected_ids([single])
    assert [r["sentence_id"] for r in rows] == expect
    assert [r["id"] for r in rows if r["article_id"] == table_aid] == ["X1", "X1"]
    assert rep.articles == 5 and rep.sentences == len(expect)


def test_bad_file_in_folder_is_skipped_and_named(project: Project, tmp_path: Path) -> None:
    folder = tmp_path / "in"
    _make_articles(folder, 1)
    (folder / "broken.txt").write_bytes(b"\x00\x01binary")
    (folder / "image.png").write_bytes(b"png")
    rep = prelabel(project, [folder], out=tmp_path / "o.csv")
    assert rep.articles == 1
    assert {name for name, _ in rep.skipped} == {"broken.txt", "image.png"} or \
        {Path(name).name for name, _ in rep.skipped} == {"broken.txt", "image.png"}


# ---------------------------------------------------------------- sentence files in


def test_sentence_csv_keeps_order_ids_and_given_topic_conditions_stance(project: Project, model, tmp_path: Path) -> None:  # noqa: ANN001
    texts = [
        "Iran will export more gas and electricity to Iraq next summer.",
        "Washington warned Baghdad that the sanctions waiver may end.",
        "Pilgrims crossed the border for Arbaeen in record numbers.",
        "= a cell that looks like a spreadsheet formula, Iran and Iraq",
        "Iran will export more gas and electricity to Iraq next summer.",
    ]
    topics = ["energy", "", "society", "trade", "diplomacy"]
    src = tmp_path / "sents.csv"
    with open(src, "w", encoding="utf-8", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["id", "text", "topic"])
        for i, (t, tp) in enumerate(zip(texts, topics, strict=True)):
            w.writerow([f"r{i}", t, tp])
    out = tmp_path / "out.csv"
    prelabel(project, [src], out=out)
    rows = _rows(out)
    assert [r["id"] for r in rows] == [f"r{i}" for i in range(5)]
    df = read_prelabels(project, model.model_id, path=out)
    assert df["text"].tolist() == list(dict.fromkeys(texts)) or set(df["text"]) == set(texts)
    assert all(r["article_id"] == "" for r in rows)
    cond = model.predict(texts, [t or None for t in topics])
    for r, tp, p in zip(rows, topics, cond, strict=True):
        if tp:
            assert r["topic"] == tp and float(r["topic_prob"]) == 1.0
            top2 = sorted(p.stance_probs.values(), reverse=True)[:2]
            assert abs(float(r["uncertainty"]) - (1 - (top2[0] - top2[1]))) < 1e-6  # the stance's margin
        else:
            assert r["topic"] == p.topic
            assert abs(float(r["uncertainty"]) - p.uncertainty) < 1e-6
        assert r["stance"] == p.stance
        assert abs(float(r["stance_prob"]) - p.stance_prob) < 1e-6
    # The same sentence under two topics: the stance follows the topic it is conditioned on.
    if model.models["stance"].uses_topic:
        a, b = rows[0], rows[4]
        assert (a["stance"], a["stance_prob"]) != (b["stance"], b["stance_prob"])


def test_sentence_jsonl_and_unknown_topic(project: Project, tmp_path: Path) -> None:
    src = tmp_path / "s.jsonl"
    src.write_text(json.dumps({"text": "Iraq pays for Iranian gas in euros."}) + "\n\n"
                   + json.dumps({"text": "Talks resumed in Baghdad.", "id": 7}) + "\n", encoding="utf-8")
    out = tmp_path / "o.csv"
    rep = prelabel(project, [src], out=out)
    rows = _rows(out)
    assert [r["text"] for r in rows] == ["Iraq pays for Iranian gas in euros.", "Talks resumed in Baghdad."]
    assert [r["id"] for r in rows] == ["", "7"] and rep.sentences == 2
    bad = tmp_path / "bad.csv"
    bad.write_text("text,topic\nfine,trade\nhello,weather\n", encoding="utf-8")
    with pytest.raises(BadInput, match=r"bad\.csv: line 3: unknown topic 'weather'"):
        prelabel(project, [bad], out=tmp_path / "o2.csv")
    notext = tmp_path / "notext.csv"
    notext.write_text("body\nx\n", encoding="utf-8")
    with pytest.raises(BadInput, match=r"notext.csv: missing column\(s\) text \(found: body\)"):
        prelabel(project, [notext], out=tmp_path / "o3.csv")


def test_a_row_over_the_cell_limit_is_named_and_the_others_prelabeled(project: Project, tmp_path: Path,
                                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    """One cell over the cell limit leaves out its row only, in a sentence file and in an article table alike;
    the report names file, line, column and size (the limit is read at call time: patched small here)."""
    from label_app import tables

    monkeypatch.setattr(tables, "MAX_CELL_CHARS", 60)
    long = "Iran will export more gas and electricity to Iraq next summer, officials said."
    src = tmp_path / "sents.csv"
    src.write_text(f'id,text\nr1,Talks resumed in Baghdad.\nr2,"{long}"\nr3,Iraq pays for gas in euros.\n', "utf-8")
    folder = tmp_path / "in"
    folder.mkdir()
    table = folder / "arts.jsonl"
    table.write_text(json.dumps({"id": "A", "text": long}) + "\n"
                     + json.dumps({"id": "B", "text": "Tehran and Baghdad agreed to expand trade."}) + "\n", "utf-8")
    out = tmp_path / "out.csv"
    rep = prelabel(project, [src, folder], out=out)
    assert [r["id"] for r in _rows(out)] == ["r1", "r3", "B"]
    size = f"column 'text' holds {len(long)} characters; the limit is 60 per cell; row skipped, the file's other rows were read"
    assert rep.skipped == [(str(src), f"line 3: {size}"), (str(table), f"line 1: {size}")]
    assert f"  skipped: {src}: line 3: {size}" in rep.summary().splitlines()


def test_errors_name_the_problem(tmp_path: Path, project: Project) -> None:
    untrained = _copy_project(tmp_path / "untrained")
    with pytest.raises(NoModel, match="no trained model"):
        prelabel(untrained)
    assert issubclass(NoModel, LabelAppError) and issubclass(PrelabelOutputError, LabelAppError)
    other = tmp_path / "other.csv"
    other.write_text("a,b\n1,2\n", encoding="utf-8")
    with pytest.raises(PrelabelOutputError, match="other.csv: not a pre-label file"):
        prelabel(project, out=other)
    out = tmp_path / "o.csv"
    prelabel(project, out=out)
    state = json.loads(state_path(out).read_text())
    state["model_id"] = "m-someone-else"
    state_path(out).write_text(json.dumps(state))
    with pytest.raises(PrelabelOutputError, match="written by model m-someone-else"):
        prelabel(project, out=out)
    with pytest.raises(BadInput, match="nope.txt: no such file"):
        prelabel(project, [tmp_path / "nope.txt"], out=tmp_path / "x.csv")


# ---------------------------------------------------------------- resume


_CHILD = """
import sys
from label_app.project import Project
from train.prelabel import prelabel
prelabel(Project.at(sys.argv[1]), [sys.argv[2], sys.argv[3]], out=sys.argv[4], n_jobs=1, chunk_chars=1500)
"""


def test_resume_after_sigkill_no_duplicates_nothing_missing(project: Project, tmp_path: Path) -> None:
    folder = tmp_path / "in"
    paths = _make_articles(folder, 120)
    sents = tmp_path / "sents.csv"
    with open(sents, "w", encoding="utf-8", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["text", "id"])
        for i, para in enumerate(_seed_paragraphs() * 3):
            w.writerow([para, f"s{i}"])
    ref = tmp_path / "ref.csv"
    prelabel(project, [folder, sents], out=ref, n_jobs=1, chunk_chars=1500)

    out = tmp_path / "out.csv"
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    proc = subprocess.Popen([sys.executable, "-c", _CHILD, str(project.root), str(folder), str(sents), str(out)],
                            env=env, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 60
    killed = False
    while time.monotonic() < deadline and proc.poll() is None:
        sp = state_path(out)
        try:
            committed = json.loads(sp.read_text())["rows"] if sp.exists() else 0
        except (ValueError, KeyError):
            committed = 0
        if committed >= 100:
            os.kill(proc.pid, signal.SIGKILL)
            killed = True
            break
        time.sleep(0.02)
    proc.wait(timeout=30)
    assert killed, f"the child finished or stalled before it could be killed: {proc.stderr.read().decode()[-2000:]}"
    # A writer killed mid-chunk leaves a torn tail: add one by hand so the test does not depend on timing.
    with open(out, "ab") as fh:
        fh.write(b'a0000000000000-0003,a0000000000000,,"half a sente')
    partial = len(_rows(out)) if out.exists() else 0

    rep = prelabel(project, [folder, sents], out=out, n_jobs=1, chunk_chars=1500)
    assert rep.dropped_torn_bytes > 0 and rep.skipped_done > 0
    got, want = _rows(out), _rows(ref)
    ids = [r["sentence_id"] + "|" + r["id"] for r in got]
    assert len(ids) == len(set(ids)), "duplicate rows after resume"
    assert got == want
    assert 0 < partial < len(want)
    assert len([r for r in got if r["article_id"]]) == len(_expected_ids(paths))


def test_output_without_state_file_resumes_articles(project: Project, tmp_path: Path) -> None:
    folder = tmp_path / "in"
    _make_articles(folder, 8)
    ref = tmp_path / "ref.csv"
    prelabel(project, [folder], out=ref)
    data = ref.read_bytes()
    out = tmp_path / "out.csv"
    out.write_bytes(data[: len(data) * 2 // 3])  # cut anywhere, even mid-line; no state file
    rep = prelabel(project, [folder], out=out)
    assert rep.skipped_done > 0
    assert _rows(out) == _rows(ref)


def _two_worker_run(project: Project, folder: Path, out: Path, stderr: object) -> tuple[list[str], dict,
                                                                                   subprocess.Popen]:
    """Start `python -m train prelabel` with two workers in its own process group; return (command, environment,
    process) once it has committed some rows, so that its workers are running (not being forked)."""
    cmd = [sys.executable, "-m", "train", "--project", str(project.root), "prelabel", str(folder), "--out",
           str(out), "--jobs", "2", "--chunk-chars", "20000"]
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=stderr, start_new_session=True)
    deadline = time.monotonic() + 120
    committed = 0
    while time.monotonic() < deadline and proc.poll() is None and committed < 300:
        try:
            committed = json.loads(state_path(out).read_text())["rows"]
        except (OSError, ValueError, KeyError):
            committed = 0
        time.sleep(0.02)
    assert proc.poll() is None, "the run ended before it could be stopped"
    return cmd, env, proc


def test_ctrl_c_with_two_workers_stops_cleanly_and_resumes(project: Project, tmp_path: Path) -> None:
    """Ctrl+C reaches the whole process group: the run stops with one line (no worker's traceback), leaves no
    process behind, and the same command resumes it to the rows an uninterrupted run writes."""
    folder = tmp_path / "in"
    _make_articles(folder, 1500)
    ref = tmp_path / "ref.csv"
    prelabel(project, [folder], out=ref, n_jobs=1, chunk_chars=20000)
    out = tmp_path / "out.csv"
    log = tmp_path / "stderr.txt"
    with open(log, "wb") as err:
        cmd, env, proc = _two_worker_run(project, folder, out, err)
        os.killpg(proc.pid, signal.SIGINT)  # what Ctrl+C in a terminal does
        proc.wait(timeout=120)
    err_text = log.read_text(encoding="utf-8")
    assert "interrupted: the output is valid; run the same command again to resume" in err_text
    assert "Traceback" not in err_text
    with pytest.raises(ProcessLookupError):
        os.killpg(proc.pid, 0)  # no worker left in the group
    subprocess.run(cmd, env=env, check=True, capture_output=True, timeout=300)
    assert _rows(out) == _rows(ref)


def test_workers_leave_when_the_prelabel_process_is_killed(project: Project, tmp_path: Path) -> None:
    """A pre-labeling process killed outright (SIGKILL: no clean-up runs) leaves no forked worker behind: each
    worker notices its parent is gone and exits, instead of waiting on its task queue forever."""
    folder = tmp_path / "in"
    _make_articles(folder, 1500)
    _, _, proc = _two_worker_run(project, folder, tmp_path / "out.csv", subprocess.DEVNULL)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(timeout=60)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            os.killpg(proc.pid, 0)  # is any process of the run's group left?
        except ProcessLookupError:
            break
        time.sleep(0.1)
    else:
        os.killpg(proc.pid, signal.SIGKILL)
        pytest.fail("forked workers were still running 60 s after their parent was killed")


# ---------------------------------------------------------------- backends


def test_joblib_and_dask_give_the_same_output(project: Project, tmp_path: Path) -> None:
    distributed = pytest.importorskip("distributed")
    folder = tmp_path / "in"
    _make_articles(folder, 30)
    one = tmp_path / "inproc.csv"
    prelabel(project, [folder], out=one, n_jobs=1, chunk_chars=4000)
    jl = tmp_path / "joblib.csv"
    prelabel(project, [folder], out=jl, n_jobs=2, chunk_chars=4000)
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=False, dashboard_address=None) as cluster, \
            distributed.Client(cluster) as client:
        dk = tmp_path / "dask.csv"
        prelabel(project, [folder], out=dk, backend="dask", scheduler=client, chunk_chars=4000)
    assert jl.read_bytes() == one.read_bytes() == dk.read_bytes()
    assert len(_rows(jl)) > 100


def test_forked_fresh_and_in_process_workers_write_the_same_rows(model, tmp_path: Path) -> None:  # noqa: ANN001
    """Forked workers (the default where the OS can fork) share the parent's loaded model; fresh loky workers load
    it from a file; both must write exactly what run_chunk writes in this process, in submission order."""
    import joblib

    from train.prelabel.runners import run_chunk, run_fork, run_joblib

    paths = _make_articles(tmp_path / "in", 12)
    units = [("a", f"a{i:011d}", "", p.read_text(encoding="utf-8")) for i, p in enumerate(paths)]
    units.append(("s", "s1", "g1", "Iraq and Iran signed a trade deal.", model.models["topic"].classes[0]))
    work = [(units[i:i + 3], {"n": i}) for i in range(0, len(units), 3)]
    in_process = [(run_chunk(model, c), p) for c, p in work]
    ref = tmp_path / "model.joblib"
    joblib.dump(model, ref)
    assert list(run_fork(model, iter(work), None, True, 2)) == in_process
    assert list(run_joblib(str(ref), iter(work), None, True, 2)) == in_process
    assert sum(n for (_, n, _), _ in in_process) > 50


def test_dask_needs_a_scheduler(project: Project) -> None:
    with pytest.raises(BadInput, match="--scheduler"):
        prelabel(project, backend="dask")


# ---------------------------------------------------------------- reading back, on-demand


def test_read_prelabels_match_live_suggestions(project: Project, model) -> None:  # noqa: ANN001
    assert read_prelabels(project, model.model_id).empty
    prelabel(project)
    df = read_prelabels(project, model.model_id)
    corpus = load_corpus(project)
    assert set(df.index) == set(corpus.loc[corpus["kind"] == "sentence", "sentence_id"])
    sid = df.index[0]
    row = df.loc[sid]
    assert row["model_id"] == model.model_id and 0 <= row["uncertainty"] <= 1
    # the stored pre-label is what the app would suggest live for the same sentence
    sugg = predict(model, [row["text"]])
    assert sugg[0].topic == row["topic"] and sugg[0].stance == row["stance"]
    assert abs(sugg[0].uncertainty - row["uncertainty"]) < 1e-5
    # A torn tail of a running job is not read back.
    with open(prelabel_path(project, model.model_id), "ab") as fh:
        fh.write(b"zzz-0001,zzz,,half")
    assert "zzz-0001" not in read_prelabels(project, model.model_id).index


# ---------------------------------------------------------------- the fast segmenter


def test_fast_segmenter_equals_corpus_segmentation() -> None:
    seeds = [read_article_file(p, p.name)[0][0].text for p in sorted((REPO / "seeds").glob("*.txt"))]
    tricky = [
        "The U.S. envoy met Mr. Smith at 3.5 p.m. today. He said: \"No!\" Then left.\nNext line?Yes.",
        "Trade rose 12.5% (to $3.2bn). Officials agreed.Hello.World and e.g. this... And that!? \"Quoted.\" Done",
        "Double  spaces here. And\ttabs. Unicode ellipsis… Next one。 Arabic؟ more.",
        "Dateline\n\nA sentence (with a bracket.) Another one.) “Curly quotes.” Then more — dash. End",
        "x" * 10 + ". " + "word " * 30 + "end.",
    ]
    assert check_same_segments(seeds + tricky) == []
    fast = FastSegmenter()
    assert fast.segment(tricky) == segment_articles(tricky)
    assert fast.segment(tricky) == segment_articles(tricky)  # again, from its memo of lines


# ---------------------------------------------------------------- command line


def test_cli_prelabel_sentence_file_and_error(project: Project, tmp_path: Path) -> None:
    src = tmp_path / "s.csv"
    src.write_text("id,text\n1,Iran and Iraq agreed to raise trade.\n2,Talks resumed.\n", encoding="utf-8")
    out = tmp_path / "o.csv"
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    run = subprocess.run([sys.executable, "-m", "train", "prelabel", str(src), "--project", str(project.root),
                          "--out", str(out), "--quiet"], capture_output=True, text=True, env=env, timeout=120)
    assert run.returncode == 0, run.stderr
    assert "2 sentences pre-labeled" in run.stdout
    assert [r["id"] for r in _rows(out)] == ["1", "2"]
    bad = subprocess.run([sys.executable, "-m", "train", "prelabel", str(tmp_path / "missing.txt"), "--project",
                          str(project.root), "--quiet"], capture_output=True, text=True, env=env, timeout=120)
    assert bad.returncode == 1
    assert bad.stderr.strip().splitlines() == [f"error: {tmp_path / 'missing.txt'}: no such file or folder"]
