"""LiveChart: the curves are redrawn in place while training, or drawn once at the end."""

from __future__ import annotations

import plotly.graph_objects as go

from resnet_core import LiveChart, TrainConfig, train


def test_the_widget_is_updated_in_place_at_every_log_interval_and_validation(tmp_path):
    chart = LiveChart(title="live", widget=True)
    run = train(TrainConfig(dataset="digits", arch="resnet20", epochs=2, log_every=5,
                            probe_snapshots=0, runs_dir=str(tmp_path)), callbacks=[chart],
                progress=False)
    m = run.metrics()
    lines = len(m[m.split.isin(["train", "val"])])
    assert isinstance(chart.live, go.FigureWidget)
    assert chart.updates == lines  # one redraw per train line and val line
    for figure in (chart.live, chart.figure):  # the widget's last state and the figure after it
        shown = {trace.name: list(trace.y) for trace in figure.data}
        assert shown["train loss"] == m[m.split == "train"].loss.tolist()
        assert shown["val accuracy"] == m[m.split == "val"].accuracy.tolist()
    # Issue 38, item 13: the widget is closed and a static figure takes its place, so a saved
    # notebook keeps no widget state (it carried plotly.js: 98 KB became 5.2 MB).
    assert not isinstance(chart.figure, go.FigureWidget) and chart.live.comm is None


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
