"""Live training curves in Jupyter: the idea of fastai's ``ShowGraphCallback``, with Plotly.

    run = train(config, callbacks=[LiveChart()])

In a Jupyter kernel one Plotly figure is shown when training starts and redrawn in place (its
output updated through a display id) once per log interval and after every validation: train
and validation loss and accuracy against step, the same figure as ``charts.training_curves``.
Not a widget: a FigureWidget's saved state carries plotly.js, and an executed notebook 01 grew
from 98 KB to 5.2 MB; an updated output keeps only the last figure. Outside a kernel (a
script, a console) nothing is drawn during training and one figure is shown at the end
(``widget=False`` forces that).
"""

from __future__ import annotations

from resnet_core.events import Callback, TrainState


def widgets_available() -> bool:
    """Whether an output can be redrawn in place: inside an IPython kernel (Jupyter)."""
    try:
        from IPython import get_ipython
    except ImportError:
        return False
    shell = get_ipython()
    return shell is not None and hasattr(shell, "kernel")


def show_live(figure, shown=None):
    """Show ``figure`` (the first time, ``shown`` None) or put it in place of the one shown;
    the display handle to pass next time (None where no front end shows outputs)."""
    from IPython.display import display

    # The figure's MIME bundle, not the figure: a Plotly figure displays itself
    # (_ipython_display_), which ignores the display id, so each update added an output.
    bundle = figure._repr_mimebundle_()
    if shown is None:
        return display(bundle, raw=True, display_id=True)
    shown.update(bundle, raw=True)
    return shown


class LiveChart(Callback):
    """Train (solid) and validation (dashed) loss and accuracy, redrawn while ``train()`` runs."""

    def __init__(self, title: str = "", *, widget: bool | None = None) -> None:
        self.title = title
        self.widget = widgets_available() if widget is None else widget  # redrawn while training
        self.records: list[dict] = []
        self.figure = None  # the figure shown last
        self.updates = 0  # redraws so far (one per log interval and validation)
        self._shown = None  # its display handle

    def on_train_start(self, state: TrainState) -> None:
        self.records = []
        if self.widget:
            self.figure = self._figure()
            self._shown = show_live(self.figure)

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
        if self.widget and self._shown is not None:
            self._redraw()

    def _figure(self):
        import pandas as pd

        from resnet_core.analysis.charts import training_curves
        from resnet_core.runs.jsonl import METRIC_COLUMNS

        frame = pd.DataFrame(self.records) if self.records else pd.DataFrame(columns=METRIC_COLUMNS)
        return training_curves(frame, self.title)

    def _redraw(self) -> None:
        """The figure again, in place of the one shown: one output update to the browser."""
        self.figure = self._figure()
        self._shown = show_live(self.figure, self._shown)
        self.updates += 1

    def _finish(self) -> None:
        if self.widget and self._shown is not None:
            return  # the last redraw is the final figure
        self.figure = self._figure()
        try:
            from IPython.display import display
        except ImportError:
            return
        display(self.figure)
