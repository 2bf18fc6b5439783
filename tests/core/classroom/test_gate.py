"""The class gate's pure rules, one by one (the gate over HTTP: tests/browser/test_class_server.py):
Host names, cookies, TLS, the session cookie's flags, where a join may send you, same origin."""

from __future__ import annotations

import pytest

from resnet_core.classroom.access import COOKIE
from resnet_core.classroom.gate import (
    client_address,
    cookies_of,
    host_name,
    is_https,
    local_path,
    safe_next,
    same_origin,
    session_cookie,
)
from resnet_core.classroom.ratelimit import RateLimiter


def scope(headers: dict | None = None, **extra) -> dict:
    return {"headers": [(k.encode(), v.encode()) for k, v in (headers or {}).items()], **extra}


@pytest.mark.parametrize("header, name", [("localhost:8501", "localhost"), ("[::1]:8501", "::1"),
                                          ("EXAMPLE.org", "example.org"), ("::1", "::1"),
                                          ("[::1", "[::1")])
def test_a_host_header_names_its_host_without_the_port(header, name):
    assert host_name(header) == name


def test_cookies_are_read_and_a_garbled_header_is_no_session():
    assert cookies_of(scope({"cookie": f"{COOKIE}=abc; theme=dark"})) == {COOKIE: "abc", "theme": "dark"}
    assert cookies_of(scope({"cookie": 'a="unterminated; b'})) in ({}, {"b": ""})
    assert cookies_of(scope()) == {}


def test_tls_is_the_scheme_or_a_proxy_that_says_so():
    assert is_https(scope(scheme="https")) and is_https(scope(scheme="wss"))
    assert is_https(scope({"x-forwarded-proto": "HTTPS"}, scheme="http"))
    assert not is_https(scope(scheme="http"))


def test_the_session_cookie_is_http_only_same_site_and_secure_over_tls():
    plain = session_cookie("v", secure=False)
    assert plain.startswith(f"{COOKIE}=v; Path=/; HttpOnly; SameSite=Lax; Max-Age=")
    assert "Secure" not in plain and session_cookie("v", secure=True).endswith("; Secure")
    assert "Max-Age=0" in session_cookie("", secure=False, max_age=0)


@pytest.mark.parametrize("target, where", [
    (None, "/"), ("", "/"), ("https://evil.example/", "/"), ("//evil.example/x", "/x"),
    ("/\\evil.example", "/evil.example"), ("/train?run=a b", "/train?run=a%20b"),
    ("/lessons?lesson=depth&locked=1", "/lessons?lesson=depth&locked=1"),
])
def test_after_joining_you_go_to_a_path_on_this_server_only(target, where):
    assert safe_next(target) == where
    assert local_path(safe_next(target)).startswith("/") and not safe_next(target).startswith("//")


def test_same_origin_is_the_origin_else_the_referer_host_and_port():
    own = {"host": "127.0.0.1:8501"}
    assert same_origin({**own, "origin": "http://127.0.0.1:8501"}) is True
    assert same_origin({**own, "origin": "http://127.0.0.1:8502"}) is False  # another port
    assert same_origin({**own, "origin": "null"}) is False
    assert same_origin({**own, "referer": "http://127.0.0.1:8501/join"}) is True
    assert same_origin({**own, "referer": "https://evil.example/join"}) is False
    assert same_origin(own) is None  # not a browser
    # The scheme is part of the origin: an https page is not this http server (issue 37).
    assert same_origin({**own, "origin": "https://127.0.0.1:8501"}) is False
    assert same_origin({**own, "origin": "https://127.0.0.1:8501"}, "https") is True
    assert same_origin({**own, "origin": "http://127.0.0.1:8501"}, "https") is False


def test_the_client_address_is_the_peers():
    assert client_address(scope(client=("127.0.0.2", 5555))) == "127.0.0.2"
    assert client_address(scope()) == "unknown"
    # One host gets a whole IPv6 /64 and sends from any address in it: counted as one.
    assert client_address(scope(client=("2001:db8:1:2::1", 1))) == "2001:db8:1:2::/64"
    assert client_address(scope(client=("2001:db8:1:2:ffff::9", 1))) == "2001:db8:1:2::/64"
    assert client_address(scope(client=("2001:db8:1:3::1", 1))) == "2001:db8:1:3::/64"
    assert client_address(scope(client=("::ffff:10.0.0.7", 1))) == "10.0.0.7"


def test_a_burst_takes_no_more_slots_than_the_limit():
    """Fifty threads at once, limit 20: twenty pass, thirty are told how long to wait. (A check
    then a later count let all of a burst through.)"""
    import threading

    limiter = RateLimiter(20)
    start, waits = threading.Barrier(50), []

    def attempt() -> None:
        start.wait()
        waits.append(limiter.take("10.0.0.1"))

    threads = [threading.Thread(target=attempt) for _ in range(50)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sum(w == 0 for w in waits) == 20 and all(0 < w <= 60 for w in waits if w)
    assert limiter.take("10.0.0.2") == 0  # another address has its own


def test_a_slot_given_back_is_free_again():
    now = [0.0]
    limiter = RateLimiter(2, clock=lambda: now[0])
    assert limiter.take("a") == 0 and limiter.take("a") == 0
    assert limiter.take("a") == 60
    limiter.give_back("a")  # the reserved event (a wrong code) did not happen
    assert limiter.take("a") == 0
    now[0] = 61
    assert limiter.take("a") == 0


def _take_many(path: str, n: int, out) -> None:
    from resnet_core.classroom.ratelimit import SharedRateLimiter

    limiter = SharedRateLimiter(path, 25)
    out.put(sum(limiter.take("10.0.0.7") == 0 for _ in range(n)))


def test_replicas_count_class_code_attempts_together(tmp_path):
    """Issue 40: three replicas, one window: 25 attempts a minute from an address is 25 across
    the processes (each taking 20 at once admits 25 in all, not 60), and a slot given back on
    one replica is free on another."""
    import multiprocessing

    from resnet_core.classroom.ratelimit import SharedRateLimiter

    path = str(tmp_path / "wrong-codes.rate.json")
    context = multiprocessing.get_context("spawn")
    out = context.Queue()
    workers = [context.Process(target=_take_many, args=(path, 20, out)) for _ in range(3)]
    for w in workers:
        w.start()
    admitted = sum(out.get(timeout=60) for _ in workers)
    for w in workers:
        w.join(30)
    assert admitted == 25
    here, there = SharedRateLimiter(path, 25), SharedRateLimiter(path, 25)
    assert 0 < here.take("10.0.0.7") <= 60 and here.take("10.0.0.8") == 0  # another address: free
    there.give_back("10.0.0.7")  # a code that turned out right, on another replica
    assert here.take("10.0.0.7") == 0 and here.take("10.0.0.7") > 0
