"""Session cookies and the teacher token: what makes a user on a class server."""

import time

import pytest

from resnet_core.classroom.access import (
    SESSION_DAYS,
    User,
    read_session,
    require_control,
    sign_session,
    token_matches,
)

SECRET = b"k" * 32
ADA = User("s-1", "Ada", "student")


def test_a_signed_session_reads_back_as_its_user():
    assert read_session(sign_session(ADA, SECRET), SECRET) == ADA


def test_forged_tampered_foreign_and_empty_cookies_are_nobody():
    cookie = sign_session(ADA, SECRET)
    body, signature = cookie.split(".")
    teacher = sign_session(User("teacher", "Teacher", "teacher"), SECRET)
    # A student swaps in the teacher's payload but keeps their own signature.
    assert read_session(f"{teacher.split('.')[0]}.{signature}", SECRET) is None
    assert read_session(f"{body}.{signature[:-2]}xx", SECRET) is None
    assert read_session(sign_session(ADA, b"other secret"), SECRET) is None
    assert read_session("", SECRET) is None and read_session(None, SECRET) is None
    assert read_session("not-a-cookie", SECRET) is None


def test_a_reset_class_and_an_old_cookie_are_nobody():
    cookie = sign_session(ADA, SECRET, generation=0)
    assert read_session(cookie, SECRET, generation=1) is None
    old = sign_session(ADA, SECRET, now=time.time() - (SESSION_DAYS + 1) * 86400)
    assert read_session(old, SECRET) is None


def test_unknown_role_in_a_signed_payload_is_refused():
    assert read_session(sign_session(User("x", "x", "admin"), SECRET), SECRET) is None


def test_teacher_token_check():
    assert token_matches("abc", "abc")
    assert not token_matches("abd", "abc") and not token_matches("", "abc")
    assert not token_matches(None, "abc")


def test_students_control_only_their_own_runs():
    require_control(ADA, "stop", "run-1", "s-1")
    require_control(User("teacher", "T", "teacher"), "stop", "run-1", "s-1")
    with pytest.raises(PermissionError, match="students may stop only their own runs"):
        require_control(ADA, "stop", "run-1", "s-2")
    with pytest.raises(PermissionError, match="shared lesson run"):
        require_control(ADA, "delete", "run-1", "lessons")
