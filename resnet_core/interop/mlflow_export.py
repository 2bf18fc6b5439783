"""Runs to MLflow: ``python -m resnet_core export-runs --to mlflow [--tracking-uri URI] [RUN...]``.

Each workbench run becomes one MLflow run (found again by its tag ``resnet_workbench.run_id``)
with the run's config as params, every metrics.jsonl value as a metric at its step (named as
in TensorBoard: ``val/accuracy``), tags (dataset, arch, owner, state, run name) and its files
as artefacts (config.json, metrics.jsonl, eval/). A completed run's best checkpoint is
exported to ONNX with its preprocessing contract and registered as a version of the model
``resnet-workbench-<dataset>``: an MLflow pyfunc (interop/mlflow_pyfunc.py) that takes image
files and applies the contract itself. The alias ``champion`` points at the version with the
best test accuracy.

Idempotent: a run whose state and metric lines have not changed since its last export is
skipped; one that trained on sends only the values MLflow does not have at their step yet; a
model version is registered once per run.

The default store is SQLite, MLflow 3's own default: ``sqlite:///<runs folder>/mlflow.db``
(or ``MLFLOW_TRACKING_URI`` when set), with artefacts beside it in ``mlartifacts/``.
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import tempfile
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from importlib.metadata import version
from pathlib import Path

from resnet_core.errors import ConfigError, WorkbenchError
from resnet_core.i18n import _
from resnet_core.runs.folder import EVAL_FILES, Run
from resnet_core.runs.jsonl import read_jsonl
from resnet_core.runs.store import RunStore
from resnet_core.training.tensorboard import scalars_of

EXPERIMENT = "resnet-workbench"
CHAMPION = "champion"  # the alias of the best version (by test accuracy) of each model
TAG = "resnet_workbench"  # prefix of the workbench's own tags
MLFLOW_STATUS = {"completed": "FINISHED", "failed": "FAILED", "stopped": "KILLED",
                 "pruned": "KILLED", "interrupted": "KILLED"}  # queued, running: RUNNING
BATCH = 1000  # MLflow's limit of metrics in one log_batch


@dataclass
class Exported:
    """What one run's export did."""

    run_id: str
    mlflow_run_id: str | None = None
    metrics_added: int = 0
    model_version: str | None = None
    model: str | None = None  # the registered model's name, with model_version
    skipped: str = ""  # why nothing was sent ("up to date", "imported", ...)


@dataclass
class ExportReport:
    tracking_uri: str
    experiment: str
    runs: list[Exported] = field(default_factory=list)
    champions: dict[str, str] = field(default_factory=dict)  # model name -> version

    def lines(self) -> list[str]:
        """What the CLI prints: one line per run, then the champions."""
        out = []
        for r in self.runs:
            if r.skipped:
                out.append(f"{r.run_id}: skipped ({r.skipped})")
                continue
            model = f", model version {r.model_version}" if r.model_version else ""
            out.append(f"{r.run_id}: MLflow run {r.mlflow_run_id}, {r.metrics_added} metric values{model}")
        out += [f"{name}@{CHAMPION} = version {v}" for name, v in self.champions.items()]
        return out


    @property
    def ui_command(self) -> str:
        """A command that shows the store in MLflow's UI here: the installed mlflow-skinny has
        no UI server (``mlflow ui`` failed: No module named 'flask'), so it installs the full
        package of the same version first."""
        from importlib.metadata import version

        return (f"pip install mlflow=={version('mlflow-skinny')} && "
                f"mlflow ui --backend-store-uri {self.tracking_uri}")


def default_tracking_uri(runs_dir: str | Path) -> str:
    """``MLFLOW_TRACKING_URI`` (MLflow's own variable) if set, else SQLite in the runs folder."""
    return os.environ.get("MLFLOW_TRACKING_URI") or f"sqlite:///{Path(runs_dir).resolve() / 'mlflow.db'}"


def app_tracking_uri(uri: str | None, runs_dir: str | Path) -> str:
    """The tracking URI the app's page may write to: the default (the operator's
    ``MLFLOW_TRACKING_URI`` as it is, else SQLite in the runs folder) or a SQLite file inside
    the runs folder; else a one-line ConfigError. (``sqlite:////etc/evil.db`` from the page
    once made files wherever the server's user could write.)"""
    default = default_tracking_uri(runs_dir)
    uri = (uri or "").strip() or default
    if uri == default:
        return uri
    root = Path(runs_dir).resolve()
    accepted = (f"from the app, MLflow writes to {default} or another SQLite file in the runs "
                f"folder (sqlite:///{root}/NAME.db)")
    if not uri.startswith("sqlite:///"):
        raise ConfigError(_("{accepted}; got {value}").format(
                              accepted=accepted, value=f"{uri[:200]!r}"))
    path = Path(uri.removeprefix("sqlite:///").split("?", 1)[0]).resolve()
    if path.parent != root or path.suffix != ".db":
        raise ConfigError(_("{accepted}; got {value}").format(
                              accepted=accepted, value=f"{uri[:200]!r}"))
    return f"sqlite:///{path}"


def model_name(dataset: str) -> str:
    return f"resnet-workbench-{dataset}".replace("_", "-")


def export_runs(runs_dir: str | Path, run_ids: list[str] | None = None, *,
                tracking_uri: str | None = None, experiment: str = EXPERIMENT,
                register: bool = True, on_run: Callable[[Exported], None] | None = None) -> ExportReport:
    """Export these runs (default: every run of the folder that is not itself imported)."""
    client, uri = _client(runs_dir, tracking_uri)
    store = RunStore(runs_dir)
    runs = [store.get(r) for r in run_ids] if run_ids else [r for r in store.runs() if not r.is_imported]
    experiment_id = _experiment(client, uri, experiment)
    report = ExportReport(uri, experiment)
    touched: set[str] = set()
    for run in runs:
        with _mlflow_warnings_hushed():
            done = _export_run(client, experiment_id, run, register=register)
        if done.model:
            touched.add(done.model)
        report.runs.append(done)
        if on_run is not None:
            on_run(done)
    for name in sorted(touched):
        report.champions[name] = _crown_champion(client, name)
    return report


def mlflow_client(uri: str):
    """MLflow's client for a store. The workbench works offline and sends nothing home (the
    app's Streamlit usage statistics are off too), so MLflow's usage telemetry stays off
    unless the user set MLFLOW_DISABLE_TELEMETRY themselves."""
    os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")
    try:
        from mlflow import MlflowClient
    except ImportError as e:  # pragma: no cover - mlflow-skinny is in requirements.txt
        raise WorkbenchError(_("MLflow is not installed; pip install -r requirements.txt")) from e
    quiet_mlflow()  # after the import: MLflow sets up its logger when imported
    return MlflowClient(tracking_uri=uri, registry_uri=uri)


def quiet_mlflow() -> None:
    """MLflow's own chatter off between the export's lines (its download bars, INFO logs and
    warnings in raw colour codes, issue 38 item 17): its errors still surface, as ours."""
    import logging
    import warnings

    os.environ.setdefault("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false")
    logger = logging.getLogger("mlflow")
    if logger.level in (logging.NOTSET, logging.INFO, logging.DEBUG):
        logger.setLevel(logging.ERROR)
    warnings.filterwarnings("ignore", module=r"mlflow(\.|$)")


@contextlib.contextmanager
def _mlflow_warnings_hushed():
    """MLflow's own warnings not shown while it works for us: some of its functions turn their
    UserWarnings back on inside (``filter_user_warnings_once``), past any filter of ours, so
    the line that shows a warning is what leaves MLflow's out."""
    shown = warnings.showwarning

    def show(message, category, filename, lineno, file=None, line=None):
        if f"{os.sep}mlflow{os.sep}" not in str(filename):
            shown(message, category, filename, lineno, file, line)

    warnings.showwarning = show
    try:
        yield
    finally:
        warnings.showwarning = shown


def _client(runs_dir, tracking_uri: str | None):
    uri = tracking_uri or default_tracking_uri(runs_dir)
    if uri.startswith("sqlite:///"):
        db = Path(uri.removeprefix("sqlite:///"))
        if not db.parent.is_dir():
            raise ConfigError(_("the folder of the tracking store {parent} does not exist").format(
                                  parent=db.parent))
    return mlflow_client(uri), uri


def _experiment(client, uri: str, name: str) -> str:
    found = client.get_experiment_by_name(name)
    if found is not None:
        return found.experiment_id
    artifacts = None
    if uri.startswith("sqlite:///"):  # beside the database, not in whatever folder we run from
        artifacts = (Path(uri.removeprefix("sqlite:///")).parent / "mlartifacts").resolve().as_uri()
    return client.create_experiment(name, artifact_location=artifacts)


def _export_run(client, experiment_id: str, run: Run, *, register: bool) -> Exported:
    if run.is_imported:
        return Exported(run.id, skipped="imported: it lives where it came from")
    status, config, lines = run.status, run.config, read_jsonl(run.metrics_path)
    state = status.get("state", "unknown")
    fingerprint = f"{state}:{len(lines)}:{run.has_checkpoint('best')}:{_eval_digest(run)}"
    found = client.search_runs([experiment_id], f"tags.`{TAG}.run_id` = '{run.id}'", max_results=1)
    found = found[0] if found else None
    if found is not None and found.data.tags.get(f"{TAG}.fingerprint") == fingerprint:
        return Exported(run.id, found.info.run_id, skipped="up to date")
    if found is None:
        found = client.create_run(experiment_id, run_name=run.id, start_time=_ms(status.get("created_at")))
    rid = found.info.run_id
    # What MLflow already has, by (name, step): a resumed run rewrites some of its lines.
    sent = {(key, m.step) for key in found.data.metrics for m in client.get_metric_history(rid, key)}
    done = Exported(run.id, rid, _log_metrics(client, rid, lines, sent, _ms(status.get("created_at"))))
    _log_params(client, rid, config, found.data.params)
    _log_tags(client, rid, run, config, state)
    _log_files(client, rid, run)
    if register and state == "completed" and run.has_checkpoint("best"):
        done.model = model_name(config.get("dataset", ""))
        done.model_version = _register(client, run, config, rid, done.model)
    if state in MLFLOW_STATUS:
        client.set_terminated(rid, MLFLOW_STATUS[state], end_time=_ms(status.get("ended_at")))
    # Last: a run is "up to date" only once everything above went through.
    client.set_tag(rid, f"{TAG}.fingerprint", fingerprint)
    return done


def _eval_digest(run: Run) -> str:
    """A short digest of the run's evaluation files: an evaluation written again with other
    figures is news to MLflow (it was "up to date" after a re-evaluation changed them)."""
    import hashlib

    digest = hashlib.sha256()
    for split in ("test", "val"):
        for name in EVAL_FILES:
            path = run.eval_file(split, name)
            if path.is_file():
                digest.update(f"{split}/{name}:".encode() + path.read_bytes())
    return digest.hexdigest()[:16]


def _log_tags(client, rid: str, run: Run, config: dict, state: str) -> None:
    tags = {"dataset": config.get("dataset"), "arch": config.get("arch"), "state": state,
            "owner": run.owner.name, "run_name": config.get("run_name"),
            f"{TAG}.run_id": run.id, f"{TAG}.run_dir": str(run.dir)}
    for key, value in tags.items():
        if value is not None:
            client.set_tag(rid, key, str(value))


def _log_files(client, rid: str, run: Run) -> None:
    """config.json, metrics.jsonl and eval/ (a second export overwrites them in place)."""
    for path in (run.config_path, run.metrics_path):
        if path.exists():
            client.log_artifact(rid, str(path))
    for split in ("test", "val"):
        if run.eval_dir(split).is_dir():
            client.log_artifacts(rid, str(run.eval_dir(split)), f"eval/{split}")


def _log_metrics(client, rid: str, lines: list[dict], sent: set[tuple[str, int]],
                 start_ms: int | None) -> int:
    """Every value of the lines that MLflow does not have yet at its step."""
    from mlflow.entities import Metric

    base = start_ms or int(time.time() * 1000)
    metrics, elapsed = [], 0.0
    for line in lines:  # a value's time: the run's start plus the training time so far
        if line.get("split") == "train":
            elapsed += float(line.get("elapsed_s") or 0.0)
        stamp, step = base + int(1000 * elapsed), int(line.get("step", 0))
        metrics += [Metric(key, value, stamp, step) for key, value in scalars_of(line).items()
                    if (key, step) not in sent]
    for start in range(0, len(metrics), BATCH):
        client.log_batch(rid, metrics=metrics[start:start + BATCH])
    return len(metrics)


def _log_params(client, rid: str, config: dict, logged: dict) -> None:
    """The config as params; those already logged are left (MLflow params never change:
    a resumed run's new budget is in its tags and config.json)."""
    from mlflow.entities import Param

    params = []
    for key, value in sorted(config.items()):
        if key in logged or value is None:
            continue
        text = value if isinstance(value, str) else json.dumps(value)
        params.append(Param(key, text[:6000]))
    for start in range(0, len(params), 100):  # MLflow's limit of params in one batch
        client.log_batch(rid, params=params[start:start + 100])


def _register(client, run: Run, config: dict, rid: str, name: str) -> str:
    """The best checkpoint as a version of the model ``name`` (once per run)."""
    import mlflow

    import resnet_core.contract as contract_module
    from resnet_core.serving.export import export_run

    if client.search_registered_models(f"name = '{name}'"):
        for mv in client.search_model_versions(f"name = '{name}' and run_id = '{rid}'"):
            return str(mv.version)
    else:
        client.create_registered_model(name, description=(
            "ResNet Workbench runs: an image classifier with its preprocessing contract. "
            "mlflow.pyfunc.load_model(...).predict([image paths or bytes]) -> class, probability."))
    with tempfile.TemporaryDirectory() as tmp:
        onnx = Path(tmp) / "model.onnx"
        contract = export_run(run.dir, "onnx", onnx, checkpoint="best")
        mlflow.pyfunc.save_model(
            str(Path(tmp) / "model"), python_model=str(Path(__file__).with_name("mlflow_pyfunc.py")),
            artifacts={"model": str(onnx), "contract": f"{onnx}.json"},
            code_paths=[contract_module.__file__],  # the preprocessing, as the model's own code
            pip_requirements=[f"{p}=={version(p)}" for p in
                              ("mlflow-skinny", "onnxruntime", "numpy", "pandas", "pillow")],
            metadata={"preprocessing": contract})
        client.log_artifacts(rid, str(Path(tmp) / "model"), "model")
    source = f"{client.get_run(rid).info.artifact_uri}/model"
    test = run.summary("test")
    mv = client.create_model_version(name, source, run_id=rid, tags={
        f"{TAG}.run_id": run.id, "test_accuracy": str(test.get("accuracy", "")),
        "arch": str(config.get("arch")), "classes": ",".join(contract["class_names"])})
    client.set_tag(rid, f"{TAG}.model_version", str(mv.version))
    return str(mv.version)


def _crown_champion(client, name: str) -> str:
    """Point the alias at the version with the best test accuracy (ties: the newest)."""
    def accuracy(mv) -> float:
        try:
            return float(mv.tags.get("test_accuracy") or "nan")
        except ValueError:
            return float("nan")

    versions = [mv for mv in client.search_model_versions(f"name = '{name}'")
                if not math.isnan(accuracy(mv))]
    best = max(versions, key=lambda mv: (accuracy(mv), int(mv.version)))
    current = client.get_registered_model(name).aliases.get(CHAMPION)
    if str(current) != str(best.version):
        client.set_registered_model_alias(name, CHAMPION, str(best.version))
    return str(best.version)


def _ms(iso: str | None) -> int | None:
    if not iso:
        return None
    import datetime as dt

    return int(dt.datetime.fromisoformat(iso).timestamp() * 1000)
