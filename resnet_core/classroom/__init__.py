"""The classroom wing: users, roles and signed sessions; class mode (roster, limits,
the lesson lock, the challenge); the sign-in gate; the lessons.

The names below are the wing's public surface (the pages use the wing through them); each
loads its module on first use, so importing the wing costs nothing.
"""

from resnet_core.lazy import lazy_exports

# public name -> the module of this wing that defines it (or a foundation module, in full)
PUBLIC = {
    "ALL_CLASSES": "access",
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
    "join_path": "gate",
    "Course": "course",
    "course_for": "course",
    "LESSONS": "lessons",
    "REAL_DATA_SUFFIX": "lessons",
    "fashion_mnist_here": "lesson_queue",
    "brings_data": "lesson_queue",
    "depth_rows": "lesson_queue",
    "lesson_answer": "lesson_queue",
    "lesson_for": "lesson_queue",
    "lesson_progress": "lesson_queue",
    "lesson_runs": "lesson_queue",
    "article_data": "lesson_queue",
    "mnist_available": "lesson_queue",
    "transfer_rows": "lesson_queue",
}

__getattr__, __dir__ = lazy_exports(__name__, PUBLIC)
