"""DCT-Net Compression Lab: the Streamlit entry point. Run with `streamlit run dashboard.py`.

Only this file and the page scripts in dashboard_pages/ import streamlit; they call into registry/,
evaluation/ and models/ for everything else. Each page is a flat script (inputs, guard, work, render).
"""

import os
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")
sys.modules.setdefault("triton", None)  # torch/torchvision (LPIPS) after TensorFlow: keep triton's LLVM out

import streamlit as st  # noqa: E402

st.set_page_config(page_title="DCT-Net Compression Lab", page_icon=":material/palette:", layout="wide")

PAGES = {
    "Decide": [
        st.Page("dashboard_pages/overview.py", title="Overview", icon=":material/star:", default=True),
        st.Page("dashboard_pages/recommend.py", title="Recommend", icon=":material/explore:"),
    ],
    "Try": [
        st.Page("dashboard_pages/compare.py", title="Compare", icon=":material/compare:"),
        st.Page("dashboard_pages/blind.py", title="Blind rating", icon=":material/visibility_off:"),
        st.Page("dashboard_pages/cartoonize.py", title="Cartoonize", icon=":material/brush:"),
    ],
    "Track": [
        st.Page("dashboard_pages/history.py", title="History", icon=":material/timeline:"),
        st.Page("dashboard_pages/lab.py", title="Lab", icon=":material/science:"),
    ],
}

st.navigation(PAGES).run()
