"""The HTTP service, for real: a subprocess on a free port, as `python -m resnet_core serve`."""

from __future__ import annotations

import base64
import http.client
import io
import json
import subprocess
import sys
import time

import pytest
from PIL import Image

from resnet_core import load_dataset
from resnet_core.serving.deploy import multipart_body

from conftest import run_cli
from e2e import free_port


class Client:
    def __init__(self, port: int) -> None:
        self.port = port

    def request(self, method: str, path: str, body: bytes = b"", kind: str | None = None):
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=60)
        conn.request(method, path, body=body, headers={"Content-Type": kind} if kind else {})
        response = conn.getresponse()
        return response.status, response.read()

    def json(self, method: str, path: str, payload) -> tuple[int, dict]:
        status, body = self.request(method, path, json.dumps(payload).encode(), "application/json")
        return status, json.loads(body)

    def files(self, blobs: list[bytes]) -> tuple[int, dict]:
        status, body = self.request("POST", "/predict", *multipart_body(blobs))
        return status, json.loads(body)


@pytest.fixture(scope="module")
def service(short_run):
    port = free_port()
    proc = subprocess.Popen([sys.executable, "-m", "resnet_core", "serve", str(short_run.dir),
                             "--port", str(port)], stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            text=True)
    client = Client(port)
    deadline = time.monotonic() + 120
    while True:
        try:
            if client.request("GET", "/health")[0] == 200:
                break
        except OSError:
            if time.monotonic() > deadline or proc.poll() is not None:
                proc.kill()
                raise AssertionError(proc.stdout.read()) from None
            time.sleep(0.2)
    yield client
    proc.terminate()
    proc.wait(timeout=30)


def png(image) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(image[0].numpy()).save(buf, "PNG")
    return buf.getvalue()


@pytest.fixture(scope="module")
def test_images():
    test = load_dataset("digits").test
    return [png(im) for im in test.images[:40]], [str(int(y)) for y in test.labels[:40]]


def test_predictions_equal_the_cli_predict_on_the_same_files(service, short_run, test_images,
                                                             tmp_path):
    blobs, _ = test_images
    paths = []
    for i, blob in enumerate(blobs[:5]):
        paths.append(tmp_path / f"{i}.png")
        paths[-1].write_bytes(blob)
    cli = run_cli("predict", str(short_run.dir), *map(str, paths), "--top-k", "3")
    assert cli.returncode == 0, cli.stderr
    status, answer = service.files(blobs[:5])
    assert status == 200 and len(answer["predictions"]) == 5
    assert answer["model"]["run_id"] == short_run.id and len(answer["model"]["sha256"]) == 64
    for line, pred in zip(cli.stdout.strip().splitlines(), answer["predictions"], strict=True):
        ranked = line.split("(")[1].rstrip(")").split(", ")
        expected = [(r.rsplit(" ", 1)[0], float(r.rsplit(" ", 1)[1])) for r in ranked]
        got = [(t["class"], t["probability"]) for t in pred["top"][:3]]
        assert [c for c, _ in got] == [c for c, _ in expected]
        assert [round(p, 3) for _, p in got] == pytest.approx([p for _, p in expected], abs=1e-3)
    # The same images as base64 JSON give the same answers.
    status, again = service.json("POST", "/predict",
                                 {"images": [base64.b64encode(b).decode() for b in blobs[:5]]})
    assert status == 200
    assert [p["top"] for p in again["predictions"]] == [p["top"] for p in answer["predictions"]]


def test_feedback_moves_the_rolling_metrics_as_sklearn_computes_them(service, test_images):
    from prometheus_client.parser import text_string_to_metric_families
    from sklearn.metrics import accuracy_score, precision_recall_fscore_support

    blobs, labels = test_images
    status, answer = service.files(blobs)
    assert status == 200
    predicted = [p["top"][0]["class"] for p in answer["predictions"]]
    status, result = service.json("POST", "/feedback", [
        {"id": p["id"], "label": label} for p, label in zip(answer["predictions"], labels, strict=True)])
    assert status == 200 and result["accepted"] == 40
    rolling = result["rolling"]
    p, r, f, _ = precision_recall_fscore_support(labels, predicted, average="macro", zero_division=0)
    assert rolling["accuracy"] == pytest.approx(accuracy_score(labels, predicted))
    assert rolling["macro_precision"] == pytest.approx(p)
    assert rolling["macro_recall"] == pytest.approx(r)
    assert rolling["macro_f1"] == pytest.approx(f)
    status, text = service.request("GET", "/metrics")
    families = {fam.name: fam for fam in text_string_to_metric_families(text.decode())}
    value = families["resnet_rolling_accuracy"].samples[0].value
    assert value == pytest.approx(accuracy_score(labels, predicted))
    assert families["resnet_feedback_window"].samples[0].value == 40
    assert {"resnet_requests", "resnet_predict_latency_seconds", "resnet_batch_size",
            "resnet_input_drift", "resnet_errors"} <= set(families)


def test_images_of_one_request_are_classified_in_one_model_call(service, test_images):
    def calls() -> float:
        from prometheus_client.parser import text_string_to_metric_families

        text = service.request("GET", "/metrics")[1].decode()
        fam = next(f for f in text_string_to_metric_families(text) if f.name == "resnet_batch_size")
        return next(s.value for s in fam.samples if s.name == "resnet_batch_size_count")

    before = calls()
    assert service.files(test_images[0][:32])[0] == 200
    assert calls() == before + 1


def test_bad_input_is_a_4xx_with_one_line_and_the_service_keeps_going(service, test_images, tmp_path):
    bomb = io.BytesIO()
    Image.new("1", (12_000, 12_000)).save(bomb, "PNG")  # 144 M pixels in a few kB
    cases = [
        (service.files([b"not an image at all"]), 400, "image 0:"),
        (service.files([bomb.getvalue()]), 400, "too large to decode safely"),
        (service.files([b"\x89PNG" + b"0" * (9 * 2**20)]), 413, "at most 8 MiB per image"),
        (service.files([test_images[0][0]] * 65), 413, "at most 64"),
        (service.json("POST", "/predict", {"images": ["%%%not base64"]}), 400, "BASE64"),
        (service.json("POST", "/feedback", {"id": "nope", "label": "3"}), 404, "unknown prediction id"),
    ]
    status, body = service.request("POST", "/predict", b"x=1", "application/x-www-form-urlencoded")
    cases.append(((status, json.loads(body)), 415, "content type"))
    ok_status, ok = service.files(test_images[0][:1])
    cases.append((service.json("POST", "/feedback", {"id": ok["predictions"][0]["id"], "label": "ten"}),
                  400, "unknown label"))
    for (status, body), expected, text in cases:
        assert status == expected, body
        assert set(body) == {"error"} and "\n" not in body["error"] and text in body["error"]
    assert service.request("GET", "/health")[0] == 200
    assert service.files(test_images[0][:2])[0] == 200
