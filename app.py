"""ResNet Workbench: the Streamlit entry point.

    streamlit run app.py

``streamlit run`` finds ``app`` below (an ``st.App``, Streamlit's ASGI application) and serves
the script pages/navigation.py: st.navigation over the pages, with the shared sidebar.

Why the script is not this file: Streamlit switches to its legacy multipage mode when its
entry script has a folder named pages/ beside it, until some session calls st.navigation; a
fresh server's first visitor then saw a list "app, common, evaluate, ..." and, on /train, the
page without the app around it. The layout keeps pages/ at the top level, so the script that
calls st.navigation sits inside it, where no pages/ folder is beside it.
"""

from __future__ import annotations

import streamlit as st

app = st.App("pages/navigation.py")
