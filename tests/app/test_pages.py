"""Every page under Streamlit's AppTest: renders on an empty runs folder and on a folder with
completed, failed and interrupted runs; the Train form refuses bad values with a message."""

import json
import shutil

import pytest
from streamlit.testing.v1 import AppTest

from helpers import ROOT

# Paths as the app's frame (pages/navigation.py, the script app.py serves) names them.
PAGES = ["home.py", "train.py", "sweep.py", "runs.py", "evaluate.py", "explain.py", "predict.py", "lessons.py"]


def _app(monkeypatch, runs_dir) -> AppTest:
    monkeypatch.setenv("RESNET_WORKBENCH_RUNS", str(runs_dir))
    monkeypatch.chdir(ROOT)
    return AppTest.from_file(str(ROOT / "pages" / "navigation.py"), default_timeout=60)


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
    if page == "runs.py":
        table = at.dataframe[0].value
        assert sorted(table["state"]) == ["completed", "failed", "imported", "interrupted"]
        # Issue 38, item 15: the figure a student wants is in view, and no grey "None" names.
        assert list(table.columns[:4]) == ["run_id", "state", "test_accuracy", "best_val_accuracy"]
        assert table["name"].notna().all()
    if page == "explain.py":
        assert len(at.expander) == 4, "the Grad-CAM / sanity / probe / feature-map sections"
        assert not at.error, [e.value for e in at.error]
    if page == "evaluate.py":
        assert [m.label for m in at.metric][:2] == ["Accuracy", "Macro precision"]
        assert len(at.get("plotly_chart")) >= 1  # the confusion matrix


@pytest.mark.parametrize("widget, value, message", [
    ("batch_size", 0, "batch_size must be a whole number >= 1"),
    ("batch_size", 5000, "larger than the training split"),
    ("lr_sgd", -0.5, "lr must be in (0, 10]"),
])
def test_train_form_refuses_bad_values(monkeypatch, tmp_path, widget, value, message):
    at = _app(monkeypatch, tmp_path / "runs")
    at.run()
    at.switch_page("train.py").run()
    at.number_input(key=widget).set_value(value).run()
    assert not at.exception
    assert any(message in e.value for e in at.error), [e.value for e in at.error]
    assert at.button(key="launch").disabled



def test_the_epochs_box_takes_only_what_training_accepts_and_says_what_it_read(monkeypatch, tmp_path):
    """Issue 25 item 9: 0 or 1e9 epochs were taken silently (1e9 as 1). The box is bounded to
    what TrainConfig accepts, and the caption under it says what the page understood."""
    from resnet_core.training.config import MAXIMUMS

    at = _app(monkeypatch, tmp_path / "runs")
    at.run()
    at.switch_page("train.py").run()
    box = at.number_input(key="amount_epochs_digits")
    assert (box.min, box.max) == (1, MAXIMUMS["epochs"])
    box.set_value(7).run()
    assert any(c.value == "= 7 epochs" for c in at.caption)


@pytest.mark.parametrize("page", ["train.py", "evaluate.py", "explain.py",
                                  "predict.py"])
@pytest.mark.parametrize("bad", ["../../etc", "/etc/passwd", "..", "x/../../y"])
def test_a_run_id_in_the_url_cannot_leave_the_runs_folder(monkeypatch, mixed_runs, page, bad):
    at = _app(monkeypatch, mixed_runs)
    at.query_params["run"] = bad
    at.run()
    at.switch_page(page).run()
    assert not at.exception, at.exception
    assert at.query_params.get("run") in (None, [], *[[d.name] for d in mixed_runs.iterdir()],
                                          *[d.name for d in mixed_runs.iterdir()])


@pytest.mark.parametrize("root, message", [
    ("/etc", "is outside the data folder"),
    ("{data}/../..", "is outside the data folder"),
    ("{data}/nothing-here", "does not exist"),
])
def test_train_page_reads_data_only_inside_the_data_folder(monkeypatch, tmp_path, root, message):
    data = tmp_path / "data"
    data.mkdir()
    monkeypatch.setenv("RESNET_WORKBENCH_DATA", str(data))
    at = _app(monkeypatch, tmp_path / "runs")
    at.run()
    at.switch_page("train.py").run()
    at.selectbox(key="dataset").set_value("folder").run()
    at.text_input(key="data_root").set_value(root.format(data=data)).run()
    assert not at.exception, at.exception
    assert any(message in e.value for e in at.error), [e.value for e in at.error]
    assert at.button(key="launch").disabled


@pytest.mark.parametrize("page", ["evaluate.py", "explain.py", "predict.py"])
def test_a_truncated_checkpoint_is_an_error_on_the_page_not_a_crash(monkeypatch, short_run,
                                                                     tmp_path, page):
    root = tmp_path / "runs"
    shutil.copytree(short_run.dir, root / short_run.id)
    best = root / short_run.id / "checkpoints" / "best.pt"
    best.write_bytes(best.read_bytes()[:5000])
    at = _app(monkeypatch, root)
    at.run()
    at.switch_page(page).run()
    assert not at.exception, at.exception
    if page == "evaluate.py":  # reads the saved evaluation, not the checkpoint
        assert [m.label for m in at.metric][:1] == ["Accuracy"]
    else:
        assert any("corrupt or truncated" in e.value for e in at.error), [e.value for e in at.error]


def test_class_names_named_like_markdown_links_render_as_text(monkeypatch, short_run, tmp_path):
    """A class folder named like a link or a remote image shows as its name on every page that
    lists classes, never as a live link or an image (the Markdown source is escaped)."""
    root = tmp_path / "runs"
    shutil.copytree(short_run.dir, root / short_run.id)
    config_path = root / short_run.id / "config.json"
    config = json.loads(config_path.read_text())
    config["class_names"] = ["[click](http://evil.example)", "![x](http://evil.example/i.png)",
                             *config["class_names"][2:]]
    config_path.write_text(json.dumps(config))
    at = _app(monkeypatch, root)
    at.run()
    at.switch_page("evaluate.py").run()
    assert not at.exception, at.exception
    shown = [m.value for m in [*at.markdown, *at.caption]]
    assert any("evil" in text for text in shown), shown
    for text in shown:
        assert "](http" not in text and "](" not in text.replace("\\](", ""), text


def test_names_and_errors_cannot_become_links_or_images():
    from pages.common import plain, unlinked

    error = ("class folder(s) [x](http://evil.example) and ![i](https://evil.example/i.png) "
             "hold no image files; see <http://evil.example> or www.evil.example")
    import re

    shown = unlinked(error)
    for live in (r"\]\(", r"!\[", r"<http", r"http://", r"https://", r"www\.e"):
        assert not re.search(r"(?<!\\)" + live, shown), (live, shown)
    # Our own messages read as before.
    assert unlinked("batch_size must be a whole number >= 1, got 0") == \
        "batch_size must be a whole number >= 1, got 0"
    assert unlinked("lr must be in (0, 10], got -0.5") == "lr must be in (0, 10], got -0.5"
    assert "](" not in plain("[x](http://evil.example)")


def test_a_second_server_on_the_same_runs_folder_watches_but_cannot_start_runs(monkeypatch, tmp_path):
    from resnet_core.jobs.manager import JobManager

    owner = JobManager(tmp_path / "runs")  # the first server
    try:
        at = _app(monkeypatch, tmp_path / "runs")
        at.run()
        assert not at.exception, at.exception
        assert any("read-only" in w.value for w in at.sidebar.warning), at.sidebar
        at.button(key="quick_start").click().run()
        assert not at.exception, at.exception
        assert any("another workbench server" in e.value for e in at.error), at.error
        assert not list((tmp_path / "runs").glob("*/config.json"))  # nothing was queued
    finally:
        owner.close()


def test_explain_starts_each_image_at_its_own_prediction(monkeypatch, mixed_runs):
    """Issue 25, bug 3: after Index 5 -> 6 the page explained the previous image's class."""
    at = _app(monkeypatch, mixed_runs)
    at.run()
    at.switch_page("explain.py").run()
    seen = set()
    for index in (5, 6, 7, 8):
        at.number_input(key="explain_index").set_value(index).run()
        assert not at.exception, at.exception
        line = next(m.value for m in at.markdown if "**explaining:**" in m.value)
        predicted = line.split("**predicted:** ")[1].split(" (")[0]
        assert line.endswith(f"**explaining:** {predicted}"), line
        seen.add(predicted)
    assert len(seen) > 1  # the images are of different classes: the check means something


def test_the_accuracy_levers_are_set_on_the_train_page_with_their_cost_and_start_with_the_run(
        monkeypatch, tmp_path):
    """Issue 41, item 3: erasing, EMA, flip TTA and the crops' padding are on the form; TTA is
    locked off, with the reason, for digits and without augmentation (and the crops with it);
    their time is in the estimate; the run started has them."""
    import json
    import time

    at = _app(monkeypatch, tmp_path / "runs")
    at.run()
    at.switch_page("train.py").run()
    tta = at.toggle(key="tta")
    assert tta.disabled and not tta.value and "horizontal flip" in tta.help
    at.selectbox(key="dataset").set_value("shapes").run()
    assert not at.toggle(key="tta").disabled
    at.toggle(key="augment").set_value(False).run()  # a net never shown a mirror: locked again
    assert at.toggle(key="tta").disabled and "turn augment on" in at.toggle(key="tta").help
    assert at.selectbox(key="crop_padding").disabled  # no augmentation: no crops to size
    at.toggle(key="augment").set_value(True).run()
    crops = at.selectbox(key="crop_padding")
    assert not crops.disabled and crops.options[crops.index] == "the dataset's own (2 px)"
    crops.select("none (flips only)")
    at.selectbox(key="arch").set_value("resnet8")
    at.number_input(key="amount_epochs_shapes").set_value(1)
    at.number_input(key="erasing").set_value(0.25)
    at.number_input(key="ema").set_value(0.99)
    at.toggle(key="tta").set_value(True).run()
    assert not at.exception, at.exception
    cost = [c.value for c in at.caption if "accuracy levers' time" in c.value]
    assert cost and all(name in cost[0] for name in ("TTA ~", "EMA ~", "erasing ~")), cost
    at.button(key="launch").click().run()
    assert not at.error, [e.value for e in at.error]
    runs = [p for p in (tmp_path / "runs").iterdir() if p.is_dir() and not p.name.startswith(".")]
    config = json.loads((runs[0] / "config.json").read_text())
    assert (config["erasing"], config["ema"], config["tta"]) == (0.25, 0.99, True)
    assert config["augment"] is True and config["crop_padding"] == 0
    deadline = time.monotonic() + 120  # let the one-epoch run end before the folder goes
    while json.loads((runs[0] / "status.json").read_text()).get("state") in ("queued", "running"):
        assert time.monotonic() < deadline
        time.sleep(0.5)


def test_the_data_line_counts_the_split_the_chosen_recipe_trains_on(monkeypatch, tmp_path):
    """Issue 41: fashion-mnist-94 holds out 2% for validation; the Train page's data line said
    54,000 / 6,000 (the usual tenth) while the run would train on 58,800."""
    import os
    from pathlib import Path

    if not Path("/usr/share/datasets/fashion-mnist/t10k-labels-idx1-ubyte.gz").is_file():
        if os.environ.get("REQUIRE_FASHION_MNIST"):
            pytest.fail("REQUIRE_FASHION_MNIST is set but Debian's dataset-fashion-mnist is missing")
        pytest.skip("needs Debian's dataset-fashion-mnist")
    at = _app(monkeypatch, tmp_path / "runs")
    at.run()
    at.switch_page("train.py").run()
    at.selectbox(key="dataset").set_value("fashion-mnist").run()
    lines = lambda: " ".join(m.value for m in at.markdown)  # noqa: E731
    assert "**54000** train / **6000** val" in lines()  # the default recipe: a tenth held out
    at.selectbox(key="recipe_fashion-mnist").set_value("fashion-mnist-94").run()
    assert not at.exception, at.exception
    assert "**58800** train / **1200** val / **10000** test" in lines(), lines()[:600]


def test_an_accuracy_with_tta_says_so_on_evaluate_with_the_plain_figure_beside_it(monkeypatch, tmp_path):
    """Issue 41, item 3: evaluation with TTA is reported as such, the plain figure beside it."""
    from resnet_core import TrainConfig, train

    run = train(TrainConfig(dataset="shapes", arch="resnet8", max_steps=8, batch_size=64, tta=True,
                            probe_snapshots=0, runs_dir=str(tmp_path / "runs")), progress=False)
    plain = run.summary("test")["plain_accuracy"]
    at = _app(monkeypatch, tmp_path / "runs")
    at.run()
    at.switch_page("evaluate.py").run()
    assert not at.exception, at.exception
    assert any(f"(with flip TTA; without it {plain:.4f})" in c.value for c in at.caption), \
        [c.value for c in at.caption]
