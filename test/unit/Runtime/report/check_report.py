"""Checks rtml-report on three run folders written as the trainer writes them
(a run with a validation split, one without, one interrupted): the Markdown
and CSV tables (a best picked on the test set is labelled so), clear errors
for bad runs (no earlier report lost), runs of one model told apart by their
overrides, an accuracy axis that covers the data, the PNG figure, and the
HTML page's SVG curves and legend as a real headless browser renders them.

  check_report.py REPORT [--chromium PATH]     exit 77: no chromium (skip)
"""
import csv
import json
import os
import re
import struct
import shutil
import subprocess
import sys
import tempfile


def fail(message):
    sys.exit(f"check_report: FAIL: {message}")


def write_run(root, name, model, params, epochs, val, finished):
    run = os.path.join(root, name)
    os.makedirs(run)
    lines = []
    for e in range(1, epochs + 1):
        lines.append({"epoch": e, "phase": "train", "loss": 2.0 / e, "accuracy": 0.2 + 0.1 * e,
                      "images": 45000, "time_s": 10.0, "mean_batch_time_s": 0.02,
                      "images_per_s": 4500.0, "lr": 0.01})
        lines.append({"epoch": e, "phase": "val" if val else "test", "loss": 2.2 / e,
                      "accuracy": 0.18 + 0.1 * e, "images": 5000, "time_s": 1.0,
                      "mean_batch_time_s": 0.01, "images_per_s": 5000.0})
    if finished and val:
        lines.append({"epoch": epochs, "phase": "test", "loss": 2.3 / epochs, "accuracy": 0.17 + 0.1 * epochs,
                      "images": 10000, "time_s": 2.0, "mean_batch_time_s": 0.01, "images_per_s": 5000.0})
    with open(os.path.join(run, "metrics.jsonl"), "w") as f:
        for line in lines:
            f.write(json.dumps(line) + "\n")
    if finished:
        last_eval = lines[-2] if val else lines[-1]
        summary = {"model": model, "parameters": params, "epochs": epochs,
                   "validation": "val" if val else "test",
                   "final_train": {"loss": 2.0 / epochs, "accuracy": 0.2 + 0.1 * epochs},
                   "final_val": {"loss": last_eval["loss"], "accuracy": last_eval["accuracy"]} if val else None,
                   "final_test": {"loss": lines[-1]["loss"], "accuracy": lines[-1]["accuracy"]},
                   "best_val_accuracy": 0.18 + 0.1 * epochs if val else None,
                   "best_test_accuracy": lines[-1]["accuracy"],
                   "best_epoch": epochs, "wall_time_s": 3725.0, "mean_batch_time_s": 0.0215}
        with open(os.path.join(run, "summary.json"), "w") as f:
            json.dump(summary, f)
    return run


def run(cmd):
    return subprocess.run(cmd, capture_output=True, text=True)


def check_overrides_axis_and_png(report, tmp):
    """Two runs of one model compiled with different --set values (run.json,
    as rtml-study writes it), accuracies up to 85%: the table and the legend
    name the overrides, the accuracy axis reaches past 85, the PNG is drawn."""
    runs = []
    for name, lrn in (("with_lrn", "true"), ("without_lrn", "false")):
        r = os.path.join(tmp, name)
        os.makedirs(r)
        with open(os.path.join(r, "metrics.jsonl"), "w") as f:
            for e, acc in enumerate((0.10, 0.55, 0.85), 1):
                for phase in ("train", "val"):
                    f.write(json.dumps({"epoch": e, "phase": phase, "loss": 1.0 / e,
                                        "accuracy": acc, "mean_batch_time_s": 0.01}) + "\n")
        with open(os.path.join(r, "run.json"), "w") as f:
            json.dump({"overrides": {"lrn": lrn}}, f)
        runs.append(r)
    out = os.path.join(tmp, "overrides-report")
    png = os.path.join(tmp, "curves.png")
    r = run([report] + runs + ["-o", out, "--png", png])
    if r.returncode != 0:
        fail(f"overrides report exited {r.returncode}: {r.stderr}")
    md = r.stdout.splitlines()
    if not md[0].startswith("| run | model | overrides | parameters |"):
        fail(f"no overrides column: {md[0]}")
    if "| with_lrn (unfinished) | ? | lrn=true |" not in md[2] or \
            "| without_lrn (unfinished) | ? | lrn=false |" not in md[3]:
        fail(f"overrides rows: {md[2:4]}")
    page = open(os.path.join(out, "report.html")).read()
    if "without_lrn (?, lrn=false)" not in page:
        fail("the legend does not name the overrides")
    chart = page[page.index('data-metric="accuracy"'):]
    chart = chart[:chart.index("</svg>")]
    ticks = [float(t) for t in re.findall(r'text-anchor="end" font-size="11">([0-9.]+)<', chart)]
    if not ticks or max(ticks) < 85 or min(ticks) > 10:
        fail(f"accuracy axis ticks {ticks} do not cover the data (10..85)")
    with open(png, "rb") as f:
        head = f.read(24)
    if head[:8] != b"\x89PNG\r\n\x1a\n" or struct.unpack(">II", head[16:24]) != (1500, 500):
        fail(f"{png} is not a 1500x500 PNG: {head!r}")
    r = run([report, runs[0], "--png", os.path.join(tmp, "no-such-dir", "x.png")])
    if r.returncode == 0:
        fail("a PNG that cannot be written was not an error")


def main():
    report = sys.argv[1]
    chromium = sys.argv[sys.argv.index("--chromium") + 1] if "--chromium" in sys.argv else "chromium"
    tmp = tempfile.mkdtemp(prefix="rtml-report-")
    try:
        a = write_run(tmp, "alexnet", "alexnet", 57044810, 3, True, True)
        b = write_run(tmp, "alexnet_nolrn", "alexnet_nolrn", 57044810, 3, False, True)
        c = write_run(tmp, "googlenet", "googlenet", 10635134, 2, True, False)
        out = os.path.join(tmp, "report")
        r = run([report, a, b, c, "-o", out, "--title", "CIFAR-10 runs"])
        if r.returncode != 0:
            fail(f"rtml-report exited {r.returncode}: {r.stderr}")
        md = r.stdout.splitlines()
        if not md[0].startswith("| run | model | parameters | epochs | train loss | train acc % | val loss"):
            fail(f"markdown header: {md[0]}")
        # alexnet_nolrn has no validation split: its best is a test number,
        # in a column that says so.
        if "| best val acc % | best test acc % (no val split) | best epoch |" not in md[0]:
            fail(f"markdown header lacks the no-split best column: {md[0]}")
        expect = "| alexnet | alexnet | 57,044,810 | 3 | 0.6667 | 50.00 | 0.7333 | 48.00 | 0.7667 | 47.00 | 48.00 |  | 3 | 1:02:05 | 21.5 |"
        if md[2] != expect:
            fail(f"markdown row\n  got  {md[2]}\n  want {expect}")
        expect = "| alexnet_nolrn | alexnet_nolrn | 57,044,810 | 3 | 0.6667 | 50.00 |  |  | 0.7333 | 48.00 |  | 48.00 | 3 |"
        if not md[3].startswith(expect):
            fail(f"row without validation\n  got  {md[3]}\n  want {expect}")
        if not md[4].startswith("| googlenet (unfinished) | ? |  | 2 | 1.0000 | 40.00 | 1.1000 | 38.00 |"):
            fail(f"unfinished row: {md[4]}")
        with open(os.path.join(out, "report.csv")) as f:
            table = list(csv.reader(f))
        if len(table) != 4 or table[0][0] != "run" or table[1][2] != "57,044,810" or table[2][7] != "":
            fail(f"csv: {table}")

        # Bad runs: a clear message naming the file, the earlier report kept.
        before = open(os.path.join(out, "report.html")).read()
        bad = os.path.join(tmp, "bad")
        os.makedirs(bad)
        with open(os.path.join(bad, "summary.json"), "w") as f:
            f.write('{"model": "x",\n oops}')
        for args, message in (([bad], f"{bad}/summary.json:2:2: invalid JSON"),
                              ([os.path.join(tmp, "none")], f"{tmp}/none: not a run directory"),
                              ([tmp], f"{tmp}: no summary.json or metrics.jsonl")):
            r = run([report, a] + args + ["-o", out])
            if r.returncode != 1 or f"rtml-report: error: {message}" not in r.stderr:
                fail(f"{args}: exit {r.returncode}, stderr {r.stderr!r}, want {message!r}")
        if open(os.path.join(out, "report.html")).read() != before:
            fail("a failed report overwrote the earlier one")
        r = run([report])
        if r.returncode != 2:
            fail(f"no runs: exit {r.returncode}")
        # With validation splits only, no column for a test-picked best.
        r = run([report, a])
        if r.returncode != 0 or "no val split" in r.stdout:
            fail(f"report of a run with a split: exit {r.returncode}, {r.stdout}")
        check_overrides_axis_and_png(report, tmp)

        # The page in a real browser.
        browser = shutil.which(chromium)
        if not browser:
            print(f"check_report: SKIP browser check: {chromium} not found "
                  "(scripts/setup.sh installs Debian's chromium)")
            sys.exit(77)
        profile = tempfile.mkdtemp(prefix="rtml-chromium-")
        page = "file://" + os.path.abspath(os.path.join(out, "report.html"))
        flags = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync",
                 f"--user-data-dir={profile}"]
        r = subprocess.run([browser] + flags + ["--dump-dom", page], capture_output=True, text=True, timeout=120)
        dom = r.stdout
        if r.returncode != 0 or "<svg" not in dom:
            fail(f"chromium --dump-dom exited {r.returncode}: {r.stderr[-2000:]}")
        # 2 charts x (alexnet: train, val, test; nolrn: train, test; googlenet: train, val)
        curves = dom.count('class="curve"')
        if curves != 14:
            fail(f"{curves} curves in the DOM, expected 14")
        for name in ("alexnet", "alexnet_nolrn", "googlenet"):
            if f'class="legend-run" data-run="{name}"' not in dom:
                fail(f"legend lacks {name}")
        if dom.count('<svg xmlns="http://www.w3.org/2000/svg" class="chart"') != 2:
            fail("expected two charts")
        shot = os.path.join(tmp, "shot.png")
        r = subprocess.run([browser] + flags + ["--window-size=1300,1100", f"--screenshot={shot}", page],
                           capture_output=True, text=True, timeout=120)
        if r.returncode != 0 or not os.path.exists(shot) or os.path.getsize(shot) < 10000:
            fail(f"screenshot: exit {r.returncode}, {os.path.getsize(shot) if os.path.exists(shot) else 0} bytes")
        shutil.rmtree(profile, ignore_errors=True)
        print(f"check_report: ok ({curves} curves, screenshot {os.path.getsize(shot)} bytes)")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
