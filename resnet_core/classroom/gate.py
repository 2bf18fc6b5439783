"""The class server's front door: an ASGI middleware and the /join page, for app.py's st.App.

Every request passes ``ClassGate`` before Streamlit sees it:

- A Host header outside ``classroom.allowed_hosts`` is refused (403; a websocket is closed
  before it opens): a page on another site cannot drive the app through DNS rebinding.
- ``?token=...`` on any page is checked in constant time and answered with a redirect to the
  same address without it; the right token comes back as a signed HttpOnly session cookie
  (the teacher), a wrong one as nothing. The token never stays in the address bar, the
  history or a log line.
- A page request (HTML) without a valid session goes to /join, where a student picks a
  display name (and types the class code if the teacher set one) and gets their cookie.
- The websocket, file uploads and media need a valid session, and a websocket whose Origin
  is not this server (another site, or another port of this host) is refused: a cookie is
  sent to every port of a host, the Origin says which page is asking.
- /join and /leave take POSTs from this server's own pages only (Origin, else Referer);
  /leave also needs the session's form token. Joins and wrong class codes are rate-limited
  per client address (``ratelimit``).

The pages read the same cookie from ``st.context.cookies`` and ask ``Classroom`` who it is;
the core's actions check that user (``access``). Starlette comes with Streamlit; nothing here
imports Streamlit.
"""

from __future__ import annotations

import hmac
import html
from http.cookies import SimpleCookie
from urllib.parse import parse_qsl, quote, urlencode, urlsplit

from resnet_core.classroom.access import COOKIE, MAIN_CLASS, SESSION_DAYS
from resnet_core.classroom.ratelimit import RateLimiter, SharedRateLimiter
from resnet_core.classroom.roster import WrongClassCode
from resnet_core.classroom.traffic import UploadBudget, server_wide
from resnet_core.errors import WorkbenchError
from resnet_core.hosts import address_key, host_name
from resnet_core.i18n import COOKIE as LANGUAGE_COOKIE
from resnet_core.i18n import N_, _, pick, server_default, speaking
from resnet_core.serving.guard import ClientError, read_body
from resnet_core.settings import settings

# Streamlit's own assets and endpoints: never redirected to /join (the websocket is checked
# by the pages instead, with the same cookie).
PASS_THROUGH = ("/_stcore/", "/static/", "/media/", "/component/", "/favicon", "/join", "/leave")
# Never served without a valid session (nor is the websocket): each can cost the server
# memory or reach a session's files.
SESSION_ONLY = ("/_stcore/upload_file", "/media/")
AGENT_API = "/_stcore/agent/"  # Streamlit's API for clients without a browser
UPLOADS = "/_stcore/upload_file/"  # + <session id>/<file id>: PUT a file, DELETE it
MAX_FORM_BYTES = 4096
WRONG_CODES_PER_MINUTE = 5  # per client address: a 10-character code then takes centuries


def _headers(scope) -> dict[str, str]:
    return {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope.get("headers", [])}


def cookies_of(scope) -> dict[str, str]:
    jar = SimpleCookie()
    try:
        jar.load(_headers(scope).get("cookie", ""))
    except Exception:  # noqa: BLE001 - a garbled Cookie header is no session, not a crash
        return {}
    return {k: m.value for k, m in jar.items()}


def is_https(scope) -> bool:
    """Served over TLS, directly or by a reverse proxy that says so (the cookie gets Secure;
    trusting the header costs nothing: it can only add the flag)."""
    return scope.get("scheme") in ("https", "wss") or \
        _headers(scope).get("x-forwarded-proto", "").lower() == "https"


def session_cookie(value: str, *, secure: bool, max_age: int = SESSION_DAYS * 86400) -> str:
    flags = f"; Path=/; HttpOnly; SameSite=Lax; Max-Age={max_age}"
    return f"{COOKIE}={value}{flags}{'; Secure' if secure else ''}"


async def _send(send, status: int, body: str, headers: list[tuple[str, str]] = (),
                content_type: str = "text/html; charset=utf-8") -> None:
    data = body.encode()
    raw = [(b"content-type", content_type.encode()), (b"content-length", str(len(data)).encode()),
           (b"cache-control", b"no-store"), (b"x-frame-options", b"DENY"),
           (b"referrer-policy", b"no-referrer")]
    raw += [(k.encode(), v.encode()) for k, v in headers]
    await send({"type": "http.response.start", "status": status, "headers": raw})
    await send({"type": "http.response.body", "body": data})


async def redirect(send, location: str, cookie: str | None = None) -> None:
    headers = [("location", location)] + ([("set-cookie", cookie)] if cookie else [])
    await _send(send, 303, "", headers)


def local_path(path: str) -> str:
    """A path on this server, for a Location header: exactly one leading slash and nothing a
    browser could read as another site ("//host", "/\\host", a decoded "/%2Fhost", tabs)."""
    return "/" + quote(path.lstrip("/\\"), safe="/-._~!$&'()*+,;=:@%")


def safe_next(target: str | None) -> str:
    """Where to go after joining: a path (and query) on this server only."""
    if not target or not target.startswith("/"):
        return "/"
    parts = urlsplit(target)
    query = quote(parts.query, safe="=&+%-._~")
    return local_path(parts.path) + (f"?{query}" if query else "")


def same_origin(headers: dict[str, str], scheme: str = "http") -> bool | None:
    """True when the Origin header (else the Referer) names this server: its scheme (``http``
    or ``https``, as the request came), host and port; False when it names another page (an
    https page is another origin than this http server); None when neither is sent (not a
    browser)."""
    host = headers.get("host", "").strip().lower()
    for name in ("origin", "referer"):
        value = headers.get(name, "").strip()
        if value:
            parts = urlsplit(value)
            return value != "null" and parts.scheme.lower() == scheme and parts.netloc.lower() == host
    return None


def scheme_of(scope) -> str:
    """The scheme a browser used for this request: https behind TLS (``is_https``), else http."""
    return "https" if is_https(scope) else "http"


def client_address(scope) -> str:
    """The connection's client, as rate limits and the class's per-address share count it."""
    client = scope.get("client")
    return address_key(client[0]) if client else "unknown"


class ClassGate:
    """Pure ASGI middleware (websockets pass through it too). ``classroom`` is a zero-argument
    callable returning the server's ``Course`` (its classes); ``hosts`` the allowed Host names."""

    def __init__(self, app, classroom, hosts, *, max_sessions: int | None = None) -> None:
        self.app = app
        self.classroom = classroom
        self.hosts = {h.lower() for h in hosts}
        self.uploads = UploadBudget()
        # Admission (issue 40): the browser sessions (websockets) this process holds, and how
        # many it takes; past it a student's page is a polite 429 that retries by itself.
        self.sessions = 0
        self.max_sessions = settings().max_sessions if max_sessions is None else max_sessions

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] not in ("http", "websocket"):
            return await self.app(scope, receive, send)
        headers = _headers(scope)
        if host_name(headers.get("host", "")) not in self.hosts:
            if scope["type"] == "websocket":
                await send({"type": "websocket.close", "code": 1008})
                return
            return await _send(send, 403, "This class server answers only the addresses its teacher "
                                          "gave; open the link your teacher shared.\n",
                               content_type="text/plain; charset=utf-8")
        path = scope.get("path", "/")
        if path.startswith(AGENT_API):  # a path past the sign-in: never on a class server
            return await _send(send, 403, "The agent API is off on a class server.\n",
                               content_type="text/plain; charset=utf-8")
        if scope["type"] == "websocket" or path.startswith(SESSION_ONLY):
            problem, user = None, None
            if same_origin(headers, scheme_of(scope)) is False:
                problem = "another page's request: open this class server's own address"
            elif (user := self.classroom().user_from_cookie(cookies_of(scope).get(COOKIE))) is None:
                problem = "join the class first (open /join)"
            if problem is not None:
                if scope["type"] == "websocket":
                    await send({"type": "websocket.close", "code": 1008})
                    return
                return await _send(send, 403, problem + "\n", content_type="text/plain; charset=utf-8")
            if not user.is_teacher:  # a student's session acts on itself only
                if scope["type"] == "websocket":
                    return await self._session(scope, _without_server_wide(receive), send)
                if path.startswith(UPLOADS):
                    return await self._student_upload(scope, receive, send, headers)
        if scope["type"] == "http":
            query = parse_qsl(scope.get("query_string", b"").decode("latin-1"), keep_blank_values=True)
            token = next((v for k, v in query if k == "token"), None)
            if token is not None:  # exchange it, and take it out of the address bar
                cookie = self.classroom().teacher_cookie(token)
                rest = urlencode([(k, v) for k, v in query if k != "token"])
                location = local_path(path) + (f"?{rest}" if rest else "")
                return await redirect(send, location,
                                      session_cookie(cookie, secure=is_https(scope)) if cookie else None)
            if (scope.get("method") == "GET" and "text/html" in headers.get("accept", "")
                    and not path.startswith(PASS_THROUGH)):
                user = self.classroom().user_from_cookie(cookies_of(scope).get(COOKIE))
                if user is None:
                    qs = scope.get("query_string", b"").decode("latin-1")
                    return await redirect(send, "/join?" + urlencode({"next": path + (f"?{qs}" if qs else "")}))
                if self.full() and not user.is_teacher:  # the teacher always gets in
                    lang = request_language(scope, self.classroom().room_of(user))
                    return await _send(send, 429, full_page(lang), [("retry-after", str(RETRY_AFTER_S))])
        if scope["type"] == "websocket":
            return await self._session(scope, receive, send)
        await self.app(scope, receive, send)

    def full(self) -> bool:
        return bool(self.max_sessions) and self.sessions >= self.max_sessions

    async def _session(self, scope, receive, send) -> None:
        """A browser session: counted while its websocket is open."""
        self.sessions += 1
        try:
            await self.app(scope, receive, send)
        finally:
            self.sessions -= 1

    async def _student_upload(self, scope, receive, send, headers) -> None:
        """A student's upload counts against their session's budget (``traffic.UploadBudget``);
        a delete frees it."""
        parts = scope.get("path", "").removeprefix(UPLOADS).split("/")
        session, file_id = (parts + ["", ""])[:2]
        method = scope.get("method")
        if method == "PUT":
            length = headers.get("content-length", "")
            if not length.isdigit():
                return await _send(send, 411, "an upload needs its Content-Length\n",
                                   content_type="text/plain; charset=utf-8")
            refused = self.uploads.admit(session, file_id, int(length))
            if refused is not None:
                return await _send(send, 413, refused + "\n", content_type="text/plain; charset=utf-8")

            async def send_and_count(message) -> None:  # a refused upload holds nothing
                if message["type"] == "http.response.start" and not 200 <= message["status"] < 300:
                    self.uploads.release(session, file_id)
                await send(message)

            return await self.app(scope, receive, send_and_count)
        if method == "DELETE":
            self.uploads.release(session, file_id)
        await self.app(scope, receive, send)


def _without_server_wide(receive):
    """``receive`` for a student's websocket: messages that act on the whole server (clear the
    caches, the debug ones) are dropped; the rest pass as they came."""
    async def receive_own():
        while True:
            message = await receive()
            if message.get("type") == "websocket.receive" and server_wide(message.get("bytes")):
                continue
            return message
    return receive_own


# -- /join and /leave ------------------------------------------------------------------------

PAGE = """<!doctype html><html lang="{lang}"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title} · ResNet Workbench</title>
<style>body{{font-family:system-ui,sans-serif;max-width:26rem;margin:4rem auto;padding:0 1rem;color:#262730}}
label{{display:block;margin:1rem 0 .3rem}}input{{width:100%;padding:.5rem;font-size:1rem;box-sizing:border-box}}
button{{margin-top:1.2rem;padding:.6rem 1.2rem;font-size:1rem;background:#d6336c;color:#fff;border:0;border-radius:.4rem}}
.error{{color:#b00020;margin-top:1rem}} code{{font-size:1.3rem;letter-spacing:.1rem}}
summary{{margin-top:1rem;cursor:pointer}}</style></head><body>
<h1>{title}</h1>
{body}
</body></html>"""

JOIN_FORM = """<p>{intro}</p>
<form method="post" action="{action}">
<input type="hidden" name="next" value="{next}"><input type="hidden" name="lang" value="{lang}">
<label for="name">{name_label}</label><input id="name" name="name" maxlength="32" required autofocus value="{name}">
{code_field}
<details><summary>{coming_back}</summary>
<label for="rejoin">{rejoin_label}</label>
<input id="rejoin" name="rejoin" maxlength="20" autocomplete="off"></details>
<button type="submit">{join}</button></form>
{error}
<p style="margin-top:2rem;color:#595959;font-size:.9rem">{teacher}</p>"""


def page(title: str, body: str, lang: str) -> str:
    """The gate's page around ``body``: ``<html lang>`` is the language it is written in."""
    return PAGE.format(title=html.escape(title), body=body, lang=lang)


RETRY_AFTER_S = 5


def full_page(lang: str) -> str:
    """What a student sees when this process holds all the sessions it takes: no stall, a
    page that says so and asks again by itself (HAProxy may send the next try elsewhere)."""
    with speaking(lang):
        words = _("This server has as many students as it takes at the moment. This page tries again "
                  "by itself every {seconds} seconds: keep it open.").format(seconds=RETRY_AFTER_S)
        body = (f'<meta http-equiv="refresh" content="{RETRY_AFTER_S}">'
                f'<p role="status">{html.escape(words)}</p>')
        return page(_("The class is full right now"), body, lang)


def request_language(scope, classroom, asked: str | None = None) -> str:
    """The language of a /join or /leave page: ``asked`` (?lang= or the form's field), the
    cookie the app's language switch set, the class's language, the browser's
    (Accept-Language), the server's default."""
    return (pick(asked) or pick(cookies_of(scope).get(LANGUAGE_COOKIE)) or pick(classroom.state.language)
            or pick(_headers(scope).get("accept-language")) or server_default())


def join_path(class_id: str) -> str:
    """A class's join link: /join for the first class, /join?class=<id> for the others."""
    return "/join" if class_id == MAIN_CLASS else "/join?" + urlencode({"class": class_id})


def join_page(classroom, *, next_path: str = "/", name: str = "", error: str = "", lang: str = "en",
              several: bool = False) -> str:
    """The join form of ``classroom``; ``several``: the server has other classes, so the page
    names this one."""
    with speaking(lang):
        code_field = (f'<label for="code">{_("Class code")}</label><input id="code" name="code" '
                      'maxlength="64" required>') if classroom.state.class_code else ""
        body = JOIN_FORM.format(
            intro=_("ResNet Workbench is running in class mode. Pick the name the class will see."),
            next=html.escape(safe_next(next_path)), name=html.escape(name), lang=lang,
            action=html.escape(join_path(classroom.id)),
            name_label=_("Display name"), code_field=code_field, coming_back=_("Coming back to a name you had?"),
            rejoin_label=_("Rejoin code (from the sign-out page, or from your teacher)"), join=_("Join"),
            error=f'<p class="error" role="alert">{html.escape(error)}</p>' if error else "",
            teacher=_("Teacher? Open the link with the token from the server's console."))
        title = _("Join {name}").format(name=classroom.name) if several else _("Join the class")
        return page(title, body, lang)


def leave_page(user, token: str, rejoin_code: str | None, lang: str = "en") -> str:
    with speaking(lang):
        name = f"<b>{html.escape(user.name)}</b>"
        keep = ("<p>" + _("Your rejoin code: {code}").format(code=f"<code>{html.escape(rejoin_code)}</code>")
                + "</p><p>" + _("Write it down: with it you can join as {name} again and keep your runs (it "
                                "works once; your teacher can make you another).").format(name=name)
                + "</p>") if rejoin_code else ""
        body = ("<p>" + _("Signed in as {name}.").format(name=name) + f"</p>{keep}"
                f'<form method="post" action="/leave"><input type="hidden" name="token" value="{token}">'
                f'<button type="submit">{_("Sign out")}</button></form>'
                f'<p><a href="/">{_("Back to the workbench")}</a></p>')
        return page(_("Sign out"), body, lang)


def refused_page(status: int, message: str, lang: str = "en", *, retry_after: float | None = None):
    from starlette.responses import HTMLResponse

    with speaking(lang):
        body = f'<p class="error" role="alert">{html.escape(message)}</p><p><a href="/join">{_("Join")}</a></p>'
        headers = {"cache-control": "no-store"}
        if retry_after is not None:  # a 429 says when to try again (RFC 9110), in whole seconds
            headers["retry-after"] = str(max(1, round(retry_after)))
        return HTMLResponse(page(_("Not done"), body, lang), status_code=status, headers=headers)


async def read_form(request) -> dict[str, str]:
    """A urlencoded form of at most MAX_FORM_BYTES, counted as it arrives (serve's
    ``read_body``): a huge POST is refused at the limit, not read into memory first."""
    body = await read_body(request, MAX_FORM_BYTES, "the form")
    return dict(parse_qsl(body.decode("utf-8", "replace")))


def join_routes(classroom) -> list:
    """Starlette routes for st.App: GET/POST /join and GET/POST /leave."""
    from starlette.responses import HTMLResponse, RedirectResponse
    from starlette.routing import Route

    made: dict[str, object] = {}

    def limiter(name: str, limit: int):
        """Joins and wrong codes a minute per address: on replicas, counted in the runs folder
        for all of them together (issue 40); else in this process. Made at the first join."""
        if name not in made:
            made[name] = (SharedRateLimiter(classroom().main.dir / f"{name}.rate.json", limit)
                          if settings().replica else RateLimiter(limit))
        return made[name]

    async def join(request):
        course = classroom()
        joins = limiter("joins", settings().joins_per_minute)
        wrong_codes = limiter("wrong-codes", WRONG_CODES_PER_MINUTE)
        try:  # the class a join link names (?class=; the form carries it on): the first without
            room = course.get(request.query_params.get("class"))
        except WorkbenchError as e:
            return refused_page(404, str(e), request_language(request.scope, course.main))
        several = len(course.classes()) > 1
        lang = request_language(request.scope, room, request.query_params.get("lang"))
        if request.method == "GET":
            return HTMLResponse(join_page(room, next_path=request.query_params.get("next", "/"), lang=lang,
                                          several=several),
                                headers={"cache-control": "no-store"})
        with speaking(lang):
            refusal = _("This form was sent from another page; open /join on this class server and join there.")
        if same_origin(_headers(request.scope), scheme_of(request.scope)) is not True:
            return refused_page(403, refusal, lang)
        address = client_address(request.scope)
        # Counted before the body is read, each in one step (take): every attempt is a join
        # attempt, and with a class code every attempt may be a wrong code until shown not to
        # be, so a burst sent at once gets no more through than one request after another.
        coded = bool(room.state.class_code)
        for counter, many in ((joins, N_("Too many joins from this address; try again in {seconds} s.")),
                              (wrong_codes, N_("Too many class-code attempts from this address; try again "
                                               "in {seconds} s."))):
            wait = counter.take(address) if counter is joins or coded else 0.0
            if wait:
                with speaking(lang):
                    return refused_page(429, _(many).format(seconds=f"{wait:.0f}"), lang, retry_after=wait)
        try:
            form = await read_form(request)
        except ClientError as e:
            if coded:
                wrong_codes.give_back(address)
            if e.status == 413:
                with speaking(lang):
                    too_large = _("that form is too large")
                return HTMLResponse(join_page(room, error=too_large, lang=lang), status_code=413)
            return refused_page(e.status, str(e), lang)
        name, next_path = form.get("name", ""), form.get("next", "/")
        lang = request_language(request.scope, room, form.get("lang") or request.query_params.get("lang"))
        try:
            with speaking(lang):  # the class's refusals (a taken name, a wrong code) in the page's language
                _user, cookie = room.join(name, form.get("code"), form.get("rejoin") or None, address=address)
        except WrongClassCode as e:  # the slot taken above stays counted
            return HTMLResponse(join_page(room, next_path=next_path, name=name, error=str(e), lang=lang,
                                          several=several), status_code=400)
        except WorkbenchError as e:
            if coded:
                wrong_codes.give_back(address)
            return HTMLResponse(join_page(room, next_path=next_path, name=name, error=str(e), lang=lang,
                                          several=several), status_code=400)
        if coded:
            wrong_codes.give_back(address)
        response = RedirectResponse(safe_next(next_path), status_code=303)
        response.headers.append("set-cookie", session_cookie(cookie, secure=is_https(request.scope)))
        return response

    async def leave(request):
        course = classroom()
        cookie = cookies_of(request.scope).get(COOKIE)
        user = course.user_from_cookie(cookie)
        if user is None:
            return RedirectResponse("/join", status_code=303)
        room = course.room_of(user)
        token = course.form_token(cookie, "leave")
        lang = request_language(request.scope, room, request.query_params.get("lang"))
        if request.method == "GET":  # a page with a form: a link to /leave signs nobody out
            # The gate is the class server's front door for /leave: a student sees their own code.
            code = room.rejoin_code(user.id) if user.role == "student" else None
            return HTMLResponse(leave_page(user, token, code, lang), headers={"cache-control": "no-store"})
        with speaking(lang):
            refusal = _("This sign-out did not come from this class server's page; nobody was signed out.")
        if same_origin(_headers(request.scope), scheme_of(request.scope)) is not True:
            return refused_page(403, refusal, lang)
        try:
            form = await read_form(request)
        except ClientError as e:
            return refused_page(e.status, str(e), lang)
        if not hmac.compare_digest(form.get("token", "").encode(), token.encode()):
            return refused_page(403, refusal, lang)
        response = RedirectResponse(join_path(room.id), status_code=303)
        response.headers.append("set-cookie", session_cookie("", secure=is_https(request.scope), max_age=0))
        return response

    return [Route("/join", join, methods=["GET", "POST"]),
            Route("/leave", leave, methods=["GET", "POST"])]
