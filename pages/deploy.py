"""Deploy: serve a run over HTTP (resnet_core.serve) and watch it live: latency, throughput,
the rolling accuracy / precision / recall / F1 from feedback, and the inputs' drift."""

from __future__ import annotations

import time

import pandas as pd
import streamlit as st

from resnet_core import WorkbenchError, analysis, serving, training
from resnet_core.i18n import _

from pages.announce import announce
from pages.common import (
    REFRESH_S,
    bench,
    chart,
    choose_run_with_checkpoint,
    dataset_for_run,
    keep_job_counts_current,
    session,
    unlinked,
)
from pages.language import fragment

st.title(_("Deploy"))
st.caption(_("Serve a run's best weights over HTTP on this machine (127.0.0.1), with the same "
             "decoding and preprocessing as Predict and export, and watch it work."))
run = choose_run_with_checkpoint("deploy_run", "best")
services = bench().deployments
service = services.get(run.id)

if service is None or not service.alive:
    if service is not None:
        st.warning(_("The service for {run} has stopped; start it again.").format(run=run.id))
    fmt = st.selectbox(_("Format"), serving.FORMATS, key="deploy_fmt",
                       help=_("eager: the PyTorch model; onnx: onnxruntime; pt2: a torch.export program"))
    if st.button(_("Start the service"), type="primary", key="deploy_start"):
        try:
            with st.spinner(_("Starting the service...")):
                session().deploy(run.id, fmt=fmt)
            st.rerun()
        except WorkbenchError as e:
            st.error(unlinked(e))
    st.stop()

st.success(_("Serving **{run}** ({format}) at {url}: POST /predict and /feedback, GET /metrics "
             "(Prometheus), /stats, /health.").format(run=run.id, format=service.fmt, url=service.url))
st.code(service.curl(run.config.get("dataset")), language=None)  # plain: the highlighter's bash colours fail 4.5:1 (axe)
replays: dict = st.session_state.setdefault("replays", {})
b1, b2 = st.columns(2)
if b1.button(_("Replay the test split"), key="deploy_replay",
             help=_("sends every test image with its label through the live service (predict, "
                    "then feedback), so the live metrics can be set against the offline evaluation")):
    replays[run.id] = serving.Replay(service, dataset_for_run(run.config)).start()
if b2.button(_("Stop the service"), key="deploy_stop"):
    if run.id in replays:
        replays.pop(run.id).stop()
    try:
        session().undeploy(run.id)
    except WorkbenchError as e:
        st.error(unlinked(e))
    st.rerun()


@fragment(run_every=REFRESH_S)
def live() -> None:
    """Polls /stats every REFRESH_S seconds; keeps this tab's history for the charts."""
    keep_job_counts_current()
    try:
        stats = service.get("/stats")
    except (OSError, WorkbenchError, ValueError) as e:
        announce(_("The service does not answer."), key="deploy_status")
        st.error(_("The service does not answer: {error}").format(error=unlinked(e)))
        return
    announce(_("Serving on port {port}.").format(port=service.port), key="deploy_status")
    history = st.session_state.setdefault(f"deploy_history_{run.id}_{service.port}", [])
    now = time.monotonic()
    previous = history[-1] if history else None
    throughput = ((stats["images"] - previous["images"]) / (now - previous["at"])
                  if previous else 0.0)
    history.append({"at": now, "seconds": stats["uptime_s"], "images": stats["images"],
                    "throughput": throughput, "p50": stats["latency_ms"]["p50"],
                    "p99": stats["latency_ms"]["p99"]})
    del history[:-150]
    m1, m2, m3, m4 = st.columns(4)
    m1.metric(_("Images served"), f"{stats['images']:,}")
    m2.metric(_("Throughput"), _("{rate} img/s").format(rate=f"{throughput:.0f}"))
    p50, p99 = stats["latency_ms"]["p50"], stats["latency_ms"]["p99"]
    m3.metric(_("Latency p50"), f"{p50:.1f} ms" if p50 is not None else "-")
    m4.metric(_("Latency p99"), f"{p99:.1f} ms" if p99 is not None else "-")
    chart(analysis.service_curves(pd.DataFrame(history)),
          analysis.describe_service(pd.DataFrame(history)), pd.DataFrame(history), key="deploy_curves")

    replay = replays.get(run.id)
    if replay is not None:
        st.progress(replay.sent / max(1, replay.total),
                    text=(_("Replay: {sent}/{total} test images (done)") if replay.done
                          else _("Replay: {sent}/{total} test images")).format(sent=replay.sent, total=replay.total))
        if replay.error:
            st.error(_("Replay stopped: {error}").format(error=unlinked(replay.error)))
    rolling = stats["rolling"]
    offline = run.summary("test")
    st.markdown(_("**Live metrics** (the last {n} predictions with feedback) against the offline "
                  "evaluation of the test split:").format(n=f"{rolling.get('window', 0):,}"))
    rows = [{_("metric"): _(name), _("live"): rolling.get(key), _("offline"): offline.get(key)}
            for key, name in training.HEADLINE_METRICS.items()]
    st.table(pd.DataFrame(rows).set_index(_("metric")).style.format("{:.4f}", na_rep="-"))
    drift = stats["drift"]
    if drift["input_mean"] is not None:
        means = ", ".join(f"{v:.3f}" for v in drift["input_mean"])
        train = ", ".join(f"{v:.3f}" for v in drift["training_mean"])
        text = _("Inputs' mean intensity {means} (training data: {train}); drift score {score} "
                 "(|difference| / training std, per channel)").format(
            means=means, train=train, score=f"{drift['score']:.2f}")
        sizes = ", ".join(f"{size} ({count})" for size, count in drift["sizes"])
        if drift["warning"]:
            st.warning(_("{text}: above {limit} — the inputs do not look like the training data. Sizes "
                         "received: {sizes}.").format(text=text, limit=serving.DRIFT_WARN, sizes=sizes))
        else:
            st.caption(_("{text}. Sizes received: {sizes}.").format(text=text, sizes=sizes))


live()
