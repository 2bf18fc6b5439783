"""Errors a user can cause and fix. Their message is one line: what was wrong, what is accepted.

The CLI prints these without a traceback; anything else is a bug and keeps its traceback.
"""


class WorkbenchError(Exception):
    """Base class for mistakes a user can fix (bad input, missing files, unsafe files)."""


class ConfigError(WorkbenchError, ValueError):
    """A setting is out of range or unknown."""


class DataError(WorkbenchError):
    """A dataset is missing, has the wrong layout, or cannot be used as asked."""


class RunError(WorkbenchError):
    """A run directory is missing, unsafe, busy or damaged."""


class CheckpointError(WorkbenchError):
    """A checkpoint cannot be read safely (corrupt, truncated, or carries pickled code)."""


class TrainingFailed(WorkbenchError):
    """Training stopped on an unrecoverable condition (non-finite loss, out of memory)."""


def first_line(error: BaseException, limit: int | None = None) -> str:
    """The first line of an exception's message (its type name if empty), for one-line errors."""
    lines = str(error).strip().splitlines()
    text = lines[0] if lines else type(error).__name__
    return text[:limit] if limit else text
