"""LiveChart: the curves are redrawn in place while training, or drawn once at the end.

In place means one output updated through its display id, in a real IPython kernel run by
nbclient (as JupyterLab and `jupyter execute` run a notebook): a stand-in display handle once
hid that Plotly's figures display themselves (``_ipython_display_``), so every update of
the handle added an output: notebook 02 saved at 8.5 MB with 40-odd copies of its chart."""

from __future__ import annotations

import json

import nbformat
import plotly.graph_objects as go
from nbclient import NotebookClient

from resnet_core import LiveChart, TrainConfig, train

CELL = """
import json
from resnet_core import LiveChart, TrainConfig, train
chart = LiveChart(title="live")
run = train(TrainConfig(dataset="digits", arch="resnet20", epochs=2, log_every=5, probe_snapshots=0,
                        runs_dir={runs!r}), callbacks=[chart], progress=False)
m = run.metrics()
print(json.dumps({{"updates": chart.updates, "lines": len(m[m.split.isin(["train", "val"])]),
                  "train_loss": m[m.split == "train"].loss.tolist(),
                  "val_accuracy": m[m.split == "val"].accuracy.tolist()}}))
"""


def values(y) -> list:
    """A trace's numbers as Plotly's JSON holds them: a list, or base64 with a dtype."""
    import base64

    import numpy as np

    if isinstance(y, dict):
        return np.frombuffer(base64.b64decode(y["bdata"]), dtype=y["dtype"]).tolist()
    return list(y)


def test_the_figure_is_redrawn_in_place_in_a_real_kernel(tmp_path):
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(CELL.format(runs=str(tmp_path)))])
    NotebookClient(nb, timeout=300, kernel_name="python3").execute()
    outputs = nb.cells[0].outputs
    assert not [o for o in outputs if o.output_type == "error"], outputs
    plots = [o for o in outputs if "application/vnd.plotly.v1+json" in o.get("data", {})]
    facts = json.loads(next(o.text for o in outputs if o.output_type == "stream" and o.name == "stdout"))
    assert facts["updates"] == facts["lines"] > 4  # redrawn at every log interval and validation
    assert len(plots) == 1, f"{len(plots)} chart outputs: the updates were added, not put in place"
    shown = {t["name"]: values(t["y"]) for t in plots[0].data["application/vnd.plotly.v1+json"]["data"]}
    assert shown["train loss"] == facts["train_loss"]  # the one output is the last redraw
    assert shown["val accuracy"] == facts["val_accuracy"]


def test_without_widgets_one_static_figure_at_the_end(tmp_path):
    chart = LiveChart(widget=False)
    run = train(TrainConfig(dataset="digits", arch="resnet20", epochs=1, probe_snapshots=0,
                            runs_dir=str(tmp_path)), callbacks=[chart], progress=False)
    assert chart.updates == 0 and isinstance(chart.figure, go.Figure)
    assert not isinstance(chart.figure, go.FigureWidget)
    m = run.metrics()
    names = {trace.name for trace in chart.figure.data}
    assert {"train loss", "train accuracy", "val loss", "val accuracy"} <= names
    assert len(chart.figure.data[0].x) == len(m[m.split == "train"])
