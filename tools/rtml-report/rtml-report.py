#!/usr/bin/env python3
"""rtml-report: compare trainer runs.

  rtml-report RUN... [-o DIR] [--title TEXT]

Reads each run folder's summary.json and metrics.jsonl (what `trainer train
--out RUN` writes) and prints the comparison table as Markdown: model,
parameters, train/validation/test loss and accuracy, best validation accuracy
and its epoch, training time and mean time per batch. With -o DIR it also
writes DIR/report.md, DIR/report.csv and DIR/report.html (the table and the
loss and accuracy curves of every run as inline SVG, no scripts, no network).

A run without summary.json (still training, or interrupted) is reported from
its metrics as "unfinished". Exit status: 0 ok, 1 a run cannot be read (the
message names the file), 2 usage error.
"""
import argparse
import csv
import html
import io
import json
import math
import os
import sys


class ReportError(Exception):
    pass


def read_json(path):
    try:
        with open(path, encoding="utf-8") as f:
            return json.load(f)
    except json.JSONDecodeError as e:
        raise ReportError(f"{path}:{e.lineno}:{e.colno}: invalid JSON: {e.msg}")
    except OSError as e:
        raise ReportError(f"{path}: {e.strerror}")


def read_metrics(path):
    records = []
    try:
        with open(path, encoding="utf-8") as f:
            for number, line in enumerate(f, 1):
                if not line.strip():
                    continue
                try:
                    record = json.loads(line)
                except json.JSONDecodeError as e:
                    raise ReportError(f"{path}:{number}: invalid JSON: {e.msg}")
                if not isinstance(record, dict) or "phase" not in record or "epoch" not in record:
                    raise ReportError(f"{path}:{number}: not a metrics record "
                                      "(needs 'epoch' and 'phase')")
                records.append(record)
    except OSError as e:
        raise ReportError(f"{path}: {e.strerror}")
    return records


def load_run(path):
    if not os.path.isdir(path):
        raise ReportError(f"{path}: not a run directory")
    summary_path = os.path.join(path, "summary.json")
    metrics_path = os.path.join(path, "metrics.jsonl")
    has_summary = os.path.exists(summary_path)
    if not has_summary and not os.path.exists(metrics_path):
        raise ReportError(f"{path}: no summary.json or metrics.jsonl "
                          "(not a trainer run directory?)")
    metrics = read_metrics(metrics_path) if os.path.exists(metrics_path) else []
    summary = read_json(summary_path) if has_summary else {}
    if has_summary and not isinstance(summary, dict):
        raise ReportError(f"{summary_path}: expected a JSON object")

    def last(phase):
        rows = [r for r in metrics if r.get("phase") == phase]
        return rows[-1] if rows else None

    def phase(key, name):
        value = summary.get(key)
        if isinstance(value, dict):
            return value
        row = last(name)
        return {"loss": row.get("loss"), "accuracy": row.get("accuracy")} if row else None

    trains = [r for r in metrics if r.get("phase") == "train"]
    vals = [r for r in metrics if r.get("phase") == "val"]
    best_val, best_epoch = summary.get("best_val_accuracy"), summary.get("best_epoch")
    if best_val is None and vals:
        best = max(vals, key=lambda r: r.get("accuracy") or 0)
        best_val, best_epoch = best.get("accuracy"), best.get("epoch")
    batch_times = [r["mean_batch_time_s"] for r in trains if isinstance(r.get("mean_batch_time_s"), (int, float))]
    return {
        "name": os.path.basename(os.path.normpath(path)),
        "path": path,
        "finished": has_summary,
        "model": summary.get("model", "?"),
        "parameters": summary.get("parameters"),
        "epochs": max((r["epoch"] for r in trains), default=0),
        "train": phase("final_train", "train"),
        "val": phase("final_val", "val"),
        "test": phase("final_test", "test"),
        "best_val": best_val,
        "best_epoch": best_epoch,
        "time_s": summary.get("wall_time_s",
                              sum(r.get("time_s") or 0 for r in metrics)),
        "batch_s": summary.get("mean_batch_time_s",
                               sum(batch_times) / len(batch_times) if batch_times else None),
        "metrics": metrics,
    }


def num(value, fmt):
    if not isinstance(value, (int, float)) or isinstance(value, bool) or not math.isfinite(value):
        return ""
    return fmt.format(value)


def pct(value):
    return num(value * 100 if isinstance(value, (int, float)) else None, "{:.2f}")


def duration(seconds):
    if not isinstance(seconds, (int, float)):
        return ""
    s = int(round(seconds))
    return f"{s // 3600}:{s // 60 % 60:02d}:{s % 60:02d}"


COLUMNS = ["run", "model", "parameters", "epochs", "train loss", "train acc %",
           "val loss", "val acc %", "test loss", "test acc %", "best val acc %",
           "best epoch", "training time", "ms per batch"]


def rows(runs):
    out = []
    for r in runs:
        get = lambda p, k: (r[p] or {}).get(k)
        out.append([
            r["name"] + ("" if r["finished"] else " (unfinished)"),
            r["model"],
            f"{r['parameters']:,}" if isinstance(r["parameters"], int) else "",
            str(r["epochs"]),
            num(get("train", "loss"), "{:.4f}"), pct(get("train", "accuracy")),
            num(get("val", "loss"), "{:.4f}"), pct(get("val", "accuracy")),
            num(get("test", "loss"), "{:.4f}"), pct(get("test", "accuracy")),
            pct(r["best_val"]),
            str(r["best_epoch"]) if r["best_val"] is not None and r["best_epoch"] else "",
            duration(r["time_s"]),
            num(r["batch_s"] * 1000 if isinstance(r["batch_s"], (int, float)) else None, "{:.1f}"),
        ])
    return out


def markdown(runs):
    lines = ["| " + " | ".join(COLUMNS) + " |",
             "|" + "|".join("---" if i < 2 else "---:" for i in range(len(COLUMNS))) + "|"]
    for row in rows(runs):
        lines.append("| " + " | ".join(c.replace("|", "\\|") for c in row) + " |")
    return "\n".join(lines) + "\n"


def csv_text(runs):
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(COLUMNS)
    w.writerows(rows(runs))
    return buf.getvalue()


PALETTE = ["#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b",
           "#e377c2", "#7f7f7f", "#bcbd22", "#17becf"]
DASH = {"train": "", "val": "6 4", "test": "2 3"}


def nice_ticks(lo, hi, count=5):
    if hi <= lo:
        hi = lo + 1
    raw = (hi - lo) / count
    mag = 10 ** math.floor(math.log10(raw))
    step = next(m * mag for m in (1, 2, 5, 10) if m * mag >= raw)
    start = math.floor(lo / step) * step
    ticks, t = [], start
    while t <= hi + step * 1e-9:
        ticks.append(round(t, 10))
        t += step
    return ticks


def svg_chart(runs, key, title, scale=1.0):
    width, height, left, right, top, bottom = 560, 320, 56, 16, 28, 40
    series = []
    for i, r in enumerate(runs):
        for phase in ("train", "val", "test"):
            pts = [(rec["epoch"], rec[key] * scale) for rec in r["metrics"]
                   if rec.get("phase") == phase and isinstance(rec.get(key), (int, float))
                   and math.isfinite(rec[key])]
            if pts:
                series.append((i, r["name"], phase, pts))
    xs = [p[0] for s in series for p in s[3]] or [1]
    ys = [p[1] for s in series for p in s[3]] or [0, 1]
    x0, x1 = min(xs), max(max(xs), min(xs) + 1)
    yt = nice_ticks(min(ys), max(ys))
    y0, y1 = yt[0], yt[-1] if yt[-1] > yt[0] else yt[0] + 1
    px = lambda x: left + (x - x0) / (x1 - x0) * (width - left - right)
    py = lambda y: top + (1 - (y - y0) / (y1 - y0)) * (height - top - bottom)
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" class="chart" data-metric="{key}" '
           f'width="{width}" height="{height}" viewBox="0 0 {width} {height}">',
           f'<text x="{width / 2}" y="18" text-anchor="middle" font-size="14">{html.escape(title)}</text>']
    for t in yt:
        out.append(f'<line x1="{left}" x2="{width - right}" y1="{py(t):.1f}" y2="{py(t):.1f}" stroke="#ddd"/>'
                   f'<text x="{left - 6}" y="{py(t) + 4:.1f}" text-anchor="end" font-size="11">{t:g}</text>')
    for t in nice_ticks(x0, x1, min(10, int(x1 - x0) or 1)):
        if t == int(t) and x0 <= t <= x1:
            out.append(f'<text x="{px(t):.1f}" y="{height - bottom + 16}" text-anchor="middle" font-size="11">{int(t)}</text>')
    out.append(f'<text x="{(left + width - right) / 2}" y="{height - 6}" text-anchor="middle" font-size="12">epoch</text>')
    out.append(f'<rect x="{left}" y="{top}" width="{width - left - right}" height="{height - top - bottom}" fill="none" stroke="#888"/>')
    for i, name, phase, pts in series:
        d = " ".join(f"{'M' if j == 0 else 'L'}{px(x):.1f},{py(y):.1f}" for j, (x, y) in enumerate(pts))
        dash = f' stroke-dasharray="{DASH[phase]}"' if DASH[phase] else ""
        out.append(f'<path class="curve" data-run="{html.escape(name)}" data-phase="{phase}" d="{d}" '
                   f'fill="none" stroke="{PALETTE[i % len(PALETTE)]}" stroke-width="2"{dash}/>')
        for x, y in pts:
            out.append(f'<circle cx="{px(x):.1f}" cy="{py(y):.1f}" r="2.5" fill="{PALETTE[i % len(PALETTE)]}"/>')
    out.append("</svg>")
    return "\n".join(out)


def legend(runs):
    items = []
    for i, r in enumerate(runs):
        color = PALETTE[i % len(PALETTE)]
        items.append(f'<li class="legend-run" data-run="{html.escape(r["name"])}">'
                     f'<svg width="28" height="10"><line x1="0" x2="28" y1="5" y2="5" stroke="{color}" stroke-width="3"/></svg> '
                     f'{html.escape(r["name"])} ({html.escape(str(r["model"]))})</li>')
    items.append('<li class="legend-phase">solid: train, dashed: validation, dotted: test</li>')
    return '<ul class="legend">' + "".join(items) + "</ul>"


def html_page(runs, title):
    table = ["<table><thead><tr>" + "".join(f"<th>{html.escape(c)}</th>" for c in COLUMNS) + "</tr></thead><tbody>"]
    for row in rows(runs):
        table.append("<tr>" + "".join(f"<td>{html.escape(c)}</td>" for c in row) + "</tr>")
    table.append("</tbody></table>")
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>{html.escape(title)}</title>
<style>
body {{ font-family: sans-serif; margin: 2em; }}
table {{ border-collapse: collapse; }} td, th {{ border: 1px solid #ccc; padding: 3px 8px; text-align: right; }}
td:first-child, td:nth-child(2) {{ text-align: left; }}
.legend {{ list-style: none; padding: 0; }} .charts {{ display: flex; flex-wrap: wrap; gap: 1em; }}
</style></head><body>
<h1>{html.escape(title)}</h1>
{''.join(table)}
<h2>Curves</h2>
{legend(runs)}
<div class="charts">
{svg_chart(runs, "loss", "loss")}
{svg_chart(runs, "accuracy", "accuracy (%)", 100.0)}
</div>
</body></html>
"""


def main(argv=None):
    parser = argparse.ArgumentParser(
        prog="rtml-report", description="Compare trainer runs: table (Markdown, CSV) and curves (HTML with SVG).")
    parser.add_argument("runs", nargs="+", metavar="RUN", help="run directories (trainer train --out RUN)")
    parser.add_argument("-o", "--out", metavar="DIR", help="write report.md, report.csv and report.html into DIR")
    parser.add_argument("--title", default="rtml runs", help="title of the HTML page")
    args = parser.parse_args(argv)
    try:
        runs = [load_run(p) for p in args.runs]
    except ReportError as e:
        print(f"rtml-report: error: {e}", file=sys.stderr)
        return 1
    md = markdown(runs)
    sys.stdout.write(md)
    if args.out:
        os.makedirs(args.out, exist_ok=True)
        for name, text in (("report.md", md), ("report.csv", csv_text(runs)),
                           ("report.html", html_page(runs, args.title))):
            path = os.path.join(args.out, name)
            tmp = path + ".tmp"
            with open(tmp, "w", encoding="utf-8") as f:
                f.write(text)
            os.replace(tmp, path)
        print(f"wrote {os.path.join(args.out, 'report.md')}, report.csv, report.html", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
