"""Every RESNET_WORKBENCH_* variable is read in settings.py: its default, its parsing, and a
one-line error for a value it cannot take."""

from __future__ import annotations

from pathlib import Path

import pytest

from resnet_core import settings as settings_module
from resnet_core.settings import NAMES, settings


@pytest.fixture
def clean(monkeypatch):
    for name in NAMES:
        monkeypatch.delenv(name, raising=False)
    return monkeypatch


def test_the_defaults(clean):
    s = settings()
    assert s.runs_dir == settings_module.default_runs_dir()
    assert (s.mode, s.class_mode, s.max_jobs, s.warm_worker, s.refresh_s) == ("single", False, 1, True, 2.0)
    assert s.executor == "local" and s.job_nice is None and s.joins_per_minute == 20
    assert s.system_data_dirs == (Path("/usr/share/datasets"),)
    assert s.upload_quota_bytes == 5 * 2**30 and s.hosts == () and not s.supervised


def test_values_are_parsed_and_trimmed(clean):
    clean.setenv("RESNET_WORKBENCH_MODE", " Class ")
    clean.setenv("RESNET_WORKBENCH_HOSTS", "lab.example, 10.0.0.5 ,")
    clean.setenv("RESNET_WORKBENCH_MAX_JOBS", "3")
    clean.setenv("RESNET_WORKBENCH_WARM_WORKER", "0")
    clean.setenv("RESNET_WORKBENCH_SYSTEM_DATA", "/a:/b")
    clean.setenv("RESNET_WORKBENCH_EXECUTOR", " Ray ")
    s = settings()
    assert s.class_mode and s.hosts == ("lab.example", "10.0.0.5") and s.max_jobs == 3
    assert not s.warm_worker and s.system_data_dirs == (Path("/a"), Path("/b")) and s.executor == "ray"


@pytest.mark.parametrize("name, value, message", [
    ("RESNET_WORKBENCH_MODE", "party", "RESNET_WORKBENCH_MODE must be one of single, class; got 'party'"),
    ("RESNET_WORKBENCH_MAX_JOBS", "two", "RESNET_WORKBENCH_MAX_JOBS must be a int; got 'two'"),
    ("RESNET_WORKBENCH_REFRESH_S", "fast", "RESNET_WORKBENCH_REFRESH_S must be a float; got 'fast'"),
])
def test_a_value_it_cannot_take_is_one_line(clean, name, value, message):
    clean.setenv(name, value)
    with pytest.raises(ValueError) as e:
        settings()
    assert str(e.value) == message
