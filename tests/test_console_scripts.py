"""Console scripts `label-train` and `label-app`: a train.py in the current folder shadows `python -m train` (the
interpreter puts the current folder first on sys.path), never the installed console scripts."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

BIN = Path(sys.executable).parent
LOCAL_TRAIN = """\
import pathlib, sys
pathlib.Path("shadowed.txt").write_text("the local train.py ran")
sys.exit(3)
"""


def _script(name: str) -> Path:
    path = BIN / name
    # make setup installs the console scripts; a missing one is a failed install, not a reason to skip
    assert path.exists(), f"{name} not installed: run `pip install -e .` (make setup) after pulling pyproject.toml"
    return path


def test_a_local_train_py_shadows_python_m_train_but_not_label_train(tmp_path: Path) -> None:
    (tmp_path / "train.py").write_text(LOCAL_TRAIN, encoding="utf-8")
    # the hazard the console script exists for: `python -m train` runs the local file
    shadowed = subprocess.run([sys.executable, "-m", "train", "--help"], cwd=tmp_path, capture_output=True,
                              text=True, timeout=120)
    assert shadowed.returncode == 3 and (tmp_path / "shadowed.txt").exists()
    (tmp_path / "shadowed.txt").unlink()

    done = subprocess.run([str(_script("label-train")), "--help"], cwd=tmp_path, capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 0, done.stderr
    assert "Train, evaluate and inspect the topic and stance classifiers" in done.stdout
    assert not (tmp_path / "shadowed.txt").exists()


def _run_in(folder: Path, local: str, script: str, *args: str) -> subprocess.CompletedProcess[str]:
    """Run an installed console script in `folder`, which holds a module named `local` that must not run."""
    (folder / local).write_text(LOCAL_TRAIN, encoding="utf-8")
    done = subprocess.run([str(_script(script)), *args, "--project", str(folder)], cwd=folder, capture_output=True,
                          text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert not (folder / "shadowed.txt").exists()
    return done


def test_label_train_runs_a_command_in_another_folder(tmp_path: Path) -> None:
    done = _run_in(tmp_path, "train.py", "label-train", "models")
    assert done.stdout.strip() == "no models yet (train one with `python -m train`)"


def test_label_app_is_the_label_app_command(tmp_path: Path) -> None:
    done = _run_in(tmp_path, "label_app.py", "label-app", "versions")
    assert done.stdout.strip() == "no label versions yet"
