"""Checks rtml-report on three run folders written as the trainer writes them
(a run with a validation split, one without, one interrupted): the Markdown
and CSV tables, clear errors for bad runs (no earlier report lost), and the
HTML page's SVG curves and legend as a real headless browser renders them.

  check_report.py REPORT [--chromium PATH]     exit 77: no chromium (skip)
"""
import csv
import json
import os
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
        expect = "| alexnet | alexnet | 57,044,810 | 3 | 0.6667 | 50.00 | 0.7333 | 48.00 | 0.7667 | 47.00 | 48.00 | 3 | 1:02:05 | 21.5 |"
        if md[2] != expect:
            fail(f"markdown row\n  got  {md[2]}\n  want {expect}")
        if "| alexnet_nolrn | alexnet_nolrn | 57,044,810 | 3 | 0.6667 | 50.00 |  |  | 0.7333 | 48.00 |  |" not in md[3]:
            fail(f"row without validation: {md[3]}")
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
