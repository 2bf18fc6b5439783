"""TrainConfig: every setting of a run, as one typed dataclass with its validation (one-line
ConfigErrors that say what is accepted) and the measured presets. config.json is its dict."""

from __future__ import annotations

import dataclasses
import functools
import inspect
import io
import tokenize
from dataclasses import dataclass

from resnet_core.data.folder import DEFAULT_ROOT
from resnet_core.data.registry import DATASET_NAMES
from resnet_core.data.registry import DATASETS as DATASET_SPECS
from resnet_core.device import DEVICES, cpu_has_fast_bf16, device_kind
from resnet_core.errors import ConfigError
from resnet_core.i18n import N_, _, ngettext
from resnet_core.training.models import ACTIVATIONS, ARCHS, NORMS, STEMS, ResNet, build_model
from resnet_core.training.transfer import FREEZE, IMAGENET_FILES, PRETRAINED

OPTIMIZERS = ("sgd", "adam", "adamw")
# The learning rate a form starts from for each optimizer: SGD with momentum at the paper's
# 0.1; Adam's steps are normalised, so its usual 1e-3.
DEFAULT_LR = {"sgd": 0.1, "adam": 0.001, "adamw": 0.001}
SCHEDULERS = ("none", "step", "cosine", "onecycle")
LOSSES = ("cross_entropy", "mse")
AMP_MODES = ("auto", "off", "bf16", "fp16")

# The epochs used when neither --epochs nor --max-steps is given come from the registry
# (data/registry.py): enough to reach each set's usual accuracy with the default recipe
# (digits: >= 97% test accuracy in ~20 s on 2 CPU cores).
DEFAULT_EPOCHS = {name: spec.default_epochs for name, spec in DATASET_SPECS.items()}

# Upper bounds: past these a value is a typo or a way to exhaust a shared machine, not a
# recipe (a dashboard serves a class; its form should refuse what would take it down).
MAXIMUMS = {"epochs": 10_000, "max_steps": 10_000_000, "batch_size": 1_048_576, "log_every": 100_000,
            "step_size_epochs": 10_000, "image_size": 1024, "width": 1024, "num_threads": 1024}
# Whole-number fields with a lower bound other than 1 as well: (lowest, highest) accepted.
RANGES = {"image_size": (8, MAXIMUMS["image_size"]), "probe_snapshots": (0, 100),
          "num_workers": (0, 64), "diagnostics_every": (0, MAXIMUMS["max_steps"]),
          "crop_padding": (0, 64)}

# The Train page's choices of crop padding: the dataset's own (None), none (flips only), 1-4 px.
CROP_PADDINGS = (None, 0, 1, 2, 3, 4)

FAST_AMP = "bf16" if cpu_has_fast_bf16() else "auto"

# Named recipes: settings measured to do one job well (benchmarks/RESULTS.md has the runs).
# Explicit arguments override them: TrainConfig.from_preset("digits-99", seed=3).
PRESETS: dict[str, dict] = {
    # digits to >= 99% mean test accuracy over seeds in under 20 s on 2 CPU cores
    # (benchmarks/time_to_accuracy.py; 40 epochs averaged 98.9-99.7% depending on the seeds)
    "digits-99": {"dataset": "digits", "arch": "resnet20", "epochs": 60, "batch_size": 64,
                  "lr": 0.05, "label_smoothing": 0.1},
    # Fashion-MNIST to >= 93% test accuracy in at most 5 minutes, command to result, on a 2-core
    # CPU with AMX (benchmarks/fashion_mnist.py). bf16 autocast where the CPU has AMX tiles
    # (~2.5x fp32 there) or AVX512-BF16 (1.45x); elsewhere "auto" (bf16 on a GPU, fp32 on a
    # CPU without either, where bf16 is slower and the 5 minutes are out of reach).
    # A ResNet-14 twice the paper's width after a stride-2 stem: 32-64-128 channels at 14, 7 and
    # 4 px cost about what 16-32-64 at 28, 14 and 7 px do, with twice the channels. No
    # augmentation: at 8 epochs the net underfits (train accuracy ~ val accuracy), and crops
    # and flips only slow that down.
    "fashion-mnist-fast": {"dataset": "fashion-mnist", "arch": "resnet14", "width": 32,
                           "stem": "strided", "epochs": 8, "batch_size": 128, "lr": 0.1,
                           "scheduler": "onecycle", "label_smoothing": 0.1, "augment": False,
                           "amp": FAST_AMP},
    # Fashion-MNIST to 94% in 10 minutes, command to result (issue 41): the fast recipe's net
    # for 16 epochs with flips and crops of one pixel (not the set's two), flip TTA, and 2% of
    # the training pool held out for validation instead of a tenth (58,800 images to learn
    # from, not 54,000; the test split is untouched). benchmarks/RESULTS.md, "94% in 10
    # minutes": seed 0 went from 93.05% (12 epochs, no augmentation) to 94.00% with flips, TTA
    # and the smaller hold-out at 12 epochs, 93.84% at 16 (it overfits: 98.4% on its training
    # batches), 94.34% at 16 with the 1-px crops. Measured and left out: random erasing (-0.19
    # points) and an EMA of the weights (+0.03, within noise) at 4 epochs of the fast recipe.
    "fashion-mnist-94": {"dataset": "fashion-mnist", "arch": "resnet14", "width": 32,
                         "stem": "strided", "epochs": 16, "batch_size": 128, "lr": 0.1,
                         "scheduler": "onecycle", "label_smoothing": 0.1, "augment": True,
                         "crop_padding": 1, "tta": True, "val_fraction": 0.02, "amp": FAST_AMP},
    # Fashion-MNIST towards Zalando's ResNet18 row (94.9%): 93.69% in 15.7 min here; stretched
    # to 38 epochs 93.95% in 32.5 min (benchmarks/RESULTS.md), so 94.9% in 30 min is not
    # reached on a 2-core CPU.
    "fashion-mnist-long": {"dataset": "fashion-mnist", "arch": "resnet20", "width": 32,
                           "stem": "strided", "epochs": 22, "batch_size": 128, "lr": 0.1,
                           "scheduler": "onecycle", "label_smoothing": 0.1, "amp": FAST_AMP},
}
# What each recipe was measured to do, for the Train page and --help.
PRESET_RESULTS = {
    "digits-99": N_(">= 99% test accuracy in under 20 s (2-core CPU)"),
    "fashion-mnist-fast": N_("about 93% test accuracy in under 5 min (2-core CPU with bf16)"),
    "fashion-mnist-94": N_("94.1% test accuracy in 8.5 min (median of 3 seeds; 2-core CPU with bf16)"),
    "fashion-mnist-long": N_("93.7% test accuracy in 16 min (2-core CPU; Zalando's ResNet18 row, 94.9%, "
                             "is out of reach there in 30 min)"),
}
# The recipe the app's Train page starts from when a dataset is chosen ("custom": the form's
# own defaults).
DATASET_PRESET = {"fashion-mnist": "fashion-mnist-fast"}


def presets_for(dataset: str) -> tuple[str, ...]:
    """The recipes made for ``dataset``, the default first."""
    names = [n for n, p in PRESETS.items() if p.get("dataset") == dataset]
    default = DATASET_PRESET.get(dataset)
    return tuple(sorted(names, key=lambda n: n != default))


def preset_changes(recipe: str, config) -> dict[str, tuple]:
    """The recipe's settings that ``config`` changed: {field: (the recipe's, config's)}. Its
    measured result is for the recipe as it is; a page that still showed it after the
    architecture changed promised a figure the run would not reach."""
    return {k: (v, getattr(config, k)) for k, v in PRESETS[recipe].items()
            if k != "dataset" and hasattr(config, k) and getattr(config, k) != v}


def tta_problem(dataset: str, augment: bool, *, hflip: bool | None = None) -> str | None:
    """Why flip TTA cannot be used on ``dataset`` trained with (or without) ``augment``, or None.
    A mirrored digit is another digit, or none; and a net trained without augmentation's flips
    has never seen a mirrored image: on Fashion-MNIST, whose shoes all point one way, averaging
    in the mirror cost 5 points (0.841 against 0.896 plain, benchmarks/RESULTS.md). ``hflip``:
    the loaded set's own answer (an image folder's); else the registry's."""
    flips = DATASET_SPECS[dataset].hflip if hflip is None and dataset in DATASET_SPECS else hflip
    if flips is False:
        return _("tta (horizontal flips at test time) is for sets whose labels survive a mirror; "
                 "{dataset}'s do not: turn tta off").format(dataset=dataset)
    if not augment:
        return _("tta averages each image with its mirror, which a net trained without "
                 "augmentation (its flips) has never seen: turn augment on, or tta off")
    return None


def label_smoothing_floor(smoothing: float, num_classes: int) -> float:
    """The lowest training loss label smoothing allows: the entropy of the smoothed targets
    (0.50 for 0.1 on ten classes). A training loss above a validation loss is then expected."""
    import math

    if not smoothing or num_classes < 2:
        return 0.0
    other = smoothing / num_classes
    true = 1 - smoothing + other
    return -(true * math.log(true) + (num_classes - 1) * other * math.log(other))


@dataclass
class TrainConfig:
    # --- what to train ---
    dataset: str = "digits"  # a built-in set (data/registry.py) or folder: your own images
    arch: str = "resnet20"  # CIFAR-style resnet8..110 or ImageNet-style resnet18..152 (models.ARCHS)
    residual: bool = True  # shortcut connections; without them the plain twin (the same net)
    norm: str = "batch"  # the normalisation in each block (the paper's: batch)
    activation: str = "relu"  # the nonlinearity after each normalisation (the paper's: relu)
    stem: str = "auto"  # auto: 3x3 stride-1 stem for inputs up to 64 px (ImageNet weights: theirs);
    # strided: the small 3x3 stem at stride 2 (halves the size first)
    width: int | None = None  # the first stage's planes, doubled per stage; None: the paper's
    # (16 for resnet8-110, 64 for resnet18-152)
    # --- starting point (transfer.py) ---
    pretrained: str = "none"  # imagenet: torchvision's ImageNet weights for resnet18..152, read
    # from $TORCH_HOME/hub/checkpoints (fetched with download)
    init_from: str | None = None  # a torchvision-format state_dict file, or a run folder (best.pt)
    freeze: str = "none"  # backbone: train only the classifier head, the rest fixed
    freeze_epochs: int = 0  # > 0: head only for this many epochs, then everything, the backbone
    # at lr/10 (fine-tune)
    feature_cache: bool = True  # a frozen backbone without augmentation: its features computed once
    # --- data ---
    data_root: str = DEFAULT_ROOT  # the folder with the dataset files (torchvision's layouts, or
    # your image folder's class-per-folder tree)
    download: bool = False  # let torchvision fetch the files (needs a network)
    image_size: int | None = None  # the side images are resized to, px; None: the dataset's own (folder: 64)
    val_fraction: float = 0.1  # share of the training pool held out for validation
    augment: bool = True  # random crop with padding; horizontal flip where it makes sense
    crop_padding: int | None = None  # augment's crop: zero padding in px on each side (None:
    # the dataset's own, 2 for 28 px sets); 0: no crops, flips only
    erasing: float = 0.0  # random erasing: the chance that a training image has a random
    # rectangle blanked (Zhong et al. 2017; 0.25 is usual); 0: off
    # --- budget ---
    epochs: int | None = None  # None (and no max_steps): the dataset's usual budget (DEFAULT_EPOCHS)
    max_steps: int | None = None  # optimizer steps; an alternative to epochs
    batch_size: int = 128  # images per step
    # --- optimisation ---
    optimizer: str = "sgd"  # SGD with momentum (the paper's), Adam or AdamW
    lr: float = 0.1  # peak learning rate (per step, after warmup)
    momentum: float = 0.9  # SGD momentum
    nesterov: bool = True  # SGD Nesterov momentum
    weight_decay: float = 5e-4  # L2 penalty (decoupled for adamw)
    scheduler: str = "cosine"  # the learning rate's schedule over the run
    warmup_epochs: float = 1.0  # linear warmup, in epochs (none/step/cosine)
    step_size_epochs: int = 10  # step scheduler: decay every this many epochs
    step_gamma: float = 0.1  # step scheduler: multiply the lr by this
    loss: str = "cross_entropy"  # mse: on one-hot targets, as the seed article lists (to compare)
    label_smoothing: float = 0.0  # cross-entropy only
    grad_clip: float | None = None  # max global gradient norm; None: no clipping
    # --- evaluation ---
    ema: float = 0.0  # evaluate (and keep as the run's model) an exponential moving average of
    # the weights, with this decay per step (0.99 to 0.9999); 0: the trained weights as they are
    tta: bool = False  # test-time augmentation: the logits of each image and of its mirror
    # averaged (twice the evaluation's work); for sets whose labels survive a horizontal flip
    # --- hardware ---
    device: str = "auto"  # auto: a GPU where there is one, else the CPU
    amp: str = "auto"  # auto: bf16 (or fp16 + grad scaler) on CUDA, off on CPU
    channels_last: bool = True  # NHWC layout: 1.2-1.5x faster on this CPU, uses tensor cores on GPU
    compile: bool = False  # torch.compile the training step (a slow first step; eager with a
    # warning where it cannot compile)
    cuda_graph: bool = True  # GPU: replay forward+backward as one CUDA graph (cuda_graph.py);
    # off: the step's kernels launched one by one
    num_threads: int | None = None  # CPU threads; None: all cores (1 per core per rank under torchrun)
    num_workers: int = 2  # DataLoader workers (only for folder sets too large for memory)
    # --- reproducibility and logging ---
    seed: int = 0  # the random seed (initial weights, data order, augmentation)
    deterministic: bool = False  # torch.use_deterministic_algorithms (slower on GPU)
    log_every: int = 10  # steps between train lines in metrics.jsonl
    probe_snapshots: int = 8  # weight-only snapshots over training, for the Explain page's probe
    # slider (Run.snapshots()); 0: none
    diagnostics_every: int = 0  # every N steps, per-block gradient norms and ||F(x)||/||x|| in
    # diagnostics.jsonl; 0: off
    tensorboard: bool = False  # also write TensorBoard event files into <run>/tensorboard/
    # (tensorboard --logdir <runs folder> shows every run, live)
    runs_dir: str | None = None  # None: $RESNET_WORKBENCH_RUNS or the checkout's runs/
    run_name: str | None = None  # an optional label, kept in config.json

    @classmethod
    def from_preset(cls, name: str, **overrides) -> TrainConfig:
        """A named recipe from ``PRESETS``, with any field overridden."""
        _choice("preset", name, tuple(PRESETS))
        settings = dict(PRESETS[name])
        if overrides.get("max_steps") is not None:
            settings.pop("epochs", None)  # a step budget replaces the preset's epochs
        return cls(**{**settings, **overrides})

    def input_shape(self) -> tuple[int, int]:
        """(channels, side) of the images the model sees, from the registry and image_size,
        without reading any file (an image folder: 3 channels)."""
        spec = DATASET_SPECS[self.dataset]
        return (spec.channels or 3, self.image_size or spec.image_size)

    def summary(self) -> str:
        """One line a person reads: "resnet20 on digits, sgd lr 0.1 (cosine), batch 128, 30 epochs"."""
        budget = (ngettext("{n} step", "{n} steps", self.max_steps).format(n=f"{self.max_steps:,}")
                  if self.max_steps is not None
                  else ngettext("{n} epoch", "{n} epochs", self.resolved_epochs() or 0).format(
                      n=self.resolved_epochs()))
        text = (_("{arch} on {dataset}, {optimizer} lr {lr} ({scheduler}), batch {batch}, {budget}")
                if self.residual else
                _("{arch} (plain) on {dataset}, {optimizer} lr {lr} ({scheduler}), batch {batch}, {budget}"))
        return text.format(arch=self.arch, dataset=self.dataset, optimizer=self.optimizer, lr=f"{self.lr:g}",
                           scheduler=self.scheduler, batch=self.batch_size, budget=budget)

    def resolved_epochs(self) -> int | None:
        if self.max_steps is not None:
            return self.epochs
        return self.epochs if self.epochs is not None else DEFAULT_EPOCHS[self.dataset]

    def validate(self) -> TrainConfig:
        """Check every field; raise ConfigError naming the field and what it accepts."""
        for name, accepted in CHOICES.items():
            _choice(name, getattr(self, name), accepted)
        self._validate_start()
        if self.epochs is not None and self.max_steps is not None:
            raise ConfigError(_("give either epochs or max_steps, not both"))
        _positive_int("epochs", self.epochs, allow_none=True)
        _positive_int("max_steps", self.max_steps, allow_none=True)
        _positive_int("batch_size", self.batch_size)
        _positive_int("log_every", self.log_every)
        _positive_int("step_size_epochs", self.step_size_epochs)
        _positive_int("image_size", self.image_size, allow_none=True)
        _positive_int("width", self.width, allow_none=True)
        _positive_int("num_threads", self.num_threads, allow_none=True)
        for name in ("probe_snapshots", "num_workers", "diagnostics_every"):
            low, top = RANGES[name]
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= top:
                raise ConfigError(_("{name} must be an integer in [{low}, {top}], got {value}").format(
                                      name=name, low=low, top=f"{top:,}", value=f"{value!r}"))
        if not isinstance(self.tensorboard, bool):
            raise ConfigError(_("tensorboard must be true or false, got {tensorboard}").format(
                                  tensorboard=f"{self.tensorboard!r}"))
        if self.image_size is not None and self.image_size < RANGES["image_size"][0]:
            raise ConfigError(_("image_size must be at least {value} px, got {image_size}").format(
                                  value=RANGES['image_size'][0], image_size=self.image_size))
        _range("lr", self.lr, 0.0, 10.0, low_open=True)
        _range("momentum", self.momentum, 0.0, 1.0, high_open=True)
        _range("weight_decay", self.weight_decay, 0.0, 1.0)
        _range("val_fraction", self.val_fraction, 0.0, 0.5, low_open=True)
        _range("label_smoothing", self.label_smoothing, 0.0, 1.0, high_open=True)
        _range("step_gamma", self.step_gamma, 0.0, 1.0, low_open=True)
        _range("warmup_epochs", self.warmup_epochs, 0.0, 1000.0)
        if self.grad_clip is not None:
            _range("grad_clip", self.grad_clip, 0.0, 1e6, low_open=True)
        _range("erasing", self.erasing, 0.0, 1.0)
        if self.crop_padding is not None:
            low, top = RANGES["crop_padding"]
            if (isinstance(self.crop_padding, bool) or not isinstance(self.crop_padding, int)
                    or not low <= self.crop_padding <= top):
                raise ConfigError(_("crop_padding must be an integer in [{low}, {top}] px or none "
                                    "(the dataset's own), got {value}").format(
                                      low=low, top=top, value=f"{self.crop_padding!r}"))
        _range("ema", self.ema, 0.0, 1.0, high_open=True)
        if not isinstance(self.tta, bool):
            raise ConfigError(_("tta must be true or false, got {tta}").format(tta=f"{self.tta!r}"))
        problem = tta_problem(self.dataset, self.augment) if self.tta else None
        if problem:
            raise ConfigError(problem)
        if not isinstance(self.seed, int) or self.seed < 0:
            raise ConfigError(_("seed must be an integer >= 0, got {seed}").format(
                                  seed=f"{self.seed!r}"))
        return self

    def _validate_start(self) -> None:
        if self.pretrained == "imagenet" and self.arch not in IMAGENET_FILES:
            raise ConfigError(_("ImageNet weights exist for {names}; got arch {arch} (start a "
                                "CIFAR-style net from a run with init_from)").format(
                                  names=', '.join(IMAGENET_FILES), arch=f"{self.arch!r}"))
        if self.pretrained == "imagenet" and self.width not in (None, 64):
            raise ConfigError(_("ImageNet weights are for width 64; got width {width}").format(
                                  width=self.width))
        if self.pretrained != "none" and self.init_from:
            raise ConfigError(_("give either pretrained or init_from, not both"))
        if self.init_from is not None and not (isinstance(self.init_from, str) and self.init_from):
            raise ConfigError(_("init_from must be a file or run folder path, got {init_from}").format(
                                  init_from=f"{self.init_from!r}"))
        if not (isinstance(self.freeze_epochs, int) and not isinstance(self.freeze_epochs, bool)
                and 0 <= self.freeze_epochs <= MAXIMUMS["epochs"]):
            raise ConfigError(_("freeze_epochs must be a whole number >= 0, got {freeze_epochs}").format(
                                  freeze_epochs=f"{self.freeze_epochs!r}"))
        epochs = self.resolved_epochs()
        if self.freeze_epochs and epochs is not None and self.freeze_epochs >= epochs:
            raise ConfigError(_("freeze_epochs ({freeze_epochs}) must be less than the epochs "
                                "({epochs}): the backbone is unfrozen after them").format(
                                  freeze_epochs=self.freeze_epochs, epochs=epochs))

    @property
    def starts_from_weights(self) -> bool:
        return self.pretrained != "none" or bool(self.init_from)

    @property
    def model_stem(self) -> str:
        """The stem to build: ``auto`` with ImageNet weights means theirs (7x7, stride 2)."""
        return "imagenet" if self.stem == "auto" and self.pretrained == "imagenet" else self.stem

    def build_model(self, info) -> ResNet:
        """The network this config describes, for a dataset's contract (``data.DatasetInfo``)."""
        return build_model(self.arch, info.num_classes, info.channels, residual=self.residual,
                           norm=self.norm, activation=self.activation, stem=self.model_stem,
                           input_size=info.image_size, width=self.width)

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> TrainConfig:
        """Build from a saved dict, ignoring keys this version does not know. A device a run
        recorded with its index (``cuda:0``: a torchrun rank's) means the choice ``cuda``."""
        names = {f.name for f in dataclasses.fields(cls)}
        values = {k: v for k, v in data.items() if k in names}
        if "device" in values:
            values["device"] = device_kind(values["device"])
        return cls(**values)


# The fields that take one of a few names, and those names (validate, the CLI's choices).
CHOICES: dict[str, tuple[str, ...]] = {
    "dataset": DATASET_NAMES, "arch": ARCHS, "norm": NORMS, "activation": tuple(ACTIVATIONS),
    "stem": STEMS, "optimizer": OPTIMIZERS, "scheduler": SCHEDULERS, "loss": LOSSES,
    "amp": AMP_MODES, "device": DEVICES, "pretrained": PRETRAINED, "freeze": FREEZE,
}


@dataclass(frozen=True)
class FieldDoc:
    """A TrainConfig field as its source describes it: the section it sits under ("# --- data
    ---") and its comment (with the comment lines that continue it)."""

    section: str
    comment: str


@functools.lru_cache(maxsize=1)
def field_docs() -> dict[str, FieldDoc]:
    """{field: FieldDoc}, read from TrainConfig's source: the comments beside the fields are
    the one description of each setting (the CLI's --help is made from them)."""
    names = {f.name for f in dataclasses.fields(TrainConfig)}
    docs: dict[str, FieldDoc] = {}
    section, field, line_of_field = "", None, -1
    tokens = tokenize.generate_tokens(io.StringIO(inspect.getsource(TrainConfig)).readline)
    for tok in tokens:
        if tok.type == tokenize.NAME and tok.start[1] == 4 and tok.string in names:
            field, line_of_field = tok.string, tok.start[0]
            docs[field] = FieldDoc(section, "")
        elif tok.type == tokenize.COMMENT:
            text = tok.string.lstrip("#").strip()
            if text.startswith("---"):
                section, field = text.strip("- "), None
            elif field is not None and (tok.start[0] == line_of_field or tok.line.strip() == tok.string):
                before = docs[field].comment
                docs[field] = FieldDoc(section, f"{before} {text}".strip())
    return docs


def extract_field_docs(fileobj, keywords, comment_tags, options):
    """Babel's extraction method for this file (babel.cfg): its _() texts as Python's, then each
    field's comment and section, which the CLI's --help shows in the reader's language."""
    from babel.messages.extract import extract_python

    yield from extract_python(fileobj, keywords, comment_tags, options)
    for doc in field_docs().values():
        for text in (doc.section, doc.comment):
            if text:
                yield 0, None, text, ["a TrainConfig field's comment: the CLI's --help"]


def _choice(name: str, value: object, accepted: tuple[str, ...]) -> None:
    if value not in accepted:
        raise ConfigError(_("unknown {name} {value}; choose one of: {names}").format(
                              name=name, value=f"{value!r}", names=', '.join(accepted)))


def _positive_int(name: str, value: object, allow_none: bool = False) -> None:
    if value is None and allow_none:
        return
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ConfigError(_("{name} must be a whole number >= 1, got {value}").format(
                              name=name, value=f"{value!r}"))
    if name in MAXIMUMS and value > MAXIMUMS[name]:
        raise ConfigError(_("{name} must be at most {value}, got {value2}").format(
                              name=name, value=f"{MAXIMUMS[name]:,}", value2=f"{value:,}"))


def _range(
    name: str, value: object, low: float, high: float, low_open: bool = False, high_open: bool = False
) -> None:
    ok = isinstance(value, (int, float)) and not isinstance(value, bool) and value == value
    if ok:
        ok = (value > low if low_open else value >= low) and (value < high if high_open else value <= high)
    if not ok:
        lo = "(" if low_open else "["
        hi = ")" if high_open else "]"
        raise ConfigError(_("{name} must be in {lo}{low}, {high}{hi}, got {value}").format(
                              name=name, lo=lo, low=f"{low:g}", high=f"{high:g}", hi=hi, value=f"{value!r}"))
