"""ResNet Workbench: the Streamlit entry point.

    streamlit run app.py

st.navigation over pages/; every page is a thin view over resnet_core (no training logic here).
"""

from __future__ import annotations

import streamlit as st

st.set_page_config(page_title="ResNet Workbench", page_icon="🧱", layout="wide")

pages = [
    st.Page("pages/home.py", title="Home", icon="🏠", default=True),
]
st.navigation(pages).run()
