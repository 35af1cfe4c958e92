"""Checks the JSON lines of bench/step_bench.py's peer benchmark against its
contract, for step-bench-dry-run.test:

    check_peer_json.py FILE --models M... --variants V...

One line per model, in order, each with every variant asked for, in order;
a variant that ran has a time, images/s, its precision and compute floor and
a command; one that did not has no time and a reason that starts with its
status. Prints "MODEL VARIANT ok MS ms PRECISION" or "MODEL VARIANT
REASON" per variant, for FileCheck; any breach is an error (exit 1) naming
it.
"""
import argparse
import json
import math
import sys

STATUSES = ("ok", "unavailable", "skipped", "failed")
PRECISIONS = ("fp32", "tf32", "bf16")
COMPILE_VARIANTS = ("compile", "compile-max-autotune")


def close(a, b):
    return math.isclose(a, b, rel_tol=1e-9)


def check_variant(where, result, name, v):
    if v.get("status") not in STATUSES:
        return f"{where}: status {v.get('status')!r}"
    if v["status"] != "ok":
        if "median_ms" in v:
            return f"{where}: {v['status']} but has a time"
        if not str(v.get("reason", "")).startswith(v["status"] + ": "):
            return f"{where}: reason {v.get('reason')!r} does not say why"
        if v["status"] == "unavailable" and v.get("command"):
            return f"{where}: unavailable but has a command"
        return None
    median = v.get("median_ms")
    if not isinstance(median, (int, float)) or median <= 0:
        return f"{where}: median_ms {median!r}"
    if not close(v["images_per_s"], result["batch"] / (median / 1e3)):
        return f"{where}: images_per_s {v['images_per_s']} != batch / ms"
    if len(v["round_medians_ms"]) != result["rounds_done"]:
        return f"{where}: {len(v['round_medians_ms'])} round medians"
    if v["precision"] not in PRECISIONS:
        return f"{where}: precision {v['precision']!r}"
    peak = result["peak_tflops"][v["precision"]] * 1e12
    if not close(v["floor_ms"], result["flops_per_step"] / peak * 1e3):
        return f"{where}: floor_ms {v['floor_ms']} is not FLOPs / peak"
    if not v.get("command"):
        return f"{where}: no command"
    eager = result["variants"].get("eager", {})
    if eager.get("status") == "ok":
        speedup = v.get("speedup_over_eager") or {}
        if not close(speedup.get("of_medians", -1),
                     eager["median_ms"] / median):
            return f"{where}: speedup_over_eager {speedup}"
    if name in COMPILE_VARIANTS and not v.get("compile_s"):
        return f"{where}: ran torch.compile but reports no compile_s"
    return None


def check(result, model, variants):
    where = f"model {result.get('model')!r}"
    if result.get("benchmark") != "peer" or result.get("model") != model:
        return f"{where}: expected peer benchmark of {model!r}"
    for key in ("device", "batch", "steps", "warmup", "rounds",
                "rounds_done", "macs_per_image", "flops_per_step",
                "peak_tflops", "peak_source", "best_compile", "notes", "environment",
                "variants"):
        if key not in result:
            return f"{where}: no '{key}'"
    if result["flops_per_step"] != result["macs_per_image"] * 6 * result[
            "batch"]:
        return f"{where}: flops_per_step is not MACs x 2 x 3 x batch"
    if sorted(result["peak_tflops"]) != sorted(PRECISIONS):
        return f"{where}: peak_tflops {result['peak_tflops']}"
    if list(result["variants"]) != variants:
        return f"{where}: variants {list(result['variants'])}"
    best = result["best_compile"]
    if best is not None and (best not in COMPILE_VARIANTS or
                             result["variants"][best]["status"] != "ok"):
        return f"{where}: best_compile {best!r} did not run"
    for name in variants:
        error = check_variant(f"{where}, variant {name!r}", result, name,
                              result["variants"][name])
        if error:
            return error
    return None


def main():
    p = argparse.ArgumentParser()
    p.add_argument("file")
    p.add_argument("--models", nargs="+", required=True)
    p.add_argument("--variants", nargs="+", required=True)
    args = p.parse_args()
    lines = [json.loads(line) for line in open(args.file) if line.strip()]
    if len(lines) != len(args.models):
        sys.exit(f"{args.file}: {len(lines)} lines for {len(args.models)} "
                 "models")
    for result, model in zip(lines, args.models):
        error = check(result, model, args.variants)
        if error:
            sys.exit(f"{args.file}: {error}")
        for name, v in result["variants"].items():
            detail = (f"ok {v['median_ms']:.3f} ms {v['precision']}"
                      if v["status"] == "ok" else v["reason"])
            print(f"{model} {name} {detail}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
