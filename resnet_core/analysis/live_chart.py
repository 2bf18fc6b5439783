"""Live training curves in Jupyter: the idea of fastai's ``ShowGraphCallback``, with Plotly.

    run = train(config, callbacks=[LiveChart()])

In a Jupyter kernel with widgets (ipywidgets and anywidget, both in requirements.txt) one
Plotly ``FigureWidget`` is shown when training starts and updated in place once per log
interval and after every validation: train and validation loss and accuracy against step,
the same figure as ``charts.training_curves``; when training ends, a static figure takes its
place and the widget is closed (a saved notebook stays small). Without widgets (a script, a console) nothing is
drawn during training and one static figure is shown at the end (``widget=False`` forces that).
"""

from __future__ import annotations

from resnet_core.events import Callback, TrainState


def widgets_available() -> bool:
    """Whether a FigureWidget can be shown: inside an IPython kernel, with anywidget."""
    try:
        from IPython import get_ipython

        shell = get_ipython()
        if shell is None or not hasattr(shell, "kernel"):
            return False
        import anywidget  # noqa: F401 - plotly's FigureWidget needs it
    except ImportError:
        return False
    return True


class LiveChart(Callback):
    """Train (solid) and validation (dashed) loss and accuracy, redrawn while ``train()`` runs."""

    def __init__(self, title: str = "", *, widget: bool | None = None) -> None:
        self.title = title
        self.widget = widgets_available() if widget is None else widget
        self.records: list[dict] = []
        self.figure = None  # the FigureWidget while training; the final figure afterwards
        self.live = None  # the FigureWidget that was shown (closed once training ended)
        self.updates = 0  # redraws so far (one per log interval and validation)

    def on_train_start(self, state: TrainState) -> None:
        self.records = []
        if self.widget:
            import plotly.graph_objects as go
            from IPython.display import display

            self.figure = self.live = go.FigureWidget(self._figure())
            self._shown = display(self.figure, display_id=True)

    def on_step_end(self, state: TrainState, logs: dict | None) -> None:
        if logs is not None:
            self._add(logs)

    def on_eval_end(self, state: TrainState, split: str, logs: dict) -> None:
        if split == "val":
            self._add(logs)

    def on_train_end(self, state: TrainState, outcome: str) -> None:
        self._finish()

    def on_exception(self, state: TrainState, error: BaseException) -> None:
        self._finish()  # the curves up to the error are worth seeing

    def _add(self, logs: dict) -> None:
        self.records.append(logs)
        if self.widget and self.figure is not None:
            self._redraw()

    def _figure(self):
        import pandas as pd

        from resnet_core.analysis.charts import training_curves
        from resnet_core.runs.jsonl import METRIC_COLUMNS

        frame = pd.DataFrame(self.records) if self.records else pd.DataFrame(columns=METRIC_COLUMNS)
        return training_curves(frame, self.title)

    def _redraw(self) -> None:
        """Copy the new figure's traces into the widget: one message to the browser."""
        fresh = self._figure()
        with self.figure.batch_update():
            shown = {trace.name: trace for trace in self.figure.data}
            for trace in fresh.data:
                if trace.name in shown:
                    shown[trace.name].x, shown[trace.name].y = trace.x, trace.y
                else:
                    self.figure.add_trace(trace)
        self.updates += 1

    def _finish(self) -> None:
        if self.widget and self.figure is not None:
            # The live widget gives way to a static figure in the same output, and is closed:
            # a saved notebook keeps no widget state (the FigureWidget's carries plotly.js,
            # and an executed notebook 01 grew from 98 KB to 5.2 MB).
            self.figure = self._figure()
            if self._shown is not None:  # None where no front end shows outputs
                self._shown.update(self.figure)
            self.live.close()
            return
        self.figure = self._figure()
        try:
            from IPython.display import display
        except ImportError:
            return
        display(self.figure)
