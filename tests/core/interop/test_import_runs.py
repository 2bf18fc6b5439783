"""Import (issue 28): runs from a TensorBoard logdir become read-only runs of the runs folder,
their scalars read back per step; a workbench run round-trips through its own event files;
in the browser, an imported run overlays with a native one on the Runs page, TensorBoard
starts from there and stops with the app, and "Export to MLflow" registers the model."""

from __future__ import annotations

import shutil
import urllib.request

import pytest

from resnet_core import RunStore, TrainConfig, train
from resnet_core.errors import ConfigError
from resnet_core.interop.importer import import_runs
from resnet_core.interop.scalars import parse_tag
from resnet_core.training.tensorboard import TB_DIR, scalars_of

from e2e import ARTIFACTS, chromium, streamlit_server
from helpers import run_cli, wait_for


@pytest.mark.parametrize(("tag", "parsed"), [
    ("val/accuracy", ("val", "accuracy")), ("Loss/train", ("train", "loss")),
    ("val_loss", ("val", "loss")), ("train_acc", ("train", "accuracy")),
    ("accuracy", ("train", "accuracy")), ("learning_rate", ("train", "lr")),
    ("validation/top1", ("val", "accuracy")), ("train/images_per_sec", ("train", "images_per_sec")),
    ("Test Accuracy", ("test", "accuracy")), ("hparam/test_accuracy", None),
])
def test_common_spellings_of_a_scalar_read_back_as_split_and_name(tag, parsed):
    assert parse_tag(tag) == parsed


def write_foreign_logdir(root):
    """Two runs as a PyTorch tutorial writes them: Loss/train, Accuracy/val, one per folder."""
    from torch.utils.tensorboard import SummaryWriter

    expected = {}
    for name, scale in (("run_a", 1.0), ("run_b", 0.5)):
        with SummaryWriter(str(root / "exp1" / name)) as w:
            for step in range(1, 11):
                w.add_scalar("Loss/train", scale * 2.0 / step, step)
                if step % 5 == 0:
                    w.add_scalar("Accuracy/val", 1 - scale / step, step)
                w.add_scalar("hparam/ignored", 1.0, step)
        expected[f"exp1/{name}"] = scale
    return expected


def test_a_tensorboard_logdir_imports_as_read_only_runs_per_step(tmp_path):
    logdir, runs = tmp_path / "logs", tmp_path / "runs"
    expected = write_foreign_logdir(logdir)
    report = import_runs(logdir, runs)
    assert len(report.imported) == 2
    by_name = {r.config["run_name"]: r for r in RunStore(runs).runs()}
    assert set(by_name) == set(expected)
    for name, scale in expected.items():
        run = by_name[name]
        assert run.is_imported and not run.is_resumable and not run.has_checkpoint("best")
        assert run.status["imported_from"]["source"] == str(logdir.resolve() / name)
        m = run.metrics()
        train_rows, val_rows = m[m["split"] == "train"], m[m["split"] == "val"]
        assert list(train_rows["step"]) == list(range(1, 11))
        assert train_rows["loss"].tolist() == pytest.approx([scale * 2.0 / s for s in range(1, 11)], abs=1e-6)
        assert val_rows["accuracy"].tolist() == pytest.approx([1 - scale / 5, 1 - scale / 10], abs=1e-6)
        assert "ignored" not in m.columns  # the hparams' copies are not curves
    # Importing again refreshes the same two folders.
    assert sorted(import_runs(logdir, runs).imported) == sorted(report.imported)
    assert len(RunStore(runs).runs()) == 2
    (tmp_path / "empty").mkdir()
    with pytest.raises(ConfigError, match="no TensorBoard event files"):
        import_runs(tmp_path / "empty", runs)


def test_a_workbench_run_round_trips_through_its_event_files(tmp_path):
    run = train(TrainConfig(dataset="digits", arch="resnet20", epochs=2, log_every=3, tensorboard=True,
                            runs_dir=str(tmp_path / "trained")), progress=False)
    report = import_runs(run.dir / TB_DIR, tmp_path / "runs")
    (imported,) = [RunStore(tmp_path / "runs").get(i) for i in report.imported]
    want = {(line["split"], int(line["step"]), key): value
            for line in run.metrics().to_dict("records")
            for key, value in scalars_of({k: v for k, v in line.items() if v == v}).items()}
    got = {(line["split"], int(line["step"]), key): value
           for line in imported.metrics().to_dict("records")
           for key, value in scalars_of({k: v for k, v in line.items() if v == v}).items()}
    assert got.keys() == want.keys()
    # TensorBoard keeps float32: 1e-6 absolute, or relative for images/s in the thousands.
    assert all(got[k] == pytest.approx(v, abs=1e-6, rel=1e-6) for k, v in want.items())


def test_the_cli_imports_a_logdir(tmp_path):
    write_foreign_logdir(tmp_path / "logs")
    result = run_cli("import-runs", str(tmp_path / "logs"), "--runs-dir", str(tmp_path / "runs"))
    assert result.returncode == 0, result.stderr
    assert result.stdout.count("\nimported ") + result.stdout.startswith("imported ") == 2
    assert "marked imported" in result.stdout
    listed = run_cli("runs", "--runs-dir", str(tmp_path / "runs"))
    assert listed.stdout.count("imported") >= 2


def test_a_hostile_logdir_imports_what_can_be_read_and_says_what_was_left(tmp_path):
    """Issue 37, item 9: a NaN epoch or a wall time of 1e18 was a traceback that stopped the
    import midway; tags named split or step overwrote the line's own keys."""
    import json

    from torch.utils.tensorboard import SummaryWriter

    logs = tmp_path / "logs"
    with SummaryWriter(str(logs / "a-nan-epoch")) as w:
        for step in (1, 2):
            w.add_scalar("epoch", float("nan") if step == 2 else 1.0, step)
            w.add_scalar("split", 7.0, step)  # would overwrite the line's split
            w.add_scalar("step", 99.0, step)  # and its step
            w.add_scalar("val/accuracy", 0.5 * step, step)
            w.add_scalar("loss", float("inf"), step)
    with SummaryWriter(str(logs / "b-far-future")) as w:
        w.add_scalar("val/accuracy", 0.9, 1, walltime=1e18)
    result = run_cli("import-runs", str(logs), "--runs-dir", str(tmp_path / "runs"))
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr, result.stderr
    assert sum(line.startswith("imported ") for line in result.stdout.splitlines()) == 2, result.stdout
    runs = {r.status["imported_from"]["name"]: r for r in RunStore(tmp_path / "runs").runs()}
    lines = [json.loads(x) for x in (runs["a-nan-epoch"].metrics_path).read_text().splitlines()]
    # Step 2's train values were a NaN epoch and an infinite loss: left out, so no train line.
    assert [(x["split"], x["step"]) for x in lines] == [("train", 1), ("val", 1), ("val", 2)]
    assert lines[0]["epoch"] == 1 and lines[2]["accuracy"] == 1.0
    assert all("loss" not in x for x in lines)  # infinite values left out
    assert runs["b-far-future"].status["created_at"] is None


@pytest.mark.slow
@pytest.mark.e2e
def test_an_imported_run_overlays_a_native_one_and_the_runs_page_opens_tensorboard_and_exports(short_run, tmp_path):
    runs = tmp_path / "runs"
    shutil.copytree(short_run.dir, runs / short_run.id)
    logdir = tmp_path / "logs"
    from torch.utils.tensorboard import SummaryWriter

    with SummaryWriter(str(logdir / "their-resnet")) as w:  # a val curve on the same steps
        for step in (10, 20, 30):
            w.add_scalar("Accuracy/val", step / 40, step)
    (imported_id,) = import_runs(logdir, runs).imported
    env = {"RESNET_WORKBENCH_RUNS": str(runs), "MLFLOW_TRACKING_URI": ""}
    with streamlit_server(env, with_process=True) as (url, server), chromium() as browser:
        page = browser.new_page(viewport={"width": 1400, "height": 2400})
        page.goto(url + "/runs")
        grid = page.locator("[data-testid='stDataFrame']").first
        grid.wait_for(timeout=60_000)
        page.get_by_text("Runs marked imported came from").wait_for(timeout=30_000)
        box = grid.bounding_box()
        for row in (0, 1):  # tick both runs
            page.mouse.click(box["x"] + 12, box["y"] + 35 + 17 + 35 * row)
            page.wait_for_timeout(800)
        page.get_by_role("heading", name="Curves").wait_for(timeout=30_000)
        # Issue 38, item 6: ticked one at a time, two runs compare with "Only differences" on.
        # Ticking the second run replaces the one-run toggle by the comparison's: under load both
        # are on the page for a moment, so wait for the one that stays.
        # First the comparison itself (both runs' curves drawn), then its toggle: the page after
        # the second tick, not a rerun still on its way.
        page.get_by_text(f"imported from tensorboard ({logdir.resolve() / 'their-resnet'}), read-only").wait_for()
        traces_js = """() => [...document.querySelectorAll('.js-plotly-plot')]
            .map(p => (p.data || []).map(t => t.name))"""
        wait_for(lambda: sorted((page.evaluate(traces_js) or [[]])[0]) == sorted([short_run.id, imported_id]),
                 timeout=30)
        toggle = page.locator("label", has_text="Only differences").locator("input")
        wait_for(lambda: toggle.count() == 1, timeout=30)
        assert toggle.is_checked()
        page.screenshot(path=str(ARTIFACTS / "runs_imported_overlay.png"))
        # TensorBoard, started from the page on a local port.
        page.get_by_text("Open in TensorBoard").click()
        page.get_by_role("button", name="Start TensorBoard here").click()
        link = page.get_by_role("link", name="Open TensorBoard")
        link.wait_for(timeout=90_000)
        tb_url = link.get_attribute("href")
        with urllib.request.urlopen(tb_url, timeout=10) as r:
            assert r.status == 200
        # Issue 37, item 7: from the page, MLflow writes only into the runs folder (or the
        # operator's MLFLOW_TRACKING_URI); elsewhere is one line, and no file is made.
        uri_field = page.get_by_label("MLflow tracking URI")
        default_uri = uri_field.input_value()
        elsewhere = tmp_path / "elsewhere.db"
        uri_field.fill(f"sqlite:///{elsewhere}")
        uri_field.press("Enter")
        page.get_by_role("button", name="Export 1 run to MLflow").click()
        page.get_by_text("from the app, MLflow writes to").wait_for(timeout=30_000)
        assert not elsewhere.exists() and page.locator("[data-testid='stException']").count() == 0
        uri_field.fill(default_uri)
        uri_field.press("Enter")
        # Export the native run to MLflow (the imported one is not sent back).
        page.get_by_role("button", name="Export 1 run to MLflow").click()
        page.get_by_text("Exported to MLflow").wait_for(timeout=120_000)
        assert page.get_by_text("model version 1").count() >= 1
        assert page.get_by_text("pip install mlflow==").count() >= 1  # a UI command that works here
        page.screenshot(path=str(ARTIFACTS / "runs_exported_mlflow.png"))
        assert page.get_by_text("Something went wrong").count() == 0
        # A run trained from the Train page with the toggle on shows in that TensorBoard.
        page.goto(url + "/train")
        page.get_by_text("TensorBoard event files").click()
        page.get_by_role("spinbutton", name="Epochs").fill("2")
        page.keyboard.press("Enter")
        page.get_by_role("button", name="Train", exact=True).click()
        wait_for(lambda: any(r.state == "completed" and r.config.get("tensorboard")
                             for r in RunStore(runs).runs()), 180)
        (trained,) = [r for r in RunStore(runs).runs() if r.config.get("tensorboard")]
        assert list((trained.dir / TB_DIR).glob("events.out.tfevents.*"))
        wait_for(lambda: f"{trained.id}/{TB_DIR}" in _get(tb_url + "data/runs"), 60)
    # The app stopped: so did its TensorBoard.
    wait_for(lambda: _refused(tb_url), 30)
    assert (runs / "mlflow.db").is_file()


def _get(url: str) -> str:
    with urllib.request.urlopen(url, timeout=10) as r:
        return r.read().decode()


def _refused(url: str) -> bool:
    try:
        urllib.request.urlopen(url, timeout=2)
    except OSError:
        return True
    return False
