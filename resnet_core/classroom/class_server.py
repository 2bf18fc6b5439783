"""A class served by several app processes behind HAProxy (issue 40): ``python -m resnet_core
class-server --replicas N``.

Each replica is the app as the README starts it (``streamlit run app.py``) in class mode on a
port of its own, with ``RESNET_WORKBENCH_REPLICA=1`` (the queue's owner is whichever holds the
runs folder's lock; jobs/replicas.py) and one teacher token. HAProxy (Debian's ``haproxy``)
listens on the class's address: a cookie keeps each browser on its replica (a websocket
session lives in one process), ``/_stcore/health`` is checked every second, and a replica that
fails twice gets no one until it answers again; its students land on another, where the
shared cookie secret keeps them signed in. The class's state, the cookie secret and the runs
are in the runs folder, which every replica shares (on several machines: a shared folder,
docs/classroom.md). Ctrl-C or SIGTERM stops HAProxy and every replica.
"""

from __future__ import annotations

import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

from resnet_core.errors import ConfigError
from resnet_core.i18n import _
from resnet_core.settings import MAX_SESSIONS, MODE, REPLICA, RUNS, TEACHER_TOKEN

APP = Path(__file__).resolve().parents[2] / "app.py"  # the checkout's app (an editable install)
COOKIE = "RWB_REPLICA"  # HAProxy's: which replica a browser's session lives on
MAX_REPLICAS = 32


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket() as s:
        s.bind((host, 0))
        return s.getsockname()[1]


def haproxy_config(*, bind: str, port: int, replicas: list[int]) -> str:
    """HAProxy's configuration: one frontend on the class's address, one backend of replicas
    with cookie stickiness and health checks; websockets pass (a tunnel lives an hour)."""
    servers = "\n".join(
        f"    server r{i} 127.0.0.1:{p} check cookie r{i} inter 1s fall 2 rise 1"
        for i, p in enumerate(replicas, start=1))
    return f"""# Written by `python -m resnet_core class-server` (resnet_core/classroom/class_server.py).
global
    maxconn 4096
defaults
    mode http
    option forwardfor
    timeout connect 5s
    timeout client 1h
    timeout server 1h
    timeout tunnel 1h
    timeout http-request 30s
frontend class
    bind {bind}:{port}
    default_backend replicas
backend replicas
    balance roundrobin
    option redispatch
    retries 2
    cookie {COOKIE} insert indirect nocache httponly
    # HTTP/1.1 with a Host the class gate answers (it refuses a request without one)
    option httpchk
    http-check send meth GET uri /_stcore/health ver HTTP/1.1 hdr Host 127.0.0.1
    http-check expect status 200
{servers}
"""


@dataclass
class ClassServer:
    """HAProxy on ``host:port`` in front of ``replicas`` app processes on one runs folder."""

    runs_dir: Path
    replicas: int = 2
    port: int = 8501
    host: str = "127.0.0.1"
    teacher_token: str = ""
    max_sessions: int = 0  # per replica; 0: no limit
    python: str = sys.executable
    processes: list[subprocess.Popen] = field(default_factory=list)
    ports: list[int] = field(default_factory=list)
    haproxy: subprocess.Popen | None = None

    cookie_secret: str = ""  # Streamlit's (its XSRF cookie): one for all, so a moved browser keeps it

    def __post_init__(self) -> None:
        if not 1 <= self.replicas <= MAX_REPLICAS:
            raise ConfigError(_("--replicas must be from 1 to {top}, got {value}").format(
                                  top=MAX_REPLICAS, value=self.replicas))
        if shutil.which("haproxy") is None:
            raise ConfigError(_("class-server needs HAProxy: apt-get install haproxy (Debian, Ubuntu)"))
        self.runs_dir = Path(self.runs_dir).resolve()
        self.teacher_token = self.teacher_token or secrets.token_urlsafe(24)
        self.cookie_secret = self.cookie_secret or secrets.token_urlsafe(32)

    @property
    def url(self) -> str:
        return f"http://{'127.0.0.1' if self.host in ('0.0.0.0', '::') else self.host}:{self.port}"

    def replica_env(self) -> dict:
        env = {**os.environ, MODE: "class", REPLICA: "1", RUNS: str(self.runs_dir),
               TEACHER_TOKEN: self.teacher_token,
               "STREAMLIT_SERVER_COOKIE_SECRET": self.cookie_secret}  # Streamlit takes it only so
        if self.max_sessions:
            env[MAX_SESSIONS] = str(self.max_sessions)
        return env

    def log_path(self, replica: int) -> Path:
        return self.runs_dir / ".class" / f"replica-{replica}.log"

    def _log(self, replica: int):
        """Where a replica's console goes (the teacher reads it there)."""
        path = self.log_path(replica)
        path.parent.mkdir(parents=True, exist_ok=True)
        return open(path, "a")  # noqa: SIM115 - the child holds it; closed at our exit

    def start(self, timeout: float = 120.0) -> ClassServer:
        """Start the replicas, wait until each answers its health check, then HAProxy."""
        env = self.replica_env()
        for _i in range(self.replicas):
            port = free_port()
            self.ports.append(port)
            self.processes.append(subprocess.Popen(
                [self.python, "-m", "streamlit", "run", str(APP), "--server.headless", "true",
                 "--server.port", str(port), "--server.address", "127.0.0.1",
                 "--browser.gatherUsageStats", "false"],
                cwd=APP.parent, env=env, stdin=subprocess.DEVNULL,
                stdout=self._log(len(self.processes) + 1), stderr=subprocess.STDOUT))
        deadline = time.monotonic() + timeout
        for port, process in zip(self.ports, self.processes, strict=True):
            while not healthy(port):
                if process.poll() is not None or time.monotonic() > deadline:
                    self.stop()
                    raise ConfigError(_("a replica did not start (port {port}); its console is in {log}").format(
                                          port=port, log=self.log_path(self.ports.index(port) + 1)))
                time.sleep(0.3)
        config = self.runs_dir / ".class" / "haproxy.cfg"
        config.parent.mkdir(parents=True, exist_ok=True)
        config.write_text(haproxy_config(bind=self.host, port=self.port, replicas=self.ports))
        self.haproxy = subprocess.Popen(["haproxy", "-f", str(config), "-db"], stdin=subprocess.DEVNULL,
                                        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        while not healthy(self.port, host="127.0.0.1" if self.host in ("0.0.0.0", "::") else self.host):
            if self.haproxy.poll() is not None or time.monotonic() > deadline:
                why = self.haproxy.stderr.read() if self.haproxy.poll() is not None else ""
                self.stop()
                raise ConfigError(_("HAProxy did not start on {host}:{port}: {why}").format(
                                      host=self.host, port=self.port, why=why.strip()[-300:]))
            time.sleep(0.2)
        return self

    def stop(self, timeout: float = 30.0) -> None:
        """HAProxy first (no new requests), then every replica (each checkpoints its runs)."""
        for process in ([self.haproxy] if self.haproxy else []) + self.processes:
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + timeout
        for process in ([self.haproxy] if self.haproxy else []) + self.processes:
            try:
                process.wait(max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def healthy(port: int, host: str = "127.0.0.1") -> bool:
    try:
        with urllib.request.urlopen(f"http://{host}:{port}/_stcore/health", timeout=2) as r:
            return r.status == 200
    except OSError:
        return False
