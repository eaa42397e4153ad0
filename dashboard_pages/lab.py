"""Lab: make a new variant from the UI. Pick a method and its parameters (from the method registry,
`models.compression.METHODS`), optionally an export step, then watch the registry's build pipeline
compress, export, evaluate and register it. The pipeline publishes the model version last, after its
artifacts and metrics, so a failure leaves nothing half-registered; failures are shown as they are."""

import dataclasses
import re

import streamlit as st

from dashboard_pages import common
from models.compression import METHODS
from models.compression.base import field_type, parse_text, path_fields
from models.weights import STYLES

# the methods that turn a Keras variant into a file (a Keras method may be followed by one of them)
EXPORTS = tuple(name for name, m in METHODS.items() if m.artifact == "tflite")
NAME_RE = re.compile(r"^[a-z0-9][a-z0-9._-]{0,40}$")


def config_widgets(method_name, key):
    """Widgets for every field of the method's config class -> {field: value} (only changed fields)."""
    cls = METHODS[method_name].config_class
    values = {}
    hidden = path_fields(cls)  # where a method writes (the pipeline chooses), not what it makes: not asked for
    fields = [f for f in dataclasses.fields(cls) if f.name not in hidden]
    cols = st.columns(3)
    for i, f in enumerate(fields):
        default = f.default if f.default is not dataclasses.MISSING else (
            f.default_factory() if f.default_factory is not dataclasses.MISSING else None)
        kind, optional = field_type(f)
        col = cols[i % 3]
        wkey = f"{key}_{method_name}_{f.name}"
        if optional or kind is tuple:
            text = col.text_input(f"{f.name} (optional {kind.__name__})",
                                  value="" if default is None else str(default), key=wkey,
                                  placeholder="empty = not set")
            value = parse_text(f, text)
        elif kind is bool:
            value = col.checkbox(f.name, value=bool(default), key=wkey)
        elif kind is int:
            value = int(col.number_input(f.name, value=int(default), step=1, key=wkey))
        elif kind is float:
            value = float(col.number_input(f.name, value=float(default), format="%.4g", key=wkey))
        else:
            value = col.text_input(f.name, value=str(default), key=wkey)
        if value != default:
            values[f.name] = value
    return values


st.title("Lab: make a new variant")
st.caption("Compress, export, evaluate and register one variant with the same pipeline as "
           "`python -m registry build`; it then shows on every other page.")

s1, s2, s3 = st.columns([1, 1, 1])
with s1:
    style = st.selectbox("Style", STYLES, index=STYLES.index(common.DEFAULT_STYLE), key="lab_style")
with s2:
    methods = sorted(METHODS)
    method = st.selectbox("Method", methods, index=methods.index("prune") if "prune" in methods else 0,
                          key="lab_method")
with s3:
    export = "none"
    if method not in EXPORTS:
        export = st.selectbox("Then export to", ("none",) + EXPORTS, key="lab_export",
                              help="a Keras variant (prune, svd, distill) can be exported to LiteRT in the same build")

cls = METHODS[method].config_class
doc = (cls.__doc__ or "").strip().split("\n\n")[0]
if doc and not doc.startswith(f"{cls.__name__}("):  # dataclasses without a docstring get their signature
    st.caption(doc)
if method == "tflite_int8_mixed":  # the floor is a parameter below; show what each layer costs first
    from dashboard_pages import sensitivity_chart

    table = sensitivity_chart.load_table(style)
    with st.expander("Per-layer INT8 sensitivity (what the floor search ranks by)", expanded=table is not None):
        if table is None:
            st.info(f"No sensitivity table for {style}: `python -m evaluation sensitivity --style {style} "
                    f"--json docs/data/int8_sensitivity_{style}.json` makes one.")
        else:
            st.plotly_chart(sensitivity_chart.figure(table), use_container_width=True)
            st.caption(f"{table['scoring']['images']} calibration-side photos at {table['scoring']['size']} px; "
                       f"full INT8 {table['full_int8']['psnr']:.2f} dB, every layer float "
                       f"{table['all_float']['psnr']:.2f} dB. Red: kept float by the mix at "
                       f"{(table.get('mix') or {}).get('floor', {}).get('value', '-')} dB.")
st.markdown(f"**{method} parameters** (defaults from `{METHODS[method].config_class.__name__}`)")
try:
    config = config_widgets(method, "lab_cfg")
    export_config = {}
    if export != "none":
        st.markdown(f"**{export} parameters**")
        export_config = config_widgets(export, "lab_exp")
    # validate now, with the config classes' own messages, before anything runs
    METHODS[method].config_class(**config)
    if export != "none":
        METHODS[export].config_class(**export_config)
except (ValueError, TypeError) as exc:
    st.error(f"Invalid parameters: {exc}")
    st.stop()

auto = f"lab-{method.replace('tflite_', '').replace('_', '-')}" + "".join(
    f"-{k.split('_')[0][:4]}{v}" for k, v in sorted(config.items()) if not isinstance(v, (tuple, dict)))[:30] + (
    f"-{export.replace('tflite_', '').replace('_', '-')}" if export != "none" else "")
n1, n2 = st.columns([2, 1])
with n1:
    name = st.text_input("Variant name (catalogue entry)", value=auto[:40].rstrip("-."), key="lab_name")
with n2:
    quick = st.toggle("Quick evaluation", value=True, key="lab_quick",
                      help="On: 3 photos at 512 px with face regions, 3 timed runs (about a minute). Off: all bundled photos at "
                           "512 px, 10 timed runs and peak memory (several minutes).")

from registry.catalogue import DEFAULT_CATALOGUE, Entry  # noqa: E402

taken = {e.name for e in DEFAULT_CATALOGUE}
if not NAME_RE.match(name or ""):
    st.error(f"The name must be lower-case letters, digits, '.', '_' or '-' (at most 41). Received: {name!r}")
    st.stop()
if name in taken:
    st.error(f"{name!r} is a default catalogue entry: choose another name.")
    st.stop()
steps = ((method, config),) + (((export, export_config),) if export != "none" else ())
chain = " -> ".join(f"{m}({', '.join(f'{k}={v!r}' for k, v in c.items())})" for m, c in steps)
st.markdown(f"**Will build** `{style}/{name}` = `{chain}` (empty parentheses: the defaults above)")

if st.button("Compress, evaluate and register", type="primary", key="lab_run"):
    try:
        entry = Entry(name, steps, description=f"made in the dashboard Lab: {method}"
                                                + (f" then {export}" if export != "none" else ""))
        outcomes = common.run_build(style, quick=quick, only=(name,), catalogue=DEFAULT_CATALOGUE + (entry,))
    except ValueError as exc:
        st.error(f"Could not start the build: {exc}")
        st.stop()
    for o in outcomes:
        if o.status == "registered":
            st.success(f"Registered {style}/{o.entry} as version {o.version} in {o.seconds:.0f} s. See it on "
                       "Overview, Compare and History.")
        elif o.status in ("skipped", "evaluated"):
            st.info(f"{style}/{o.entry}: {o.message} (same method and parameters as an existing version).")
        elif o.status == "unavailable":
            st.warning(f"{style}/{o.entry}: {o.message}")
        else:
            st.error(f"{style}/{o.entry} failed; nothing was registered.")
            st.code(o.message, language=None)
