"""The one-way layers (app -> train -> core of label_app), declared in pyproject.toml and checked by
import-linter in `make lint`; what import-linter cannot see (a lazy import, an ImportError guard, a private
name, a module left out of every layer) is checked here from the source."""

from __future__ import annotations

import ast
import re
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
LABEL_APP = ROOT / "label_app"
TRAIN = ROOT / "train"


def _layers() -> list[set[str]]:
    config = tomllib.loads((ROOT / "pyproject.toml").read_text("utf-8"))
    contract = next(c for c in config["tool"]["importlinter"]["contracts"] if c["type"] == "layers")
    return [{m.strip() for m in re.split(r"[:|]", layer)} for layer in contract["layers"]]


def _sources(folder: Path) -> list[Path]:
    return sorted(p for p in folder.rglob("*.py") if ".venv" not in p.parts)


def _imported_modules(node: ast.AST) -> list[str]:
    if isinstance(node, ast.Import):
        return [a.name for a in node.names]
    if isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
        return [node.module]
    return []


def test_the_layer_contracts_are_kept():
    lint = shutil.which("lint-imports", path=str(Path(sys.executable).parent))
    assert lint is not None, "import-linter not installed (pip install -e '.[dev]', as make setup does)"
    done = subprocess.run([lint, "--no-cache"], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-2000:]
    assert "0 broken" in done.stdout


def test_every_module_of_label_app_is_in_exactly_one_layer():
    layers = _layers()
    assert "train" in layers[1]
    named = [m for layer in layers for m in layer if m.startswith("label_app.")]
    assert len(named) == len(set(named)), "a module is named in two layers"
    top = {f"label_app.{p.stem}" for p in LABEL_APP.glob("*.py") if p.stem != "__init__"}
    top |= {f"label_app.{p.name}" for p in LABEL_APP.iterdir() if (p / "__init__.py").exists()}
    assert top - set(named) == set(), "modules in no layer: add them to [tool.importlinter] in pyproject.toml"
    assert set(named) - top == set(), "layers name modules that do not exist"


def test_the_app_imports_train_at_the_top_only():
    """A lazy `import train` inside a function hides a broken import until a page needs it; an ImportError
    guard around our own packages turns a real bug into quietly missing suggestions."""
    lazy, guards = [], []
    for path in _sources(LABEL_APP) + _sources(TRAIN):
        tree = ast.parse(path.read_text("utf-8"))
        for fn in ast.walk(tree):
            if not isinstance(fn, ast.FunctionDef | ast.AsyncFunctionDef):
                continue
            for node in ast.walk(fn):
                if any(m == "train" or m.startswith("train.") for m in _imported_modules(node)) \
                        and path.is_relative_to(LABEL_APP):
                    lazy.append(f"{path.relative_to(ROOT)}:{node.lineno}")
        for node in ast.walk(tree):
            if not isinstance(node, ast.Try):
                continue
            catches = any(isinstance(h.type, ast.Name) and h.type.id in ("ImportError", "ModuleNotFoundError")
                          for h in node.handlers)
            ours = [m for stmt in node.body for sub in ast.walk(stmt) for m in _imported_modules(sub)
                    if m.split(".")[0] in ("label_app", "train")]
            ours += [stmt for stmt in node.body for sub in ast.walk(stmt)
                     if isinstance(sub, ast.ImportFrom) and sub.level > 0]
            if catches and ours:
                guards.append(f"{path.relative_to(ROOT)}:{node.lineno}")
    assert lazy == [], "label_app imports train inside a function"
    assert guards == [], "an ImportError guard around our own import"


def test_train_uses_only_public_names_of_label_app():
    private = []
    for path in _sources(TRAIN):
        tree = ast.parse(path.read_text("utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("label_app"):
                parts = node.module.split(".") + [a.name for a in node.names]
                if any(p.startswith("_") for p in parts):
                    private.append(f"{path.relative_to(ROOT)}:{node.lineno}")
            elif isinstance(node, ast.Attribute) and node.attr.startswith("_") and not node.attr.startswith("__"):
                base = node.value
                if isinstance(base, ast.Name) and base.id in ("corpus", "store", "schema", "project", "gold",
                                                               "artifacts", "files", "tables", "textnorm"):
                    private.append(f"{path.relative_to(ROOT)}:{node.lineno}")
    assert private == []
