"""The dashboard's services: ``python -m resnet_core serve`` as supervised child processes.

``Deployments`` (one per app process, ``deployments()``) starts a service for a run on a free
port of this machine, waits until it answers /health, and stops it (SIGTERM, then SIGKILL);
a service that dies is reported with the end of its log
(``<runs>/.deploy/<run-id>.log``). ``Replay`` sends a run's test split
with its labels through a live service (POST /predict, then /feedback) from a thread, so the
live accuracy, precision, recall and F1 can be set against the offline evaluation while the
page watches. Starting and stopping a service is the teacher's on a class server.
"""

from __future__ import annotations

import http.client
import io
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

from resnet_core.errors import WorkbenchError
from resnet_core.i18n import _
from resnet_core.settings import SUPERVISED

START_TIMEOUT_S = 120.0
REPLAY_BATCH = 16  # images per replay request


@dataclass
class Deployment:
    run_id: str
    run_dir: Path
    port: int
    fmt: str
    process: subprocess.Popen
    log: Path
    started: float = field(default_factory=time.time)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def alive(self) -> bool:
        return self.process.poll() is None

    def curl(self, dataset: str | None = None) -> str:
        """The example request, with a file name that fits what the model was trained on."""
        return example_curl(dataset, self.url)

    def get(self, path: str, timeout: float = 5.0) -> dict:
        return _request(self.port, "GET", path, timeout=timeout)


# An example file name per dataset for the curl line (a clothing model's was "digit.png").
EXAMPLE_FILES = {"digits": "digit.png", "mnist": "digit.png", "fashion-mnist": "shirt.png",
                 "shapes": "shape.png"}


def example_curl(dataset: str | None, url: str) -> str:
    """``curl -F file=@shirt.png URL/predict`` for a Fashion-MNIST model (image.png if unknown)."""
    return f"curl -F file=@{EXAMPLE_FILES.get(dataset or '', 'image.png')} {url}/predict"


def _request(port: int, method: str, path: str, body: bytes = b"", kind: str | None = None,
             timeout: float = 30.0) -> dict:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        conn.request(method, path, body=body, headers={"Content-Type": kind} if kind else {})
        response = conn.getresponse()
        payload = json.loads(response.read() or b"{}")
    finally:
        conn.close()
    if response.status != 200:
        raise WorkbenchError(_("the service answered {status}: {get}").format(
                                 status=response.status, get=payload.get('error', payload)))
    return payload


class Deployments:
    """The services this app process started, by run id."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._running: dict[str, Deployment] = {}

    def start(self, run_dir: str | Path, *, fmt: str = "eager") -> Deployment:
        run_dir = Path(run_dir)
        with self._lock:
            current = self._running.get(run_dir.name)
            if current is not None and current.alive:
                return current
            port = _free_port()
            # Beside the run folders, not in one: a run folder holds what training wrote.
            log = run_dir.parent / ".deploy" / f"{run_dir.name}.log"
            log.parent.mkdir(exist_ok=True)
            handle = open(log, "ab")  # noqa: SIM115 - the child keeps writing to it
            # stdin is a pipe only this process writes: when the app dies (SIGKILL included)
            # the service reads its end and stops (serve.stop_when_supervisor_goes).
            process = subprocess.Popen(
                [sys.executable, "-m", "resnet_core", "serve", str(run_dir), "--port", str(port),
                 "--format", fmt], stdin=subprocess.PIPE, stdout=handle, stderr=subprocess.STDOUT,
                start_new_session=True, env={**os.environ, SUPERVISED: "1"})
            handle.close()
            deployment = Deployment(run_dir.name, run_dir, port, fmt, process, log)
            self._running[run_dir.name] = deployment
        self._wait_ready(deployment)
        return deployment

    def _wait_ready(self, deployment: Deployment) -> None:
        deadline = time.monotonic() + START_TIMEOUT_S
        while time.monotonic() < deadline:
            if not deployment.alive:
                raise WorkbenchError(_("the service for {run_id} stopped at start: {tail}").format(
                                         run_id=deployment.run_id, tail=_tail(deployment.log)))
            try:
                deployment.get("/health", timeout=1.0)
                return
            except (OSError, WorkbenchError, ValueError):
                time.sleep(0.2)
        self.stop(deployment.run_id)
        raise WorkbenchError(_("the service for {run_id} did not answer within "
                               "{START_TIMEOUT_S} s").format(
                                 run_id=deployment.run_id, START_TIMEOUT_S=f"{START_TIMEOUT_S:.0f}"))

    def stop(self, run_id: str) -> None:
        with self._lock:
            deployment = self._running.pop(run_id, None)
        if deployment is None or not deployment.alive:
            return
        os.killpg(deployment.process.pid, signal.SIGTERM)
        try:
            deployment.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(deployment.process.pid, signal.SIGKILL)
            deployment.process.wait()

    def get(self, run_id: str) -> Deployment | None:
        with self._lock:
            return self._running.get(run_id)

    def all(self) -> list[Deployment]:
        with self._lock:
            return list(self._running.values())

    def close(self) -> None:
        for deployment in self.all():
            self.stop(deployment.run_id)


_DEPLOYMENTS: Deployments | None = None
_DEPLOYMENTS_LOCK = threading.Lock()


def deployments() -> Deployments:
    """This process's services (the app's pages share them)."""
    global _DEPLOYMENTS
    with _DEPLOYMENTS_LOCK:
        if _DEPLOYMENTS is None:
            _DEPLOYMENTS = Deployments()
        return _DEPLOYMENTS


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _tail(path: Path, lines: int = 3) -> str:
    try:
        text = path.read_text(errors="replace").strip().splitlines()
    except OSError:
        return "no log"
    return " | ".join(text[-lines:]) or "no output"


# ----------------------------------------------------------------------------- replay


class Replay:
    """The run's test split through the live service, with feedback: ``start()``, then read
    ``sent`` / ``total`` / ``error`` while it runs (a thread; ``stop()`` ends it early)."""

    def __init__(self, deployment: Deployment, dataset) -> None:
        self.deployment, self.dataset = deployment, dataset
        self.sent = 0
        self.total = len(dataset.test)
        self.error: str | None = None
        self.done = False
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name=f"replay-{deployment.run_id}",
                                        daemon=True)

    def start(self) -> Replay:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()

    def _run(self) -> None:
        try:
            names = self.dataset.info.class_names
            test = self.dataset.test
            for start in range(0, self.total, REPLAY_BATCH):
                if self._stop.is_set() or not self.deployment.alive:
                    break
                indices = list(range(start, min(self.total, start + REPLAY_BATCH)))
                images = self.dataset.images("test", indices)
                answer = self._predict([_png(im) for im in images])
                feedback = [{"id": p["id"], "label": names[int(test.labels[i])]}
                            for p, i in zip(answer["predictions"], indices, strict=True)]
                _request(self.deployment.port, "POST", "/feedback", json.dumps(feedback).encode(),
                         "application/json")
                self.sent += len(indices)
        except (OSError, WorkbenchError, ValueError) as e:
            self.error = str(e).splitlines()[0] if str(e) else type(e).__name__
        finally:
            self.done = True

    def _predict(self, blobs: list[bytes]) -> dict:
        return _request(self.deployment.port, "POST", "/predict", *multipart_body(blobs))


def multipart_body(blobs: list[bytes]) -> tuple[bytes, str]:
    """PNG images as a POST /predict body (multipart files under ``file``) and its content type:
    what a client of the service sends (the replay, the tests, the load benchmark)."""
    boundary = uuid.uuid4().hex
    body = b"".join(
        f"--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"{i}.png\""
        f"\r\nContent-Type: image/png\r\n\r\n".encode() + blob + b"\r\n"
        for i, blob in enumerate(blobs)) + f"--{boundary}--\r\n".encode()
    return body, f"multipart/form-data; boundary={boundary}"


def _png(image) -> bytes:
    """A uint8 (C, H, W) image as PNG bytes: what a client would send."""
    from PIL import Image

    arr = image.numpy()
    im = Image.fromarray(arr[0]) if arr.shape[0] == 1 else Image.fromarray(arr.transpose(1, 2, 0))
    buf = io.BytesIO()
    im.save(buf, "PNG")
    return buf.getvalue()
