"""The training child: ``python -m resnet_core.jobs.child RUN_DIR`` trains (or resumes, or runs
the learning-rate finder for) the run folder the job manager prepared, wherever the executor
starts it; with ``--worker`` it imports torch first and waits on stdin for one run folder (the
warm worker). Its stdin is its supervisor's pipe: when it closes, the run checkpoints and stops.
"""

from __future__ import annotations

import os
import signal
import sys
import threading
from pathlib import Path

from resnet_core.events import Callback
from resnet_core.i18n import set_language
from resnet_core.runs.folder import (
    ACTIVE_STATES,
    SERVER_GONE,
    Run,
    now_iso,
    read_status,
)
from resnet_core.runs.jobfile import read_job
from resnet_core.settings import settings
from resnet_core.supervisor import on_end_of_input
from resnet_core.training.config import TrainConfig

WORKER_FLAG = "--worker"  # python -m resnet_core.jobs.child --worker: a warm child waiting for a run


# ----------------------------------------------------------------------------- the child


def child_main(run_dir: str) -> int:
    """Entry point of the training process: train or resume the run in ``run_dir``."""
    import torch

    from resnet_core.errors import WorkbenchError
    from resnet_core.training.loop import resume, train

    own = settings()
    if own.job_threads and "WORLD_SIZE" not in os.environ:
        # The manager's choice; a run's own num_threads wins; torchrun ranks share the cores.
        torch.set_num_threads(own.job_threads)
    run = Run(Path(run_dir))
    job = read_job(run)
    main_rank = os.environ.get("RANK", "0") == "0"  # under torchrun, rank 0 writes the status
    gone, watch = threading.Event(), []
    if own.supervised and "WORLD_SIZE" not in os.environ:
        watch_supervisor(gone)
        watch = [SupervisorGone(gone)]
        os.nice(5 if own.job_nice is None else own.job_nice)  # the server's pages stay responsive
    if job.kind == "lr_find":
        return lr_find_main(run, steps=job.steps or 200)
    if main_rank and job.sweep is not None:
        # A sweep's trial: its validation accuracy goes to the study every epoch, and the
        # pruner's verdict comes back through the STOP file.
        from resnet_core.sweeps.reporter import TrialReporter

        watch.append(TrialReporter(run, job.sweep.id, job.sweep.trial))
    try:
        if job.resume and run.has_checkpoint("last"):
            resume(run.dir, epochs=job.epochs, max_steps=job.max_steps, progress=False,
                   callbacks=watch)
        else:  # a new run, or a resume of one stopped before its first checkpoint
            config = TrainConfig.from_dict(job.budget(run.config))
            train(config, run_dir=run.dir, progress=False, callbacks=watch)
    except WorkbenchError as e:
        # A user-fixable failure: the trainer already wrote status failed, unless it failed
        # before training started (e.g. missing data); make sure the message reaches the UI.
        if main_rank and read_status(run.dir).get("state") in ACTIVE_STATES:
            run.transition("failed", ended_at=now_iso(), error=str(e))
        print(f"error: {e}", file=sys.stderr)
        return 1
    return 0


def lr_find_main(run: Run, *, steps: int = 200) -> int:
    """A learning-rate sweep for the folder's config.json: progress in status.json (step of
    steps, written every few steps), the curve in lr_find.csv and .png, the suggestion in the
    final status."""
    import time

    from resnet_core.errors import WorkbenchError
    from resnet_core.training.lr_find import lr_find, save

    run.transition("running", started_at=now_iso(), pid=os.getpid(), step=0)
    last = [0.0]

    def report(step: int, steps: int) -> None:
        if time.monotonic() - last[0] > 0.5 or step == steps:
            last[0] = time.monotonic()
            run.record(step=step, steps=steps)

    try:
        result = lr_find(TrainConfig.from_dict(run.config), num_steps=steps, progress=False,
                         on_step=report)
        save(result, run.lr_find_paths[1])
    except WorkbenchError as e:
        run.transition("failed", ended_at=now_iso(), error=str(e))
        print(f"error: {e}", file=sys.stderr)
        return 1
    run.transition("completed", ended_at=now_iso(), suggestion=result.suggestion,
                   diverged=result.diverged)
    return 0


class SupervisorGone(Callback):
    """In a supervised child: stops the run when the server went away, saying so in its status.

    The reason and the stop are set together, in the trainer's thread: when the watcher's event
    was the trainer's ``stop`` itself, a server leaving between this callback and the trainer's
    stop check stopped the run without a reason."""

    def __init__(self, gone: threading.Event) -> None:
        self.gone = gone

    def on_step_end(self, state, logs) -> None:
        if self.gone.is_set():
            state.stop_reason = SERVER_GONE
            state.should_stop = True


def watch_supervisor(stop: threading.Event) -> None:
    """Set ``stop`` when stdin reaches its end (the server closed the pipe, or died: the
    kernel closes it then) or on SIGTERM; the trainer then checkpoints and stops."""

    on_end_of_input(stop.set)
    signal.signal(signal.SIGTERM, lambda signum, frame: stop.set())


def worker_main() -> int:
    """The warm child: import what training needs, then wait for one run folder on stdin.

    Its output goes to that run's train.log, as a fresh child's would. End of input (the
    manager shut down or went away) means: exit without training.
    """
    import torch

    from resnet_core.training import evaluation, loop  # noqa: F401 - the trainer, data, models, metrics

    # torch imports torch._dynamo at the first optimizer's add_param_group (1.4 s here).
    torch.optim.SGD(torch.nn.Linear(1, 1).parameters(), lr=0.1, foreach=True)

    line = sys.stdin.readline().strip()
    if not line:
        return 0
    fd = os.open(Run(Path(line)).log_path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    sys.stdout.flush()
    sys.stderr.flush()
    os.dup2(fd, 1)
    os.dup2(fd, 2)
    os.close(fd)
    return child_main(line)


if __name__ == "__main__":
    set_language("en")  # what it writes in status.json is the run folder's, a contract in English
    sys.exit(worker_main() if sys.argv[1:] == [WORKER_FLAG] else child_main(sys.argv[1]))
