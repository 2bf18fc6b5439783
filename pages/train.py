"""Train: choose a dataset, an architecture and hyperparameters; launch; watch it live."""

from __future__ import annotations

import streamlit as st
import torch

from resnet_core import TrainConfig, WorkbenchError, analysis, data, runs, training, workbench
from resnet_core.i18n import N_, _, ngettext

from pages import start_from
from pages.announce import announce
from pages.common import (
    REFRESH_S,
    block_drawing,
    block_names,
    chart,
    data_dir,
    dataset,
    datasets_here,
    inside_data_dir,
    keep_job_counts_current,
    manager,
    metrics_tail,
    plain,
    session,
    state_label,
    state_name,
    store,
    unlinked,
    unpack_upload,
)
from pages.language import fragment, keyed

# TrainConfig fields the form shows (a recipe's other fields apply as they are).
FORM_FIELDS = ("dataset", "arch", "optimizer", "lr", "scheduler", "batch_size", "epochs", "augment",
               "crop_padding", "erasing", "ema", "tta")


def recipe_config(name: str, recipe: str) -> TrainConfig:
    """``recipe``'s settings on dataset ``name`` ("custom": the defaults)."""
    return (TrainConfig.from_preset(recipe, dataset=name) if recipe != "custom"
            else TrainConfig(dataset=name))


def form_values(name: str, recipe: str) -> dict:
    """The form's widget values for ``recipe`` on dataset ``name`` (widget key -> value)."""
    c = recipe_config(name, recipe)
    return {"arch": c.arch, "optimizer": c.optimizer, f"lr_{c.optimizer}": c.lr,
            "scheduler": c.scheduler, "batch_size": c.batch_size, "augment": c.augment,
            "crop_padding": training.CROP_PADDINGS.index(c.crop_padding), "erasing": c.erasing, "ema": c.ema, "tta": c.tta,
            keyed("budget"): "epochs",
            f"amount_epochs_{name}": c.resolved_epochs(), f"amount_steps_{name}": 200}


def crop_label(padding: int | None, own: int | None) -> str:
    """The Crops box's words for ``padding`` (None: the dataset's own, ``own`` px)."""
    if padding is None:
        return _("the dataset's own") + (f" ({own} px)" if own is not None else "")
    return _("none (flips only)") if padding == 0 else f"{padding} px"


def prefill_form(name: str, recipe: str) -> None:
    """Fill the form from a recipe when one is chosen (and back to the defaults when the
    choice goes from a recipe to custom); otherwise only the fields not set yet (after
    visiting another page, Streamlit has forgotten them), so a user's edits stay."""
    before = st.session_state.get("recipe_applied")
    st.session_state["recipe_applied"] = (name, recipe)
    fresh = before != (name, recipe) and (recipe != "custom" or (before and before[1] != "custom"))
    for key, value in form_values(name, recipe).items():
        if fresh:
            st.session_state[key] = value
        else:
            st.session_state.setdefault(key, value)


def model_tiles_for(planned, ds) -> None:
    """Parameters, FLOPs and the time per epoch of the form's model, its block drawn on demand,
    and a warning when it is heavy for this machine."""
    cost, dev, arch = planned.cost, planned.device, planned.config.arch
    m1, m2, m3 = st.columns(3)
    m1.metric(_("Parameters"), f"{cost.parameters / 1e6:.2f} M")
    m2.metric(_("FLOPs per image"), f"{cost.flops_per_image / 1e6:.1f} M")
    m3.metric(_("Time per epoch"), f"~{runs.duration(cost.seconds_per_epoch)}"
              if cost.seconds_per_epoch is not None else _("not yet"),
              help=(f"{planned.estimate_line()}" if cost.seconds_per_epoch is not None else
                    _("on this {device}; basis: {basis} (known after this run, or when no job is "
                      "training)").format(device=dev.upper(), basis=cost.basis_words())))
    # A toggle, not an expander: an expander renders its (costly) drawing even when closed.
    if st.toggle(_("Show the residual block with this model's shapes"), key="show_block"):
        shape = (arch, ds.info.channels, ds.info.image_size)
        names = block_names(*shape)
        block = st.select_slider(_("Block"), names, value=names[0], key=f"train_block_{arch}")
        c = planned.config
        st.graphviz_chart(block_drawing(*shape, block, activation=c.activation,
                                        residual=c.residual, norm=c.norm))
    if cost.heavy(dev):
        size = (_("about {duration} per epoch").format(duration=runs.duration(cost.seconds_per_epoch))
                if cost.seconds_per_epoch is not None
                else _("{millions} M parameters").format(millions=f"{cost.parameters / 1e6:.0f}"))
        st.warning(_("{arch} is heavy for this {device}: {size}. Try resnet20 or resnet18, or fewer "
                     "steps.").format(arch=arch, device=dev.upper(), size=size))


def is_active(run_id: str) -> bool:
    """Queued or running (False for a run deleted meanwhile)."""
    try:
        return store().get(run_id).is_active
    except WorkbenchError:
        return False


def following_nothing() -> bool:
    """True when this tab follows no run yet (none launched here, none in the URL)."""
    return not (st.session_state.get("train_run_id") or st.query_params.get("run"))


def close_settings() -> None:
    """Called when Train is pressed, before the rerun: the form folds away."""
    st.session_state["train_settings"] = False


st.title(_("Train"))
# The form sits in an expander that closes when Train is pressed (and is closed when the page
# opens on a run), so that the run's curves and result come into view under the button: at
# 1400x900 only the run's header showed below the open form (issue 38, item 14).
st.session_state.setdefault("train_settings", following_nothing())
settings = st.expander(_("Settings: data, model and training"), key="train_settings",
                       on_change="rerun", icon=":material/tune:")
with settings:
    # ------------------------------------------------------------------ dataset and architecture
    left, right = st.columns(2)
    with left:
        st.header(_("Data"))
        offline = [n for n, spec in data.DATASETS.items() if spec.offline]
        name = st.selectbox(_("Dataset"), data.DATASET_NAMES, key="dataset",
                            help=_("{names} work offline; the others read a data folder").format(
                                names=", ".join(offline)))
        st.caption(_(data.DATASETS[name].description))
        recipes = ("custom", *training.presets_for(name))
        recipe = st.selectbox(_("Recipe"), recipes, key=f"recipe_{name}",
                              index=recipes.index(training.DATASET_PRESET.get(name, "custom")),
                              help=_("a measured recipe fills the form below and sets what the form "
                                     "does not show; custom: the form's own defaults"))
        recipe_note = st.empty()  # filled once the form below is read: what the recipe promises
        prefill_form(name, recipe)
        data_root, image_size = str(data_dir()), None
        ds, problem_data = None, None
        if not data.DATASETS[name].offline:
            data_root = st.text_input(_("Data root"), str(data_dir()), key="data_root",
                                      help=_("a folder inside {folder} (RESNET_WORKBENCH_DATA), looked "
                                             "in first; then the system's and torchvision's folders "
                                             "(see README, Datasets)").format(folder=data_dir()))
        if st.toggle(_("Which datasets are on this machine?"), key="show_datasets"):
            st.dataframe(datasets_here(data_root), hide_index=True, width="stretch")
        if name == "folder":
            upload = st.file_uploader(_("...or upload a .zip of an image folder (one folder per class)"),
                                      type=["zip"], key="folder_zip")
            if upload is not None:
                try:
                    data_root = str(unpack_upload(upload.name, upload.getvalue()))
                    st.caption(_("Unpacked to {folder}").format(folder=plain(data_root)))
                except WorkbenchError as e:
                    problem_data = str(e)
            image_size = int(st.number_input(_("Image size (px)"), *training.RANGES["image_size"],
                                             data.DATASETS[name].image_size, key="image_size"))
        # The split the run will train on: a recipe may hold out less than the usual tenth.
        val_fraction = recipe_config(name, recipe).val_fraction
        try:
            if problem_data is None:
                ds = dataset(name, str(inside_data_dir(data_root)), image_size, val_fraction)
        except WorkbenchError as e:
            problem_data = str(e)
        # Nothing chosen yet (no folder typed, nothing uploaded): say what to do, not an error.
        untouched = name == "folder" and data_root == str(data_dir()) and upload is None
        if problem_data and untouched:  # not an error: say what to do
            st.info(_("Type the folder of your images above (inside {folder}, one subfolder per "
                      "class), or upload a .zip of it.").format(folder=plain(str(data_dir()))))
        elif problem_data:
            st.error(unlinked(problem_data))
        if ds is not None:
            info = ds.info
            if ds.found_in:
                st.caption(_("Found in {folder}").format(folder=plain(ds.found_in)))
            st.write(_("**{train}** train / **{val}** val / **{test}** test images, {shape}, "
                       "**{classes}** classes: {names}").format(
                train=len(ds.train), val=len(ds.val), test=len(ds.test),
                shape=f"{info.channels}x{info.image_size}x{info.image_size}", classes=info.num_classes,
                names=plain(", ".join(info.class_names[:12])) + (" ..." if info.num_classes > 12 else "")))
            if ds.skipped_files:
                st.warning(ngettext("{n} unreadable file skipped.", "{n} unreadable files skipped.",
                                    len(ds.skipped_files)).format(n=len(ds.skipped_files)))
            # One sample per class (first ten classes).
            picks = [int((ds.train.labels == c).nonzero()[0]) for c in range(min(10, info.num_classes))
                     if (ds.train.labels == c).any()]
            images = ds.images("train", picks)
            st.image([analysis.to_pil(im, 64) for im in images],
                     caption=[info.class_names[int(ds.train.labels[i])] for i in picks], width=64,
                     alt=[_("a training image of class {name}").format(
                         name=info.class_names[int(ds.train.labels[i])]) for i in picks])
            if name == "folder":
                start_from.suggest_pretrained()

    with right:
        st.header(_("Model"))
        arch = st.selectbox(_("Architecture"), training.ARCHS, key="arch",
                            help=_("resnet8-110: CIFAR-style (He et al. 4.2); resnet18-152: ImageNet-style"))
        residual = st.toggle(_("Residual shortcuts"), True, key="residual",
                             help=_("off: the plain twin, the same layers without shortcuts"))
        c2, c3 = st.columns(2)
        norm = c2.selectbox(_("Normalisation"), training.NORMS, key="norm")
        activation = c3.selectbox(_("Activation"), list(training.ACTIVATIONS), key="activation")
        device_choices = ["auto", "cpu"] + (["cuda"] if torch.cuda.is_available() else [])
        device = st.selectbox(_("Device"), device_choices, key="device")
        gpus = torch.cuda.device_count() if training.resolve_device(device).type == "cuda" else 1
        processes = 1
        if gpus > 1:  # data-parallel: the job manager starts torchrun with one process per GPU
            processes = int(st.number_input(_("GPUs"), 1, gpus, gpus, key="gpus",
                                            help=_("torchrun --standalone with one process per GPU; "
                                                   "the batch size is the global batch")))
        start = start_from.picker(arch, past_runs=store().runs())
        # The tiles (parameters, FLOPs, time) are drawn here once the form below is read.
        model_tiles = st.container()

    # ------------------------------------------------------------------ hyperparameters
    st.header(_("Training"))
    h1, h2, h3, h4 = st.columns(4)
    optimizer = h1.selectbox(_("Optimizer"), training.OPTIMIZERS, key="optimizer")
    lr_key = f"lr_{optimizer}"
    start_from.apply_found_lr(lr_key)
    if lr_key not in st.session_state:
        st.session_state[lr_key] = training.DEFAULT_LR[optimizer]
    lr = h2.number_input(_("Learning rate"), format="%.4f", step=0.001, key=lr_key)
    scheduler = h3.selectbox(_("Schedule"), training.SCHEDULERS, key="scheduler")
    batch_size = h4.number_input(_("Batch size"), step=16, key="batch_size")
    b1, b2, b3, b4 = st.columns(4)
    BUDGETS = {"epochs": N_("epochs"), "steps": N_("steps")}
    budget = b1.radio(_("Budget"), list(BUDGETS), horizontal=True, key=keyed("budget"),
                      format_func=lambda k: _(BUDGETS[k]))
    top = training.MAXIMUMS["epochs" if budget == "epochs" else "max_steps"]
    amount = b2.number_input(_("Epochs") if budget == "epochs" else _("Steps"), min_value=1, max_value=top,
                             step=1, key=f"amount_{budget}_{name}",
                             help=_("1 to {top}").format(top=f"{top:,}"))
    # Say what was understood: a browser reads "1e9" typed into this whole-number box as 1.
    b2.caption((ngettext("= {n} epoch", "= {n} epochs", int(amount)) if budget == "epochs"
                else ngettext("= {n} step", "= {n} steps", int(amount))).format(n=f"{int(amount):,}"))
    augment = b3.toggle(_("Augmentation"), key="augment",
                        help=_("random crops; horizontal flips where they keep the label (not digits)"))
    seed = b4.number_input(_("Seed"), value=0, step=1, key="seed")
    # The accuracy levers (issue 41): each one's cost is in the time estimate above.
    l0, l1, l2, l3 = st.columns(4)
    own = ds.info.crop_padding if ds is not None else None
    # The box holds the choice's position: a widget whose value is None shows no selection at
    # all ("Choose an option"), and None is a choice here (the dataset's own crops).
    crop_choice = l0.selectbox(
        _("Crops"), range(len(training.CROP_PADDINGS)), key="crop_padding", disabled=not augment,
        format_func=lambda i: crop_label(training.CROP_PADDINGS[i], own),
        help=_("augmentation's random crops: each image shifted by up to this many pixels (zero "
               "padding); none: flips only, which a short run learns faster from"))
    crop_padding = training.CROP_PADDINGS[crop_choice]
    erasing = l1.number_input(_("Random erasing"), 0.0, 1.0, step=0.05, format="%.2f", key="erasing",
                              help=_("the chance that a training image has a random rectangle "
                                     "blanked (0: off; 0.25 is usual): a regulariser for longer runs"))
    ema = l2.number_input(_("EMA of the weights"), 0.0, 0.9999, step=0.001, format="%.4f", key="ema",
                          help=_("evaluate and keep a moving average of the weights with this decay "
                                 "per step (0: off; 0.99 to 0.999 for runs of a few thousand steps)"))
    no_tta = training.tta_problem(name, augment, hflip=ds.info.hflip if ds is not None else None)
    if no_tta:  # a mirrored digit is not the same digit; a net never shown a mirror misreads it
        st.session_state["tta"] = False
    tta = l3.toggle(_("Flip TTA"), key="tta", disabled=bool(no_tta),
                    help=no_tta or _("test-time augmentation: each image and its mirror, their logits "
                                     "averaged (validation and test cost twice as much; the plain "
                                     "figure is kept beside it)"))
    snapshots = st.number_input(_("Weight snapshots"), *training.RANGES["probe_snapshots"],
                                TrainConfig().probe_snapshots, key="snapshots",
                                help=_("copies of the weights over training for the Explain page's "
                                       "probe slider (0: none; each is one model's size on disk)"))
    diagnostics = st.toggle(_("Log diagnostics"), False, key="diagnostics",
                            help=_("every 10 steps: each block's gradient norm and ||F(x)|| / ||x|| "
                                   "(diagnostics.jsonl), charted below while it trains"))
    tensorboard = st.toggle(_("TensorBoard event files"), False, key="tensorboard",
                            help=_("also write the curves, hyperparameters and confusion matrix as "
                                   "TensorBoard events in the run folder: tensorboard --logdir "
                                   "<runs folder> shows every run, live"))

    form = dict(
        dataset=name, arch=arch, residual=residual, norm=norm, activation=activation,
        data_root=data_root, image_size=image_size, optimizer=optimizer, lr=float(lr),
        scheduler=scheduler, batch_size=int(batch_size), augment=augment, seed=int(seed), device=device,
        crop_padding=crop_padding, erasing=float(erasing), ema=float(ema), tta=tta,
        epochs=int(amount) if budget == "epochs" else None,
        max_steps=int(amount) if budget == "steps" else None,
        diagnostics_every=10 if diagnostics else 0, probe_snapshots=int(snapshots),
        tensorboard=tensorboard, **start.fields,
    )
    config = TrainConfig.from_preset(recipe, **form) if recipe != "custom" else TrainConfig(**form)
    if recipe != "custom":
        hidden = {k: v for k, v in training.PRESETS[recipe].items() if k not in FORM_FIELDS}
        also = _("Also sets {fields}.").format(fields=", ".join(f"{k.replace('_', ' ')} {v}"
                                                               for k, v in hidden.items()))
        changed = training.preset_changes(recipe, config)
        if changed:  # its measured result is not this run's to expect
            what = "; ".join(_("{field} {new} (the recipe's: {old})").format(
                field=k.replace("_", " "), new=new, old=old) for k, (old, new) in changed.items())
            recipe_note.caption(_("**{recipe}, changed**: {what}. The recipe's measured result ({result}) "
                                  "is for it unchanged. {also}").format(
                recipe=recipe, what=what, result=_(training.PRESET_RESULTS[recipe]), also=also))
        else:
            recipe_note.caption(_("**{recipe}**: {result}. {also}").format(
                recipe=recipe, result=_(training.PRESET_RESULTS[recipe]), also=also))
    if ds is not None:
        planned = analysis.plan(config, num_classes=ds.info.num_classes, channels=ds.info.channels,
                                size=ds.info.image_size, train_images=len(ds.train),
                                val_images=len(ds.val), test_images=len(ds.test), runs=store(),
                                # never calibrate while a job waits or trains (both slow down)
                                calibrate=manager().idle)
        with model_tiles:
            model_tiles_for(planned, ds)
        if planned.levers:
            st.caption(_("The accuracy levers' time, in the estimate: {levers}.").format(
                levers=", ".join(f"{analysis.LEVER_NAMES[k]} ~{runs.duration(v)}"
                                 for k, v in planned.levers.items())))
        st.caption(planned.memory_line())
        if not planned.fits:
            st.warning(_("Batch {batch} probably does not fit in memory; try {largest} or fewer.").format(
                batch=config.batch_size, largest=planned.largest_batch))
    problem = workbench.preflight(config, processes=processes, dataset=ds) or start.problem
    start_from.lr_finder(config, lr_key, ready=not problem and ds is not None)
if not settings.open:  # what Train would start, in one line
    st.caption(_("{summary}. Open Settings to change it.").format(summary=config.summary()))
if problem:
    st.error(unlinked(problem))
if st.button(_("Train"), type="primary", disabled=bool(problem) or ds is None, key="launch",
             on_click=close_settings):
    try:
        new_id = session().submit(config, processes=processes)
        followed = st.session_state.get("train_run_id")
        if followed and is_active(followed):
            # Keep watching the run that trains; this page follows the new one when it ends.
            st.session_state.setdefault("train_next", []).append(new_id)
            st.toast(_("Queued {run}: it starts after the run below; this page follows it then.").format(
                run=new_id))
        else:
            st.session_state["train_run_id"] = new_id
            # What it is by now: a free device starts it at once (the toast once said
            # "Queued" of a run already training, or done).
            state = store().get(new_id).state
            st.toast({"queued": _("Queued: it starts when the device is free."),
                      "running": _("Training: its curves appear below.")}.get(
                state, _("Run {run} is {state}: below.").format(run=new_id, state=state_name(state))))
    except WorkbenchError as e:  # e.g. another server owns this runs folder
        st.error(unlinked(e))

# ------------------------------------------------------------------ the live run
st.divider()
all_runs = store().runs()
active = [r.id for r in all_runs if r.is_active]
# The run this tab follows: the one it launched, else the one in the URL (so a refresh keeps
# it), else the newest active run (one started from another tab or the CLI). Runs launched
# while another trained wait in "train_next": when the followed run ends, the next one is.
by_id = {r.id: r for r in all_runs}
followed = st.session_state.get("train_run_id")
waiting = [r for r in st.session_state.get("train_next", []) if r in by_id]
if waiting and (followed not in by_id or not by_id[followed].is_active):
    st.session_state["train_run_id"], st.session_state["train_next"] = waiting[0], waiting[1:]
run_id = (st.session_state.get("train_run_id") or st.query_params.get("run")
          or (active[0] if active else None))
if run_id is not None and run_id not in by_id:  # deleted meanwhile, or a bad URL
    st.session_state.pop("train_run_id", None)
    if st.query_params.get("run") == run_id:
        del st.query_params["run"]
    run_id = None
if run_id is None:
    st.info(_("No run yet: press Train. Runs started from the CLI or a notebook appear on Runs."))
    st.stop()
st.session_state["train_run_id"] = run_id
st.query_params["run"] = run_id


def live_panel(run_id: str) -> None:
    """Status, progress, curves and Stop for one run. Reads only new metric lines."""
    keep_job_counts_current()
    run = store().get(run_id)
    status, config = run.status, run.config
    state = run.state
    metrics = metrics_tail(run.dir).frame()
    st.header(f"{run_id}  ·  {state_label(state)}")
    # The outcome first, under the header: at 1400x900 it sat below the curves, out of view.
    if state == "failed":
        st.error(unlinked(status.get("error") or _("the run failed")))
    elif state == "completed" and run.summary("test"):
        test, took = run.summary("test"), runs.time_taken(status)
        st.success(_("Test accuracy {accuracy}, macro F1 {f1}").format(
            accuracy=f"{test['accuracy']:.4f}" + training.tta_note(test), f1=f"{test['macro_f1']:.4f}")
                   + (f", {took}." if took else "."))
    progress = runs.run_progress(status, config, metrics)
    announce(progress.announcement(run_id), key="train_status")
    if progress.total_steps:
        st.progress(progress.fraction, text=progress.text())
    if progress.has_metrics:
        k1, k2, k3, k4 = st.columns(4)
        k1.metric(_("Train loss"), f"{progress.train_loss:.4f}")
        k2.metric(_("Val accuracy"), f"{progress.val_accuracy:.4f}" if progress.val_accuracy is not None
                  else "-")
        k3.metric(_("Learning rate"), f"{progress.lr:.4g}")
        k4.metric(_("Images/s"), f"{progress.images_per_sec:.0f}" if progress.images_per_sec else "-")
        chart(analysis.training_curves(metrics), analysis.describe_training_curves(metrics),
              analysis.curves_table(metrics), key="live_curves")
        smoothing = config.get("label_smoothing") or 0.0
        if smoothing:  # its training loss sits above the validation loss by design
            floor = training.label_smoothing_floor(smoothing, len(config.get("class_names") or range(10)))
            st.caption(_("Label smoothing {smoothing}: the training targets are softened, so the "
                         "training loss cannot go below about {floor}; a training loss above the "
                         "validation loss is expected here, not a sign of trouble.").format(
                smoothing=f"{smoothing:g}", floor=f"{floor:.2f}"))
        if run.has_diagnostics:
            diag = training.read_diagnostics(run.dir)
            d1, d2 = st.columns(2)
            for where, column, key in ((d1, "grad_norm", "live_grad_norms"), (d2, "branch_ratio", "live_branch_ratios")):
                chart(analysis.diagnostics_over_time(diag, column), analysis.describe_diagnostics(diag, column),
                      diag[["step", "block", column]].dropna(), key=key, where=where)
    elif state in runs.ACTIVE_STATES:
        st.caption(_("Waiting for the first metrics..."))
    if state in runs.ACTIVE_STATES:
        if st.button(_("Stop"), key="stop", help=_("checkpoints and stops after the current step")):
            try:
                session().stop(run_id)
            except WorkbenchError as e:
                st.error(unlinked(e))
            st.toast(_("Stopping after this step; the last checkpoint is kept."))
    elif state == "completed":
        st.page_link("evaluate.py", label=_("Open on Evaluate"), icon=":material/analytics:")
    # When the run ends, rerun the whole page once so polling stops.
    was_active = st.session_state.get("live_was_active")
    st.session_state["live_was_active"] = state in runs.ACTIVE_STATES
    if was_active and state not in runs.ACTIVE_STATES:
        st.rerun()


state_now = store().get(run_id).state
# Live while the run is active, and while any job is (the sidebar's count must follow the
# queue: a stopped run's process can still be ending when its status says "stopped").
if state_now in runs.ACTIVE_STATES or not manager().idle:
    fragment(run_every=REFRESH_S)(live_panel)(run_id)
else:
    live_panel(run_id)
