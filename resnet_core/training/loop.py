"""The training loop: ``train(TrainConfig)`` and ``resume(run_dir)``. The recipe it runs (the
loss, optimizer, schedule and getting ready) is ``recipe.py``; what config.json records of the
machine, ``provenance.py``.

One run = one folder (runs.py), written only through ``RunWriter``. The loop keeps the host
out of the way: loss and accuracy are summed on the device (``IntervalMetrics``) and read
once per ``log_every`` steps, which is also when a non-finite loss is caught (naming the
exact step). A checkpoint at every epoch end holds everything needed to continue bit for bit:
model (and its moving average, with EMA), optimizer, scheduler, grad scaler, the augmentation
generator, every global RNG, and the position inside the epoch (a stop request can end a run
mid-epoch; the sample order of an epoch is derived from the seed and the epoch number, so it
need not be stored).

Read top-down: the public API, then ``Trainer.fit`` -> ``_loop`` -> ``_train_step``, the
epoch end and the final evaluation, then checkpoints, then the setup, then the small pieces.

Why one module of about 700 lines: it is one object, the ``Trainer``, whose methods share its
state (model, optimizer, loaders, writer, position in the run) and are read in run order, as
nanoGPT's train.py is; split across files, a reader would follow one step through several.
What the loop runs but does not own lives beside it (recipe, provenance, checkpoint, writer,
transfer, evaluation).
"""

from __future__ import annotations

import math
import random
import shutil
import sys
import threading
import time
import warnings
from collections.abc import Callable, Iterable
from pathlib import Path

import numpy as np
import torch
from torch import Tensor, nn

from resnet_core.data.dataset import Dataset, with_statistics
from resnet_core.data.loader import BatchLoader
from resnet_core.device import autocast_context, device_kind, resolve_amp
from resnet_core.errors import ConfigError, RunError, TrainingFailed, first_line
from resnet_core.events import Callback, ProgressBar, TrainState
from resnet_core.i18n import _
from resnet_core.runs.folder import Run, create_run_dir, now_iso
from resnet_core.runs.jsonl import truncate_after_step
from resnet_core.runs.store import default_runs_dir
from resnet_core.training.checkpoint import (
    capture_rng_states,
    load_checkpoint,
    model_from_checkpoint,
    restore_rng_states,
)
from resnet_core.training.config import TrainConfig
from resnet_core.training.cuda_graph import GraphedStep, use_cuda_graph
from resnet_core.training.diagnostics import Diagnostics
from resnet_core.training.distributed import Distributed
from resnet_core.training.ema import WeightAverage
from resnet_core.training.evaluation import (
    EvalResult,
    evaluate_model,
    result_from_logits,
    write_eval,
)
from resnet_core.training.models import count_parameters
from resnet_core.training.provenance import device_name, versions
from resnet_core.training.recipe import compute_loss, make_optimizer, make_scheduler, prepare
from resnet_core.training.transfer import (
    FeatureLoader,
    Head,
    InitReport,
    Weights,
    frozen_at,
    load_into,
    pooled_features,
    preprocessing_for,
    set_backbone_frozen,
    train_mode,
    weights_for,
)
from resnet_core.training.writer import RunWriter

SNAPSHOT_DISK_SHARE = 0.1  # weight snapshots may take at most this share of the free disk

# ----------------------------------------------------------------------------- public API


def train(config: TrainConfig, *, callbacks: Iterable[Callback] = (), progress: bool = True,
          stop: threading.Event | None = None, dataset: Dataset | None = None,
          run_dir: str | Path | None = None) -> Run:
    """Train a new run to the end (blocking) and return it.

    ``stop``: set it (from another thread or a signal handler) to stop after the current step.
    ``run_dir``: an existing, empty run folder to fill (the dashboard's queue creates one).
    """
    config.validate()
    weights = weights_for(config)  # a missing or unsafe file fails before any data loads
    device, ddp, dataset = prepare(config, dataset)
    dataset = with_statistics(dataset, preprocessing_for(weights, dataset.info.channels))
    if weights is not None:  # weights for another model fail here, before a run folder exists
        load_into(config.build_model(dataset.info), weights, config.arch)
    if run_dir is None and ddp.is_main:
        runs_dir = Path(config.runs_dir) if config.runs_dir else default_runs_dir()
        run_dir = create_run_dir(runs_dir, config.dataset, config.arch)
    run_dir = ddp.broadcast(None if run_dir is None else str(run_dir))
    trainer = Trainer(config, Path(run_dir), dataset, device, callbacks, progress, stop, ddp=ddp,
                      weights=weights)
    return trainer.fit()


def resume(run_dir: str | Path, *, epochs: int | None = None, max_steps: int | None = None,
           callbacks: Iterable[Callback] = (), progress: bool = True,
           stop: threading.Event | None = None, device: str | None = None,
           data_root: str | None = None) -> Run:
    """Continue a stopped, interrupted or failed run from its last checkpoint.

    ``epochs`` / ``max_steps`` set the new total budget (not extra epochs); without them the
    run finishes its original budget. With the original budget, a resumed run ends exactly
    where an uninterrupted one would have (same metrics, bit for bit, on the CPU).
    """
    run = Run(Path(run_dir))
    if not run.config_path.is_file():
        raise RunError(_("{dir} is not a run folder (no config.json)").format(dir=run.dir))
    ckpt = load_checkpoint(run.checkpoint("last"))
    config = TrainConfig.from_dict(ckpt["config"])
    if epochs is not None and max_steps is not None:
        raise ConfigError(_("give either epochs or max_steps, not both"))
    if epochs is not None:
        config.epochs, config.max_steps = epochs, None
    if max_steps is not None:
        config.epochs, config.max_steps = None, max_steps
    if device is not None:
        config.device = device
    if data_root is not None:
        config.data_root = data_root
    dev, ddp, dataset = prepare(config)
    # The checkpoint's preprocessing contract, not statistics recomputed from the files (with
    # pretrained weights they are the weights' own).
    contract = ckpt["preprocessing"]
    dataset = with_statistics(dataset, (contract["mean"], contract["std"]))
    trainer = Trainer(config, run.dir, dataset, dev, callbacks, progress, stop,
                      resume_from=ckpt, ddp=ddp)
    return trainer.fit()


def seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


# ----------------------------------------------------------------------------- the loop


class Trainer:
    """One training run from a config, a dataset and a device; ``fit`` runs it to the end."""

    def __init__(self, config: TrainConfig, run_dir: Path, dataset: Dataset, device: torch.device,
                 callbacks: Iterable[Callback], progress: bool, stop: threading.Event | None,
                 resume_from: dict | None = None, ddp: Distributed | None = None,
                 weights: Weights | None = None) -> None:
        self.config, self.dataset, self.device = config, dataset, device
        self.weights = weights
        self.progress = progress
        self.run = Run(run_dir)
        self.stop = stop
        self.resume_from = resume_from
        self.ddp = ddp or Distributed()
        self.autocast_dtype = resolve_amp(config.amp, device)
        # Only rank 0 writes the run folder and shows progress; the other ranks just train.
        self.writer: RunWriter | None = None
        self.callbacks: list[Callback] = []
        if self.ddp.is_main:
            self.writer = RunWriter(run_dir)
            self.callbacks = [self.writer, *callbacks]
            if config.tensorboard:  # the same metric lines, also as TensorBoard events
                from resnet_core.training.tensorboard import TensorBoardWriter

                self.callbacks.insert(1, TensorBoardWriter(run_dir, config.to_dict()))
            if progress:
                self.callbacks.append(ProgressBar())
        # Made by _setup (in fit, so that a Trainer costs nothing until it runs):
        self.model: nn.Module  # the plain module: checkpoints, evaluation and diagnostics use it
        self.train_model: EagerFallback  # what the step calls: DDP and/or compiled around it
        self.init_report: InitReport | None  # what the starting weights loaded (None: scratch)
        self.loader: BatchLoader | FeatureLoader  # this rank's share of every global batch
        self.val_features: Tensor | None  # the validation split's pooled features (frozen path)
        self.steps_per_epoch: int
        self.total_steps: int
        self.optimizer: torch.optim.Optimizer
        self.scheduler: torch.optim.lr_scheduler.LRScheduler
        self.scaler: torch.amp.GradScaler  # enabled for fp16 on CUDA only; always checkpointed
        self.augment_generator: torch.Generator  # batch augmentation, seeded per run
        self.ema: WeightAverage | None  # the weights' moving average (config.ema), else None
        self.forward_backward: Callable[[Tensor, Tensor], tuple[Tensor, Tensor]]  # or a graph
        self.state: TrainState  # what callbacks see: step, epoch, totals, the stop flag
        self.step_in_epoch: int
        self.snapshot_epochs: set[int]  # the epochs whose weights are kept as snapshots
        self.interval: IntervalMetrics  # loss and accuracy summed on the device between logs

    def fit(self) -> Run:
        self._setup()
        state = self.state
        try:
            self._emit("on_train_start", state)
            outcome = self._loop()
            self._finish()
            self._emit("on_train_end", state, outcome)
        except BaseException as e:
            error = self._user_facing(e)
            self._emit("on_exception", state, error)
            if error is e:
                raise
            raise error from e
        finally:
            self.ddp.close()
        return self.run

    def _loop(self) -> str:
        """Steps until the budget is spent ("completed") or a stop is asked for ("stopped")."""
        c, state = self.config, self.state
        while state.step < self.total_steps:
            self._set_frozen(frozen_at(c, state.epoch))
            self._emit("on_epoch_start", state)
            for x, y in self._epoch_batches():
                self._train_step(x, y)
                self.step_in_epoch += 1
                state.step += 1
                end_of_epoch = self.step_in_epoch == self.steps_per_epoch
                done = state.step >= self.total_steps
                logs = None
                if self.interval.steps == c.log_every or end_of_epoch or done:
                    logs = self._train_metrics_line()
                self._emit("on_step_end", state, logs)
                if done:
                    break
                # Under torchrun the ranks agree on stopping at log intervals (one collective).
                if (logs is not None or not self.ddp.enabled) and self._stop_requested():
                    if self.writer is not None:
                        self._save("last", self._checkpoint_state())
                    return "stopped"
            self._end_epoch()
        return "completed"

    def _set_frozen(self, frozen: bool) -> None:
        """Freeze or unfreeze the backbone for this epoch (transfer.py); train mode either way."""
        set_backbone_frozen(self.model, frozen)
        train_mode(self.model, frozen)

    def _epoch_batches(self) -> Iterable[tuple[Tensor, Tensor]]:
        """This epoch's batches from where the run stands (mid-epoch after a resume)."""
        c = self.config
        order = torch.randperm(len(self.dataset.train), generator=torch.Generator()
                               .manual_seed(c.seed * 1_000_003 + self.state.epoch))
        order = self.ddp.shard(order, c.batch_size, self.steps_per_epoch)
        augments = c.augment or c.erasing > 0
        return self.loader.batches(order, drop_last=True, start=self.step_in_epoch,
                                   augment_generator=self.augment_generator if augments else None,
                                   crop_flip=c.augment, erasing=c.erasing,
                                   crop_padding=c.crop_padding)

    def _train_step(self, x: Tensor, y: Tensor) -> None:
        loss, logits = self.forward_backward(x, y)
        if self.config.grad_clip is not None:
            self.scaler.unscale_(self.optimizer)
            nn.utils.clip_grad_norm_(self.model.parameters(), self.config.grad_clip)
        self.scaler.step(self.optimizer)
        self.scaler.update()
        self.scheduler.step()
        if self.ema is not None:
            self.ema.update(self.model)
        self.interval.add(loss, logits, y)

    def _forward_backward(self, x: Tensor, y: Tensor) -> tuple[Tensor, Tensor]:
        """Gradients of the batch's loss in every parameter's .grad; (loss, logits) detached.

        On a GPU this is what cuda_graph.GraphedStep captures and replays, so it must not read
        anything on the host. Autocast's weight cache is off: a graph must recast the weights
        on every replay (and no ResNet weight is used twice in one pass anyway).
        """
        self.optimizer.zero_grad(set_to_none=True)
        with autocast_context(self.device, self.autocast_dtype, cache_enabled=False):
            logits = self.train_model(x)
            loss = compute_loss(self.config, logits, y)
        self.scaler.scale(loss).backward()
        return loss.detach(), logits.detach()

    def _train_metrics_line(self) -> dict:
        """The interval's train line for metrics.jsonl; fails on a non-finite loss, naming its step."""
        losses, loss, accuracy, count, elapsed = self.interval.read(self.ddp)
        bad = (~torch.isfinite(losses)).nonzero()
        if len(bad):
            step = self.state.step - len(losses) + int(bad[0]) + 1
            raise TrainingFailed(
                f"loss became {float(losses[bad[0]]):.4g} at step {step} (lr {self._lr():.3g}); "
                "try a lower learning rate (--lr) or gradient clipping (--grad-clip); "
                "the last good checkpoint is kept")
        self.interval.reset()
        return {
            "split": "train",
            "epoch": self.state.epoch + 1,
            "step": self.state.step,
            "loss": loss,
            "accuracy": accuracy,
            "lr": self._lr(),
            "images_per_sec": count / elapsed if elapsed > 0 else None,
            "elapsed_s": round(elapsed, 4),
        }

    def _lr(self) -> float:
        return float(self.optimizer.param_groups[0]["lr"])

    def _end_epoch(self) -> None:
        """Rank 0 validates, saves last.pt (and best.pt, and a snapshot when one is due)."""
        state = self.state
        state.epoch += 1
        self.step_in_epoch = 0
        if self.writer is None:  # the other ranks go on to train
            return
        result = self._validate()
        logs = {"split": "val", "epoch": state.epoch, "step": state.step,
                "loss": result.loss, "accuracy": result.report.accuracy, **result.tta_figures()}
        self._emit("on_eval_end", state, "val", logs)
        improved = state.best_val_accuracy is None or result.report.accuracy > state.best_val_accuracy
        if improved:
            state.best_val_accuracy = result.report.accuracy
        ckpt = self._checkpoint_state()
        self._save("last", ckpt)
        if improved:
            self._save("best", ckpt)
        if state.epoch in self.snapshot_epochs:
            # Weights only, for the Explain page's probe slider (maps sharpening over epochs).
            weights = {k: ckpt[k] for k in ("config", "preprocessing", "model", "epoch", "step")}
            self._announce(self.writer.save_snapshot(state.epoch, weights))
        self._emit("on_epoch_end", state, logs)
        self.interval.restart_clock()  # evaluation time is not training speed

    @property
    def evaluated_model(self) -> nn.Module:
        """The model validation measures and checkpoints keep: the weights' average with EMA."""
        return self.ema.model if self.ema is not None else self.model

    def _validate(self) -> EvalResult:
        """The validation split's result: through the whole model, or the head on cached features."""
        if self.val_features is None:
            return evaluate_model(self.evaluated_model, self.dataset, "val", self.device,
                                  channels_last=self.config.channels_last,
                                  autocast_dtype=self.autocast_dtype, tta=self.config.tta)
        with torch.no_grad():
            logits = self.evaluated_model.fc(self.val_features).float().cpu()
        return result_from_logits("val", logits, self.dataset.val.labels, self.dataset.info.class_names)

    def _finish(self) -> None:
        """Evaluate the best checkpoint on the test split (also when stopped, if one exists)."""
        if self.writer is not None:
            self.writer.wait_for_checkpoints()
        if self.writer is None or not self.run.has_checkpoint("best"):
            self.ddp.barrier()
            return
        ckpt = load_checkpoint(self.run.checkpoint("best"), map_location=self.device)
        model = model_from_checkpoint(ckpt)[0].to(self.device)
        if self.config.channels_last:
            model = model.to(memory_format=torch.channels_last)
        result = evaluate_model(model, self.dataset, "test", self.device,
                                channels_last=self.config.channels_last,
                                autocast_dtype=self.autocast_dtype, tta=self.config.tta)
        write_eval(self.run.dir, result, "best")
        logs = {"split": "test", "epoch": self.state.epoch, "step": self.state.step,
                "loss": result.loss, "accuracy": result.report.accuracy, **result.tta_figures()}
        self._emit("on_eval_end", self.state, "test", logs)
        self.ddp.barrier()

    def _stop_requested(self) -> bool:
        """A stop asked for by a callback, the ``stop`` event or a STOP file in the run folder."""
        state = self.state
        if self.stop is not None and self.stop.is_set():
            state.should_stop = True
        reason = self.run.take_stop_request()
        if reason is not None:
            state.should_stop = True
            state.stop_reason = state.stop_reason or reason
        state.should_stop = self.ddp.any(state.should_stop, self.device)
        return state.should_stop

    def _user_facing(self, e: BaseException) -> BaseException:
        """Out of memory becomes a message that says what to change; anything else is kept."""
        cpu_alloc = isinstance(e, RuntimeError) and ("DefaultCPUAllocator" in str(e)
                                                     or "can't allocate memory" in str(e))
        if isinstance(e, torch.OutOfMemoryError) or cpu_alloc:
            return TrainingFailed(
                f"out of memory on {self.device} at batch size {self.config.batch_size}; "
                "try a smaller --batch-size")
        return e

    def _emit(self, event: str, *args) -> None:
        for cb in self.callbacks:
            getattr(cb, event)(*args)

    # -- checkpoints ------------------------------------------------------------------------

    def _checkpoint_state(self) -> dict:
        # "model" holds the weights to use (evaluate, explain, serve, export): the average with
        # EMA, whose trained weights, what a resume goes on from, are kept as "trained_model".
        trained = {} if self.ema is None else {"trained_model": self.model.state_dict(),
                                               "ema_updates": self.ema.updates}
        return {
            "config": self.config.to_dict(),
            "preprocessing": self.dataset.info.to_dict(),
            "model": self.evaluated_model.state_dict(),
            **trained,
            "optimizer": self.optimizer.state_dict(),
            "scheduler": self.scheduler.state_dict(),
            "scaler": self.scaler.state_dict(),
            "rng": {**capture_rng_states(), "augment": self.augment_generator.get_state()},
            "epoch": self.state.epoch,
            "step": self.state.step,
            "step_in_epoch": self.step_in_epoch,
            "best_val_accuracy": self.state.best_val_accuracy,
            **self.interval.state_dict(),
            "saved_at": now_iso(),
        }

    def _save(self, which: str, state: dict) -> None:
        """The best or the last checkpoint, through the run writer."""
        self._announce(self.writer.save_checkpoint(which, state))

    def _announce(self, path: Path) -> None:
        self._emit("on_checkpoint", self.state, path)

    def _restore(self, ckpt: dict) -> None:
        self.model.load_state_dict(ckpt.get("trained_model", ckpt["model"]))
        if self.ema is not None:
            self.ema.load_state_dict(ckpt["model"], ckpt.get("ema_updates", ckpt["step"]))
        self.optimizer.load_state_dict(ckpt["optimizer"])
        self.scheduler.load_state_dict(ckpt["scheduler"])
        self.scaler.load_state_dict(ckpt["scaler"])
        restore_rng_states(ckpt["rng"])
        if self.ddp.is_main:
            self.augment_generator.set_state(ckpt["rng"]["augment"].cpu())
        else:  # only rank 0's stream is saved; the others continue on fresh, distinct ones
            self.augment_generator.manual_seed(self._augment_seed() + ckpt["step"])
        self.state.epoch, self.state.step = ckpt["epoch"], ckpt["step"]
        self.step_in_epoch = ckpt["step_in_epoch"]
        self.state.best_val_accuracy = ckpt["best_val_accuracy"]
        self.interval.load_state_dict(ckpt)
        # Lines written after this checkpoint (by a run that was killed) would repeat.
        if self.writer is not None:
            self.writer.rewind(self.state.step, self.state.epoch)
            truncate_after_step(self.run.diagnostics_path, self.state.step)
        if self.state.step >= self.total_steps:
            raise ConfigError(_("the run already took {step} steps of a budget of "
                                "{total_steps}; give a larger --epochs or --max-steps to resume").format(
                                  step=self.state.step, total_steps=self.total_steps))

    # -- setup ------------------------------------------------------------------------------

    def _setup(self) -> None:
        c, ddp = self.config, self.ddp
        self._configure_torch()
        seed_everything(c.seed)
        self.model = c.build_model(self.dataset.info)
        self.init_report = self._load_weights()
        self.model = self.model.to(self.device)
        if c.channels_last:
            self.model = self.model.to(memory_format=torch.channels_last)
        # What the step calls: DDP under torchrun, compiled if asked. ``self.model`` stays the
        # plain module: checkpoints, evaluation and diagnostics use it.
        mode = "reduce-overhead" if self.device.type == "cuda" else None  # + CUDA graphs
        self.train_model = EagerFallback(self._data_parallel(self.model), compile=c.compile,
                                         mode=mode)
        # Each rank loads its share of every global batch (distributed.py).
        self.loader = BatchLoader(self.dataset.train, self.dataset.info, self.device,
                                  batch_size=ddp.local_batch_size(c.batch_size),
                                  channels_last=c.channels_last, num_workers=c.num_workers)
        self.val_features = None
        if self._caches_features():
            self._cache_features()
        self.steps_per_epoch = len(self.dataset.train) // c.batch_size
        epochs = c.resolved_epochs()
        self.total_steps = c.max_steps if c.max_steps is not None else epochs * self.steps_per_epoch
        self.optimizer = make_optimizer(c, self.model)
        self.scheduler = make_scheduler(c, self.optimizer, self.steps_per_epoch, self.total_steps)
        # The scaler only matters for fp16 on CUDA; it is kept (disabled) otherwise so that
        # every checkpoint has the same shape.
        self.scaler = torch.amp.GradScaler(self.device.type,
                                           enabled=self.autocast_dtype == torch.float16)
        self.augment_generator = torch.Generator(device=self.device).manual_seed(self._augment_seed())
        self.ema = WeightAverage(self.model, c.ema) if c.ema > 0 else None
        self.forward_backward = self._forward_backward
        # (A graph captured with the backbone frozen would not train it once unfrozen.)
        if not c.freeze_epochs and use_cuda_graph(c.cuda_graph, self.device, distributed=ddp.enabled,
                                                  compiled=c.compile,
                                                  grad_scaler=self.scaler.is_enabled()):
            self.forward_backward = GraphedStep(self._forward_backward, self.device)
        self.state = TrainState(run_dir=self.run.dir, total_steps=self.total_steps,
                                steps_per_epoch=self.steps_per_epoch,
                                total_epochs=math.ceil(self.total_steps / self.steps_per_epoch),
                                model=self.model)
        self.step_in_epoch = 0
        if c.diagnostics_every and ddp.is_main:
            self.callbacks.append(self._diagnostics())
        self.snapshot_epochs = snapshot_schedule(self.state.total_epochs, self._snapshot_count())
        self.interval = IntervalMetrics(self.device, c.log_every)
        if self.resume_from is not None:
            self._restore(self.resume_from)
        if self.writer is not None:
            self.writer.write_config(self._resolved_config())

    def _load_weights(self) -> InitReport | None:
        """Copy the weights a new run starts from into the model (a resumed run has its own)."""
        if self.weights is None or self.resume_from is not None:
            return None
        report = load_into(self.model, self.weights, self.config.arch)
        if self.progress and self.ddp.is_main:
            print(report.summary(), file=sys.stderr)
        return report

    def _caches_features(self) -> bool:
        """The frozen fast path: a backbone frozen throughout and no augmentation (erasing
        included) mean each image's features never change, so they are computed once and only
        the head trains."""
        c = self.config
        return (c.feature_cache and c.freeze == "backbone" and not c.freeze_epochs
                and not c.augment and not c.erasing and not self.ddp.enabled)

    def _cache_features(self) -> None:
        c = self.config
        features = {}
        for split in ("train", "val"):
            loader = BatchLoader(self.dataset.split(split), self.dataset.info, self.device,
                                 batch_size=max(c.batch_size, 64), channels_last=c.channels_last,
                                 num_workers=c.num_workers)
            features[split] = pooled_features(self.model, loader, self.autocast_dtype)
        self.loader = FeatureLoader(features["train"], self.dataset.train.labels, c.batch_size)
        self.val_features = features["val"]
        self.train_model = Head(self.model)

    def _snapshot_count(self) -> int:
        """The weight snapshots asked for, fewer where they would take more than
        SNAPSHOT_DISK_SHARE of the free disk; and a one-line error, before any step, when the
        disk cannot hold the run's two checkpoints at all."""
        if self.writer is None:
            return self.config.probe_snapshots
        weights = sum(t.numel() * t.element_size() for t in self.model.state_dict().values())
        optimizer_copies = 1 if self.config.optimizer == "sgd" else 2
        checkpoints = 2 * weights * (1 + optimizer_copies) * 2  # best + last, each written anew
        free = shutil.disk_usage(self.run.dir).free
        if free < checkpoints + 16 * 2**20:
            raise TrainingFailed(f"only {free / 2**20:,.0f} MiB free in {self.run.dir.parent}; "
                                 f"this run's checkpoints need about {checkpoints / 2**20:,.0f} "
                                 "MiB; free some space or use another --runs-dir")
        fits = int(SNAPSHOT_DISK_SHARE * (free - checkpoints) // max(1, weights))
        count = min(self.config.probe_snapshots, max(0, fits))
        if count < self.config.probe_snapshots:
            warnings.warn(f"keeping {count} weight snapshots instead of "
                          f"{self.config.probe_snapshots}: more would take over "
                          f"{SNAPSHOT_DISK_SHARE:.0%} of the free disk", RuntimeWarning, stacklevel=2)
        return count

    def _configure_torch(self) -> None:
        c = self.config
        threads = c.num_threads or (self.ddp.cpu_threads() if self.device.type == "cpu" else None)
        if threads:
            torch.set_num_threads(threads)
        if c.deterministic:
            torch.use_deterministic_algorithms(True, warn_only=True)
        if self.device.type == "cuda":
            # cuDNN picks the fastest kernels for our fixed shapes; off when determinism matters.
            torch.backends.cudnn.benchmark = not c.deterministic

    def _augment_seed(self) -> int:
        """The augmentation stream's seed; each rank augments its own images differently."""
        return self.config.seed + 1 + self.ddp.rank * 7919

    def _diagnostics(self) -> Diagnostics:
        """Per-block diagnostics on a fixed probe batch: the first 64 training images."""
        n = min(64, len(self.dataset.train))
        raw = (self.dataset.train.images[:n] if self.dataset.train.images is not None else
               self.dataset.images("train", list(range(n))))
        probe = self.loader.normalize(raw.to(self.device))
        if self.scaler.is_enabled():
            self.state.extra["grad_scaler"] = self.scaler
        return Diagnostics(self.run.dir, probe, self.config.diagnostics_every)

    def _data_parallel(self, model: nn.Module) -> nn.Module:
        """DistributedDataParallel around ``model`` under torchrun; ``model`` itself otherwise."""
        if not self.ddp.enabled:
            return model
        ids = [self.device.index] if self.device.type == "cuda" else None
        return nn.parallel.DistributedDataParallel(model, device_ids=ids)

    def _resolved_config(self) -> dict:
        """config.json: every resolved setting, the data contract, device and versions."""
        info = self.dataset.info
        resolved = self.config.to_dict()
        resolved["epochs"] = None if self.config.max_steps is not None else self.config.resolved_epochs()
        resolved["data_root"] = str(Path(self.config.data_root).expanduser().resolve())
        init = self.init_report.to_dict() if self.init_report else None
        if init is None and self.resume_from is not None and self.run.config_path.is_file():
            init = self.run.config.get("init")  # what the run started from, kept over resumes
        return {
            **resolved,
            "device": device_kind(str(self.device)),  # the choice; device_name says which card
            "device_name": device_name(self.device),
            "class_names": info.class_names,
            "input_shape": [info.channels, info.image_size, info.image_size],
            "mean": info.mean,
            "std": info.std,
            "preprocessing": info.to_dict(),
            "world_size": self.ddp.world_size,
            "training_step": self._step_kind(),
            "batch_size_per_rank": self.config.batch_size // self.ddp.world_size,
            "num_parameters": count_parameters(self.model),
            "steps_per_epoch": self.steps_per_epoch,
            "total_steps": self.total_steps,
            "train_size": len(self.dataset.train),
            "val_size": len(self.dataset.val),
            "test_size": len(self.dataset.test),
            "skipped_files": len(self.dataset.skipped_files),
            "versions": versions(),
            "init": init,
        }

    def _step_kind(self) -> str:
        """How the step runs, for config.json: cuda-graph, compiled or eager."""
        if isinstance(self.forward_backward, GraphedStep):
            return "cuda-graph"
        if self.val_features is not None:
            return "cached-features"
        return "compiled" if self.config.compile else "eager"


# ----------------------------------------------------------------------------- pieces


class IntervalMetrics:
    """Loss and accuracy of one log interval, summed on the device and read once at its end.

    Reading a GPU value stalls the GPU, so nothing here calls .item() per step. Its state is
    part of the checkpoint, so a run stopped mid-interval logs the same line when resumed.
    """

    def __init__(self, device: torch.device, log_every: int) -> None:
        self.device, self.log_every = device, log_every
        self.reset()

    def reset(self) -> None:
        zero = torch.zeros((), device=self.device)
        self.sums = {"loss_sum": zero.clone(), "correct": zero.clone(), "count": zero.clone()}
        self.step_losses = torch.zeros(self.log_every, device=self.device)
        self.steps = 0
        self.restart_clock()

    def restart_clock(self) -> None:
        self.started = time.perf_counter()

    def add(self, loss: Tensor, logits: Tensor, y: Tensor) -> None:
        with torch.no_grad():
            loss = loss.float()
            self.step_losses[self.steps] = loss
            self.sums["loss_sum"] += loss * len(y)
            self.sums["correct"] += (logits.argmax(1) == y).sum()
            self.sums["count"] += len(y)
        self.steps += 1

    def read(self, ddp: Distributed) -> tuple[Tensor, float, float, float, float]:
        """(per-step losses on the CPU, mean loss, accuracy, images, seconds), summed over ranks."""
        n = self.steps
        if ddp.enabled:  # one collective per log interval
            packed = torch.cat([torch.stack([self.sums["loss_sum"], self.sums["correct"],
                                             self.sums["count"]]), self.step_losses[:n]])
            ddp.sum_(packed)
            self.sums = {"loss_sum": packed[0], "correct": packed[1], "count": packed[2]}
            self.step_losses[:n] = packed[3:] / ddp.world_size
        losses = self.step_losses[:n].cpu()
        count = float(self.sums["count"])
        return (losses, float(self.sums["loss_sum"]) / count, float(self.sums["correct"]) / count,
                count, time.perf_counter() - self.started)

    def state_dict(self) -> dict:
        # Checkpoint keys as release 0.1.0 wrote them.
        return {"accumulators": {k: v.clone() for k, v in self.sums.items()},
                "step_losses": self.step_losses.clone(), "steps_in_interval": self.steps}

    def load_state_dict(self, ckpt: dict) -> None:
        self.sums = {k: v.to(self.device) for k, v in ckpt["accumulators"].items()}
        self.step_losses = ckpt["step_losses"].to(self.device)
        self.steps = ckpt["steps_in_interval"]


class EagerFallback:
    """Calls ``torch.compile(module)``, or ``module`` itself where compiling fails.

    Compilation happens at the first call; if it fails there (no C compiler, an unsupported
    platform or op), or already when wrapping, a warning says so and training goes on eagerly.
    """

    def __init__(self, module: nn.Module, *, compile: bool, mode: str | None = None) -> None:
        self.module = module
        self.fn: Callable[[Tensor], Tensor] = module
        self.pending = False
        if compile:
            try:
                self.fn = torch.compile(module, mode=mode)
                self.pending = True
            except Exception as e:  # noqa: BLE001 - any failure means: train eagerly
                self._fall_back(e)

    def __call__(self, x: Tensor) -> Tensor:
        if not self.pending:
            return self.fn(x)
        self.pending = False
        try:
            return self.fn(x)
        except Exception as e:  # noqa: BLE001 - no C compiler, an unsupported op, ...
            self._fall_back(e)
            return self.fn(x)

    def _fall_back(self, error: BaseException) -> None:
        warnings.warn(f"torch.compile could not compile this model ({first_line(error, 200)}); "
                      "training continues in eager mode", RuntimeWarning, stacklevel=3)
        self.fn = self.module


def snapshot_schedule(total_epochs: int, count: int) -> set[int]:
    """``count`` epochs spread from the first to the last (all of them if there are fewer)."""
    if count <= 0:
        return set()
    return {round(v) for v in np.linspace(1, total_epochs, min(count, total_epochs))}


