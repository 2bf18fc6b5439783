"""ResNet Workbench: the Streamlit entry point.

    streamlit run app.py

``streamlit run`` finds ``app`` below (an ``st.App``, Streamlit's ASGI application) and serves
the script pages/navigation.py: st.navigation over the pages, with the shared sidebar.

Why the script is not this file: Streamlit switches to its legacy multipage mode when its
entry script has a folder named pages/ beside it, until some session calls st.navigation; a
fresh server's first visitor then saw a list "app, common, evaluate, ..." and, on /train, the
page without the app around it. The layout keeps pages/ at the top level, so the script that
calls st.navigation sits inside it, where no pages/ folder is beside it.

The lifespan is where the server's own state ends: on SIGTERM or Ctrl-C every running job
checkpoints and stops (resumable), queued runs stay queued in their folders, and the next
server runs them.
"""

from __future__ import annotations

import asyncio
from contextlib import asynccontextmanager

import streamlit as st

from resnet_core.jobs import app_manager, close_all


@asynccontextmanager
async def lifespan(app):
    await asyncio.to_thread(app_manager)  # takes the runs folder, re-queues what was queued
    yield
    await asyncio.to_thread(close_all)  # waits for the children's last checkpoints


app = st.App("pages/navigation.py", lifespan=lifespan)
