"""What a student's browser may send Streamlit through the class gate, beyond joining: the
websocket messages that act on the whole server, and the upload bytes one session may hold.

A student's "Clear cache" (Streamlit's menu, or the c key) emptied the server's caches for
everyone (a classmate's Predict went from 0.05 s to 4.75 s: its model loaded again), and 40
uploads of 19 MB into one session held +760 MiB. The gate drops the first from students'
websockets and refuses uploads past a session's budget; the teacher is not limited.

Streamlit's browser-to-server message (``BackMsg``) is a protobuf: the gate reads its
top-level field numbers from the wire format here, without Streamlit (the core does not import
it); tests/core/classroom/test_traffic.py checks the numbers against Streamlit's own descriptor.
"""

from __future__ import annotations

import threading
from collections import OrderedDict

from resnet_core.i18n import _

# BackMsg fields that act beyond the sender's own session: clear_cache empties st.cache_data
# and st.cache_resource for every session; the debug ones disconnect or shut down the runtime.
SERVER_WIDE = {5: "clear_cache", 14: "debug_disconnect_websocket", 15: "debug_shutdown_runtime"}

# A student's session: uploads held at once (Predict, Explain, lessons take one image each).
MAX_UPLOAD_FILES = 8
MAX_UPLOAD_BYTES = 32 * 2**20
MAX_SESSIONS = 10_000  # sessions remembered; the oldest are forgotten past it


def _varint(data: bytes, i: int) -> tuple[int, int]:
    value = shift = 0
    while True:
        if i >= len(data) or shift > 63:
            raise ValueError("truncated varint")
        byte = data[i]
        value |= (byte & 0x7F) << shift
        i, shift = i + 1, shift + 7
        if not byte & 0x80:
            return value, i


def top_level_fields(data: bytes) -> set[int]:
    """The field numbers present at the top of a protobuf message (ValueError if malformed)."""
    fields, i = set(), 0
    while i < len(data):
        key, i = _varint(data, i)
        number, wire = key >> 3, key & 7
        fields.add(number)
        if wire == 0:
            _, i = _varint(data, i)
        elif wire == 1:
            i += 8
        elif wire == 2:
            length, i = _varint(data, i)
            i += length
        elif wire == 5:
            i += 4
        else:
            raise ValueError(f"wire type {wire}")
        if i > len(data):
            raise ValueError("truncated field")
    return fields


def server_wide(data: bytes | None) -> str | None:
    """The name of the server-wide action a websocket message asks for, else None (a message
    that does not parse is Streamlit's to refuse)."""
    if not data:
        return None
    try:
        fields = top_level_fields(data)
    except ValueError:
        return None
    return next((SERVER_WIDE[n] for n in sorted(fields) if n in SERVER_WIDE), None)


class UploadBudget:
    """Files and bytes each student session holds in Streamlit's upload store, as the gate saw
    them go in (PUT /_stcore/upload_file/<session>/<file>) and out (DELETE the same)."""

    def __init__(self, max_files: int = MAX_UPLOAD_FILES, max_bytes: int = MAX_UPLOAD_BYTES) -> None:
        self.max_files, self.max_bytes = max_files, max_bytes
        self.sessions: OrderedDict[str, dict[str, int]] = OrderedDict()
        self._lock = threading.Lock()

    def admit(self, session: str, file_id: str, size: int) -> str | None:
        """Count the upload and return None, or return why it is refused (nothing counted)."""
        with self._lock:
            held = self.sessions.setdefault(session, {})
            self.sessions.move_to_end(session)
            while len(self.sessions) > MAX_SESSIONS:
                self.sessions.popitem(last=False)
            others = {f: n for f, n in held.items() if f != file_id}  # a re-upload replaces
            if len(others) >= self.max_files:
                return _("this session already holds {n} uploaded files (at most {most}); remove one, or reload "
                         "the page").format(n=len(others), most=self.max_files)
            if sum(others.values()) + size > self.max_bytes:
                return _("uploads in one session are at most {most} MiB in all ({held} MiB held); remove one, "
                         "or reload the page").format(most=self.max_bytes // 2**20,
                                                      held=f"{sum(others.values()) / 2**20:.1f}")
            held[file_id] = size
            return None

    def release(self, session: str, file_id: str) -> None:
        with self._lock:
            self.sessions.get(session, {}).pop(file_id, None)
