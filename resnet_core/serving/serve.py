"""Serve a run over HTTP: ``python -m resnet_core serve RUN_DIR``.

Starlette and uvicorn (both come with the pinned Streamlit) and prometheus_client:

* ``POST /predict``: images as multipart files under ``file`` (repeatable) or JSON
  ``{"images": [base64, ...]}``; decoded and normalised by the run's preprocessing contract
  (``data.decode_image``, as training, Predict and export); the top classes per image, with an
  id for feedback. Images from requests that arrive together are classified together
  (``Batcher``: up to ``max_batch`` images, waiting at most ``batch_wait_ms`` for company),
  because one image at a time leaves most of a CPU idle.
* ``POST /feedback``: ``{"id", "label"}`` (or a list of up to MAX_FEEDBACK_ITEMS), the true
  class of an earlier prediction; one label per prediction (a later one replaces it). A rolling
  window of the last FEEDBACK_WINDOW labelled predictions gives live accuracy and macro
  precision, recall and F1 (``feedback.FeedbackWindow``).
* ``GET /metrics``: Prometheus text (requests, latency, batch sizes, errors, the rolling
  metrics, input drift); ``GET /stats``: the same as JSON for the dashboard; ``GET /health``.

Every mistake a client can make is a 4xx with ``{"error": one line}``; nothing a request
sends can stop the service, and none costs more than its share (``guard``: bytes counted as
they arrive, read timeouts, a connection cap; images judged by their pixel count from the
header and decoded off the event loop unless tiny).
"""

from __future__ import annotations

import asyncio
import collections
import gc
import hashlib
import io
import json
import os
import signal
import tempfile
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import torch
import torch.nn.functional as F

from resnet_core.device import cpu_cores
from resnet_core.errors import ConfigError, WorkbenchError
from resnet_core.hosts import allowed_hosts
from resnet_core.i18n import _
from resnet_core.serving.deploy import example_curl
from resnet_core.serving.feedback import Monitor
from resnet_core.serving.guard import (
    BODIES,
    KEEP_ALIVE_S,
    MAX_CONNECTIONS,
    MAX_IMAGES,
    ClientError,
    GuardedH11Protocol,
    HostAllowList,
    check_pixels,
    held_by,
    parse_json,
    read_body,
    read_images,
)
from resnet_core.settings import SERVE, settings
from resnet_core.supervisor import on_end_of_input

FORMATS = ("eager", "onnx", "pt2")
MAX_FEEDBACK_BYTES = 2**20
MAX_FEEDBACK_ITEMS = 1000  # per request
REMEMBERED = 20_000  # predictions kept for feedback (oldest forgotten first)
INLINE_DECODE_PIXELS = 64 * 64 * MAX_IMAGES  # requests this small decode on the event loop
TOP_K = 5


# ----------------------------------------------------------------------------- the model


@dataclass
class Model:
    """The run's network behind one call: float (N, C, H, W) -> logits (N, K)."""

    run_id: str
    checkpoint: str
    sha256: str
    info: object  # data.DatasetInfo, the preprocessing contract
    fmt: str
    infer: object  # callable

    def meta(self) -> dict:
        return {"run_id": self.run_id, "checkpoint": self.checkpoint, "sha256": self.sha256}


def load_model(run_dir: str | Path, *, checkpoint: str = "best", fmt: str = "eager") -> Model:
    from resnet_core.runs.folder import Run
    from resnet_core.serving.predictor import Predictor

    if fmt not in FORMATS:
        raise ConfigError(_("unknown format {fmt}; choose one of: {names}").format(
                              fmt=f"{fmt!r}", names=', '.join(FORMATS)))
    run = Run(Path(run_dir))
    path = run.checkpoint(checkpoint)
    if not path.is_file():
        raise WorkbenchError(_("{dir} has no checkpoints/{checkpoint}.pt to serve").format(
                                 dir=run.dir, checkpoint=checkpoint))
    predictor = Predictor(path)
    sha = hashlib.sha256(path.read_bytes()).hexdigest()
    if fmt == "eager":
        net = predictor.model

        def infer(x):
            with torch.inference_mode():
                return net(x)
    else:
        infer = _exported(run.dir, checkpoint, fmt)
    info = predictor.info
    for n in (1, 1, 1, 8, 32):  # torch and onnxruntime warm their kernels per batch shape
        infer(torch.zeros(n, info.channels, info.image_size, info.image_size))
    return Model(run.id, checkpoint, sha, info, fmt, infer)


def _exported(run_dir: Path, checkpoint: str, fmt: str):
    """The same network through export.py's ONNX (onnxruntime) or torch.export program."""
    from resnet_core.serving.export import export_run

    folder = Path(tempfile.mkdtemp(prefix="resnet-serve-"))
    out = folder / f"model.{fmt}"
    export_run(run_dir, fmt, out, checkpoint=checkpoint)
    if fmt == "onnx":
        import onnxruntime as ort

        session = ort.InferenceSession(str(out), providers=["CPUExecutionProvider"])
        return lambda x: torch.from_numpy(session.run(None, {"input": x.numpy()})[0])
    program = torch.export.load(str(out)).module()

    def infer(x):
        with torch.inference_mode():
            return program(x)
    return infer


# ----------------------------------------------------------------------------- batching


class Batcher:
    """Images submitted while the model is busy are classified as one batch on the inference
    thread. The first image of a batch waits (at most ``max_wait``) only while other requests
    are still being read and decoded (``arriving``): a lone client is not made to wait.

    ``run_batch``: uint8 (N, C, H, W) -> N results, called on the inference thread (so the
    per-batch work, normalising included, stays off the event loop)."""

    def __init__(self, run_batch, *, max_batch: int, max_wait: float, observe_batch) -> None:
        self.run_batch, self.max_batch, self.max_wait = run_batch, max_batch, max_wait
        self.observe_batch = observe_batch
        self.arriving = 0  # requests read but not yet queued (the service counts them)
        self.queue: asyncio.Queue = asyncio.Queue()
        self.executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="inference")
        self.task: asyncio.Task | None = None

    def start(self) -> None:
        self.task = asyncio.get_running_loop().create_task(self._run())

    async def stop(self) -> None:
        if self.task is not None:
            self.task.cancel()
        self.executor.shutdown(wait=False)

    async def classify(self, x: torch.Tensor):
        """``run_batch``'s result for one uint8 image (C, H, W)."""
        future = asyncio.get_running_loop().create_future()
        await self.queue.put((x, future))
        return await future

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            items = [await self.queue.get()]
            deadline = loop.time() + self.max_wait
            while len(items) < self.max_batch:
                try:
                    items.append(self.queue.get_nowait())
                    continue
                except asyncio.QueueEmpty:
                    pass
                left = deadline - loop.time()
                if left <= 0 or self.arriving == 0:
                    break
                try:
                    items.append(await asyncio.wait_for(self.queue.get(), left))
                except TimeoutError:
                    break
            batch = torch.stack([x for x, _ in items])
            try:
                results = await loop.run_in_executor(self.executor, self.run_batch, batch)
                for (_, future), p in zip(items, results, strict=True):
                    if not future.done():
                        future.set_result(p)
            except Exception as e:  # noqa: BLE001 - every waiting request gets the error
                for _, future in items:
                    if not future.done():
                        future.set_exception(e)
            self.observe_batch(len(items))


# ----------------------------------------------------------------------------- the app


class Service:
    def __init__(self, model: Model, *, max_batch: int = 64, batch_wait_ms: float = 2.0,
                 hosts: list[str] | None = None) -> None:
        self.model = model
        self.hosts = hosts  # the Host names answered (None: any, as in tests in one process)
        self.monitor = Monitor(model.info)
        self.batcher = Batcher(self._run_batch, max_batch=max_batch, max_wait=batch_wait_ms / 1000,
                               observe_batch=self.monitor.batch.observe)
        self.predictions: collections.OrderedDict[str, int] = collections.OrderedDict()
        # Big decodes take turns on as many threads as cores: memory stays bounded.
        self.decoder = ThreadPoolExecutor(max_workers=cpu_cores(), thread_name_prefix="decode")

    def _run_batch(self, images: torch.Tensor) -> list[tuple[list, list, list]]:
        """On the inference thread: uint8 (N, C, H, W) -> per image, as plain lists: the top
        probabilities, their class indices and the mean intensity per channel (0-1)."""
        probs = F.softmax(self.model.infer(self.model.info.normalize(images)).float(), dim=1)
        top = probs.topk(min(TOP_K, probs.shape[1]), dim=1)
        means = images.float().mean(dim=(2, 3)) / 255.0
        return list(zip(top.values.tolist(), top.indices.tolist(), means.tolist(), strict=True))

    def app(self):
        from contextlib import asynccontextmanager

        from starlette.applications import Starlette
        from starlette.exceptions import HTTPException
        from starlette.routing import Route

        @asynccontextmanager
        async def lifespan(app):
            # The objects alive now (torch, the model, the app: hundreds of thousands) are
            # never garbage; freezing them keeps the collector from walking them all again.
            # Each full collection had paused the event loop for ~100 ms, about every 1,500
            # requests: the whole p99 tail at 32 clients (benchmarks/RESULTS.md).
            gc.collect()
            gc.freeze()
            self.batcher.start()
            yield
            await self.batcher.stop()

        routes = [Route("/predict", self.predict, methods=["POST"]),
                  Route("/feedback", self.feedback, methods=["POST"]),
                  Route("/metrics", self.metrics, methods=["GET"]),
                  Route("/stats", self.stats, methods=["GET"]),
                  Route("/health", self.health, methods=["GET"])]
        from starlette.middleware import Middleware

        middleware = [Middleware(HostAllowList, hosts=self.hosts)] if self.hosts is not None else []
        return Starlette(routes=routes, lifespan=lifespan, middleware=middleware,
                         exception_handlers={HTTPException: http_error, 500: server_error})

    async def predict(self, request):
        started = time.perf_counter()
        response = await self._answer("predict", request, self._predict)
        if response.status_code == 200:
            self.monitor.latency.observe(time.perf_counter() - started)
            self.monitor.latencies.append(time.perf_counter() - started)
        return response

    async def _predict(self, request) -> dict:
        self.batcher.arriving += 1
        try:
            blobs = await read_images(request)
            sizes = check_pixels(blobs)
            if sum(w * h for w, h in sizes) > INLINE_DECODE_PIXELS:  # big: off the event loop
                loop = asyncio.get_running_loop()
                images = await loop.run_in_executor(self.decoder, self._decode_all, blobs)
            else:  # small images decode in well under a millisecond: a thread hop costs more
                images = self._decode_all(blobs)
            tasks = [asyncio.ensure_future(self.batcher.classify(x)) for x in images]
        finally:
            self.batcher.arriving -= 1
        results = await asyncio.gather(*tasks)
        names = self.model.info.class_names
        out = []
        for size, (values, indices, mean) in zip(sizes, results, strict=True):
            pid = uuid.uuid4().hex
            self._remember(pid, indices[0])
            self.monitor.observe_inputs(mean, size)
            out.append({"id": pid, "top": [{"class": names[i], "probability": round(v, 6)}
                                           for v, i in zip(values, indices, strict=True)]})
        self.monitor.images.inc(len(out))
        self.monitor.count += len(out)
        return {"predictions": out, "model": self.model.meta()}

    def _decode_all(self, blobs: list[bytes]) -> list[torch.Tensor]:
        """uint8 (C, H, W) per image, as training saw it (normalised later, per batch)."""
        from resnet_core.data.decode import decode_image

        decoded = []
        for i, blob in enumerate(blobs):
            try:
                decoded.append(decode_image(io.BytesIO(blob), self.model.info))
            except (WorkbenchError, OSError, ValueError, SyntaxError) as e:
                raise ClientError(400, f"image {i}: {_first(e)}") from e
        return decoded

    def _remember(self, pid: str, predicted: int) -> None:
        self.predictions[pid] = predicted
        while len(self.predictions) > REMEMBERED:
            self.predictions.popitem(last=False)

    async def feedback(self, request):
        return await self._answer("feedback", request, self._feedback)

    async def _feedback(self, request) -> dict:
        body = parse_json(await read_body(request, MAX_FEEDBACK_BYTES, "the feedback"),
                          '{"id": ..., "label": CLASS} or a list of them')
        items = body if isinstance(body, list) else [body]
        if len(items) > MAX_FEEDBACK_ITEMS:
            raise ClientError(413, f"{len(items):,} feedback items in one request; at most "
                                   f"{MAX_FEEDBACK_ITEMS:,}")
        names = list(self.model.info.class_names)
        labelled = []
        for item in items:
            if not (isinstance(item, dict) and isinstance(item.get("id"), str) and "label" in item):
                raise ClientError(400, 'each feedback is {"id": PREDICTION_ID, "label": CLASS}')
            if item["id"] not in self.predictions:
                raise ClientError(404, f"unknown prediction id {item['id'][:40]!r} (ids are kept "
                                       f"for the last {REMEMBERED:,} predictions)")
            if str(item["label"]) not in names:
                raise ClientError(400, f"unknown label {str(item['label'])[:40]!r}; the run's "
                                       f"classes: {', '.join(names[:20])}")
            labelled.append((item["id"], names.index(str(item["label"])), self.predictions[item["id"]]))
        replaced = self.monitor.add_feedback(labelled)
        return {"accepted": len(labelled), "replaced": replaced, "rolling": self.monitor.rolling()}

    async def metrics(self, request):
        from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
        from starlette.responses import Response

        self.monitor.requests.labels("metrics", "200").inc()
        return Response(generate_latest(self.monitor.registry), media_type=CONTENT_TYPE_LATEST)

    async def stats(self, request):
        from starlette.responses import JSONResponse

        return JSONResponse({**self.monitor.stats(), "model": self.model.meta(),
                             "format": self.model.fmt})

    async def health(self, request):
        from starlette.responses import JSONResponse

        return JSONResponse({"status": "ok", "model": self.model.meta(), "format": self.model.fmt,
                             "classes": list(self.model.info.class_names)})

    async def _answer(self, endpoint: str, request, handler):
        from starlette.responses import JSONResponse

        try:
            response = JSONResponse(await handler(request))
        except ClientError as e:
            self.monitor.errors.labels(endpoint).inc()
            # A body cut off or timed out may still be arriving: close rather than read on.
            headers = {"connection": "close"} if e.status in (408, 413, 503) else None
            response = JSONResponse({"error": str(e)}, status_code=e.status, headers=headers)
        finally:
            BODIES.give(held_by(request))  # answered: its body's bytes are free again
        self.monitor.requests.labels(endpoint, str(response.status_code)).inc()
        return response


async def http_error(request, exc):
    """Starlette's own refusals (unknown path, wrong method) as JSON, one line."""
    from starlette.responses import JSONResponse

    return JSONResponse({"error": f"{request.method} {request.url.path[:80]}: "
                                  f"{_first(exc.detail)}; endpoints: POST /predict, /feedback; "
                                  "GET /metrics, /stats, /health"}, status_code=exc.status_code)


async def server_error(request, exc):
    """A bug of ours: JSON, one line, no traceback to the client."""
    from starlette.responses import JSONResponse

    return JSONResponse({"error": f"internal error ({type(exc).__name__}); see the service's log"},
                        status_code=500)


def _first(e: BaseException) -> str:
    from resnet_core.errors import first_line

    return first_line(e, 300)


# ----------------------------------------------------------------------------- running it



# Slow or idle connections close; past MAX_CONNECTIONS (or MAX_PER_CLIENT from one address)
# the protocol answers a JSON 503 (guard.py). uvicorn's own limit stays as a backstop above it.
GUARDS = {"http": GuardedH11Protocol, "limit_concurrency": MAX_CONNECTIONS + 16,
          "timeout_keep_alive": KEEP_ALIVE_S}


def create_app_from_env():
    """The app a uvicorn worker process builds (``--workers N``) from settings.SERVE."""
    s = json.loads(settings().serve)
    model = load_model(s["run_dir"], checkpoint=s["checkpoint"], fmt=s["fmt"])
    return Service(model, max_batch=s["max_batch"], batch_wait_ms=s["batch_wait_ms"],
                   hosts=s["hosts"]).app()


def serve(run_dir: str | Path, *, host: str = "127.0.0.1", port: int = 8000, fmt: str = "eager",
          checkpoint: str = "best", workers: int = 1, max_batch: int = 64,
          batch_wait_ms: float = 2.0) -> None:
    """Run the service until Ctrl-C or SIGTERM (blocking)."""
    import uvicorn

    if not 1 <= workers <= 64:
        raise ConfigError(_("--workers must be in [1, 64], got {workers}").format(workers=workers))
    if not 1 <= max_batch <= 1024:
        raise ConfigError(_("--max-batch must be in [1, 1024], got {max_batch}").format(
                              max_batch=max_batch))
    if not 0 <= batch_wait_ms <= 1000:
        raise ConfigError(_("--batch-wait-ms must be in [0, 1000], got {batch_wait_ms}").format(
                              batch_wait_ms=f"{batch_wait_ms:g}"))
    # The model runs on half the cores; the others parse HTTP and decode images. On 2 cores,
    # with a lone client no longer waiting for company and small images decoded on the event
    # loop, 32 clients went from 393 to 816 requests/s (benchmarks/RESULTS.md).
    torch.set_num_threads(max(1, cpu_cores() // 2))
    model = load_model(run_dir, checkpoint=checkpoint, fmt=fmt)  # errors before the port opens
    if settings().supervised:
        # Under the app (Deploy page): the app holds our stdin's other end; when it exits, even
        # by SIGKILL, the kernel closes it, so no service outlives the app and keeps its port.
        on_end_of_input(lambda: os.kill(os.getpid(), signal.SIGTERM))
    url = f"http://{host}:{port}"
    print(f"serving {model.run_id} ({checkpoint}.pt, {fmt}) on {url}: POST /predict, /feedback; "
          f"GET /metrics, /stats, /health", flush=True)
    print(f"try: {example_curl(getattr(model.info, 'name', None), url)}", flush=True)
    hosts = allowed_hosts(host)  # as the app's: this machine's names, its bind address
    if workers == 1:
        app = Service(model, max_batch=max_batch, batch_wait_ms=batch_wait_ms, hosts=hosts).app()
        uvicorn.run(app, host=host, port=port, log_level="warning", **GUARDS)
        return
    os.environ[SERVE] = json.dumps({"run_dir": str(run_dir), "checkpoint": checkpoint,
                                           "fmt": fmt, "max_batch": max_batch,
                                           "batch_wait_ms": batch_wait_ms, "hosts": hosts})
    uvicorn.run("resnet_core.serving.serve:create_app_from_env", factory=True, host=host, port=port,
                workers=workers, log_level="warning", **GUARDS)
