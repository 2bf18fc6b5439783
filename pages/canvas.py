"""A drawing canvas: Streamlit's custom components v2 (inline HTML and JavaScript in the page,
no iframe, no extra package). It sends the strokes, not pixels, as the component's state:
while a stroke is drawn (at most every 150 ms) and when it ends; resnet_core.drawing renders
and prepares them. Clear empties it at once, in the browser."""

from __future__ import annotations

import streamlit as st

from resnet_core import data
from resnet_core.i18n import _

HTML = """
<div class="wb-canvas">
  <canvas role="img" aria-label="Drawing area: draw with a mouse, a pen or a finger. Without one, choose Pick a test image above."></canvas>
  <button type="button" class="wb-clear">Clear</button>
</div>
"""

CSS = """
.wb-canvas { display: flex; flex-direction: column; gap: 0.5rem; align-items: flex-start; }
canvas { background: #000; border-radius: 0.5rem; touch-action: none; cursor: crosshair; }
.wb-clear { font: inherit; padding: 0.25rem 0.9rem; border-radius: 0.5rem; cursor: pointer;
            border: 1px solid var(--st-border-color, #ccc); background: var(--st-background-color, #fff);
            color: var(--st-text-color, #000); }
"""

JS = """
export default function (component) {
  const { data, setStateValue, parentElement } = component;
  const canvas = parentElement.querySelector("canvas");
  const clear = parentElement.querySelector(".wb-clear");
  const size = data.size, pen = data.pen;
  // The reader's language, from the page (the HTML above is the English default).
  canvas.setAttribute("aria-label", data.label); clear.textContent = data.clear;
  const ratio = window.devicePixelRatio || 1;
  if (canvas.width !== size * ratio) {
    canvas.width = size * ratio; canvas.height = size * ratio;
    canvas.style.width = size + "px"; canvas.style.height = size + "px";
  }
  const ctx = canvas.getContext("2d");
  // The strokes live on the element, so a rerun that calls this function again keeps them.
  canvas.strokes = canvas.strokes || [];
  const redraw = () => {
    ctx.setTransform(ratio, 0, 0, ratio, 0, 0);
    ctx.clearRect(0, 0, size, size);
    ctx.strokeStyle = "#fff"; ctx.fillStyle = "#fff";
    ctx.lineWidth = pen; ctx.lineCap = "round"; ctx.lineJoin = "round";
    for (const s of canvas.strokes) {
      ctx.beginPath();
      ctx.moveTo(s[0][0] * size, s[0][1] * size);
      for (const [x, y] of s) ctx.lineTo(x * size, y * size);
      if (s.length === 1) ctx.lineTo(s[0][0] * size + 0.01, s[0][1] * size);
      ctx.stroke();
    }
  };
  redraw();
  const round = (v) => Math.round(Math.min(1, Math.max(0, v)) * 1000) / 1000;
  const point = (e) => {
    const box = canvas.getBoundingClientRect();
    return [round((e.clientX - box.left) / box.width), round((e.clientY - box.top) / box.height)];
  };
  let drawing = false, last = 0;
  const send = () => { last = Date.now(); setStateValue("strokes", canvas.strokes); };
  canvas.onpointerdown = (e) => {
    drawing = true; canvas.setPointerCapture(e.pointerId);
    canvas.strokes.push([point(e)]); redraw();
  };
  // The server keeps the first MAX_POINTS points (resnet_core.data.drawing); so does this.
  const total = () => canvas.strokes.reduce((n, s) => n + s.length, 0);
  canvas.onpointermove = (e) => {
    if (!drawing || total() >= data.max_points) return;
    canvas.strokes[canvas.strokes.length - 1].push(point(e)); redraw();
    if (Date.now() - last > 150) send();
  };
  canvas.onpointerup = canvas.onpointercancel = () => {
    if (!drawing) return;
    drawing = false; send();
  };
  clear.onclick = () => { canvas.strokes = []; redraw(); send(); };
}
"""

_canvas = st.components.v2.component("workbench_canvas", html=HTML, css=CSS, js=JS)


def draw_canvas(key: str, size: int, pen: int) -> list:
    """Mount the canvas; the strokes drawn so far (a list of [[x, y], ...] in 0..1)."""
    result = _canvas(key=key, data={"size": size, "pen": pen, "max_points": data.MAX_POINTS,
                                    "label": _("Drawing area: draw with a mouse, a pen or a finger. "
                                               "Without one, choose Pick a test image above."),
                                    "clear": _("Clear")},
                     default={"strokes": []},
                     on_strokes_change=lambda: None)
    return result.strokes or []
