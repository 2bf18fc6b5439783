"""Issue 37, item 4: what a student's browser may send Streamlit through the gate. The gate
runs as in the app (``ClassGate`` over an ASGI app) with a real class's cookies; the messages
are Streamlit's own protobufs."""

from __future__ import annotations

import asyncio

from streamlit.proto.BackMsg_pb2 import BackMsg

from resnet_core.classroom.access import COOKIE
from resnet_core.classroom.gate import ClassGate
from resnet_core.classroom.traffic import SERVER_WIDE, UploadBudget, server_wide


def test_the_server_wide_fields_are_streamlits():
    by_number = {f.number: f.name for f in BackMsg.DESCRIPTOR.fields}
    assert {n: by_number[n] for n in SERVER_WIDE} == SERVER_WIDE
    assert server_wide(BackMsg(clear_cache=True).SerializeToString()) == "clear_cache"
    rerun = BackMsg()
    rerun.rerun_script.query_string = "x" * 300  # a length-delimited field longer than 127
    assert server_wide(rerun.SerializeToString()) is None
    assert server_wide(BackMsg(app_heartbeat=True).SerializeToString()) is None
    assert server_wide(b"\xff\xff\xff") is None and server_wide(None) is None


class Recorder:
    """The app behind the gate: records what reaches it, answers uploads with ``status``."""

    def __init__(self, status: int = 204) -> None:
        self.received: list[dict] = []
        self.status = status

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] == "websocket":
            while (message := await receive())["type"] != "websocket.disconnect":
                self.received.append(message)
            return
        self.received.append({"method": scope["method"], "path": scope["path"]})
        await send({"type": "http.response.start", "status": self.status, "headers": []})
        await send({"type": "http.response.body", "body": b""})


def scope(kind: str, path: str, cookie: str, **extra) -> dict:
    headers = [(b"host", b"127.0.0.1:8501"), (b"cookie", f"{COOKIE}={cookie}".encode()),
               (b"origin", b"http://127.0.0.1:8501")]
    headers += [(k.encode(), v.encode()) for k, v in extra.pop("headers", {}).items()]
    return {"type": kind, "path": path, "headers": headers, "query_string": b"",
            "client": ("127.0.0.1", 5000), **extra}


def websocket(gate: ClassGate, cookie: str, frames: list[bytes]) -> None:
    inbox = [{"type": "websocket.receive", "bytes": f} for f in frames] + [{"type": "websocket.disconnect"}]

    async def receive():
        return inbox.pop(0)

    async def send(message):
        pass

    asyncio.run(gate(scope("websocket", "/_stcore/stream", cookie), receive, send))


def test_a_students_clear_cache_never_reaches_streamlit_and_the_teachers_does(room):
    """A student's "Clear cache" emptied every session's caches (a classmate's Predict went
    from 0.05 s to 4.75 s); their own reruns still pass."""
    app = Recorder()
    gate = ClassGate(app, classroom=lambda: room, hosts=["127.0.0.1"])
    _, ada = room.join("Ada")
    rerun = BackMsg()
    rerun.rerun_script.query_string = ""
    frames = [rerun.SerializeToString(), BackMsg(clear_cache=True).SerializeToString(),
              BackMsg(debug_shutdown_runtime=True).SerializeToString(), rerun.SerializeToString()]
    websocket(gate, ada, frames)
    assert [m["bytes"] for m in app.received] == [frames[0], frames[3]]
    app.received.clear()
    websocket(gate, room.teacher_cookie("tok"), frames)
    assert [m["bytes"] for m in app.received] == frames


def upload(gate: ClassGate, cookie: str, method: str, file_id: str, size: int = 0) -> int:
    statuses = []

    async def receive():
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message):
        if message["type"] == "http.response.start":
            statuses.append(message["status"])

    headers = {"content-length": str(size)} if method == "PUT" else {}
    asyncio.run(gate(scope("http", f"/_stcore/upload_file/session-1/{file_id}", cookie,
                           method=method, headers=headers), receive, send))
    return statuses[0]


def test_a_students_session_holds_a_bounded_upload_budget(room):
    """40 uploads of 19 MB into one session held +760 MiB: past the budget the gate answers
    413 before Streamlit reads a byte; a delete frees the room; the teacher is not bounded."""
    app = Recorder()
    gate = ClassGate(app, classroom=lambda: room, hosts=["127.0.0.1"])
    _, ada = room.join("Ada")
    mb = 2**20
    assert upload(gate, ada, "PUT", "a", 19 * mb) == 204
    assert upload(gate, ada, "PUT", "b", 19 * mb) == 413  # 38 MiB > 32
    assert upload(gate, ada, "PUT", "a", 20 * mb) == 204  # the same file again replaces it
    assert upload(gate, ada, "DELETE", "a") == 204
    assert upload(gate, ada, "PUT", "b", 19 * mb) == 204
    for i in range(7):
        assert upload(gate, ada, "PUT", f"small{i}", 1000) == 204
    assert upload(gate, ada, "PUT", "ninth", 1000) == 413  # eight files at most
    assert len([m for m in app.received if m["method"] == "PUT"]) == 10
    teacher = room.teacher_cookie("tok")
    assert all(upload(gate, teacher, "PUT", f"t{i}", 19 * mb) == 204 for i in range(5))


def test_an_upload_streamlit_refused_holds_nothing(room):
    gate = ClassGate(Recorder(status=403), classroom=lambda: room, hosts=["127.0.0.1"])
    _, ada = room.join("Ada")
    for _ in range(3):  # each refused by the app (an XSRF check, say): none counts
        assert upload(gate, ada, "PUT", "a", 30 * 2**20) == 403
    assert gate.uploads.sessions["session-1"] == {}


def test_the_budget_counts_files_and_bytes_per_session():
    budget = UploadBudget(max_files=2, max_bytes=100)
    assert budget.admit("s", "a", 60) is None
    assert "in all" in budget.admit("s", "b", 50)  # bytes: 110 > 100, refused and not counted
    assert budget.admit("s", "b", 40) is None
    assert "2 uploaded files" in budget.admit("s", "c", 1)
    assert budget.admit("other", "a", 100) is None  # another session has its own
