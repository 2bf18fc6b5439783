"""Every setting the environment can change, with its default: the one reader of
``RESNET_WORKBENCH_*`` (a test in tests/core/test_architecture.py keeps it so).

``settings()`` parses the variables once per environment: the same values give the same
``Settings`` object, so a page that asks on every rerun pays a dictionary look-up, and a test
that sets a variable sees it at once.

| variable | default | what |
|---|---|---|
| RESNET_WORKBENCH_RUNS | the checkout's runs/ | the runs folder of the app, the CLI and notebooks |
| RESNET_WORKBENCH_DATA | ./data | the dashboard's data folder (uploads, folder datasets, lessons) |
| RESNET_WORKBENCH_MODE | single | "class": roles, limits and the sign-in gate |
| RESNET_WORKBENCH_TEACHER_TOKEN | (a new one per start) | the teacher's sign-in token |
| RESNET_WORKBENCH_HOSTS | | extra host names students use, comma-separated |
| RESNET_WORKBENCH_MAX_JOBS | 1 | jobs that may train at once on one device |
| RESNET_WORKBENCH_WARM_WORKER | 1 | "0": no warm training child waiting (the tests' default) |
| RESNET_WORKBENCH_REFRESH_S | 2.0 | seconds between live page refreshes |
| RESNET_WORKBENCH_UPLOAD_QUOTA_GB | 5 | all uploads together |
| RESNET_WORKBENCH_JOB_NICE | 5 (0 on a class server) | how much training children lower their priority |
| RESNET_WORKBENCH_JOINS_PER_MINUTE | 20 | class server: joins a minute from one client address |
| RESNET_WORKBENCH_SYSTEM_DATA | /usr/share/datasets | system dataset folders (Debian's dataset-* packages), ":"-separated |
| RESNET_WORKBENCH_EXECUTOR | local | where queued runs train: local, ray or slurm (docs/cluster.md) |
| RESNET_WORKBENCH_RAY_ADDRESS | auto | the Ray cluster to join (ray executor) |
| RESNET_WORKBENCH_SLURM_PARTITION | (the default) | the Slurm partition (slurm executor) |
| RESNET_WORKBENCH_CPUS_PER_RUN | 1 | CPU cores each run asks of Ray or Slurm |
| RESNET_WORKBENCH_LANG | en | the language of a person who has not chosen one: en or zh-CN (i18n.py) |
| RESNET_WORKBENCH_MAX_SESSIONS | 0 | class server: browser sessions one app process admits (0: no limit); past it a visitor is told to retry (429) |
| RESNET_WORKBENCH_REPLICA | 0 | "1": one of several app processes on one runs folder (issue 40): the queue's owner is whichever holds the folder's lock, the others hand runs to it and take over when it dies |

Set by the job manager for its children (not for users): RESNET_WORKBENCH_JOB_THREADS,
RESNET_WORKBENCH_SUPERVISED; by ``serve`` for its uvicorn workers: RESNET_WORKBENCH_SERVE.
"""

from __future__ import annotations

import functools
import os
from dataclasses import dataclass
from pathlib import Path

RUNS = "RESNET_WORKBENCH_RUNS"
DATA = "RESNET_WORKBENCH_DATA"
MODE = "RESNET_WORKBENCH_MODE"
TEACHER_TOKEN = "RESNET_WORKBENCH_TEACHER_TOKEN"
HOSTS = "RESNET_WORKBENCH_HOSTS"
MAX_JOBS = "RESNET_WORKBENCH_MAX_JOBS"
WARM_WORKER = "RESNET_WORKBENCH_WARM_WORKER"
REFRESH_S = "RESNET_WORKBENCH_REFRESH_S"
UPLOAD_QUOTA_GB = "RESNET_WORKBENCH_UPLOAD_QUOTA_GB"
JOB_NICE = "RESNET_WORKBENCH_JOB_NICE"
JOINS_PER_MINUTE = "RESNET_WORKBENCH_JOINS_PER_MINUTE"
SYSTEM_DATA = "RESNET_WORKBENCH_SYSTEM_DATA"
EXECUTOR = "RESNET_WORKBENCH_EXECUTOR"
RAY_ADDRESS = "RESNET_WORKBENCH_RAY_ADDRESS"
SLURM_PARTITION = "RESNET_WORKBENCH_SLURM_PARTITION"
CPUS_PER_RUN = "RESNET_WORKBENCH_CPUS_PER_RUN"
LANG = "RESNET_WORKBENCH_LANG"
REPLICA = "RESNET_WORKBENCH_REPLICA"
MAX_SESSIONS = "RESNET_WORKBENCH_MAX_SESSIONS"
JOB_THREADS = "RESNET_WORKBENCH_JOB_THREADS"  # the manager -> its children
SUPERVISED = "RESNET_WORKBENCH_SUPERVISED"  # the manager, the Deploy page -> children: stop when stdin closes
SERVE = "RESNET_WORKBENCH_SERVE"  # serve -> its uvicorn workers (JSON)

NAMES = (RUNS, DATA, MODE, TEACHER_TOKEN, HOSTS, MAX_JOBS, WARM_WORKER, REFRESH_S,
         UPLOAD_QUOTA_GB, JOB_NICE, JOINS_PER_MINUTE, SYSTEM_DATA, EXECUTOR, RAY_ADDRESS,
         SLURM_PARTITION, CPUS_PER_RUN, LANG, REPLICA, MAX_SESSIONS, JOB_THREADS, SUPERVISED, SERVE)
MODES = ("single", "class")


@dataclass(frozen=True)
class Settings:
    runs_dir: Path  # a relative $RESNET_WORKBENCH_RUNS stays relative: the working folder
    data_dir: Path
    mode: str  # "single" | "class"
    teacher_token: str  # "" when not set
    hosts: tuple[str, ...]
    max_jobs: int
    warm_worker: bool
    refresh_s: float
    upload_quota_bytes: float
    job_nice: int | None  # None: not set (children choose: 5, or 0 on a class server)
    joins_per_minute: int
    system_data_dirs: tuple[Path, ...]  # where system packages put datasets, searched in order
    executor: str  # local | ray | slurm
    ray_address: str | None
    slurm_partition: str | None
    cpus_per_run: int
    language: str  # as given ("zh_CN.UTF-8", "zh-CN", ...): i18n.pick reads it
    replica: bool  # one of several app processes on one runs folder
    max_sessions: int  # browser sessions this process admits; 0: no limit
    job_threads: int | None
    supervised: bool
    serve: str | None

    @property
    def class_mode(self) -> bool:
        return self.mode == "class"


def settings() -> Settings:
    """The settings of the environment as it is now (parsed once per set of values)."""
    return _parse(tuple(os.environ.get(name) for name in NAMES))


@functools.lru_cache(maxsize=8)
def _parse(values: tuple[str | None, ...]) -> Settings:
    env = dict(zip(NAMES, values, strict=True))
    mode = (env[MODE] or "single").strip().lower() or "single"
    if mode not in MODES:
        raise ValueError(f"{MODE} must be one of {', '.join(MODES)}; got {env[MODE]!r}")
    return Settings(
        runs_dir=Path(env[RUNS]) if env[RUNS] else default_runs_dir(),
        data_dir=Path(env[DATA] or "./data").expanduser(),
        mode=mode,
        teacher_token=(env[TEACHER_TOKEN] or "").strip(),
        hosts=tuple(h.strip() for h in (env[HOSTS] or "").split(",") if h.strip()),
        max_jobs=_number(env, MAX_JOBS, int, "1"),
        warm_worker=(env[WARM_WORKER] or "1") != "0",
        refresh_s=_number(env, REFRESH_S, float, "2.0"),
        upload_quota_bytes=_number(env, UPLOAD_QUOTA_GB, float, "5") * 2**30,
        job_nice=_number(env, JOB_NICE, int, None),
        joins_per_minute=_number(env, JOINS_PER_MINUTE, int, "20"),
        system_data_dirs=tuple(Path(d).expanduser() for d in
                               (env[SYSTEM_DATA] or "/usr/share/datasets").split(os.pathsep) if d),
        executor=(env[EXECUTOR] or "local").strip().lower() or "local",
        ray_address=env[RAY_ADDRESS] or None,
        slurm_partition=env[SLURM_PARTITION] or None,
        cpus_per_run=_number(env, CPUS_PER_RUN, int, "1"),
        language=(env[LANG] or "").strip(),
        replica=(env[REPLICA] or "0").strip() not in ("", "0"),
        max_sessions=_number(env, MAX_SESSIONS, int, "0"),
        job_threads=_number(env, JOB_THREADS, int, None),
        supervised=bool(env[SUPERVISED]),
        serve=env[SERVE],
    )


def default_runs_dir() -> Path:
    """The one runs folder of the app, the CLI and notebooks, whatever the working folder (a
    notebook runs in notebooks/, the app and the CLI usually in the checkout): the checkout's
    runs/ (README installs the package editable, so it is found beside app.py), else, for a
    package installed elsewhere, ~/resnet-workbench/runs."""
    checkout = Path(__file__).resolve().parents[1]
    if (checkout / "app.py").is_file():
        return checkout / "runs"
    return Path.home() / "resnet-workbench" / "runs"


def _number(env: dict, name: str, kind: type, default: str | None):
    text = env[name] or default
    if text is None:
        return None
    try:
        return kind(text)
    except ValueError:
        raise ValueError(f"{name} must be a {kind.__name__}; got {text!r}") from None
