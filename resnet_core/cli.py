"""Command line: ``python -m resnet_core train|evaluate|predict|runs ...``.

A user's mistake (an unknown name, a number out of range, a missing dataset) exits with
status 2 and one line on stderr that says what was wrong and what is accepted, never a
traceback. ``train`` prints the run folder as the last line of stdout, so scripts can do
``RUN=$(python -m resnet_core train ... | tail -n1)``.

Why one module of about 570 lines: it is the parser and one short ``cmd_*`` function per
command, each calling the core; a reader looks a command up here, and the rules they call
live in the wings.
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import signal
import sys
import threading
import time
from pathlib import Path

from resnet_core.device import DEVICES
from resnet_core.errors import RunError, TrainingFailed, WorkbenchError
from resnet_core.i18n import LANGUAGES, N_, _, from_environment, ngettext, pick, speaking
from resnet_core.jobs.executor import EXECUTORS
from resnet_core.sweeps.study import PRUNERS as SWEEP_PRUNERS
from resnet_core.sweeps.study import SAMPLERS as SWEEP_SAMPLERS
from resnet_core.training.config import CHOICES, DATASET_PRESET, PRESETS, TrainConfig, field_docs
from resnet_core.training.transfer import InitReport

# Kept here (not imported from explain.py) so that --help does not import Captum.
EXPLAIN_METHODS = ("saliency", "integrated_gradients", "smoothgrad", "guided_backprop", "deeplift",
                   "occlusion", "gradcam", "guided_gradcam")

EXIT_FAILED, EXIT_USAGE, EXIT_STOPPED = 1, 2, 130
# Flags that still apply when continuing a run (the rest come from its saved config).
RESUME_FLAGS = {"resume", "epochs", "max_steps", "device", "data_root", "quiet"}


class Parser(argparse.ArgumentParser):
    """argparse, but a usage error is one line (plus where to get help), not a usage dump."""

    def error(self, message: str) -> None:
        self.exit(EXIT_USAGE, _("error: {message} (see: {prog} --help)").format(message=message, prog=self.prog)
                  + "\n")


# argparse's own words (its headings and usage errors), in our catalog: Python ships no Chinese
# catalog for its "argparse" domain, so main() hands argparse our translations.
ARGPARSE_WORDS = (
    N_("usage: "), N_("positional arguments"), N_("options"), N_("show this help message and exit"),
    N_("the following arguments are required: %s"), N_("unrecognized arguments: %s"),
    N_("invalid choice: %(value)r (choose from %(choices)s)"), N_("argument %(argument_name)s: %(message)s"),
    N_("invalid %(type)s value: %(value)r"), N_("expected one argument"), N_("not allowed with argument %s"),
    N_("ambiguous option: %(option)s could match %(matches)s"),
)


def choose_language(argv: list[str]) -> str:
    """The CLI's language: --lang (a flag before or after the command), else LC_ALL,
    LC_MESSAGES, LANG (zh_CN.UTF-8 gives Chinese), else RESNET_WORKBENCH_LANG, else English."""
    for i, arg in enumerate(argv):
        if arg == "--lang" and i + 1 < len(argv):
            return pick(argv[i + 1]) or from_environment()
        if arg.startswith("--lang="):
            return pick(arg.split("=", 1)[1]) or from_environment()
    return from_environment()


def build_parser() -> Parser:
    p = Parser(prog="python -m resnet_core", description=_("Train, evaluate and inspect ResNets."))
    p.add_argument("--lang", choices=tuple(LANGUAGES), default=argparse.SUPPRESS,
                   help=_("the language of help and errors (default: from LANG / LC_ALL)"))
    sub = p.add_subparsers(dest="command", required=True, parser_class=Parser,
                           metavar="{train,lr-find,sweep,evaluate,explain,report,export,predict,serve,runs,export-runs,import-runs,datasets,uploads,class-server}")
    s = argparse.SUPPRESS

    t = sub.add_parser("train", help=_("train a new run, or continue one with --resume"))
    add_train_flags(t)
    t.add_argument("--resume", metavar="RUN_DIR", default=s,
                   help=_("continue a stopped or interrupted run from its last checkpoint"))
    t.add_argument("--quiet", action="store_true", default=s, help=_("no progress bar"))
    t.add_argument("--executor", choices=EXECUTORS, default=s,
                   help=_("train through the job queue on this executor (local processes, a Ray "
                        "cluster, Slurm; docs/cluster.md) instead of in this process"))

    lf = sub.add_parser("lr-find", help=_("find a learning rate (a range test); the suggestion is the last line"))
    add_train_flags(lf)
    lf.add_argument("--start-lr", type=float, default=1e-7)
    lf.add_argument("--end-lr", type=float, default=10.0)
    lf.add_argument("--steps", type=int, default=200, help=_("at most this many steps (default 200)"))
    lf.add_argument("--out", default="lr_find.png", help=_("PNG of the curve; the CSV goes beside it"))
    lf.add_argument("--quiet", action="store_true", default=False, help=_("no progress bar"))

    sw = sub.add_parser("sweep", help=_("search hyperparameters (Optuna); the best run's folder is "
                                      "the last line. Also: `sweep status [ID]`, `sweep resume ID`"))
    sw.add_argument("--executor", choices=EXECUTORS, default=None,
                    help=_("where the trials train (default: $RESNET_WORKBENCH_EXECUTOR, else local)"))
    sw.add_argument("action", nargs="?", choices=("status", "resume"), default=None,
                    help=_("status: the sweeps, or one sweep's trials; resume: carry a stopped sweep on"))
    sw.add_argument("sweep_id", nargs="?", default=None, metavar="ID",
                    help=_("a sweep's folder name under <runs>/.sweeps (or a unique part of it)"))
    sw.add_argument("--param", action="append", default=[], metavar="NAME=SPEC",
                    help=_("a searched field: lr=log:1e-4:1, label_smoothing=float:0:0.2, "
                         "epochs=int:2:10, arch=resnet20,resnet32 or depth=20,32 (repeat the flag)"))
    sw.add_argument("--trials", type=int, default=16)
    sw.add_argument("--parallel", type=int, default=1, help=_("trials at once (default 1)"))
    sw.add_argument("--pruner", choices=SWEEP_PRUNERS, default="asha",
                    help=_("asha (successive halving at epochs 1, 3, 9, ...), median, hyperband or none"))
    sw.add_argument("--sampler", choices=SWEEP_SAMPLERS, default="tpe")
    sw.add_argument("--sweep-seed", type=int, default=0, help=_("the sampler's seed"))
    sw.add_argument("--sweep-name", default=None, help=_("a label for the sweep and its runs"))
    sw.add_argument("--quiet", action="store_true", default=False, help=_("no progress bar"))
    add_train_flags(sw)

    e = sub.add_parser("evaluate", help=_("recompute eval/<split>/ of a run from a checkpoint"))
    e.add_argument("run_dir", metavar="RUN", help=_(RUN_HELP))
    e.add_argument("--runs-dir", default=None, help=_(RUNS_DIR_HELP))
    e.add_argument("--split", choices=("test", "val"), default="test")
    e.add_argument("--checkpoint", choices=("best", "last"), default="best")
    e.add_argument("--device", choices=DEVICES, default="auto")
    e.add_argument("--data-root", default=None)

    pr = sub.add_parser("predict", help=_("classify image files with a trained run"))
    pr.add_argument("run_dir", metavar="RUN", help=_(RUN_HELP))
    pr.add_argument("--runs-dir", default=None, help=_(RUNS_DIR_HELP))
    pr.add_argument("images", nargs="+", metavar="IMAGE")
    pr.add_argument("--checkpoint", choices=("best", "last"), default="best")
    pr.add_argument("--top-k", type=int, default=3)

    x = sub.add_parser("explain", help=_("write a PNG: an image, its attribution map and the overlay"))
    x.add_argument("run_dir", metavar="RUN", help=_(RUN_HELP))
    x.add_argument("--runs-dir", default=None, help=_(RUNS_DIR_HELP))
    x.add_argument("--method", required=True, choices=EXPLAIN_METHODS)
    x.add_argument("--index", type=int, required=True, help=_("image index in the split"))
    x.add_argument("--split", choices=("test", "val", "train"), default="test")
    x.add_argument("--target", type=int, default=None, help=_("class index to explain (default: predicted)"))
    x.add_argument("--stage", default=None, help=_("Grad-CAM stage, e.g. layer2 (default: the last)"))
    x.add_argument("--baseline", choices=("black", "mean", "blur"), default="black")
    x.add_argument("--checkpoint", choices=("best", "last"), default="best")
    x.add_argument("--out", required=True, help=_("PNG file to write"))

    rp = sub.add_parser("report", help=_("write a run's report: one HTML file that opens offline (config, "
                                         "curves, confusion matrix, per-class scores, attribution maps)"))
    rp.add_argument("run_dir", metavar="RUN", help=_(RUN_HELP))
    rp.add_argument("--runs-dir", default=None, help=_(RUNS_DIR_HELP))
    rp.add_argument("--out", required=True, help=_("the .html file to write"))
    rp.add_argument("--attributions", type=int, default=4,
                    help=_("attribution maps to draw (0: none; default 4)"))

    ex = sub.add_parser("export", help=_("export to ONNX, a torch.export program (pt2) or "
                                       "TorchScript (legacy), with the preprocessing contract"))
    ex.add_argument("run_dir", metavar="RUN", help=_(RUN_HELP))
    ex.add_argument("--runs-dir", default=None, help=_(RUNS_DIR_HELP))
    ex.add_argument("--format", required=True, choices=("onnx", "pt2", "torchscript"))
    ex.add_argument("--out", required=True, help=_("file to write; the contract goes to OUT.json"))
    ex.add_argument("--checkpoint", choices=("best", "last"), default="best")

    sv = sub.add_parser("serve", help=_("serve a run over HTTP: /predict, /feedback, /metrics, /health"))
    sv.add_argument("run_dir", metavar="RUN", help=_(RUN_HELP))
    sv.add_argument("--runs-dir", default=None, help=_(RUNS_DIR_HELP))
    sv.add_argument("--host", default="127.0.0.1", help=_("default 127.0.0.1 (this machine only)"))
    sv.add_argument("--port", type=int, default=8000)
    sv.add_argument("--format", dest="fmt", choices=("eager", "onnx", "pt2"), default="eager")
    sv.add_argument("--checkpoint", choices=("best", "last"), default="best")
    sv.add_argument("--workers", type=int, default=1, help=_("server processes (each batches its own)"))
    sv.add_argument("--max-batch", type=int, default=64, help=_("images per model call (1: no batching)"))
    sv.add_argument("--batch-wait-ms", type=float, default=2.0,
                    help=_("how long the first image of a batch waits for company"))

    r = sub.add_parser("runs", help=_("list the runs in the runs folder"))
    r.add_argument("--runs-dir", default=None)

    er = sub.add_parser("export-runs", help=_("export runs to MLflow: params, per-step metrics, tags, "
                        "artefacts; completed runs' best checkpoints registered as models"))
    er.add_argument("runs", nargs="*", metavar="RUN", help=_("run ids (default: every run of the folder)"))
    er.add_argument("--to", choices=("mlflow",), required=True)
    er.add_argument("--tracking-uri", default=None,
                    help=_("default: $MLFLOW_TRACKING_URI, else sqlite:///<runs folder>/mlflow.db"))
    er.add_argument("--experiment", default="resnet-workbench")
    er.add_argument("--no-register", dest="register", action="store_false",
                    help=_("log the runs only; register no model versions"))
    er.add_argument("--runs-dir", default=None)

    ir = sub.add_parser("import-runs", help=_("import runs from a TensorBoard logdir or an MLflow "
                        "store, read-only, to compare on the Runs page"))
    ir.add_argument("source", help=_("a TensorBoard logdir, or an MLflow tracking URI (sqlite:///mlflow.db, "
                    "file:///.../mlruns, http://host:5000)"))
    ir.add_argument("--experiment", default=None, help=_("MLflow: only this experiment's runs"))
    ir.add_argument("--runs-dir", default=None)

    d = sub.add_parser("datasets", help=_("list the datasets: here or not, and where found"))
    d.add_argument("--data-root", default=None,
                   help=_("the data folder to look in first (default: $RESNET_WORKBENCH_DATA or ./data)"))

    cs = sub.add_parser("class-server", help=_("serve a class from several app processes behind HAProxy "
                                               "(one runs folder; Ctrl-C stops them all)"))
    cs.add_argument("--replicas", type=int, default=2, help=_("app processes (default 2)"))
    cs.add_argument("--port", type=int, default=8501, help=_("the class's port (default 8501)"))
    cs.add_argument("--host", default="127.0.0.1",
                    help=_("the address students use (default 127.0.0.1; 0.0.0.0: every address)"))
    cs.add_argument("--max-sessions", type=int, default=0,
                    help=_("browser sessions each process takes; past it a student is asked to wait (0: no limit)"))
    cs.add_argument("--runs-dir", default=None)

    u = sub.add_parser("uploads", help=_("list the dashboard's unpacked uploads, or remove old ones"))
    u.add_argument("--data-dir", default=None,
                   help=_("the dashboard's data folder (default: $RESNET_WORKBENCH_DATA or ./data)"))
    u.add_argument("--remove-older-than", type=float, default=None, metavar="DAYS")
    return p


# TrainConfig fields whose flag is not --<field-name> (and, for booleans on by default, not
# --no-<field-name>); the flags are a contract (docs/cli.md).
FLAG_NAMES = {"residual": "--plain", "num_threads": "--threads", "num_workers": "--workers",
              "run_name": "--name"}


def add_train_flags(t: Parser) -> None:
    """TrainConfig's flags (train, lr-find), made from its fields: the type, the choices
    (``CHOICES``), the default and the help (the field's comment, ``field_docs``), in groups by
    the source's sections. Unset flags stay out of the namespace: TrainConfig (or the preset)
    holds the defaults."""
    s = argparse.SUPPRESS
    t.add_argument("--preset", choices=(*PRESETS, CUSTOM), default=s,
                   help=_("a measured recipe (see README); other flags override its settings. "
                          "Without it a dataset with a default recipe (the Train page's) takes it: "
                          "fashion-mnist, fashion-mnist-fast; custom: none"))
    groups: dict[str, argparse._ArgumentGroup] = {}
    docs = field_docs()
    for f in dataclasses.fields(TrainConfig):
        doc = docs[f.name]
        group = groups.get(doc.section) or groups.setdefault(doc.section, t.add_argument_group(_(doc.section)))
        if f.type == "bool" and f.name not in FLAG_NAMES:
            # Both ways: a recipe may set a switch the other way from its default (the fast
            # recipe turns augment off), and the user then turns it back (--augment).
            name = f.name.replace("_", "-")
            opposite = f"--{name}" if f.default else f"--no-{name}"
            group.add_argument(opposite, dest=f.name, default=s, action="store_true" if f.default else "store_false",
                               help=_("the opposite of {flag}, for a --preset that sets it the other way").format(
                                   flag=_flag(f)[0]))
        group.add_argument(*_flag(f), dest=f.name, default=s, **_flag_kind(f, doc.comment))


def _flag(f: dataclasses.Field) -> tuple[str]:
    if f.name in FLAG_NAMES:
        return (FLAG_NAMES[f.name],)
    name = f.name.replace("_", "-")
    return (f"--no-{name}" if f.default is True else f"--{name}",)


def _flag_kind(f: dataclasses.Field, comment: str) -> dict:
    """argparse's keywords for a field: a switch for a boolean, else a type (or choices) and
    a value's name; the help is the field's comment and its default."""
    comment = _(comment).replace("%", "%%")  # argparse formats help with %
    if f.type == "bool":
        return {"action": "store_false" if f.default else "store_true",
                "help": _("turns off (on by default): {comment}").format(comment=comment) if f.default else comment}
    help_text = comment if f.default is None else _("{comment} (default: {default})").format(
        comment=comment, default=f.default)
    if f.name in CHOICES:
        return {"choices": CHOICES[f.name], "help": help_text}
    kind = int if f.type.startswith("int") else float if f.type.startswith("float") else str
    return {"type": kind, "metavar": f.name.upper().replace("_", "-"), "help": help_text}


RUN_HELP = N_("the run's id (as `runs` prints it) or its folder")
RUNS_DIR_HELP = N_("where a run id is looked up (default: $RESNET_WORKBENCH_RUNS, else ./runs)")
RUN_COMMANDS = ("evaluate", "predict", "explain", "report", "export", "serve")  # the ones that take RUN


def resolve_run(text: str, runs_dir: str | None) -> Path:
    """A run's folder from what a person typed: a folder that holds a run, else a run id in
    the runs folder; a one-line RunError naming the missing run (not a missing checkpoint)."""
    from resnet_core.runs.folder import CONFIG_FILE
    from resnet_core.runs.store import RunStore

    folder = Path(text)
    if (folder / CONFIG_FILE).is_file():
        return folder
    if folder.is_dir() or len(folder.parts) > 1:
        raise RunError(_("{text} is not a run folder (no {CONFIG_FILE} in it)").format(
                           text=text, CONFIG_FILE=CONFIG_FILE))
    return RunStore(runs_dir).get(text).dir


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    # The language for this command only (a test or a notebook calling main() keeps its own);
    # set before the parser, whose help is written in it.
    with speaking(choose_language(argv)):
        return _main(argv)


def _main(argv: list[str]) -> int:
    argparse._, argparse.ngettext = _, ngettext  # argparse's words from our catalog (ARGPARSE_WORDS)
    args = build_parser().parse_args(argv)
    vars(args).pop("lang", None)  # chosen above; not a command's setting
    try:
        if args.command in RUN_COMMANDS:
            args.run_dir = resolve_run(args.run_dir, args.runs_dir)
        return COMMANDS[args.command](args)
    except TrainingFailed as e:
        print(_("error: {message}").format(message=e), file=sys.stderr)
        return EXIT_FAILED
    except WorkbenchError as e:
        print(_("error: {message}").format(message=e), file=sys.stderr)
        return EXIT_USAGE


def cmd_train(args: argparse.Namespace) -> int:
    from resnet_core.analysis.planning import PrintEstimate
    from resnet_core.training.evaluation import tta_note
    from resnet_core.training.loop import resume, train  # torch import is slow; keep --help fast

    given = vars(args).copy()
    given.pop("command")
    quiet = given.pop("quiet", False)
    executor = given.pop("executor", None)
    stop = threading.Event()
    _stop_on_signals(stop)
    if executor is not None:
        if "resume" in given:
            raise WorkbenchError(_("--executor trains new runs; resume a run on an executor "
                                   "from the dashboard's Runs page (or drop --executor)"))
        run = _train_on(executor, config_from(given), quiet=quiet, stop=stop)
    elif "resume" in given:
        extra = sorted(set(given) - RESUME_FLAGS)
        if extra:
            flags = ", ".join("--" + k.replace("_", "-") for k in extra)
            raise WorkbenchError(_("with --resume only --epochs, --max-steps, --device and "
                                   "--data-root apply (the rest is the run's saved config); got "
                                   "{flags}").format(flags=flags))
        run = resume(given.pop("resume"), progress=not quiet, stop=stop, **given)
    else:
        run = train(config_from(given), progress=not quiet, stop=stop,
                    callbacks=[] if quiet else [PrintEstimate(stop_hint=STOP_HINT)])
    if os.environ.get("RANK", "0") != "0":
        return 0  # under torchrun, rank 0 reports for the group
    status = run.status
    init = run.config.get("init")
    if init:
        print(InitReport(**init).summary())
    test = run.summary("test")
    if test:
        print(f"test accuracy {test['accuracy']:.4f}{tta_note(test)}, macro F1 {test['macro_f1']:.4f} "
              f"(best val accuracy {status.get('best_val_accuracy', 0):.4f}, "
              f"{status.get('epoch')} epochs, {status.get('step')} steps)")
    if status.get("state") == "stopped":
        print(f"stopped at step {status.get('step')}; continue with: "
              f"python -m resnet_core train --resume {run.dir}", file=sys.stderr)
    print(run.dir)
    return EXIT_STOPPED if status.get("state") == "stopped" else 0


def _train_on(executor: str, config, *, quiet: bool, stop: threading.Event):
    """Queue ``config`` on a job manager with ``executor`` and follow it to its end (a progress
    bar over its steps, read from status.json); Ctrl-C stops it with a checkpoint."""
    from tqdm.auto import tqdm

    from resnet_core.jobs.manager import JobManager, hand_off_to_owner
    from resnet_core.runs.folder import read_status
    from resnet_core.runs.store import default_runs_dir

    root = Path(config.runs_dir) if config.runs_dir else default_runs_dir()
    jobs = JobManager(root, warm_worker=False, executor=executor)
    if jobs.read_only is not None:  # a server runs this folder's queue: it takes the run (issue 40)
        jobs.close()
        jobs = hand_off_to_owner(root)
    try:
        run_id = jobs.submit(config, limited=False)  # the operator's run: no class's cap
        where = jobs.executor.describe() if jobs.owns_queue else \
            _("the queue of the server that runs {root} (its executor trains it)").format(root=root)
        print(f"queued {run_id} on {where}", file=sys.stderr)
        with tqdm(total=0, unit="step", disable=quiet, desc=run_id) as bar:
            stopping = False
            while not finished(jobs, run_id):
                if stop.is_set() and not stopping:
                    jobs.stop(run_id, "stopped from the command line")
                    stopping = True
                status = read_status(jobs.store.path(run_id))
                bar.total = status.get("total_steps") or bar.total
                bar.n = status.get("step") or 0
                bar.refresh()
        return jobs.store.get(run_id)
    finally:
        jobs.close()


def finished(jobs, run_id: str) -> bool:
    """Whether ``run_id`` ended, within about half a second: this process's queue says so, or
    (a run handed to a server's queue) its status.json does."""
    from resnet_core.runs.folder import ACTIVE_STATES, read_status

    if jobs.owns_queue:
        return jobs.wait(run_id, 0.5)
    time.sleep(0.5)
    return read_status(jobs.store.path(run_id)).get("state") not in ACTIVE_STATES


STOP_HINT = "Ctrl-C stops it with a checkpoint, --resume RUN_DIR goes on"


CUSTOM = "custom"  # --preset custom: no recipe, TrainConfig's own defaults (the Train page's word)


def config_from(given: dict) -> TrainConfig:
    """The TrainConfig of train's and lr-find's flags: a preset's settings under the flags given.
    Without --preset, the dataset's default recipe, as the app's Train page starts from it
    (``DATASET_PRESET``: fashion-mnist takes fashion-mnist-fast; issue 41)."""
    preset = given.pop("preset", DATASET_PRESET.get(given.get("dataset", "")))
    return TrainConfig.from_preset(preset, **given) if preset not in (None, CUSTOM) else TrainConfig(**given)


def _stop_on_signals(stop: threading.Event) -> None:
    """First Ctrl-C / SIGTERM: checkpoint and stop after this step. A second one: abort now."""
    def handler(signum, frame):
        if stop.is_set():
            raise KeyboardInterrupt
        stop.set()
        print("\nstopping after this step (press Ctrl-C again to abort)...", file=sys.stderr)

    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGINT, handler)
        signal.signal(signal.SIGTERM, handler)


def cmd_lr_find(args: argparse.Namespace) -> int:
    from resnet_core.training.lr_find import lr_find, save

    given = vars(args).copy()
    for key in ("command", "start_lr", "end_lr", "steps", "out", "quiet"):
        given.pop(key)
    result = lr_find(config_from(given), start_lr=args.start_lr, end_lr=args.end_lr, num_steps=args.steps,
                     progress=not args.quiet)
    png, csv_path = save(result, args.out)
    ended = "stopped: the loss diverged" if result.diverged else f"up to lr {result.lrs[-1]:.3g}"
    print(f"{len(result.lrs)} steps from lr {result.lrs[0]:.3g} ({ended}); curve {png}, data {csv_path}")
    print("suggested learning rate (fastai's valley rule):")
    print(f"{result.suggestion:.3g}")
    return 0


def cmd_evaluate(args: argparse.Namespace) -> int:
    from resnet_core.runs.folder import Run
    from resnet_core.training.evaluation import evaluate_run, tta_note

    summary = evaluate_run(args.run_dir, split=args.split, checkpoint=args.checkpoint,
                           device=args.device, data_root=args.data_root)
    run = Run(Path(args.run_dir))
    print(run.per_class(args.split).to_string(index=False, float_format="%.4f"))
    print(f"\n{args.split} ({args.checkpoint}.pt, {summary['num_samples']} images): "
          f"accuracy {summary['accuracy']:.4f}{tta_note(summary)}, macro F1 {summary['macro_f1']:.4f}, "
          f"weighted F1 {summary['weighted_f1']:.4f}")
    print(run.eval_dir(args.split))
    return 0


def cmd_predict(args: argparse.Namespace) -> int:
    from resnet_core.serving.predictor import predict_images

    if args.top_k < 1:
        raise WorkbenchError(_("--top-k must be at least 1, got {top_k}").format(top_k=args.top_k))
    results = predict_images(args.run_dir, args.images, checkpoint=args.checkpoint,
                             top_k=args.top_k)
    for path, top in zip(args.images, results, strict=True):
        ranked = ", ".join(f"{name} {p:.3f}" for name, p in top)
        print(f"{path}: {top[0][0]}  ({ranked})")
    return 0


def cmd_explain(args: argparse.Namespace) -> int:
    from resnet_core.analysis.attribution import METHOD_TITLES, explain_run_image, render_panel

    if not str(args.out).lower().endswith(".png"):
        raise WorkbenchError(_("--out must name a .png file, got {out}").format(out=args.out))
    result = explain_run_image(args.run_dir, args.method, args.index, split=args.split,
                               checkpoint=args.checkpoint, target=args.target, stage=args.stage,
                               baseline=args.baseline)
    attribution = result["attribution"]
    method = _(METHOD_TITLES[args.method])
    if "stage" in attribution.extra:
        method = _("{method} at {stage}").format(method=method, stage=attribution.extra["stage"])
    caption = _("{method}: {split} #{index}, true {true}, predicted {predicted} ({confidence}), explaining "
                "'{target}'").format(method=method, split=args.split, index=args.index, true=result["true"],
                                     predicted=result["predicted"], confidence=f"{result['confidence']:.2f}",
                                     target=result["target"])
    try:
        render_panel(result["image"], attribution, caption).save(args.out)
    except OSError as e:
        raise WorkbenchError(_("could not write {out}: {value}").format(
                                 out=args.out, value=e.strerror or e)) from e
    print(caption)
    print(args.out)
    return 0


def cmd_report(args: argparse.Namespace) -> int:
    from resnet_core.analysis.report import write_report

    if not 0 <= args.attributions <= 10:
        raise WorkbenchError(_("--attributions must be from 0 to 10, got {value}").format(
                                 value=args.attributions))
    print(write_report(args.run_dir, args.out, attributions=args.attributions))
    return 0


def cmd_class_server(args: argparse.Namespace) -> int:
    import signal
    import threading

    from resnet_core.classroom.class_server import ClassServer
    from resnet_core.settings import settings

    if args.max_sessions < 0:
        raise WorkbenchError(_("--max-sessions must be 0 or more, got {value}").format(value=args.max_sessions))
    server = ClassServer(Path(args.runs_dir) if args.runs_dir else settings().runs_dir, replicas=args.replicas,
                         port=args.port, host=args.host, teacher_token=settings().teacher_token,
                         max_sessions=args.max_sessions)
    leave = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_args: leave.set())
    server.start()
    try:
        print(_("{n} app processes behind HAProxy on {url}").format(n=args.replicas, url=server.url))
        print(_("Students open: {url}/").format(url=server.url))
        print(_("Teacher link (keep it private): {url}/?token={token}").format(url=server.url,
                                                                                token=server.teacher_token), flush=True)
        while not leave.wait(1.0):
            if server.haproxy.poll() is not None:
                print(_("error: HAProxy ended; stopping the class server"), file=sys.stderr)
                return EXIT_FAILED
        return 0
    finally:
        server.stop()


def cmd_export(args: argparse.Namespace) -> int:
    from resnet_core.serving.export import export_run

    meta = export_run(args.run_dir, args.format, args.out, checkpoint=args.checkpoint)
    print(f"{args.format} model: {meta['channels']}x{meta['image_size']}x{meta['image_size']} input, "
          f"{len(meta['class_names'])} classes; contract in {args.out}.json")
    print(args.out)
    return 0


def cmd_serve(args: argparse.Namespace) -> int:
    from resnet_core.serving.serve import serve

    serve(args.run_dir, host=args.host, port=args.port, fmt=args.fmt, checkpoint=args.checkpoint,
          workers=args.workers, max_batch=args.max_batch, batch_wait_ms=args.batch_wait_ms)
    return 0


def cmd_runs(args: argparse.Namespace) -> int:
    from resnet_core.runs.store import RunStore

    store = RunStore(args.runs_dir)
    table = store.table()
    if table.empty:
        print(f"no runs in {store.root}")
        return 0
    # The choices that tell runs apart, where they do (one value for every run tells nothing).
    alike = [c for c in ("name", "residual", "norm", "activation")
             if table[c].nunique(dropna=False) <= 1]
    table = table.drop(columns=["step", *alike])
    print(table.to_string(index=False, float_format="%.4f", na_rep="-"))
    return 0


def cmd_export_runs(args: argparse.Namespace) -> int:
    from tqdm.auto import tqdm

    from resnet_core.interop.mlflow_export import export_runs
    from resnet_core.runs.store import RunStore

    store = RunStore(args.runs_dir)
    ids = args.runs or [r.id for r in store.runs() if not r.is_imported]
    if not ids:
        print(f"no runs in {store.root}")
        return 0
    with tqdm(total=len(ids), unit="run", desc="export to MLflow", file=sys.stderr) as bar:
        report = export_runs(store.root, ids, tracking_uri=args.tracking_uri,
                             experiment=args.experiment, register=args.register,
                             on_run=lambda done: bar.update(1))
    print("\n".join(report.lines()))
    print(f"tracking store: {report.tracking_uri} (see it: {report.ui_command})")
    return 0


def cmd_import_runs(args: argparse.Namespace) -> int:
    from tqdm.auto import tqdm

    from resnet_core.interop.importer import import_runs
    from resnet_core.runs.store import RunStore

    store = RunStore(args.runs_dir)
    with tqdm(unit="run", desc="import", file=sys.stderr) as bar:
        report = import_runs(args.source, store.root, experiment=args.experiment,
                             on_run=lambda run_id: bar.update(1))
    print("\n".join(report.lines()))
    print(f"{len(report.imported)} run(s) from {report.kind} in {store.root}, marked imported "
          f"(read-only) on the Runs page")
    return 0


def cmd_datasets(args: argparse.Namespace) -> int:
    """One line per dataset: its name, whether it is here and where it was found (or how to
    get it), in the registry's search order."""
    from resnet_core.data.folder import DataFolder
    from resnet_core.data.registry import DATASETS, availability

    root = Path(args.data_root) if args.data_root else DataFolder.from_settings().root
    width = max(map(len, DATASETS))
    for name, spec in DATASETS.items():
        print(f"{name:<{width}}  {availability(spec, root)}")
    return 0


def cmd_uploads(args: argparse.Namespace) -> int:
    from resnet_core.data.folder import DataFolder, uploads_dir
    from resnet_core.data.uploads import list_uploads, remove_uploads

    data_dir = Path(args.data_dir) if args.data_dir else DataFolder.from_settings().root
    if args.remove_older_than is not None:
        if args.remove_older_than < 0:
            raise WorkbenchError(_("--remove-older-than must be >= 0 days, got "
                                   "{remove_older_than}").format(
                                     remove_older_than=f"{args.remove_older_than:g}"))
        for folder in remove_uploads(data_dir, args.remove_older_than):
            print(f"removed {folder}")
    uploads = list_uploads(data_dir)
    for folder, size, age in uploads:
        print(f"{size / 2**20:10,.1f} MiB  {age:6.1f} days  {folder}")
    if not uploads:
        print(f"no uploads in {uploads_dir(data_dir)}")
    return 0


def cmd_sweep(args: argparse.Namespace) -> int:
    """Run a sweep in the foreground (a progress bar; Ctrl-C stops it, resumable), list the
    sweeps, show one's trials, or resume one. The best run's folder is the last line."""
    from resnet_core.settings import EXECUTOR, settings
    from resnet_core.sweeps.study import get_sweep, list_sweeps
    from resnet_core.workbench import sweep

    given = vars(args).copy()
    sweep_keys = ("command", "action", "sweep_id", "param", "trials", "parallel", "pruner",
                  "sampler", "sweep_seed", "sweep_name", "quiet")
    opts = {k: given.pop(k) for k in sweep_keys}
    if given.pop("executor", None):  # the sweep's job manager reads it from the settings
        os.environ[EXECUTOR] = args.executor
    root = Path(given.get("runs_dir") or settings().runs_dir)
    if opts["action"] == "status":
        if opts["sweep_id"] is None:
            for found in list_sweeps(root):
                info = found.info
                best = (info.get("best") or {}).get("value")
                print(f"{found.id}  {info.get('state')}  {info['config']['trials']} trials"
                      + (f"  best {best:.4f}" if best is not None else ""))
            if not list_sweeps(root):
                print(f"no sweeps in {root}")
            return 0
        from resnet_core.workbench import SweepResult

        found = get_sweep(root, opts["sweep_id"])
        table = SweepResult(found, False, None, root).table()
        print(f"{found.id}: {found.state}")
        print(table.to_string(index=False, float_format="%.4g", na_rep="-") if len(table) else "no trials yet")
        return 0
    if opts["action"] == "resume":
        if opts["sweep_id"] is None:
            raise WorkbenchError(_("sweep resume needs the sweep's ID (see: sweep status)"))
        result = sweep(resume=opts["sweep_id"], runs_dir=root, progress=not opts["quiet"], live=False)
    else:
        if opts["sweep_id"] is not None:
            raise WorkbenchError(_("unexpected {sweep_id}: a new sweep takes flags only (sweep "
                                   "status [ID] and sweep resume ID take an ID)").format(
                                     sweep_id=f"{opts['sweep_id']!r}"))
        base = config_from(given)
        result = sweep(opts["param"], trials=opts["trials"], parallel=opts["parallel"],
                       pruner=opts["pruner"], sampler=opts["sampler"], seed=opts["sweep_seed"],
                       name=opts["sweep_name"], base=base, runs_dir=root,
                       progress=not opts["quiet"], live=False)
    table = result.table()
    counts = table["state"].value_counts().to_dict() if len(table) else {}
    print(f"sweep {result.sweep.id}: " + ", ".join(f"{n} {s}" for s, n in sorted(counts.items())))
    if not result.finished:
        print(f"stopped; continue with: python -m resnet_core sweep resume {result.sweep.id}",
              file=sys.stderr)
    if result.best is None:
        print("no trial completed", file=sys.stderr)
        return EXIT_STOPPED if not result.finished else EXIT_FAILED
    params = ", ".join(f"{k}={v:.4g}" if isinstance(v, float) else f"{k}={v}"
                       for k, v in result.best["params"].items())
    print(f"best: trial {result.best['trial']}, validation accuracy {result.best['value']:.4f} ({params})")
    print(result.best_run.dir)
    return 0 if result.finished else EXIT_STOPPED


COMMANDS = {"train": cmd_train, "lr-find": cmd_lr_find, "sweep": cmd_sweep, "evaluate": cmd_evaluate, "explain": cmd_explain, "report": cmd_report, "export": cmd_export,
            "predict": cmd_predict, "serve": cmd_serve, "runs": cmd_runs, "datasets": cmd_datasets,
            "export-runs": cmd_export_runs, "import-runs": cmd_import_runs,
            "uploads": cmd_uploads, "class-server": cmd_class_server}
