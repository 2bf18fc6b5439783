"""A sweep's progress where it runs in the foreground (the CLI, a notebook): a progress bar of
finished trials with the best value so far, and in Jupyter a live figure of every trial's
validation accuracy per epoch (pruned trials greyed), redrawn when a trial moved."""

from __future__ import annotations

from resnet_core.analysis.live_chart import show_live, widgets_available
from resnet_core.sweeps.charts import epoch_curves


class SweepProgress:
    """Called after each of the runner's passes (``SweepRunner.run(on_pass=...)``)."""

    def __init__(self, total: int, *, bar: bool = True, widget: bool | None = None) -> None:
        from tqdm.auto import tqdm

        self.bar = tqdm(total=total, desc="sweep", unit="trial", disable=not bar)
        self.widget = widgets_available() if widget is None else widget
        self.figure = None
        self._seen: tuple = ()

    def __call__(self, runner) -> None:
        trials = runner.study.get_trials(deepcopy=False)
        seen = tuple((t.number, t.state.name, len(t.intermediate_values)) for t in trials)
        if seen == self._seen:
            return
        done = [t for t in trials if t.state.is_finished()]
        counts = {name: sum(t.state.name == name for t in done) for name in ("PRUNED", "FAIL")}
        best = max((t.value for t in done if t.state.name == "COMPLETE"), default=None)
        self.bar.n = len(done)
        self.bar.set_postfix(best=f"{best:.4f}" if best is not None else "-",
                             pruned=counts["PRUNED"], failed=counts["FAIL"],
                             open=len(trials) - len(done), refresh=False)
        self.bar.refresh()
        if self.widget:
            self._draw(trials)
        self._seen = seen

    def _draw(self, trials) -> None:
        """The figure again, in place of the one shown (an output, not a widget: a saved
        notebook keeps the last figure only)."""
        self.figure = epoch_curves(trials)
        self._shown = show_live(self.figure, getattr(self, "_shown", None))

    def close(self) -> None:
        self.bar.close()
