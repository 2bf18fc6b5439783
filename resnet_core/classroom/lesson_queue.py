"""Classroom lessons, their runs: which lesson runs on this machine (``lesson_for``), the data a
lesson brings, queueing its shared runs, where they stand, and the answers they measured. The
lessons themselves (text, questions, settings) are ``lessons.py``.
"""

from __future__ import annotations

import dataclasses
import re
import threading
from dataclasses import dataclass
from pathlib import Path

import torch

from resnet_core.classroom.lessons import (
    LESSONS,
    REAL_DATA_SUFFIX,
    TRANSFER_KS,
    Lesson,
    real_data_variant,
    run_name,
    with_imagenet,
)
from resnet_core.data.folder import DEFAULT_ROOT, lesson_dir
from resnet_core.data.registry import DATASETS, locate, ways_to_get
from resnet_core.errors import ConfigError, RunError
from resnet_core.i18n import _
from resnet_core.runs.folder import ACTIVE_STATES, RESUMABLE_STATES, Run
from resnet_core.runs.jobfile import LOCAL_OWNER, Owner
from resnet_core.runs.store import RunStore
from resnet_core.settings import settings
from resnet_core.training.config import TrainConfig


def fashion_mnist_here() -> bool:
    """Whether Fashion-MNIST's files are found for the app's data folder (the registry's rule)."""
    return locate(DATASETS["fashion-mnist"], settings().data_dir) is not None


def lesson_for(lesson_id: str) -> Lesson:
    """The lesson as it runs on this machine: the transfer lesson on ImageNet weights where
    torchvision's resnet18 file is in the cache, offline otherwise; ``<id>-fashion``: a
    lesson's real-data variant."""
    from resnet_core.training.transfer import imagenet_status

    if lesson_id.endswith(REAL_DATA_SUFFIX):
        base = LESSONS.get(lesson_id.removesuffix(REAL_DATA_SUFFIX))
        if base is None or base.real_data is None:
            raise ConfigError(_("unknown lesson {lesson_id}").format(lesson_id=f"{lesson_id!r}"))
        return real_data_variant(base)
    lesson = LESSONS[lesson_id]
    if lesson.id == "transfer" and imagenet_status("resnet18").present:
        return with_imagenet(lesson)
    return lesson


def brings_data(lesson: Lesson) -> bool:
    """Whether the lesson's runs read image folders the lesson writes (``{data}``)."""
    return any("{data}" in str({**lesson.shared, **fields}.get("data_root", ""))
               for _, fields in lesson.runs)


def lesson_data(lesson: Lesson, data_root: str | Path) -> Path | None:
    """Write the image folders a lesson brings (once; deterministic); their root, or None."""
    if lesson.id != "transfer":
        return None
    root = lesson_dir(data_root, lesson.id)
    if (root / "done").is_file():
        return root
    from PIL import Image

    from resnet_core.data.sources import load_dataset

    ds = load_dataset("digits", val_fraction=0.1, seed=0)
    images = torch.cat([ds.train.images, ds.val.images])
    labels = torch.cat([ds.train.labels, ds.val.labels])
    g = torch.Generator().manual_seed(0)

    def save(folder: Path, picks, digit: int, source) -> None:
        (folder / str(digit)).mkdir(parents=True, exist_ok=True)
        for i in picks:
            Image.fromarray(source[int(i), 0].numpy(), "L").save(folder / str(digit) / f"{int(i):04d}.png")

    for d in range(5):
        save(root / "source", (labels == d).nonzero().flatten(), d, images)
    for d in range(5, 10):
        pool = (labels == d).nonzero().flatten()
        pool = pool[torch.randperm(len(pool), generator=g)]
        for k in TRANSFER_KS:
            save(root / f"k{k}" / "train", pool[:k], d, images)
            save(root / f"k{k}" / "test", (ds.test.labels == d).nonzero().flatten(), d, ds.test.images)
    (root / "done").write_text("digits 0-4 (source) and 5-9 with k images per class\n")
    return root


def resolve_run_refs(config: TrainConfig, run_dirs: dict[str, Path]) -> TrainConfig:
    """``init_from="{run:<label>}"`` -> that lesson run's folder."""
    match = re.fullmatch(r"\{run:(.+)\}", config.init_from or "")
    if match is None:
        return config
    if match.group(1) not in run_dirs:
        raise RunError(_("this lesson run starts from '{group}', which is not queued or done").format(
                           group=match.group(1)))
    return dataclasses.replace(config, init_from=str(run_dirs[match.group(1)]))


TRANSFER_MARGIN = 0.03  # a gap in test accuracy below this is "about the same"


def lesson_answer(lesson: Lesson, runs: dict[str, Run]) -> int | None:
    """The right choice once the runs completed: fixed, from a measurement, or (transfer) from
    the k=5 pair: pretrained minus scratch beyond TRANSFER_MARGIN either way."""
    if lesson.chart != "transfer":
        first = next(iter(runs.values()), None)
        return lesson.answer_for(first.summary("test").get("accuracy") if first else None)
    acc = {(r["start"], r["k"]): r["test accuracy"] for r in transfer_rows(runs)}
    k = min(TRANSFER_KS)
    if ("scratch", k) not in acc or ("pretrained", k) not in acc:
        return None
    gap = acc[("pretrained", k)] - acc[("scratch", k)]
    return 1 if gap > TRANSFER_MARGIN else 2 if gap < -TRANSFER_MARGIN else 0


def transfer_rows(runs: dict[str, Run]) -> list[dict]:
    """The transfer lesson's chart data: test accuracy per k, scratch and pretrained."""
    rows = []
    for label, run in runs.items():
        match = re.fullmatch(r"(scratch|pretrained), k=(\d+)", label)
        test = run.summary("test")
        if match and test:
            rows.append({"start": match.group(1), "k": int(match.group(2)),
                         "test accuracy": round(test["accuracy"], 4)})
    return sorted(rows, key=lambda r: (r["start"], r["k"]))


def lesson_runs(store: RunStore, lesson: Lesson) -> dict[str, Run]:
    """The newest run of each of the lesson's labels (by run_name), if any."""
    found: dict[str, Run] = {}
    wanted = {run_name(lesson.id, label): label for label in lesson.labels}
    for run in store.runs():  # newest first
        label = wanted.get(run.config.get("run_name"))
        if label is not None and label not in found:
            found[label] = run
    return found


_QUEUE_LOCK = threading.Lock()  # thirty clicks at once: one looks, queues; the rest reuse
LESSON_OVERRIDES = ("dataset", "data_root")  # all a viewer may change in a lesson's runs


def queue_lesson(manager, lesson: Lesson, *, queued_by: Owner = LOCAL_OWNER, fill_in: bool = True,
                 class_id: str | None = None, **overrides) -> list[str]:
    """Queue the lesson's runs; the ids queued (empty: all reused).

    Lesson runs are shared (``JobManager.submit_shared``): every viewer of the lesson watches
    the same runs. With ``fill_in`` (a student's click: the front door decides) only the runs
    that are missing are queued, within the class's lesson runs per student, so a finished
    lesson is never re-run by a student and thirty clicks give one set; without it (the
    teacher's) the whole lesson runs again (refused while its runs are still queued or
    running). ``queued_by`` is whose click it was; ``class_id`` the class whose limits bound it."""
    bad = set(overrides) - set(LESSON_OVERRIDES)
    if bad:
        raise ConfigError(_("a lesson's runs take only {names}; got {names2}").format(
                              names=', '.join(LESSON_OVERRIDES), names2=', '.join(sorted(bad))))
    configs = dict(zip(lesson.labels, lesson.configs(**overrides), strict=True))
    with _QUEUE_LOCK:
        lesson_data(lesson, overrides.get("data_root") or DEFAULT_ROOT)
        found = lesson_runs(manager.store, lesson)
        if not fill_in:
            if lesson_progress(lesson, found).live:
                raise RunError(_("the lesson's runs are already queued or running ({title})").format(
                                   title=lesson.title))
            wanted = list(configs)
        else:
            wanted = [label for label in lesson.labels if label not in found]
            if wanted and manager.policy is not None:  # the whole set or none of it
                manager.policy.check_shared(0, limited=True, adding=len(wanted),
                                            queued_by_active=manager.active_queued_by(queued_by.id),
                                            class_id=class_id)
        # Runs start in queue order, so a run that starts from another lesson run finds it done.
        dirs = {label: run.dir for label, run in found.items()}
        queued = []
        for label in wanted:
            run_id = manager.submit_shared(resolve_run_refs(configs[label], dirs),
                                           queued_by=queued_by, limited=fill_in, class_id=class_id)
            dirs[label] = manager.store.root / run_id
            queued.append(run_id)
        return queued


def mnist_available(data_root: str | Path) -> bool:
    """Whether MNIST's files are found (the registry's rule: the data folder, the system's,
    torchvision's root); no download in class."""
    return locate(DATASETS["mnist"], data_root) is not None


def article_data(data_root: str | Path) -> tuple[dict, str]:
    """The article lesson's data: MNIST where its files are found, else Fashion-MNIST (the
    same 28x28 grayscale IDX format, 10 classes) where it is, else the offline digits. Returns
    the lesson's overrides and one sentence saying which and why ("" for MNIST)."""
    if mnist_available(data_root):
        return {"data_root": str(data_root)}, ""
    fashion = locate(DATASETS["fashion-mnist"], data_root)
    if fashion is not None:
        return ({"dataset": "fashion-mnist", "data_root": str(data_root)},
                _("MNIST's files are not here, so the lesson runs on Fashion-MNIST (found in {where}): the "
                  "same 28x28 grayscale format and 10 classes, of clothing instead of digits; same model and "
                  "recipe.").format(where=fashion))
    return ({"dataset": "digits"},
            _("Neither MNIST nor Fashion-MNIST is here, so the lesson runs on the offline digits (8x8 scans "
              "of handwritten digits); same model and recipe. For MNIST, {ways}; for Fashion-MNIST, apt-get "
              "install {package}.").format(ways=ways_to_get(DATASETS["mnist"], data_root),
                                           package=DATASETS["fashion-mnist"].apt_package))


@dataclass(frozen=True)
class LessonProgress:
    """Where a lesson's runs stand, as the Lessons page shows it."""

    rows: list[dict]  # one per label, in order: run, state, step ("12/330" or "-")
    live: bool  # some run is queued or running: keep refreshing
    broken: dict[str, dict]  # label -> status, for runs that failed, stopped or were interrupted
    done: bool  # every run exists and completed: reveal the answer

    @property
    def started(self) -> bool:
        return any(row["state"] != "not started" for row in self.rows)


def lesson_progress(lesson: Lesson, runs: dict[str, Run]) -> LessonProgress:
    """The answer is revealed only when every run of the lesson has completed."""
    rows, broken, states = [], {}, {}
    for label in lesson.labels:
        run = runs.get(label)
        status = run.status if run else {}
        state = status.get("state", "not started") if run else "not started"
        states[label] = state
        total = status.get("total_steps") or (run.config.get("total_steps") if run else None)
        rows.append({"run": label, "state": state,
                     "step": f"{status.get('step', 0)}/{total}" if total else "-"})
        if state in RESUMABLE_STATES:
            broken[label] = status
    live = any(s in ACTIVE_STATES for s in states.values())
    done = all(s == "completed" for s in states.values())
    return LessonProgress(rows=rows, live=live, broken=broken, done=done)


def depth_rows(runs: dict[str, Run]) -> list[dict]:
    """The depth lesson's table: parameters, seconds per epoch, final training error per run."""
    rows = []
    for label, run in runs.items():
        m = run.metrics()
        train = m[m["split"] == "train"] if len(m) else m
        seconds = float(train["elapsed_s"].sum()) if len(train) else None
        epochs = int(train["epoch"].max()) if len(train) else 0
        rows.append({"run": label, "parameters": f"{run.config.get('num_parameters', 0):,}",
                     "seconds per epoch": round(seconds / epochs, 2) if epochs else None,
                     "final train error": round(1 - float(train["accuracy"].iloc[-1]), 4)
                     if len(train) else None})
    return rows
