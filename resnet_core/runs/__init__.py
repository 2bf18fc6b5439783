"""The runs wing: the run folder (its paths, states and files), the runs folder (the store),
job.json, and a run's progress.

The names below are the wing's public surface (the pages use the wing through them); each
loads its module on first use, so importing the wing costs nothing.
"""

from resnet_core.lazy import lazy_exports

# public name -> the module of this wing that defines it (or a foundation module, in full)
PUBLIC = {
    "ACTIVE_STATES": "folder",
    "Run": "folder",
    "MetricsTail": "jsonl",
    "duration": "progress",
    "run_progress": "progress",
    "time_taken": "progress",
    "RunStore": "store",
    "config_table": "store",
}

__getattr__, __dir__ = lazy_exports(__name__, PUBLIC)
