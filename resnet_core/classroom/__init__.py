"""The classroom wing: users, roles and signed sessions; class mode (roster, limits,
the lesson lock, the challenge); the sign-in gate; the lessons.

The names below are the wing's public surface (the pages use the wing through them); each
loads its module on first use, so importing the wing costs nothing.
"""

from resnet_core.lazy import lazy_exports

# public name -> the module of this wing that defines it (or a foundation module, in full)
PUBLIC = {
    "COOKIE": "access",
    "LOCAL": "access",
    "User": "access",
    "is_member": "access",
    "CHALLENGE_MINUTES": "challenge",
    "LIMIT_BOUNDS": "challenge",
    "ClassLimits": "challenge",
    "config_changes": "challenge",
    "leaderboard": "challenge",
    "Classroom": "classroom",
    "allowed_hosts": "classroom",
    "classroom_for": "classroom",
    "MIN_CODE_LENGTH": "roster",
    "new_class_code": "roster",
    "ClassGate": "gate",
    "join_routes": "gate",
    "LESSONS": "lessons",
    "REAL_DATA_SUFFIX": "lessons",
    "fashion_mnist_here": "lesson_runs",
    "brings_data": "lesson_runs",
    "depth_rows": "lesson_runs",
    "lesson_answer": "lesson_runs",
    "lesson_for": "lesson_runs",
    "lesson_progress": "lesson_runs",
    "lesson_runs": "lesson_runs",
    "article_data": "lesson_runs",
    "mnist_available": "lesson_runs",
    "transfer_rows": "lesson_runs",
}

__getattr__, __dir__ = lazy_exports(__name__, PUBLIC)
