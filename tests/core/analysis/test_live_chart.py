"""LiveChart: the curves are redrawn in place while training, or drawn once at the end.

In place means one output updated through its display id (what Jupyter does with
``show_live``'s handle); here the handle records what it was given. The same callback in a
real kernel: tests/docs/test_notebooks.py (notebook 01, whose saved size is checked)."""

from __future__ import annotations

import plotly.graph_objects as go

from resnet_core import LiveChart, TrainConfig, train
from resnet_core.analysis import live_chart


class Handle:
    """A display handle: the figures it was shown, in order."""

    def __init__(self, first) -> None:
        self.shown = [first]

    def update(self, figure) -> None:
        self.shown.append(figure)


def test_the_figure_is_redrawn_in_place_at_every_log_interval_and_validation(tmp_path, monkeypatch):
    handles = []

    def show_live(figure, shown=None):
        if shown is None:
            handles.append(Handle(figure))
            return handles[-1]
        shown.update(figure)
        return shown

    monkeypatch.setattr(live_chart, "show_live", show_live)
    chart = LiveChart(title="live", widget=True)
    run = train(TrainConfig(dataset="digits", arch="resnet20", epochs=2, log_every=5,
                            probe_snapshots=0, runs_dir=str(tmp_path)), callbacks=[chart],
                progress=False)
    m = run.metrics()
    lines = len(m[m.split.isin(["train", "val"])])
    assert len(handles) == 1  # one output, redrawn in place
    assert chart.updates == lines and len(handles[0].shown) == lines + 1  # the empty start, then each line
    # Issue 38, item 13: a plain figure, not a widget (a FigureWidget's saved state carried
    # plotly.js: an executed notebook grew from 98 KB to 5.2 MB).
    assert all(type(f) is go.Figure for f in handles[0].shown)
    shown = {trace.name: list(trace.y) for trace in handles[0].shown[-1].data}
    assert shown["train loss"] == m[m.split == "train"].loss.tolist()
    assert shown["val accuracy"] == m[m.split == "val"].accuracy.tolist()
    assert chart.figure is handles[0].shown[-1]


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
