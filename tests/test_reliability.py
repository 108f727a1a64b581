"""Reliability: killed writers, disk trouble, hostile corpora, ingestion of arbitrary text."""

from __future__ import annotations

import os
import random
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from conftest import REPO
from hypothesis import example, given, settings
from hypothesis import strategies as st

from label_app import store
from label_app.corpus import ingest, load_corpus, segment_articles
from label_app.errors import LabelAppError, StoreWriteError
from label_app.store import LabelRow
from label_app.textnorm import normalise_text

WRITER = """
import sys
from label_app.project import Project
from label_app.schema import load_schema
from label_app import store
p = Project.at(sys.argv[1]); schema = load_schema(p.schema_path); who = sys.argv[2]
i = 0
while True:
    store.append_label(p, schema, store.LabelRow(f"s{i}", "text " * 200 + str(i), who, topic="trade"))
    print(i, flush=True)  # printed only once the row is on disk
    i += 1
"""


def _physical_lines(path: Path) -> int:
    return sum(1 for line in path.read_bytes().split(b"\n") if line)


def test_killed_writers_lose_nothing_already_written(project):
    rng = random.Random(7)
    for trial in range(8):
        who = f"k{trial}"
        proc = subprocess.Popen([sys.executable, "-c", WRITER, str(project.root), who],
                                stdout=subprocess.PIPE, text=True, cwd=REPO)
        assert proc.stdout is not None
        first = proc.stdout.readline()  # the writer is up and has written one row
        assert first.strip() == "0"
        time.sleep(rng.uniform(0.0, 0.15))
        proc.send_signal(signal.SIGKILL)
        rest = proc.stdout.read()
        proc.wait()
        confirmed = {int(x) for x in (first + rest).split()}
        res = store.read_log(project, warn=False)
        mine = [int(r["sentence_id"][1:]) for r in res.rows if r["annotator"] == who]
        assert set(confirmed) <= set(mine), "a confirmed label was lost"
        assert len(set(mine) - confirmed) <= 1, "more than the label in flight appeared"
        assert mine == sorted(mine)
        # every physical line is a row or a reported torn row: nothing dropped silently
        assert _physical_lines(project.log_path) == 1 + len(res.rows) + len(res.torn)


def _without_root_override() -> list[str]:
    """Command prefix so that permissions apply even to root (drops CAP_DAC_OVERRIDE for the child)."""
    if os.geteuid() != 0:
        return []
    setpriv = shutil.which("setpriv")
    if not setpriv:
        pytest.skip("running as root without setpriv: cannot make a folder read-only for the test")
    return [setpriv, "--bounding-set=-dac_override,-dac_read_search"]


def test_read_only_labels_folder_is_a_clear_error(project, schema):
    store.append_label(project, schema, LabelRow("s1", "first", "ann", topic="trade"))
    before = project.log_path.read_bytes()
    project.labels_dir.chmod(0o555)
    (project.labels_dir / ".labels.lock").chmod(0o444)
    project.log_path.chmod(0o444)
    code = (
        "from label_app import store; from label_app.project import Project; "
        "from label_app.schema import load_schema; from label_app.errors import LabelAppError, StoreWriteError\n"
        f"p = Project.at({str(project.root)!r}); s = load_schema(p.schema_path)\n"
        "try:\n"
        "    store.append_label(p, s, store.LabelRow('s2', 'second', 'ann', topic='trade'))\n"
        "except StoreWriteError as e:\n"
        "    print(e); raise SystemExit(3)\n"
    )
    try:
        res = subprocess.run([*_without_root_override(), sys.executable, "-c", code], capture_output=True,
                             text=True, cwd=REPO, timeout=120)
    finally:
        project.labels_dir.chmod(0o755)
    assert res.returncode == 3, res.stderr
    assert "label NOT saved" in res.stdout and "Permission denied" in res.stdout
    assert project.log_path.read_bytes() == before


def test_full_disk_is_a_clear_error(project, schema):
    if not Path("/dev/full").exists():
        pytest.skip("no /dev/full on this system")
    project.labels_dir.mkdir(parents=True, exist_ok=True)
    project.log_path.symlink_to("/dev/full")
    with pytest.raises(StoreWriteError, match=r"labels\.csv: label NOT saved: No space left on device"):
        store.append_label(project, schema, LabelRow("s1", "text", "ann", topic="trade"))
    with pytest.raises(LabelAppError, match=r"labels\.csv: not a regular file"):
        store.read_log(project)


def test_hostile_corpus_folder(empty_project, tmp_path):
    src = tmp_path / "hostile"
    src.mkdir()
    (src / "binary.txt").write_bytes(bytes(range(256)) * 4)
    (src / "empty.txt").write_bytes(b"")
    with open(src / "huge_line.txt", "wb") as fh:  # 100 MB on a single line
        fh.truncate(100 * 1024 * 1024)
        fh.seek(0)
        fh.write(b"word " * 1000)
    (src / "latin1.txt").write_bytes("Le ministre a parl\u00e9 \u00e0 Bagdad.".encode("latin-1"))
    (src / "cp1252.txt").write_bytes("He said \u201cyes\u201d \u2013 and left.".encode("cp1252"))
    (src / "bom.txt").write_bytes(b"\xef\xbb\xbfA BOM article starts here.")
    (src / "nul.txt").write_bytes(b"text with a \x00 NUL byte.")
    (src / "a;b $(touch pwned) `x`.txt").write_text("Shell characters in the name.", "utf-8")
    (src / "..\\..\\escape.txt").write_text("Hidden, with backslashes in the name.", "utf-8")
    (src / "x\\..\\..\\escape.txt").write_text("Backslashes in the name.", "utf-8")
    outside = tmp_path / "secret.txt"
    outside.write_text("Secret text outside the folder.", "utf-8")
    (src / "link.txt").symlink_to(outside)
    rep = ingest(empty_project, [src])
    skipped = dict(rep.skipped)
    assert skipped[str(src / "link.txt")] == "symlink points outside the folder"
    assert skipped[str(src / "..\\..\\escape.txt")] == "hidden file"
    # files ingestion would skip are refused before they are copied into seeds/ (the upload check)
    refused = dict(rep.refused)
    assert refused[str(src / "binary.txt")] == "binary file, not text (contains NUL bytes)"
    assert refused[str(src / "nul.txt")] == "binary file, not text (contains NUL bytes)"
    assert refused[str(src / "empty.txt")] == "empty file"
    assert refused[str(src / "huge_line.txt")].startswith("too large (104.9 MB; the limit is 20 MiB")
    in_seeds = {p.name for p in empty_project.seeds_dir.iterdir()}
    assert not {"binary.txt", "nul.txt", "empty.txt", "huge_line.txt"} & in_seeds
    texts = set(load_corpus(empty_project, refresh=False)["text"])
    assert {"Le ministre a parl\u00e9 \u00e0 Bagdad.", "He said \u201cyes\u201d \u2013 and left.",
            "A BOM article starts here.", "Shell characters in the name.", "Backslashes in the name."} <= texts
    assert "Secret text outside the folder." not in texts
    names = sorted(p.name for p in empty_project.seeds_dir.iterdir())
    assert all("/" not in n and "\\" not in n and ";" not in n and "$" not in n and "`" not in n for n in names)
    assert not (tmp_path / "pwned").exists() and not (REPO / "pwned").exists()
    assert all(p.resolve().parent == empty_project.seeds_dir.resolve() for p in empty_project.seeds_dir.iterdir())


def _squash(text: str) -> str:
    # what the one normalisation (label_app.textnorm) keeps, without the spaces and line breaks
    return "".join(ch for ch in normalise_text(text) if not ch.isspace())


@settings(max_examples=60, deadline=None)
@given(st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=400))
@example("\x1f")  # the ASCII unit separator is white space to str.strip (found by this test)
@example("a\x1c b\x1d\x1ec")
def test_segmentation_keeps_every_character(text):
    segs = segment_articles([text])[0]
    assert _squash("".join(s.text for s in segs)) == _squash(text)
    assert all(s.text == s.text.strip() and s.text for s in segs)
