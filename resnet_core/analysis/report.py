"""A run's report: one self-contained HTML file a student hands in and anyone opens offline
(issue 40). The configuration, the training curves, the confusion matrix, per-class
precision / recall / F1, a few attribution maps, the environment and the run's id, in the
reader's language.

Nothing in it is fetched: Plotly's JavaScript is inlined once (about 4.7 MB of the file), the
attribution maps are PNGs in data: URLs, and there is no font, style sheet or script from
elsewhere. Every figure's numbers also stand in a table, as on the pages.
"""

from __future__ import annotations

import base64
import html
import io
import numbers
from datetime import datetime, timezone
from pathlib import Path

import pandas as pd

from resnet_core.analysis.charts import confusion_heatmap, training_curves
from resnet_core.analysis.describe import curves_table, describe_confusion, describe_training_curves
from resnet_core.errors import RunError, WorkbenchError
from resnet_core.i18n import _, language
from resnet_core.runs.folder import Run
from resnet_core.version import __version__

ATTRIBUTION_IMAGES = 4  # the first test image of each of the first four classes
ATTRIBUTION_METHOD = "saliency"  # the cheapest of Captum's methods: a report is made on a click

# The page's own look: system fonts, nothing loaded; 4.5:1 text contrast on white.
STYLE = """
body { font-family: system-ui, "Noto Sans CJK SC", sans-serif; max-width: 1100px; margin: 2em auto;
       padding: 0 1em; color: #1a1a1a; line-height: 1.45; }
table { border-collapse: collapse; margin: 0.5em 0 1.5em; }
th, td { border: 1px solid #8a8a8a; padding: 0.25em 0.6em; text-align: left; }
th { background: #eef0f3; }
td.n { text-align: right; font-variant-numeric: tabular-nums; }
figure { margin: 1em 0; } figcaption { color: #3d3d3d; }
.maps { display: grid; grid-template-columns: repeat(auto-fill, minmax(480px, 1fr)); gap: 1em; }
.maps img { max-width: 100%; height: auto; border: 1px solid #d0d0d0; }
details { margin: 0.5em 0 1.5em; }
"""


def _esc(value) -> str:
    return html.escape("" if value is None else str(value))


def _table(frame: pd.DataFrame, caption: str, *, digits: int = 4) -> str:
    """A frame as an HTML table with a caption and header cells (screen readers read both)."""
    head = "".join(f'<th scope="col">{_esc(c)}</th>' for c in frame.columns)
    rows = []
    for row in frame.itertuples(index=False):  # each column's own type (iterrows makes one)
        cells = []
        for value in row:
            if isinstance(value, numbers.Integral) and not isinstance(value, bool):
                cells.append(f'<td class="n">{value:,}</td>')
            elif isinstance(value, numbers.Real) and not isinstance(value, bool):
                cells.append(f'<td class="n">{value:.{digits}f}</td>')
            else:
                cells.append(f"<td>{_esc(value)}</td>")
        rows.append("<tr>" + "".join(cells) + "</tr>")
    return (f"<table><caption>{_esc(caption)}</caption><thead><tr>{head}</tr></thead>"
            f"<tbody>{''.join(rows)}</tbody></table>")


def _figure(fig, description: str) -> str:
    """A Plotly figure (its script uses the page's one copy of plotly.js) and its one line."""
    body = fig.to_html(full_html=False, include_plotlyjs=False,
                       config={"displaylogo": False, "responsive": True})
    return f"<figure>{body}<figcaption>{_esc(description)}</figcaption></figure>"


def _settings_table(config: dict) -> str:
    skip = {"versions", "preprocessing", "class_names", "device_name", "runs_dir", "data_root"}
    frame = pd.DataFrame([(k, "" if v is None else str(v)) for k, v in config.items() if k not in skip],
                         columns=[_("setting"), _("value")])
    return _table(frame, _("The run's settings (config.json)"))


def _environment_table(config: dict, run: Run) -> str:
    rows = [(_("run id"), run.id), (_("device"), config.get("device_name")),
            (_("parameters"), f"{config.get('num_parameters', 0):,}")]
    rows += [(name, version) for name, version in (config.get("versions") or {}).items()]
    rows += [(_("report made"), datetime.now(timezone.utc).isoformat(timespec="seconds")),
             (_("report made by"), f"resnet_core {__version__}")]
    frame = pd.DataFrame(rows, columns=[_("what"), _("value")])
    return _table(frame, _("Where and with what the run was trained"))


def _attribution_maps(run: Run, count: int) -> str:
    """Saliency maps of the first test image of the first ``count`` classes, as PNGs inline;
    a sentence instead where the run has no checkpoint or its data is not here."""
    from resnet_core.analysis.attribution import (
        METHOD_TITLES,
        explain_run_image,
        probe_indices,
        render_panel,
    )
    from resnet_core.data.sources import load_dataset_for
    from resnet_core.training.config import TrainConfig

    if count <= 0:
        return ""
    if not run.has_checkpoint("best"):
        return f"<p>{_esc(_('No attribution maps: the run has no best checkpoint yet.'))}</p>"
    try:
        config = TrainConfig.from_dict(run.config)
        labels = load_dataset_for(config).split("test").labels
    except WorkbenchError as e:
        return f"<p>{_esc(_('No attribution maps: {reason}').format(reason=e))}</p>"
    items = []
    for index in probe_indices(labels, count):
        result = explain_run_image(run.dir, ATTRIBUTION_METHOD, index)
        caption = _("{method}: test #{index}, true {true}, predicted {predicted} ({confidence})").format(
            method=_(METHOD_TITLES[ATTRIBUTION_METHOD]), index=index, true=result["true"],
            predicted=result["predicted"], confidence=f"{result['confidence']:.2f}")
        buffer = io.BytesIO()
        render_panel(result["image"], result["attribution"], caption).save(buffer, format="PNG")
        data = base64.b64encode(buffer.getvalue()).decode("ascii")
        items.append(f'<figure><img src="data:image/png;base64,{data}" alt="{_esc(caption)}">'
                     f"<figcaption>{_esc(caption)}</figcaption></figure>")
    return '<div class="maps">' + "".join(items) + "</div>"


def run_report(run_dir: str | Path, *, attributions: int = ATTRIBUTION_IMAGES) -> str:
    """The report of the run in ``run_dir`` as one HTML document (a string)."""
    from plotly.offline import get_plotlyjs

    run = Run(Path(run_dir))
    if not run.config_path.is_file():
        raise RunError(_("{dir} is not a run folder (no config.json)").format(dir=run.dir))
    config, status = run.config, run.status
    metrics = run.metrics()
    title = _("Run report: {run_id}").format(run_id=run.id)
    parts = [f"<h1>{_esc(title)}</h1>"]

    facts = [(_("state"), status.get("state")), (_("dataset"), config.get("dataset")),
             (_("architecture"), config.get("arch")),
             (_("created"), status.get("created_at") or status.get("started_at"))]
    if run.has_eval("test"):
        summary = run.summary("test")
        facts += [(_("test accuracy"), f"{summary['accuracy']:.4f}"),
                  (_("macro F1"), f"{summary['macro_f1']:.4f}"),
                  (_("test images"), f"{summary['num_samples']:,}")]
    parts.append(_table(pd.DataFrame([(k, "" if v is None else str(v)) for k, v in facts],
                                     columns=[_("what"), _("value")]), _("The run in brief")))

    parts.append(f"<h2>{_esc(_('Configuration'))}</h2>" + _settings_table(config))

    parts.append(f"<h2>{_esc(_('Training curves'))}</h2>")
    if len(metrics):
        parts.append(_figure(training_curves(metrics), describe_training_curves(metrics)))
        parts.append(f"<details><summary>{_esc(_('Show as a table'))}</summary>"
                     f"{_table(curves_table(metrics), _('The points plotted'))}</details>")
    else:
        parts.append(f"<p>{_esc(_('No training step logged yet.'))}</p>")

    parts.append(f"<h2>{_esc(_('Confusion matrix (test)'))}</h2>")
    if run.has_eval("test"):
        confusion = run.confusion("test")
        parts.append(_figure(confusion_heatmap(confusion), describe_confusion(confusion)))
        counts = confusion.reset_index().rename(columns={"true": _("true class")})
        parts.append(f"<details><summary>{_esc(_('Show as a table'))}</summary>"
                     f"{_table(counts, _('Rows: the true class; columns: the predicted class'))}</details>")
        parts.append(f"<h2>{_esc(_('Per-class precision, recall and F1 (test)'))}</h2>")
        parts.append(_table(run.per_class("test"), _("Each class of the test split")))
    else:
        parts.append(f"<p>{_esc(_('The run has no test evaluation yet.'))}</p>")

    parts.append(f"<h2>{_esc(_('Attribution maps'))}</h2>")
    parts.append(_attribution_maps(run, attributions))

    parts.append(f"<h2>{_esc(_('Environment'))}</h2>" + _environment_table(config, run))

    return (f'<!DOCTYPE html>\n<html lang="{_esc(language())}"><head><meta charset="utf-8">'
            f'<meta name="viewport" content="width=device-width, initial-scale=1">'
            f"<title>{_esc(title)}</title><style>{STYLE}</style>"
            f'<script type="text/javascript">{get_plotlyjs()}</script></head>'
            f"<body><main>{''.join(parts)}</main></body></html>\n")


def write_report(run_dir: str | Path, out: str | Path, **kwargs) -> Path:
    """Write the run's report to ``out`` (an .html file), atomically."""
    from resnet_core.atomic import atomic_write_text

    out = Path(out)
    if out.suffix.lower() not in (".html", ".htm"):
        raise WorkbenchError(_("--out must name an .html file, got {out}").format(out=out))
    text = run_report(run_dir, **kwargs)
    try:
        atomic_write_text(out, text)
    except OSError as e:
        raise WorkbenchError(_("could not write {out}: {value}").format(
                                 out=out, value=e.strerror or e)) from e
    return out
