"""Every page under Streamlit's AppTest: renders on an empty runs folder and on a folder with
completed, failed and interrupted runs; the Train form refuses bad values with a message."""

import json
import shutil

import pytest
from streamlit.testing.v1 import AppTest

from conftest import ROOT

PAGES = ["pages/home.py", "pages/train.py", "pages/runs.py", "pages/evaluate.py", "pages/explain.py",
         "pages/predict.py"]


def _app(monkeypatch, runs_dir) -> AppTest:
    monkeypatch.setenv("RESNET_WORKBENCH_RUNS", str(runs_dir))
    monkeypatch.chdir(ROOT)
    return AppTest.from_file(str(ROOT / "app.py"), default_timeout=60)


@pytest.fixture(scope="module")
def mixed_runs(short_run, tmp_path_factory):
    """A completed run, a failed copy and an interrupted copy (a process that no longer exists)."""
    root = tmp_path_factory.mktemp("mixed")
    shutil.copytree(short_run.dir, root / short_run.id)
    for suffix, status in (("failed", {"state": "failed", "error": "loss became nan at step 3"}),
                           ("interrupted", {"state": "running", "pid": 2**22 + 11, "host": "elsewhere",
                                            "updated_at": "2020-01-01T00:00:00+00:00"})):
        d = root / f"{short_run.id}-{suffix}"
        shutil.copytree(short_run.dir, d)
        (d / "status.json").write_text(json.dumps(status))
    return root


@pytest.mark.parametrize("page", PAGES)
def test_page_renders_on_an_empty_runs_folder(monkeypatch, tmp_path, page):
    at = _app(monkeypatch, tmp_path / "runs")
    at.run()
    at.switch_page(page).run()
    assert not at.exception, at.exception


@pytest.mark.parametrize("page", PAGES)
def test_page_renders_with_completed_failed_and_interrupted_runs(monkeypatch, mixed_runs, page):
    at = _app(monkeypatch, mixed_runs)
    at.run()
    at.switch_page(page).run()
    assert not at.exception, at.exception
    if page == "pages/runs.py":
        table = at.dataframe[0].value
        assert sorted(table["state"]) == ["completed", "failed", "interrupted"]
    if page == "pages/explain.py":
        assert len(at.expander) == 3, "the Grad-CAM / sanity / probe sections"
        assert not at.error, [e.value for e in at.error]
    if page == "pages/evaluate.py":
        assert [m.label for m in at.metric][:2] == ["Accuracy", "Macro precision"]
        assert len(at.get("plotly_chart")) >= 1  # the confusion matrix


@pytest.mark.parametrize("widget, value, message", [
    ("batch_size", 0, "batch_size must be a whole number >= 1"),
    ("batch_size", 5000, "larger than the training split"),
    ("lr_sgd", -0.5, "lr must be in (0, 10]"),
    ("amount_epochs_digits", 0, "epochs must be a whole number >= 1"),
])
def test_train_form_refuses_bad_values(monkeypatch, tmp_path, widget, value, message):
    at = _app(monkeypatch, tmp_path / "runs")
    at.run()
    at.switch_page("pages/train.py").run()
    at.number_input(key=widget).set_value(value).run()
    assert not at.exception
    assert any(message in e.value for e in at.error), [e.value for e in at.error]
    assert at.button(key="launch").disabled

