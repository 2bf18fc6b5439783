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
    "ClassLimits": "classroom",
    "Classroom": "classroom",
    "allowed_hosts": "classroom",
    "classroom_for": "classroom",
    "config_changes": "classroom",
    "leaderboard": "classroom",
    "new_class_code": "classroom",
    "ClassGate": "gate",
    "join_routes": "gate",
    "LESSONS": "lessons",
    "REAL_DATA_SUFFIX": "lessons",
    "fashion_mnist_here": "lessons",
    "brings_data": "lessons",
    "depth_rows": "lessons",
    "lesson_answer": "lessons",
    "lesson_for": "lessons",
    "lesson_progress": "lessons",
    "lesson_runs": "lessons",
    "article_data": "lessons",
    "mnist_available": "lessons",
    "transfer_rows": "lessons",
}

__getattr__, __dir__ = lazy_exports(__name__, PUBLIC)
