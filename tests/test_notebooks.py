"""Every notebook runs top to bottom (a broken notebook fails the build)."""

from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

NOTEBOOKS = sorted((Path(__file__).resolve().parents[1] / "notebooks").glob("*.ipynb"))


def test_the_notebooks_are_there():
    assert {p.name for p in NOTEBOOKS} >= {"quickstart.ipynb", "policy_comparison.ipynb", "custom_dataset.ipynb",
                                          "one_patient.ipynb"}


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebook_runs(path, tmp_path):
    nb = nbformat.read(path, as_version=4)
    assert nb.cells[0].cell_type == "markdown" and nb.cells[0].source.startswith("# ")  # a title, then what it shows
    assert all(not c.get("outputs") for c in nb.cells if c.cell_type == "code"), "saved outputs are kept out of git"
    NotebookClient(nb, timeout=600, kernel_name="python3", resources={"metadata": {"path": str(tmp_path)}}).execute()
    # a cell that draws must show its figure inline when a user opens the notebook (no Agg backend)
    for cell in nb.cells:
        if cell.cell_type == "code" and ("plot(" in cell.source or "plot_" in cell.source):
            assert any("image/png" in out.get("data", {}) for out in cell.outputs), cell.source
