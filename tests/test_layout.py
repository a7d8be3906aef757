"""The package's shape: no import cycles, a fast and light start, no mutation of inputs."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
#: where each installed package's source lives (setup.cfg's package_dir)
PACKAGES = {"acquire": ROOT / "acquire", "acquire.cli": ROOT / "cli", "acquire.datasets": ROOT / "datasets"}


def _modules() -> dict[str, Path]:
    out = {}
    for package, folder in PACKAGES.items():
        for path in folder.rglob("*.py"):
            if "__pycache__" in path.parts or "generate.py" == path.name:
                continue
            rel = path.relative_to(folder).with_suffix("")
            parts = [p for p in rel.parts if p != "__init__"]
            name = ".".join([package, *parts])
            if package == "acquire" and parts and parts[0] in ("cli", "datasets"):
                continue
            out[name] = path
    return out


def import_graph() -> dict[str, set[str]]:
    """module → the project modules it imports, at any depth of the file (lazy imports count too)."""
    modules = _modules()
    graph: dict[str, set[str]] = {m: set() for m in modules}
    for name, path in modules.items():
        is_package = path.name == "__init__.py"
        for node in ast.walk(ast.parse(path.read_text("utf-8"))):
            targets: list[str] = []
            if isinstance(node, ast.Import):
                targets = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:
                    anchor = name.split(".") if is_package else name.split(".")[:-1]
                    anchor = anchor[: len(anchor) - (node.level - 1)]
                    base = ".".join(anchor + ([base] if base else []))
                targets = [f"{base}.{a.name}" for a in node.names] + [base]
            for t in targets:
                while t and t not in modules:
                    t = t.rpartition(".")[0]
                if t and t != name:
                    graph[name].add(t)
    return graph


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One cycle of the graph as a list of modules, or None."""
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(m: str) -> list[str] | None:
        state[m] = 1
        stack.append(m)
        for n in sorted(graph[m]):
            if state.get(n) == 1:
                return stack[stack.index(n):] + [n]
            if n not in state and (found := visit(n)):
                return found
        stack.pop()
        state[m] = 2
        return None

    for m in sorted(graph):
        if m not in state and (found := visit(m)):
            return found
    return None


def test_the_import_graph_has_no_cycle():
    graph = import_graph()
    assert len(graph) > 40
    assert find_cycle(graph) is None, " -> ".join(find_cycle(graph) or [])


def test_the_cycle_finder_finds_a_planted_cycle():
    graph = import_graph()
    graph["acquire.pipeline.frame"].add("acquire.pipeline.distributed")  # frame code importing Dask code
    assert find_cycle(graph) is not None


def test_layers_point_one_way():
    graph = import_graph()
    for module, targets in graph.items():
        if module.startswith("acquire.estimators"):  # kernels know nothing of the rest
            assert all(t.startswith("acquire.estimators") for t in targets), (module, targets)
        if not module.startswith("acquire.cli"):
            assert not any(t.startswith("acquire.cli") for t in targets), (module, targets)
    assert "acquire.pipeline.frame" in graph["acquire.pipeline.distributed"]
    assert not any(t.startswith("acquire.pipeline.distributed") for t in graph["acquire.pipeline.frame"])


HEAVY = ("numba", "scipy.stats", "pymc", "xgboost", "sklearn")


@pytest.mark.parametrize("argv", [["--help"], ["datasets", "list"], ["rank", "--help"], ["check", "--help"]])
def test_light_commands_import_no_engine(argv, tmp_path):
    code = ("import sys; from acquire.cli.main import main; sys.argv = ['acquire', *%r]\n"
            "try:\n    main()\nexcept SystemExit as e:\n    code = e.code\n"
            "heavy = [m for m in %r if m in sys.modules]\n"
            "assert code in (0, None), code\nassert not heavy, heavy" % (argv, HEAVY))
    # run outside the source tree, so the installed package (with acquire.cli) is the one imported
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=tmp_path)
    assert run.returncode == 0, run.stderr


def test_import_acquire_is_lazy_but_complete(tmp_path):
    code = ("import sys, acquire\nassert 'numba' not in sys.modules and 'scipy.stats' not in sys.modules\n"
            "assert acquire.ValueOfInformation.__name__ == 'ValueOfInformation'\n"
            "assert callable(acquire.fit_model) and callable(acquire.check)\n"
            "assert set(acquire.__all__) <= set(dir(acquire))")
    # run outside the source tree, so the installed package (with acquire.cli) is the one imported
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=tmp_path)
    assert run.returncode == 0, run.stderr
