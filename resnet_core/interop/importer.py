"""Runs made elsewhere, into the runs folder: ``python -m resnet_core import-runs SOURCE``.

SOURCE is a TensorBoard logdir (every folder below it that holds ``events.out.tfevents.*``
files is one run, named by its path under SOURCE) or an MLflow tracking store (a URI:
``sqlite:///mlflow.db``, ``file:///.../mlruns``, ``http://host:5000``; every run of every
experiment, or of ``experiment``). Each becomes a read-only run folder (runs/imported.py) whose
metric lines are the source's scalars, read back into (split, name) by ``scalars.parse_tag``,
so the Runs page overlays them with the workbench's own runs. Importing the same source again
refreshes the same folders.

An MLflow run that the workbench itself exported from *this* runs folder is not imported back
(it is already here, as itself).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from resnet_core.errors import ConfigError, first_line
from resnet_core.i18n import _
from resnet_core.interop.scalars import lines_from_points
from resnet_core.runs.imported import write_imported_run
from resnet_core.runs.store import RunStore

EVENT_FILES = "events.out.tfevents.*"
NAMES = ("run_name", "dataset", "arch")  # config fields the pages show as text
URI_SCHEMES = ("sqlite:", "file:", "http:", "https:", "databricks", "postgresql:", "mysql:")


@dataclass
class ImportReport:
    source: str
    kind: str  # "tensorboard" | "mlflow"
    imported: list[str] = field(default_factory=list)  # run ids in the runs folder
    skipped: list[str] = field(default_factory=list)  # "<name>: why"

    def lines(self) -> list[str]:
        return ([f"imported {run_id}" for run_id in self.imported]
                + [f"skipped {why}" for why in self.skipped])


def import_runs(source: str | Path, runs_dir: str | Path, *, experiment: str | None = None,
                on_run: Callable[[str], None] | None = None) -> ImportReport:
    """Import every run of a TensorBoard logdir or an MLflow store (see the module doc)."""
    text = str(source)
    if text.startswith(URI_SCHEMES):
        return import_mlflow(text, runs_dir, experiment=experiment, on_run=on_run)
    path = Path(text).expanduser()
    if not path.is_dir():
        raise ConfigError(_("{source} is neither a folder (a TensorBoard logdir) nor an MLflow "
                            "tracking URI (sqlite:///..., file:///..., http://...)").format(
                              source=source))
    if (path / "mlflow.db").is_file() and not any(path.rglob(EVENT_FILES)):
        return import_mlflow(f"sqlite:///{(path / 'mlflow.db').resolve()}", runs_dir,
                             experiment=experiment, on_run=on_run)
    return import_tensorboard(path, runs_dir, on_run=on_run)


def import_tensorboard(logdir: Path, runs_dir: str | Path, *,
                       on_run: Callable[[str], None] | None = None) -> ImportReport:
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    logdir = Path(logdir).resolve()
    report = ImportReport(str(logdir), "tensorboard")
    folders = sorted({p.parent for p in logdir.rglob(EVENT_FILES)})
    if not folders:
        raise ConfigError(_("no TensorBoard event files ({EVENT_FILES}) under {logdir}").format(
                              EVENT_FILES=EVENT_FILES, logdir=logdir))
    for folder in folders:
        name = str(folder.relative_to(logdir)) if folder != logdir else logdir.name
        try:
            acc = EventAccumulator(str(folder), size_guidance={"scalars": 0})
            acc.Reload()
            events = {tag: acc.Scalars(tag) for tag in acc.Tags().get("scalars", [])}
            lines = lines_from_points({tag: [(e.step, e.value) for e in evs] for tag, evs in events.items()})
            if not lines:
                report.skipped.append(f"{name}: no scalars")
                continue
            started = min(e.wall_time for evs in events.values() for e in evs)
            run = write_imported_run(runs_dir, kind="tensorboard", source=str(folder), name=name,
                                     key=f"tensorboard:{folder}", started=started, config={}, lines=lines)
        except Exception as e:  # one unreadable run is a line, the others still come in
            report.skipped.append(f"{name}: could not be read ({first_line(e, 200)})")
            continue
        report.imported.append(run.id)
        if on_run is not None:
            on_run(run.id)
    return report


def import_mlflow(tracking_uri: str, runs_dir: str | Path, *, experiment: str | None = None,
                  on_run: Callable[[str], None] | None = None) -> ImportReport:
    from resnet_core.interop.mlflow_export import TAG, mlflow_client

    client = mlflow_client(tracking_uri)
    report = ImportReport(tracking_uri, "mlflow")
    if experiment is not None:
        found = client.get_experiment_by_name(experiment)
        if found is None:
            raise ConfigError(_("no experiment {experiment} in {tracking_uri}").format(
                                  experiment=f"{experiment!r}", tracking_uri=tracking_uri))
        experiments = [found]
    else:
        experiments = client.search_experiments()
    here = {run.id for run in RunStore(runs_dir).runs()}
    for exp in experiments:
        for mlflow_run in _all_runs(client, exp.experiment_id):
            info, data = mlflow_run.info, mlflow_run.data
            name = info.run_name or info.run_id
            own = data.tags.get(f"{TAG}.run_id")
            if own in here:
                report.skipped.append(f"{name}: the workbench's own run {own}, already here")
                continue
            try:
                points = {key: [(m.step, m.value) for m in client.get_metric_history(info.run_id, key)]
                          for key in data.metrics}
                lines = lines_from_points(points)
                if not lines:
                    report.skipped.append(f"{name}: no metrics")
                    continue
                config = {**{k: _value(v) for k, v in data.params.items()},
                          **{k: data.tags[k] for k in ("dataset", "arch") if k in data.tags},
                          "mlflow_run_id": info.run_id, "mlflow_experiment": exp.name}
                # The names the pages show stay text, whatever a param held.
                config.update({k: str(config[k]) for k in NAMES if config.get(k) is not None})
                run = write_imported_run(runs_dir, kind="mlflow", source=tracking_uri, name=str(name),
                                         key=f"mlflow:{tracking_uri}:{info.run_id}",
                                         started=(info.start_time or 0) / 1000 or None,
                                         config=config, lines=lines)
            except Exception as e:  # one unreadable run is a line, the others still come in
                report.skipped.append(f"{name}: could not be read ({first_line(e, 200)})")
                continue
            report.imported.append(run.id)
            if on_run is not None:
                on_run(run.id)
    return report


def _all_runs(client, experiment_id: str):
    token = None
    while True:
        page = client.search_runs([experiment_id], max_results=500, page_token=token)
        yield from page
        token = page.token
        if not token:
            return


def _value(text: str):
    """A param back to a number or JSON value where it reads as one (MLflow keeps strings)."""
    import json

    try:
        return json.loads(text)
    except (ValueError, TypeError):
        return text
