# Generated from PUBLIC by `python tests/core/test_architecture.py`; do not edit.
# That test file checks it equals what the table gives.

from resnet_core.classroom.access import ALL_CLASSES as ALL_CLASSES
from resnet_core.classroom.access import COOKIE as COOKIE
from resnet_core.classroom.access import LOCAL as LOCAL
from resnet_core.classroom.access import User as User
from resnet_core.classroom.access import is_member as is_member
from resnet_core.classroom.challenge import CHALLENGE_MINUTES as CHALLENGE_MINUTES
from resnet_core.classroom.challenge import LIMIT_BOUNDS as LIMIT_BOUNDS
from resnet_core.classroom.challenge import ClassLimits as ClassLimits
from resnet_core.classroom.challenge import config_changes as config_changes
from resnet_core.classroom.challenge import leaderboard as leaderboard
from resnet_core.classroom.classroom import Classroom as Classroom
from resnet_core.classroom.classroom import allowed_hosts as allowed_hosts
from resnet_core.classroom.classroom import classroom_for as classroom_for
from resnet_core.classroom.course import Course as Course
from resnet_core.classroom.course import course_for as course_for
from resnet_core.classroom.gate import ClassGate as ClassGate
from resnet_core.classroom.gate import join_path as join_path
from resnet_core.classroom.gate import join_routes as join_routes
from resnet_core.classroom.lesson_queue import article_data as article_data
from resnet_core.classroom.lesson_queue import brings_data as brings_data
from resnet_core.classroom.lesson_queue import depth_rows as depth_rows
from resnet_core.classroom.lesson_queue import fashion_mnist_here as fashion_mnist_here
from resnet_core.classroom.lesson_queue import lesson_answer as lesson_answer
from resnet_core.classroom.lesson_queue import lesson_for as lesson_for
from resnet_core.classroom.lesson_queue import lesson_progress as lesson_progress
from resnet_core.classroom.lesson_queue import lesson_runs as lesson_runs
from resnet_core.classroom.lesson_queue import mnist_available as mnist_available
from resnet_core.classroom.lesson_queue import transfer_rows as transfer_rows
from resnet_core.classroom.lessons import LESSONS as LESSONS
from resnet_core.classroom.lessons import REAL_DATA_SUFFIX as REAL_DATA_SUFFIX
from resnet_core.classroom.roster import MIN_CODE_LENGTH as MIN_CODE_LENGTH
from resnet_core.classroom.roster import new_class_code as new_class_code

PUBLIC: dict[str, str]
