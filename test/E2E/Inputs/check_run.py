"""Checks a trainer's run folder against the run-folder contract.

  check_run.py RUN [--epochs N] [--min-test-accuracy A] [--eval-output FILE]
"""
import argparse
import json
import math
import os
import re
import sys


def fail(message):
    sys.exit(f"check_run: {message}")


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("run")
    parser.add_argument("--epochs", type=int)
    parser.add_argument("--min-test-accuracy", type=float)
    parser.add_argument("--eval-output")
    args = parser.parse_args()

    with open(os.path.join(args.run, "metrics.jsonl")) as f:
        records = [json.loads(line) for line in f if line.strip()]
    with open(os.path.join(args.run, "summary.json")) as f:
        summary = json.load(f)
    for name in ("last.pt", "best.pt"):
        if not os.path.getsize(os.path.join(args.run, "checkpoints", name)):
            fail(f"empty checkpoint {name}")

    tests = [r for r in records if r["phase"] == "test"]
    trains = [r for r in records if r["phase"] == "train"]
    if args.epochs is not None:
        if [r["epoch"] for r in trains] != list(range(1, args.epochs + 1)):
            fail(f"train epochs {[r['epoch'] for r in trains]}")
        if len(tests) != args.epochs:
            fail(f"{len(tests)} test records for {args.epochs} epochs")
    for r in records:
        for key in ("loss", "accuracy", "images", "time_s", "images_per_s"):
            if key not in r or not math.isfinite(r[key]):
                fail(f"record {r} lacks a finite '{key}'")
    best = max(r["accuracy"] for r in tests)
    if abs(summary["best_test_accuracy"] - best) > 1e-9:
        fail(f"summary best {summary['best_test_accuracy']} != metrics best {best}")
    if args.min_test_accuracy is not None and best < args.min_test_accuracy:
        fail(f"best test accuracy {best:.3f} < {args.min_test_accuracy}")
    if args.eval_output:
        text = open(args.eval_output).read()
        match = re.search(r'"accuracy":\s*([0-9.eE+-]+)', text)
        if not match:
            fail(f"no accuracy in eval output: {text!r}")
        if abs(float(match.group(1)) - tests[-1]["accuracy"]) > 1e-6:
            fail(f"eval accuracy {match.group(1)} != last test accuracy "
                 f"{tests[-1]['accuracy']}")
        print("eval matches the last epoch")
        return
    print(f"epochs {len(trains)}, best test accuracy {best:.4f}")


if __name__ == "__main__":
    main()
