"""Draws the performance charts in docs/img/ from benchmark JSON, as plain
SVG (no plotting library needed).

Run from the repository root:   python3 docs/plots.py
Inputs:  docs/e2e.json            (python3 docs/e2e.py: gpix beside the peers, end to end)
         docs/bench/*.json        (bash docs/bench.sh: `gpix bench … --json`, the 2-vCPU dev VM)
         docs/bench/h200/*.json   (the same with DEVICES=cpu,gpu on an NVIDIA H200 machine)
         docs/kernels.json        (the kernels alone beside the peers, from the dated sittings it names)
Outputs: docs/img/e2e.svg         gpix vs the fastest peer per job, file to file
         docs/img/kernels.svg     the same for the kernels alone (outputs preallocated)
         docs/img/palette_k.svg   palette time against K (16 … 65536), per machine and device
         docs/img/size.svg        time against image size (1000² … 12000²), per op, dev VM CPU
         docs/img/size_gpu.svg    the same on the H200 machine: its CPU path beside its GPU
"""
import glob
import json
import math
import os
from html import escape

DOCS = os.path.dirname(os.path.abspath(__file__))
IMG = os.path.join(DOCS, "img")
COLOURS = ["#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b"]
FONT = 'font-family="sans-serif" font-size="12"'


class Svg:
    def __init__(self, width, height):
        self.width, self.height, self.parts = width, height, []

    def add(self, s):
        self.parts.append(s)

    def text(self, x, y, s, anchor="start", size=12, weight="normal", colour="#222"):
        self.add(f'<text x="{x:.1f}" y="{y:.1f}" text-anchor="{anchor}" font-size="{size}" '
                 f'font-weight="{weight}" fill="{colour}">{escape(s)}</text>')

    def line(self, x1, y1, x2, y2, colour="#ccc", width=1, dash=None):
        d = f' stroke-dasharray="{dash}"' if dash else ""
        self.add(f'<line x1="{x1:.1f}" y1="{y1:.1f}" x2="{x2:.1f}" y2="{y2:.1f}" stroke="{colour}" '
                 f'stroke-width="{width}"{d}/>')

    def rect(self, x, y, w, h, colour):
        self.add(f'<rect x="{x:.1f}" y="{y:.1f}" width="{max(w, 0.5):.1f}" height="{h:.1f}" fill="{colour}"/>')

    def polyline(self, points, colour, dash=None):
        pts = " ".join(f"{x:.1f},{y:.1f}" for x, y in points)
        d = f' stroke-dasharray="{dash}"' if dash else ""
        self.add(f'<polyline points="{pts}" fill="none" stroke="{colour}" stroke-width="2"{d}/>')
        for x, y in points:
            self.add(f'<circle cx="{x:.1f}" cy="{y:.1f}" r="3" fill="{colour}"/>')

    def save(self, name):
        body = "\n".join(self.parts)
        svg = (f'<svg xmlns="http://www.w3.org/2000/svg" width="{self.width}" height="{self.height}" '
               f'viewBox="0 0 {self.width} {self.height}" {FONT}>\n'
               f'<rect width="100%" height="100%" fill="white"/>\n{body}\n</svg>\n')
        path = os.path.join(IMG, name)
        with open(path, "w") as f:
            f.write(svg)
        print("wrote", os.path.relpath(path))


def log_ticks(lo, hi):
    """Powers of ten (and 2×, 5×) between lo and hi."""
    ticks = []
    for e in range(math.floor(math.log10(lo)), math.ceil(math.log10(hi)) + 1):
        for m in (1, 2, 5):
            v = m * 10.0**e
            if lo <= v <= hi:
                ticks.append(v)
    return ticks


def fmt_ms(v):
    return f"{v:.0f} ms" if v >= 10 else f"{v:.1f} ms"


def e2e_chart():
    path = os.path.join(DOCS, "e2e.json")
    if os.path.exists(path):
        data = json.load(open(path))
        bars_chart("e2e.svg", data["rows"], f"End to end, file in → file out: gpix vs the fastest peer "
                   f"(median of {data['runs']}, {data['when']}, CPU)")


def kernels_chart():
    path = os.path.join(DOCS, "kernels.json")
    if os.path.exists(path):
        rows = json.load(open(path))["rows"]
        bars_chart("kernels.svg", rows, "The kernels alone, outputs preallocated: gpix vs the fastest peer "
                   f"(CPU, one sitting, {rows[0]['when']})")


def bars_chart(name, rows, title):
    """One row per job: gpix's bar and the fastest peer's, log scale."""
    left, right, top, row_h = 300, 140, 50, 34
    width, height = 900, top + row_h * len(rows) + 60
    svg = Svg(width, height)
    svg.text(20, 24, title, size=13, weight="bold")
    all_ms = [r["gpix_ms"] for r in rows] + [min(p["ms"] for p in r["peers"]) for r in rows]
    lo, hi = min(all_ms) / 2, max(all_ms) * 1.5
    x = lambda v: left + (width - left - right) * (math.log10(v) - math.log10(lo)) / (math.log10(hi) - math.log10(lo))
    for t in log_ticks(lo, hi):
        svg.line(x(t), top - 6, x(t), height - 40, dash="2,3")
        svg.text(x(t), height - 24, fmt_ms(t), anchor="middle", size=10, colour="#666")
    for i, r in enumerate(rows):
        y = top + i * row_h
        peer = min(r["peers"], key=lambda p: p["ms"])
        svg.text(left - 8, y + 13, r["job"], anchor="end", size=11)
        svg.text(left - 8, y + 26, peer["peer"], anchor="end", size=10, colour="#888")
        svg.rect(left, y + 3, x(r["gpix_ms"]) - left, 12, COLOURS[0])
        svg.rect(left, y + 17, x(peer["ms"]) - left, 12, "#aaa")
        ratio = peer["ms"] / r["gpix_ms"]
        svg.text(max(x(r["gpix_ms"]), x(peer["ms"])) + 6, y + 20,
                 f"{fmt_ms(r['gpix_ms'])} vs {fmt_ms(peer['ms'])}: {ratio:.1f}×", size=10)
    svg.rect(left, height - 14, 10, 10, COLOURS[0])
    svg.text(left + 14, height - 5, "gpix", size=10)
    svg.rect(left + 60, height - 14, 10, 10, "#aaa")
    svg.text(left + 74, height - 5, "fastest peer (numpy/scipy/OpenCV/Pillow/numba)", size=10)
    svg.save(name)


def bench_rows(pattern, folder="bench"):
    rows = []
    for path in sorted(glob.glob(os.path.join(DOCS, folder, pattern))):
        rows.extend(json.load(open(path)))
    return rows


def line_chart(name, title, series, xlabel, xfmt, styles=None):
    """series: {label: [(x, ms), …]} on log–log axes; styles: {label:
    (colour index, dash or None)} (default: one colour each, solid)."""
    if not series:
        return
    styles = styles or {}
    width, height, left, right, top, bottom = 820, 420, 70, 230, 40, 50
    xs = [p[0] for s in series.values() for p in s]
    ys = [p[1] for s in series.values() for p in s]
    xlo, xhi = min(xs) / 1.2, max(xs) * 1.2
    ylo, yhi = min(ys) / 1.5, max(ys) * 1.5
    px = lambda v: left + (width - left - right) * (math.log10(v) - math.log10(xlo)) / (math.log10(xhi) - math.log10(xlo))
    py = lambda v: height - bottom - (height - top - bottom) * (math.log10(v) - math.log10(ylo)) / (math.log10(yhi) - math.log10(ylo))
    svg = Svg(width, height)
    svg.text(20, 24, title, size=14, weight="bold")
    for t in log_ticks(ylo, yhi):
        svg.line(left, py(t), width - right, py(t), dash="2,3")
        svg.text(left - 6, py(t) + 4, fmt_ms(t), anchor="end", size=10, colour="#666")
    for t in sorted(set(xs)):
        svg.line(px(t), top, px(t), height - bottom, dash="2,3")
        svg.text(px(t), height - bottom + 16, xfmt(t), anchor="middle", size=10, colour="#666")
    svg.text((left + width - right) / 2, height - 12, xlabel, anchor="middle", size=11)
    for i, (label, pts) in enumerate(series.items()):
        c, dash = styles.get(label, (i, None))
        colour = COLOURS[c % len(COLOURS)]
        pts = sorted(pts)
        svg.polyline([(px(a), py(b)) for a, b in pts], colour, dash)
        y = top + 15 + 20 * i
        svg.line(width - right + 10, y, width - right + 30, y, colour, 2, dash)
        svg.text(width - right + 36, y + 4, label, size=11)
    svg.save(name)


def palette_chart():
    vm = [r for r in bench_rows("quantize_k.json") if r["op"] == "quantize"]
    h200 = [r for r in bench_rows("quantize_k.json", "bench/h200") if r["op"] == "quantize"]
    if not vm and not h200:
        return
    series, styles = {}, {}
    for machine, rows in (("dev VM 2 vCPU", vm), ("H200 host 16 thr.", h200)):
        for r in rows:
            label = f"{machine}, {r['device']}"
            series.setdefault(label, []).append((r["k"], r["median_ms"]))
            if r["device"] == "gpu" and "device_ms" in r:
                series.setdefault("H200, kernels only", []).append((r["k"], r["device_ms"]))
    styles = {"dev VM 2 vCPU, cpu": (0, None), "H200 host 16 thr., cpu": (1, None),
              "H200 host 16 thr., gpu": (2, None), "H200, kernels only": (2, "5,4")}
    h, w = (vm or h200)[0]["height"], (vm or h200)[0]["width"]
    line_chart("palette_k.svg", f"Nearest-palette quantization, {h}×{w} RGB, host to host: "
               "time against K", series, "palette size K", lambda v: f"{int(v)}", styles)


SIZE_OPS = {"filter": "uniform 15×15 (f32)", "diff": "gradient dy+dx (f64)",
            "quantize": "quantize K=256 (RGB)", "label-mean": "label-mean 10⁴ labels (f32)"}
SIZE_FILES = ("filter_*.json", "diff_*.json", "quantize_[0-9]*.json", "label_mean_*.json")


def size_chart():
    series = {}
    for pattern in SIZE_FILES:
        for r in bench_rows(pattern):
            if r["device"] != "cpu":
                continue
            mpx = r["height"] * r["width"] / 1e6
            series.setdefault(SIZE_OPS.get(r["op"], r["op"]) + ", cpu", []).append((mpx, r["median_ms"]))
    line_chart("size.svg", "Time against image size (gpix bench, dev VM 2 vCPU, CPU path)", series,
               "megapixels (1000² … 12000²)", lambda v: f"{v:g}")


def size_gpu_chart():
    """The H200 machine: each op's CPU path (solid) beside its GPU, host to
    host (dashed), in one colour per op."""
    series, styles = {}, {}
    for i, pattern in enumerate(SIZE_FILES):
        for r in bench_rows(pattern, "bench/h200"):
            label = f"{SIZE_OPS.get(r['op'], r['op'])}, {r['device']}"
            mpx = r["height"] * r["width"] / 1e6
            series.setdefault(label, []).append((mpx, r["median_ms"]))
            styles[label] = (i, "6,4" if r["device"] == "gpu" else None)
    line_chart("size_gpu.svg", "Time against image size: NVIDIA H200 (dashed) vs its host's 16 threads",
               series, "megapixels (1000² … 12000²)", lambda v: f"{v:g}", styles)


if __name__ == "__main__":
    os.makedirs(IMG, exist_ok=True)
    e2e_chart()
    kernels_chart()
    palette_chart()
    size_chart()
    size_gpu_chart()
