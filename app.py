"""ResNet Workbench: the Streamlit entry point.

    streamlit run app.py

``streamlit run`` finds ``app`` below (an ``st.App``, Streamlit's ASGI application) and serves
the script pages/navigation.py: st.navigation over the pages, with the shared sidebar.

Why the script is not this file: Streamlit switches to its legacy multipage mode when its
entry script has a folder named pages/ beside it, until some session calls st.navigation; a
fresh server's first visitor then saw a list "app, common, evaluate, ..." and, on /train, the
page without the app around it. The layout keeps pages/ at the top level, so the script that
calls st.navigation sits inside it, where no pages/ folder is beside it.

Class mode (RESNET_WORKBENCH_MODE=class, README "Run a class") adds, here: the sign-in
middleware and /join (resnet_core.classroom.gate), Streamlit's Host allow-list, XSRF on, no error
details in students' browsers, and the teacher link printed once when the server starts.

The lifespan is where the server's own state ends: on SIGTERM or Ctrl-C every running job
checkpoints and stops (resumable), queued runs stay queued in their folders, and the next
server runs them.
"""

from __future__ import annotations

import asyncio
import logging
import os
import sys
from contextlib import asynccontextmanager

import streamlit as st
from streamlit import config

from resnet_core import WorkbenchError, classroom, workbench
from resnet_core.settings import MODE, TEACHER_TOKEN, settings

CLASS = settings().class_mode  # RESNET_WORKBENCH_MODE=class: roles, limits, the sign-in in front
CLASS_MESSAGE_MB = 2


def current_class():
    """The server's classes (a Course): the gate's and /join's."""
    return workbench.open_workbench().course


@asynccontextmanager
async def lifespan(app):
    try:  # takes the runs folder, re-queues what was queued
        await asyncio.to_thread(workbench.open_workbench)
    except WorkbenchError as e:  # an unknown executor, a cluster not there: one line, not a traceback
        print(f"ResNet Workbench cannot start: {str(e).splitlines()[0]}", file=sys.stderr, flush=True)
        os._exit(2)  # before the server answers anyone; the lifespan's own exit would log a traceback
    if CLASS:
        announce_class()
    yield
    # The children's last checkpoints, and the services the Deploy page started.
    await asyncio.to_thread(workbench.close_workbenches)


def announce_class() -> None:
    """Print the teacher link once, as Jupyter prints its token (never to a log file)."""
    room = current_class()
    port = config.get_option("server.port")
    address = config.get_option("server.address") or "localhost"
    host = "localhost" if address in ("0.0.0.0", "::", "127.0.0.1") else address
    print("\nResNet Workbench class server", flush=True)
    if room.token_generated:
        print(f"  Teacher link (keep it to yourself): http://{host}:{port}/?token={room.teacher_token}",
              flush=True)
    else:
        # The token came from the environment: the operator has it; it is not printed.
        print(f"  Teacher link: http://{host}:{port}/?token=<the value of {TEACHER_TOKEN}>", flush=True)
    print(f"  Students open http://<this machine>:{port}/ ; host names answered: "
          f"{', '.join(HOSTS)}\n", flush=True)


def script_error(error: Exception) -> bool | None:
    """On a class server a student sees one line, not a traceback with the server's paths."""
    if not CLASS:
        return None
    from pages.common import current_user

    if current_user().is_teacher:
        return None
    logging.getLogger("resnet_workbench").error("page error", exc_info=error)
    st.error("Something went wrong on this page; the details are on the server's console.")
    return True


middleware, routes = [], []
if CLASS:
    from starlette.middleware import Middleware

    HOSTS = classroom.allowed_hosts(config.get_option("server.address"))
    # Streamlit's own checks, on top of the gate's: its websocket Host allow-list, XSRF on,
    # and no exception details in browsers (the teacher reads them on the console).
    config.set_option("server.allowedHosts", HOSTS, where_defined=f"{MODE}=class")
    config.set_option("server.enableXsrfProtection", True, where_defined=f"{MODE}=class")
    config.set_option("client.showErrorDetails", "none", where_defined=f"{MODE}=class")
    # What a browser may send in one websocket message (widget values, a canvas's strokes):
    # this many MB, not Streamlit's 25 (a drawing of MAX_POINTS points is about 80 kB).
    config.set_option("server.maxWidgetStateSize", CLASS_MESSAGE_MB, where_defined=f"{MODE}=class")
    # Streamlit's agent API drives the app without a browser, past the sign-in: off, whatever
    # the command line says (the gate refuses its paths as well).
    config.set_option("server.enableAgentApi", False, where_defined=f"{MODE}=class")
    middleware = [Middleware(classroom.ClassGate, classroom=current_class, hosts=HOSTS)]
    routes = classroom.join_routes(current_class)

app = st.App("pages/navigation.py", lifespan=lifespan, middleware=middleware, routes=routes,
             on_script_error=script_error)
