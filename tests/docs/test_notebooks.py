"""Every notebook runs top to bottom on a fresh kernel (small budget; notebook 04, whose work
depends on the datasets installed, also at the student's budget in the slow suite), imports
only the public API, says how long before each run trains, and is committed with outputs
under 1 MB. The student's-budget times of all four: benchmarks/notebooks.py."""

import ast
import json
import os
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

ROOT = Path(__file__).resolve().parents[2]  # the checkout
NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))


def test_there_are_four_tutorials():
    assert [p.name for p in NOTEBOOKS] == ["01_quickstart.ipynb", "02_residual_vs_plain.ipynb",
                                           "03_explain.ipynb", "04_the_article_example.ipynb"]


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_committed_with_outputs_and_small(path):
    assert path.stat().st_size < 1_000_000
    nb = json.loads(path.read_text())
    code = [c for c in nb["cells"] if c["cell_type"] == "code"]
    assert all(c.get("outputs") or not c["source"] for c in code[-3:]), "run it before committing"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_uses_only_the_public_api(path):
    nb = nbformat.read(path, as_version=4)
    for cell in nb.cells:
        if cell.cell_type != "code":
            continue
        for node in ast.walk(ast.parse(cell.source)):
            if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("resnet_core"):
                assert node.module == "resnet_core", f"{path.name} imports {node.module}"


def execute(path: Path, tmp_path: Path) -> list:
    """Run a notebook on a fresh kernel; its outputs."""
    nb = nbformat.read(path, as_version=4)
    NotebookClient(nb, timeout=600, kernel_name="python3",
                   resources={"metadata": {"path": str(tmp_path)}}).execute()
    outputs = [o for c in nb.cells if c.cell_type == "code" for o in c.outputs]
    assert not [o for o in outputs if o.output_type == "error"]
    # Saved as executed (widget state included, as nbclient and Jupyter save it), it stays
    # small: the live chart's widget once added plotly.js, 98 KB -> 5.2 MB (issue 38, item 13).
    assert len(nbformat.writes(nb)) < 1_000_000, len(nbformat.writes(nb))
    assert any((tmp_path / "runs").iterdir())  # it trained, into the runs folder
    return outputs


@pytest.fixture
def small_budget(tmp_path, monkeypatch):
    monkeypatch.setenv("RESNET_WORKBENCH_NOTEBOOK_BUDGET", "small")
    monkeypatch.setenv("RESNET_WORKBENCH_RUNS", str(tmp_path / "runs"))
    monkeypatch.setenv("RESNET_WORKBENCH_DATA", str(tmp_path / "data"))


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_runs_top_to_bottom_on_a_fresh_kernel(path, tmp_path, monkeypatch, small_budget):
    """And every training run prints its estimate before its first step: one "estimate:
    about ..." line per run in its folder."""
    # No system datasets here: notebook 04 takes its offline path (digits). On Debian's
    # Fashion-MNIST it evaluates a ResNet-50 on 10,000 test images, over 5 minutes on 2 cores:
    # its choice of dataset is tested in tests/core/data/test_real_data.py (the lesson's same rule).
    monkeypatch.setenv("RESNET_WORKBENCH_SYSTEM_DATA", str(tmp_path / "no-system-datasets"))
    says_how_long_first(path, execute(path, tmp_path), tmp_path)


def says_how_long_first(path: Path, outputs: list, tmp_path: Path) -> None:
    nb = nbformat.read(path, as_version=4)
    trains = [i for i, c in enumerate(nb.cells) if c.cell_type == "code" and "train(" in c.source]
    assert trains and all("PrintEstimate()" in nb.cells[i].source for i in trains)
    assert sum("estimate: about" in o.get("text", "") for o in outputs) == len(list((tmp_path / "runs").iterdir()))


@pytest.mark.slow  # about 2.5 min (benchmarks/notebooks.py times all four at this budget)
def test_the_article_example_runs_at_the_students_budget_on_the_datasets_installed(tmp_path, monkeypatch):
    """Issue 38, item 11: notebook 04 ran past 10 minutes where Fashion-MNIST is installed (its
    ResNet-50 with the small-image stem). A student's run (no small budget, the system's
    datasets as installed) runs through and says how long first. Notebooks 01-03 do the same
    work at either budget on any machine, only more of it: the small budget above runs them."""
    path = ROOT / "notebooks" / "04_the_article_example.ipynb"
    monkeypatch.delenv("RESNET_WORKBENCH_NOTEBOOK_BUDGET", raising=False)
    monkeypatch.setenv("RESNET_WORKBENCH_RUNS", str(tmp_path / "runs"))
    monkeypatch.setenv("RESNET_WORKBENCH_DATA", str(tmp_path / "data"))
    outputs = execute(path, tmp_path)
    says_how_long_first(path, outputs, tmp_path)
    if os.environ.get("REQUIRE_FASHION_MNIST"):
        text = "".join(o.get("text", "") for o in outputs)
        assert "Using fashion-mnist" in text or "Using mnist" in text, text[:2000]


@pytest.mark.slow  # 7-14 s: the default run stays under 10 min on 2 cores; CI runs it
def test_jupyter_lab_from_the_readme_install_serves_the_notebooks(tmp_path):
    """Issue 38, item 13: README's install had no Jupyter front end, so a student could not
    open notebooks/. `jupyter lab` (installed by requirements.txt) lists and opens them."""
    import socket
    import subprocess
    import sys
    import time
    import urllib.request

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    jupyter = Path(sys.executable).with_name("jupyter")
    env = {**os.environ, "JUPYTER_CONFIG_DIR": str(tmp_path / "config"), "JUPYTER_RUNTIME_DIR": str(tmp_path / "rt")}
    lab = subprocess.Popen([str(jupyter), "lab", "--no-browser", "--ip", "127.0.0.1", "--port", str(port),
                            "--IdentityProvider.token=t0ken", f"--ServerApp.root_dir={ROOT / 'notebooks'}",
                            *(["--allow-root"] if os.geteuid() == 0 else [])],  # CI runs as root
                           stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, env=env)
    try:
        deadline, listing = time.monotonic() + 90, None
        while listing is None:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/contents?token=t0ken", timeout=5) as r:
                    listing = json.loads(r.read())
            except OSError:
                assert time.monotonic() < deadline and lab.poll() is None, lab.stderr.read()[-2000:]
                time.sleep(0.5)
        assert sorted(item["name"] for item in listing["content"] if item["type"] == "notebook") == \
            [p.name for p in NOTEBOOKS]
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/lab/tree/01_quickstart.ipynb?token=t0ken",
                                    timeout=10) as r:
            assert r.status == 200 and b"JupyterLab" in r.read()
        url = f"http://127.0.0.1:{port}/api/contents/01_quickstart.ipynb?token=t0ken"
        with urllib.request.urlopen(url, timeout=10) as r:
            assert json.loads(r.read())["content"]["nbformat"] == 4
    finally:
        lab.terminate()
        lab.wait(30)
