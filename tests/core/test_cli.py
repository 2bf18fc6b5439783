"""The command line as a user meets it: real subprocesses, exit codes, stdout and stderr."""

import json
import os
import sys
from pathlib import Path

import pandas as pd
import pytest
from PIL import Image

from resnet_core import TrainConfig

from helpers import image_bytes, image_folder, run_cli

BAD_INPUTS = [
    (["train", "--lr", "-0.1"], "lr must be in (0, 10]"),
    (["train", "--batch-size", "0"], "batch_size must be a whole number >= 1"),
    (["train", "--arch", "resnet19"], "argument --arch: invalid choice: 'resnet19'"),
    (["train", "--dataset", "imagenet"], "argument --dataset: invalid choice: 'imagenet'"),
    (["train", "--dataset", "mnist", "--data-root", "/no/such/folder"], "mnist not found (looked in /no/such/folder/MNIST/raw, "),
    (["train", "--epochs", "2", "--max-steps", "10"], "either epochs or max_steps, not both"),
    (["train", "--batch-size", "100000"], "larger than the training split"),
    (["train", "--lr", "fast"], "argument --lr: invalid float value: 'fast'"),
    (["train", "--epochs", "-3"], "epochs must be a whole number >= 1"),
    (["train", "--val-fraction", "0.9"], "val_fraction must be in (0, 0.5]"),
    (["evaluate", "/no/such/run"], "is not a run folder"),
    (["train", "--resume", "/no/such/run"], "is not a run folder"),
    (["train", "--preset", "fastest"], "argument --preset: invalid choice: 'fastest'"),
    (["train", "--diagnostics-every", "-1"], "diagnostics_every must be an integer in [0, 10,000,000]"),
    (["train", "--batch-size", "100", "--max-steps", "5", "--epochs", "1"], "not both"),
]


@pytest.mark.parametrize("args, message", BAD_INPUTS)
def test_bad_input_is_one_line_on_stderr_without_traceback(tmp_path, args, message):
    result = run_cli(*args, cwd=tmp_path, env={"RESNET_WORKBENCH_RUNS": str(tmp_path / "runs")})
    assert result.returncode == 2, result.stderr
    assert message in result.stderr
    assert "Traceback" not in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1, result.stderr
    assert not (tmp_path / "runs").exists() or not any((tmp_path / "runs").iterdir())


def test_folder_with_one_class_is_refused(tmp_path):
    image_folder(tmp_path / "data", {"cats": "black"})
    result = run_cli("train", "--dataset", "folder", "--data-root", str(tmp_path / "data"), cwd=tmp_path)
    assert result.returncode == 2
    assert "needs at least 2 class folders; found 1 ('cats')" in result.stderr
    assert "Traceback" not in result.stderr


def test_train_runs_evaluate_predict_end_to_end(tmp_path):
    runs = tmp_path / "runs"
    result = run_cli("train", "--dataset", "digits", "--arch", "resnet20", "--epochs", "4",
                     env={"RESNET_WORKBENCH_RUNS": str(runs)}, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    run_dir = Path(result.stdout.strip().splitlines()[-1])
    assert run_dir.parent == runs and (run_dir / "checkpoints" / "best.pt").is_file()
    assert "epoch 4/4" in result.stderr and "step/s" in result.stderr  # the progress bar
    assert "test accuracy" in result.stdout

    listing = run_cli("runs", "--runs-dir", str(runs))
    assert listing.returncode == 0 and run_dir.name in listing.stdout and "completed" in listing.stdout

    summary_path = run_dir / "eval" / "test" / "summary.json"
    before = json.loads(summary_path.read_text())
    for f in (run_dir / "eval" / "test").iterdir():
        f.unlink()
    evaluated = run_cli("evaluate", str(run_dir))
    assert evaluated.returncode == 0, evaluated.stderr
    assert json.loads(summary_path.read_text())["accuracy"] == before["accuracy"]
    val = run_cli("evaluate", str(run_dir), "--split", "val", "--checkpoint", "last")
    assert val.returncode == 0 and (run_dir / "eval" / "val" / "per_class.csv").is_file()

    # An image file given to predict gets the class the test-split evaluation gave it.
    from resnet_core import load_dataset

    ds = load_dataset("digits")
    preds = pd.read_csv(run_dir / "eval" / "test" / "predictions.csv")
    paths = []
    for i in range(5):
        path = tmp_path / f"test{i}.png"
        Image.fromarray(ds.test.images[i, 0].numpy(), mode="L").save(path)
        paths.append(str(path))
    predicted = run_cli("predict", str(run_dir), *paths, "--top-k", "2")
    assert predicted.returncode == 0, predicted.stderr
    for i, line in enumerate(predicted.stdout.strip().splitlines()):
        assert line.split(": ")[1].split()[0] == str(preds.y_pred[i])

    not_image = tmp_path / "notes.png"
    not_image.write_text("hello")
    bad = run_cli("predict", str(run_dir), str(not_image))
    assert bad.returncode == 2 and "is not an image" in bad.stderr and "Traceback" not in bad.stderr


def test_sigterm_stops_with_a_checkpoint_and_resume_finishes(tmp_path):
    import signal
    import subprocess
    import sys
    import time

    runs = tmp_path / "runs"
    proc = subprocess.Popen([sys.executable, "-m", "resnet_core", "train", "--epochs", "30", "--quiet",
                             "--runs-dir", str(runs)], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True)
    deadline = time.monotonic() + 120
    while not list(runs.glob("*/checkpoints/last.pt")) and time.monotonic() < deadline:
        time.sleep(0.2)
    proc.send_signal(signal.SIGTERM)
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == 130, err
    run_dir = Path(out.strip().splitlines()[-1])
    status = json.loads((run_dir / "status.json").read_text())
    assert status["state"] == "stopped" and 0 < status["step"] < 300
    assert f"--resume {run_dir}" in err
    resumed = run_cli("train", "--resume", str(run_dir), "--epochs", "3" if status["step"] < 30 else "30",
                      "--quiet")
    assert resumed.returncode == 0, resumed.stderr
    assert json.loads((run_dir / "status.json").read_text())["state"] == "completed"


def test_a_folder_without_class_folders_names_the_expected_layout(tmp_path):
    flat = tmp_path / "flat"
    flat.mkdir()
    for i in range(3):
        (flat / f"{i}.png").write_bytes(image_bytes("black"))
    result = run_cli("train", "--dataset", "folder", "--data-root", str(flat), cwd=tmp_path)
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert "needs at least 2 class folders; found none" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def test_predict_on_files_that_are_not_images_is_a_one_line_error(short_run, tmp_path):
    notes = tmp_path / "notes.png"
    notes.write_text("this is text")
    result = run_cli("predict", str(short_run.dir), str(notes))
    assert result.returncode == 2, result.stderr
    assert "notes.png is not an image this tool can read" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1 and "Traceback" not in result.stderr
    # Issue 38, item 17: one list of the accepted formats, not two that disagree.
    assert result.stderr.count("PNG, JPEG") == 1 and "accepted: PNG, JPEG, BMP, GIF, TIFF, WebP, PPM/PGM" in result.stderr


def test_a_preset_trains_with_its_settings_and_flags_override_them(tmp_path):
    result = run_cli("train", "--preset", "digits-99", "--max-steps", "3", "--quiet",
                     "--runs-dir", str(tmp_path))
    assert result.returncode == 0, result.stderr
    config = json.loads((Path(result.stdout.strip().splitlines()[-1]) / "config.json").read_text())
    assert (config["batch_size"], config["lr"], config["label_smoothing"]) == (64, 0.05, 0.1)
    assert config["max_steps"] == 3 and config["epochs"] is None


def test_the_default_runs_folder_is_the_same_from_any_working_folder(tmp_path):
    """Issue 25 item 7: notebook 01's runs went to notebooks/runs/, which the dashboard never
    listed. Without $RESNET_WORKBENCH_RUNS the app, the CLI and notebooks share the checkout's
    runs/ whatever the working folder."""
    import os
    import subprocess
    import sys

    from helpers import ROOT

    env = {k: v for k, v in os.environ.items() if k != "RESNET_WORKBENCH_RUNS"}
    code = "from resnet_core.runs.store import RunStore; print(RunStore().root)"
    for cwd in (tmp_path, ROOT / "notebooks", ROOT):
        out = subprocess.run([sys.executable, "-c", code], cwd=cwd, env=env, capture_output=True,
                             text=True, check=True).stdout.strip()
        assert out == str(ROOT / "runs"), (cwd, out)


def test_train_says_how_long_it_will_take_before_it_starts(tmp_path):
    """Issue 25 item 6: README's resnet18 example ran ~24 minutes with no warning first."""
    from helpers import run_cli

    out = run_cli("train", "--dataset", "digits", "--epochs", "2", "--probe-snapshots", "0",
                  "--runs-dir", str(tmp_path))
    assert out.returncode == 0, out.stderr
    first = out.stderr.lstrip().splitlines()[0]
    assert first.startswith("estimate: about ") and "per epoch" in first and "in all on this CPU" in first
    # The next run of the same model and input is estimated from this one.
    again = run_cli("train", "--dataset", "digits", "--epochs", "2", "--probe-snapshots", "0",
                    "--runs-dir", str(tmp_path))
    assert "(measured here: 1 earlier run)" in again.stderr.splitlines()[0]


def test_executor_choices_and_a_cluster_that_is_not_there_are_one_line_errors(tmp_path):
    env = {"RESNET_WORKBENCH_RUNS": str(tmp_path / "runs")}
    for args, messages, extra in (
            (["train", "--executor", "kube"], ["argument --executor: invalid choice: 'kube'"], {}),
            (["train", "--executor", "ray", "--epochs", "1"],
             ["the ray executor needs Ray", "no Ray cluster at 127.0.0.1:1"],  # without / with ray installed
             {"RESNET_WORKBENCH_RAY_ADDRESS": "127.0.0.1:1"}),
            (["sweep", "--param", "lr=log:0.01:0.1", "--trials", "1", "--epochs", "1"],
             ["executor must be one of local, ray, slurm; got 'kube'"], {"RESNET_WORKBENCH_EXECUTOR": "kube"})):
        result = run_cli(*args, cwd=tmp_path, env={**env, **extra})
        assert result.returncode == 2, result.stderr
        assert any(m in result.stderr for m in messages), result.stderr
        assert len(result.stderr.strip().splitlines()) == 1, result.stderr


def test_train_through_the_queue_on_the_local_executor(tmp_path):
    result = run_cli("train", "--dataset", "digits", "--epochs", "2", "--executor", "local", "--quiet",
                     "--runs-dir", str(tmp_path / "runs"), cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "on local: child processes on this machine" in result.stderr
    run_dir = Path(result.stdout.strip().splitlines()[-1])
    assert json.loads((run_dir / "status.json").read_text())["state"] == "completed"
    assert "test accuracy" in result.stdout


def test_every_training_setting_has_a_train_flag_with_its_comment_as_help():
    """Issue 36 item 7: the flags are made from TrainConfig's fields (no restated defaults);
    each one sets its field, and --help shows the field's comment and its default."""
    import dataclasses

    from resnet_core.cli import build_parser
    from resnet_core.training.config import field_docs

    parser = build_parser()
    train = parser._subparsers._group_actions[0].choices["train"]
    by_dest = {a.dest: a for a in train._actions}
    for f in dataclasses.fields(TrainConfig):
        action = by_dest[f.name]
        assert field_docs()[f.name].comment in action.help, f.name
        value = {"bool": None, "str": "x"}.get(f.type, "3")
        if action.choices:
            value = [c for c in action.choices if c != f.default][0]
        argv = ["train", action.option_strings[0]] + ([] if value is None else [str(value)])
        parsed = vars(parser.parse_args(argv))
        assert f.name in parsed and parsed[f.name] != f.default, (f.name, parsed.get(f.name))
    assert by_dest["residual"].option_strings == ["--plain"]
    assert by_dest["augment"].option_strings == ["--no-augment"]
    assert "(default: 128)" in by_dest["batch_size"].help


def test_a_switch_a_recipe_sets_can_be_turned_back_either_way():
    """Issue 41: the fast recipe turns augment off, and --augment turns it back on (a flag made
    only as --no-augment could not); a switch off by default has --no-... too."""
    from resnet_core.cli import build_parser, config_from

    def config(*flags):
        given = vars(build_parser().parse_args(["train", "--dataset", "fashion-mnist", *flags]))
        given.pop("command")
        return config_from(given)

    assert config().augment is False and config("--augment").augment is True
    assert config("--augment", "--tta").tta is True
    assert config("--augment", "--tta", "--no-tta").tta is False  # the last one given counts


@pytest.mark.slow  # 7-14 s: the default run stays under 10 min on 2 cores; CI runs it
def test_every_command_that_takes_a_run_takes_the_id_runs_prints(short_run, tmp_path):
    """Issue 38, item 8: `evaluate` did not take the id `runs` prints, and for a run that does
    not exist `explain` and `serve` talked about a missing checkpoint."""
    import shutil

    runs = tmp_path / "runs"
    shutil.copytree(short_run.dir, runs / short_run.id)
    listed = run_cli("runs", "--runs-dir", str(runs))
    assert short_run.id in listed.stdout
    by_id = run_cli("evaluate", short_run.id, "--runs-dir", str(runs))
    assert by_id.returncode == 0, by_id.stderr
    by_folder = run_cli("evaluate", str(runs / short_run.id))
    assert by_folder.returncode == 0, by_folder.stderr
    for args in (["evaluate", "nope"], ["explain", "nope", "--method", "saliency", "--index", "0", "--out", "x.png"],
                 ["serve", "nope"], ["predict", "nope", "x.png"], ["export", "nope", "--format", "onnx", "--out", "m"]):
        missing = run_cli(*args, "--runs-dir", str(runs), cwd=tmp_path)
        assert missing.returncode == 2 and missing.stderr == f"error: no run 'nope' in {runs}\n", missing.stderr


@pytest.mark.slow  # 10-20 s: CI runs it with the slow checks; the default run stays under 10 min
def test_the_estimate_trusts_a_quiet_run_over_a_newer_one_made_on_a_loaded_machine(short_run, tmp_path):
    """Issue 38, item 3: the history took a run made on a loaded machine as the truth (it then
    said ~170 s an epoch for ~20 s). A run records the load per core it ended under; a loaded
    one is used only when no quiet one is there."""
    import datetime as dt
    import json
    import re
    import shutil

    from helpers import run_cli

    runs = tmp_path / "runs"
    shutil.copytree(short_run.dir, runs / short_run.id)
    quiet = {**json.loads((runs / short_run.id / "status.json").read_text()), "load_per_core": 0.9}
    (runs / short_run.id / "status.json").write_text(json.dumps(quiet))
    took = dt.datetime.fromisoformat(quiet["ended_at"]) - dt.datetime.fromisoformat(quiet["started_at"])
    loaded_id = short_run.id[:-4] + "zzzz"  # newer by name
    shutil.copytree(short_run.dir, runs / loaded_id)
    ended = dt.datetime.fromisoformat(quiet["started_at"]) + took * 9
    (runs / loaded_id / "status.json").write_text(json.dumps(
        {**quiet, "ended_at": ended.isoformat(timespec="milliseconds"), "load_per_core": 3.2}))
    out = run_cli("train", "--dataset", "digits", "--epochs", "1", "--probe-snapshots", "0",
                  "--runs-dir", str(runs))
    first = out.stderr.lstrip().splitlines()[0]
    assert "(measured here: 1 earlier run)" in first, first
    per_epoch = float(re.search(r"about ([0-9.]+) s per epoch", first).group(1))
    config = short_run.config
    expected = took.total_seconds() / (config["train_size"] * short_run.status["epoch"]) * config["train_size"]
    assert per_epoch == pytest.approx(expected, rel=0.15, abs=0.15), (first, expected)


def _chinese_env(**more) -> dict:
    """The environment of a Chinese desktop: LANG=zh_CN.UTF-8, nothing that outranks it."""
    env = {k: v for k, v in os.environ.items() if k not in ("LC_ALL", "LC_MESSAGES", "LANGUAGE",
                                                             "RESNET_WORKBENCH_LANG")}
    return {**env, "LANG": "zh_CN.UTF-8", **more}


def test_a_chinese_locale_gets_one_chinese_line_for_a_mistake_and_a_chinese_help():
    """Issue 39: the CLI's errors and --help follow LANG (zh_CN.* gives Chinese); --lang wins."""
    import subprocess

    def cli(*args, env):
        return subprocess.run([sys.executable, "-m", "resnet_core", *args], capture_output=True, text=True,
                              env=env, timeout=120)

    wrong = cli("train", "--dataset", "nope", env=_chinese_env())
    assert wrong.returncode == 2 and wrong.stdout == ""
    assert len(wrong.stderr.strip().splitlines()) == 1, wrong.stderr
    assert wrong.stderr.startswith("错误：参数 --dataset：无效的选项：'nope'"), wrong.stderr
    helped = cli("train", "--help", env=_chinese_env())
    assert helped.stdout.startswith("用法：") and "每步的图像数" in helped.stdout and "选项" in helped.stdout
    english = cli("--lang", "en", "train", "--dataset", "nope", env=_chinese_env())
    assert english.stderr.startswith("error: argument --dataset: invalid choice: 'nope'"), english.stderr
    core = cli("train", "--epochs", "0", env=_chinese_env())  # the core's own one-line error
    assert core.returncode == 2 and core.stderr.startswith("错误：epochs 必须是 >= 1 的整数"), core.stderr
