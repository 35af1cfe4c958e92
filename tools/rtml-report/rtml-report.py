#!/usr/bin/python3
"""rtml-report: compare trainer runs.

  rtml-report RUN... [-o DIR] [--title TEXT] [--png FILE]

Reads each run folder's summary.json and metrics.jsonl (what `trainer train
--out RUN` writes) and prints the comparison table as Markdown: model,
parameters, train/validation/test loss and accuracy, best validation accuracy
and its epoch, training time and mean time per batch. With -o DIR it also
writes DIR/report.md, DIR/report.csv and DIR/report.html (the table and the
loss and accuracy curves of every run as inline SVG, no scripts, no network).
With --png FILE it draws the same curves into a PNG figure (matplotlib).

A run trained without a validation split picks its best epoch on the test
set: that number goes into the column "best test acc % (no val split)", never
into "best val acc %". The `--set` overrides a model was compiled with come
from RUN/run.json (rtml-study writes it: {"overrides": {"lrn": "false"}},
and "precision": "bf16" for rtmlc --precision) and show in the table's
"overrides" column and in the curves' labels.

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
    description_path = os.path.join(path, "run.json")
    description = read_json(description_path) if os.path.exists(description_path) else {}
    overrides = description.get("overrides") if isinstance(description, dict) else None
    if overrides is not None and not isinstance(overrides, dict):
        raise ReportError(f"{description_path}: 'overrides' must be an object "
                          "{NAME: VALUE}")
    # A precision the model was compiled with (rtmlc --precision) is one more.
    precision = description.get("precision") if isinstance(description, dict) else None
    if precision is not None:
        overrides = dict(overrides or {}, precision=precision)

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
    # Without a validation split the trainer evaluates (and picks its best
    # epoch) on the test set each epoch: that best is a test number.
    has_val = summary.get("validation") == "val" if "validation" in summary else bool(vals)
    best_epoch = summary.get("best_epoch")
    best_val = summary.get("best_val_accuracy") if has_val else None
    best_test = None if has_val else summary.get("best_test_accuracy")
    picked_from = vals if has_val else [r for r in metrics if r.get("phase") == "test"]
    if (best_test if not has_val else best_val) is None and picked_from:
        best = max(picked_from, key=lambda r: r.get("accuracy") or 0)
        best_epoch = best.get("epoch")
        if has_val:
            best_val = best.get("accuracy")
        else:
            best_test = best.get("accuracy")
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
        "has_val": has_val,
        "best_val": best_val,
        "best_test": best_test,
        "best_epoch": best_epoch,
        "overrides": {str(k): str(v) for k, v in (overrides or {}).items()},
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


OVERRIDES_COLUMN = "overrides"
BEST_TEST_COLUMN = "best test acc % (no val split)"


def spelled_overrides(run):
    return " ".join(f"{k}={v}" for k, v in sorted(run["overrides"].items()))


def label(run):
    """How a run is named in legends: its name, model and overrides."""
    details = ", ".join(x for x in (str(run["model"]), spelled_overrides(run)) if x)
    return f"{run['name']} ({details})"


def columns(runs):
    """The table's columns; "overrides" and the no-split best only where a
    run has them."""
    out = ["run", "model"]
    if any(r["overrides"] for r in runs):
        out.append(OVERRIDES_COLUMN)
    out += ["parameters", "epochs", "train loss", "train acc %", "val loss", "val acc %",
            "test loss", "test acc %", "best val acc %"]
    if any(not r["has_val"] for r in runs):
        out.append(BEST_TEST_COLUMN)
    return out + ["best epoch", "training time", "ms per batch"]


def rows(runs):
    header = columns(runs)
    out = []
    for r in runs:
        get = lambda p, k: (r[p] or {}).get(k)
        best = r["best_val"] if r["has_val"] else r["best_test"]
        row = [
            r["name"] + ("" if r["finished"] else " (unfinished)"),
            r["model"],
            spelled_overrides(r),
            f"{r['parameters']:,}" if isinstance(r["parameters"], int) else "",
            str(r["epochs"]),
            num(get("train", "loss"), "{:.4f}"), pct(get("train", "accuracy")),
            num(get("val", "loss"), "{:.4f}"), pct(get("val", "accuracy")),
            num(get("test", "loss"), "{:.4f}"), pct(get("test", "accuracy")),
            pct(r["best_val"]),
            pct(r["best_test"]),
            str(r["best_epoch"]) if best is not None and r["best_epoch"] else "",
            duration(r["time_s"]),
            num(r["batch_s"] * 1000 if isinstance(r["batch_s"], (int, float)) else None, "{:.1f}"),
        ]
        if OVERRIDES_COLUMN not in header:
            del row[2]
        if BEST_TEST_COLUMN not in header:
            del row[-4]
        out.append(row)
    return out


def markdown(runs):
    header = columns(runs)
    lines = ["| " + " | ".join(header) + " |",
             "|" + "|".join("---" if c in ("run", "model", OVERRIDES_COLUMN) else "---:"
                            for c in header) + "|"]
    for row in rows(runs):
        lines.append("| " + " | ".join(c.replace("|", "\\|") for c in row) + " |")
    return "\n".join(lines) + "\n"


def csv_text(runs):
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(columns(runs))
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
    # The first tick at or below lo, the last at or above hi: the axis
    # always covers the data.
    first = math.floor(lo / step + 1e-9)
    last = math.ceil(hi / step - 1e-9)
    return [round(i * step, 10) for i in range(first, last + 1)]


PNG_STYLE = {"train": "-", "val": "--", "test": ":"}


def curves(run, key, scale=1.0):
    """{phase: ([epoch], [value])} of one run's metric."""
    out = {}
    for phase in ("train", "val", "test"):
        pts = [(rec["epoch"], rec[key] * scale) for rec in run["metrics"]
               if rec.get("phase") == phase and isinstance(rec.get(key), (int, float))
               and math.isfinite(rec[key])]
        if pts:
            out[phase] = ([p[0] for p in pts], [p[1] for p in pts])
    return out


def svg_chart(runs, key, title, scale=1.0):
    width, height, left, right, top, bottom = 560, 320, 56, 16, 28, 40
    series = []
    for i, r in enumerate(runs):
        for phase, (epochs, values) in curves(r, key, scale).items():
            series.append((i, r["name"], phase, list(zip(epochs, values))))
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
                     f'{html.escape(label(r))}</li>')
    items.append('<li class="legend-phase">solid: train, dashed: validation, dotted: test</li>')
    return '<ul class="legend">' + "".join(items) + "</ul>"


def png_figure(runs, title, path):
    """The loss and accuracy curves side by side, as the seed report's
    model_comparison.png draws them (Debian's matplotlib, no display)."""
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        raise ReportError("--png needs matplotlib (apt-get install python3-matplotlib)")
    figure, axes = plt.subplots(1, 2, figsize=(15, 5))
    for ax, key, name, scale in ((axes[0], "loss", "Loss", 1.0),
                                 (axes[1], "accuracy", "Accuracy (%)", 100.0)):
        for i, r in enumerate(runs):
            for phase, (xs, ys) in curves(r, key, scale).items():
                ax.plot(xs, ys, PNG_STYLE[phase], color=PALETTE[i % len(PALETTE)], marker="o",
                        markersize=3, label=f"{label(r)}: {phase}")
        ax.set_title(f"{title} - {name.split(' ')[0]}")
        ax.set_xlabel("Epoch")
        ax.set_ylabel(name)
        ax.grid(True, alpha=0.3)
        ax.xaxis.get_major_locator().set_params(integer=True)
        if ax.lines:
            ax.legend(fontsize="small")
    figure.tight_layout()
    tmp = path + ".tmp.png"
    figure.savefig(tmp, dpi=100)
    plt.close(figure)
    os.replace(tmp, path)


def html_page(runs, title):
    table = ["<table><thead><tr>" + "".join(f"<th>{html.escape(c)}</th>" for c in columns(runs))
             + "</tr></thead><tbody>"]
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
    parser.add_argument("--title", default="rtml runs", help="title of the HTML page and figure")
    parser.add_argument("--png", metavar="FILE",
                        help="also draw the loss and accuracy curves into FILE (matplotlib)")
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
    if args.png:
        try:
            png_figure(runs, args.title, args.png)
        except ReportError as e:
            print(f"rtml-report: error: {e}", file=sys.stderr)
            return 1
        print(f"wrote {args.png}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
