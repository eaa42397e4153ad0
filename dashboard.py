"""DCT-Net Compression Lab: the Streamlit entry point. Run with `streamlit run dashboard.py`.

Only this file and the page scripts in dashboard_pages/ import streamlit; they call into registry/,
evaluation/ and models/ for everything else.
"""

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import streamlit as st  # noqa: E402

st.set_page_config(page_title="DCT-Net Compression Lab", page_icon="🎨", layout="wide")

PAGES = [
    st.Page("dashboard_pages/cartoonize.py", title="Cartoonize", icon="🖼️", default=True),
]

st.navigation(PAGES).run()
