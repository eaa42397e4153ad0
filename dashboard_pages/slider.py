"""A before/after slider that works offline.

`streamlit-image-comparison` (in requirements) draws its slider with juxtapose.js fetched from a CDN at
view time, so on an offline machine (this lab's default) it shows an empty box. This is the same idea
in a few lines of inline HTML/CSS/JS: the two images are stacked, the top one is clipped at the
slider's position. Images travel as base64 JPEG (quality 92) inside the component's HTML.
"""

import base64
import io

from PIL import Image


def _data_uri(image, quality=92):
    buf = io.BytesIO()
    Image.fromarray(image).convert("RGB").save(buf, format="JPEG", quality=quality)
    return "data:image/jpeg;base64," + base64.b64encode(buf.getvalue()).decode()


def slider_html(left, right, left_label, right_label, width=480, start=50):
    """HTML of a before/after slider for two uint8 RGB images of one shape: as wide as its frame, at
    most `width` px, keeping the photos' aspect ratio; the left image is clipped at the slider."""
    if left.shape != right.shape:
        raise ValueError(f"the slider needs two images of one shape. Received: {left.shape} vs {right.shape}")
    h, w = left.shape[:2]
    esc = lambda text: (str(text).replace("&", "&amp;").replace("<", "&lt;"))  # noqa: E731
    img = "position:absolute;top:0;left:0;width:100%;height:100%;display:block"
    tag = "position:absolute;top:8px;background:#0009;color:#fff;padding:2px 6px;border-radius:4px;font-size:13px"
    return f"""
<div style="font-family:sans-serif;max-width:{width}px">
<div id="ba" style="position:relative;width:100%;aspect-ratio:{w}/{h};user-select:none;overflow:hidden">
  <img src="{_data_uri(right)}" style="{img}">
  <img id="top" src="{_data_uri(left)}" style="{img};clip-path:inset(0 {100 - start}% 0 0)">
  <div id="bar" style="position:absolute;top:0;left:{start}%;height:100%;width:3px;background:#fff;
       box-shadow:0 0 4px #000;transform:translateX(-1px)"></div>
  <span style="{tag};left:8px">{esc(left_label)}</span>
  <span style="{tag};right:8px">{esc(right_label)}</span>
</div>
<input id="pos" type="range" min="0" max="100" value="{start}" aria-label="before/after position"
       style="width:100%;margin:8px 0 0 0">
</div>
<script>
  const pos = document.getElementById('pos'), top_ = document.getElementById('top'),
        bar = document.getElementById('bar'), box = document.getElementById('ba');
  function set(p) {{ p = Math.max(0, Math.min(100, p)); top_.style.clipPath = 'inset(0 ' + (100 - p) + '% 0 0)';
                     bar.style.left = p + '%'; pos.value = p; }}
  pos.addEventListener('input', e => set(+e.target.value));
  box.addEventListener('mousemove', e => {{ if (e.buttons) {{
      const r = box.getBoundingClientRect(); set((e.clientX - r.left) / r.width * 100); }} }});
</script>"""


def before_after(left, right, left_label, right_label, width=480):
    """Render the slider in the page (height includes the range input under the images). The HTML is
    ours (labels escaped, images as data URIs), never a user's string, so st.iframe is safe here."""
    import streamlit as st

    h, w = left.shape[:2]
    st.iframe(slider_html(left, right, left_label, right_label, width), width=width + 16,
              height=int(round(width * h / w)) + 48)
