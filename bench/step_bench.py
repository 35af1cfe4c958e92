#!/usr/bin/python3
"""Whole training step, side by side: fused trainer, --no-fuse trainer, eager.

For each model (a models/NAME.yaml with the same network in
bench/reference_models.py) it builds, or reuses when still up to date, the
trainer rtmlc compiles with the default pipeline and the one it compiles with
--no-fuse, then runs the three variants interleaved for --rounds rounds
(fused, no-fuse, eager, fused, ...), each as its own process timing --steps
steps after --warmup. It prints each variant's median step time (the median
of the rounds' medians) and the ratios no-fuse/fused and eager/fused (above 1:
the fused trainer is faster), and the exact commands it ran.

    bench/step_bench.py --model alexnet --batch-size 16 --rounds 5
    bench/step_bench.py --model alexnet googlenet --rounds 3 --json

A benchmark, run by hand; nothing asserts a time. Run it with Debian's
Python, which has torch: /usr/bin/python3.
"""
import argparse
import json
import shlex
import statistics
import subprocess
import sys
from pathlib import Path

from bench_args import non_negative, positive

BENCH_DIR = Path(__file__).resolve().parent
REPO = BENCH_DIR.parent
VARIANTS = ("fused", "no-fuse", "eager")


def run(cmd, quiet=False):
    """Runs cmd, returns its stdout; on failure shows its output and exits."""
    done = subprocess.run(cmd, capture_output=True, text=True)
    if done.returncode != 0:
        sys.stderr.write(done.stdout + done.stderr)
        sys.exit(f"step_bench: failed ({done.returncode}): {shlex.join(cmd)}")
    if not quiet:
        sys.stderr.write(done.stderr)
    return done.stdout


def trainer_path(out_dir, name):
    return out_dir / "build" / name


def build_trainer(args, model, no_fuse):
    """The trainer for models/MODEL.yaml, rebuilt when rtmlc, the runtime or
    the spec is newer than it (or with --rebuild)."""
    spec = REPO / "models" / f"{model}.yaml"
    out_dir = args.out / (model + ("-nofuse" if no_fuse else ""))
    trainer = trainer_path(out_dir, model)
    # rtmlc builds trainers against the runtime of its own build tree.
    runtime = args.rtmlc.parents[2] / "runtime" / "librtml_runtime.a"
    inputs = [p for p in (args.rtmlc, runtime, spec) if p.exists()]
    if (not args.rebuild and trainer.exists() and
            all(p.stat().st_mtime <= trainer.stat().st_mtime for p in inputs)):
        return trainer
    cmd = [str(args.rtmlc), str(spec), "-o", str(out_dir)]
    if no_fuse:
        cmd.append("--no-fuse")
    print(f"building: {shlex.join(cmd)}", file=sys.stderr, flush=True)
    built = Path(run(cmd, quiet=True).strip().splitlines()[-1])
    if built != trainer:
        sys.exit(f"step_bench: rtmlc built {built}, expected {trainer}")
    return trainer


def commands(args, model):
    common = ["--batch-size", str(args.batch_size), "--steps",
              str(args.steps), "--warmup", str(args.warmup), "--threads",
              str(args.threads), "--json"]
    fused = build_trainer(args, model, no_fuse=False)
    no_fuse = build_trainer(args, model, no_fuse=True)
    eager = [sys.executable, str(BENCH_DIR / "alexnet_eager.py"), "--model",
             model]
    return {"fused": [str(fused), "bench"] + common,
            "no-fuse": [str(no_fuse), "bench"] + common,
            "eager": eager + common}


def bench_model(args, model):
    cmds = commands(args, model)
    medians = {v: [] for v in VARIANTS}
    for round_index in range(args.rounds):
        for variant in VARIANTS:
            result = json.loads(run(cmds[variant]).strip().splitlines()[-1])
            medians[variant].append(result["median_ms"])
        line = "  ".join(f"{v} {medians[v][-1]:.1f}" for v in VARIANTS)
        print(f"{model} round {round_index + 1}/{args.rounds}: {line} ms",
              file=sys.stderr, flush=True)
    # Per-round ratios pair runs made seconds apart, so a slow spell of the
    # machine shifts both sides; their median is the less noisy figure.
    ratios = {}
    for other in ("no-fuse", "eager"):
        paired = [o / f for o, f in zip(medians[other], medians["fused"])]
        ratios[other] = {"of_medians": statistics.median(medians[other]) /
                         statistics.median(medians["fused"]),
                         "median_paired": statistics.median(paired),
                         "paired": paired}
    return {"model": model, "batch": args.batch_size, "steps": args.steps,
            "warmup": args.warmup, "threads": args.threads,
            "rounds": args.rounds,
            "median_ms": {v: statistics.median(medians[v]) for v in VARIANTS},
            "round_medians_ms": medians,
            "no_fuse_over_fused": ratios["no-fuse"],
            "eager_over_fused": ratios["eager"],
            "commands": {v: shlex.join(c) for v, c in cmds.items()}}


def report(result):
    model = result["model"]
    print(f"{model}: batch {result['batch']}, {result['threads']} threads, "
          f"{result['rounds']} rounds of {result['steps']} steps "
          f"(+{result['warmup']} warm-up), variants interleaved")
    for variant in VARIANTS:
        rounds = " ".join(f"{ms:.0f}"
                          for ms in result["round_medians_ms"][variant])
        print(f"  {variant:8} median {result['median_ms'][variant]:9.1f} ms "
              f"  (rounds: {rounds})")
    for label, key in (("no-fuse/fused", "no_fuse_over_fused"),
                       ("eager/fused", "eager_over_fused")):
        ratio = result[key]
        paired = " ".join(f"{r:.3f}" for r in ratio["paired"])
        print(f"  {label:14} {ratio['of_medians']:.3f} (of the medians; "
              f"median of paired rounds {ratio['median_paired']:.3f}: "
              f"{paired})")
    print("  commands:")
    for variant in VARIANTS:
        print(f"    {variant}: {result['commands'][variant]}")


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--model", nargs="+", default=["alexnet"],
                   choices=["alexnet", "googlenet"],
                   help="models/NAME.yaml, against bench/reference_models.py")
    p.add_argument("--batch-size", type=positive, default=16)
    p.add_argument("--rounds", type=positive, default=5)
    p.add_argument("--steps", type=positive, default=3,
                   help="timed steps per run")
    p.add_argument("--warmup", type=non_negative, default=1)
    p.add_argument("--threads", type=positive, default=2)
    p.add_argument("--rtmlc", type=Path,
                   default=REPO / "build" / "tools" / "rtmlc" / "rtmlc")
    p.add_argument("--out", type=Path, default=REPO / "out" / "step-bench",
                   help="where the trainers are built")
    p.add_argument("--rebuild", action="store_true",
                   help="run rtmlc even if the trainers look up to date")
    p.add_argument("--json", action="store_true",
                   help="one JSON line per model instead")
    args = p.parse_args(argv)
    args.rtmlc = args.rtmlc.resolve()
    args.out = args.out.resolve()
    if not args.rtmlc.exists():
        sys.exit(f"step_bench: no rtmlc at {args.rtmlc} (build it, or pass "
                 "--rtmlc)")
    for model in args.model:
        result = bench_model(args, model)
        if args.json:
            print(json.dumps(result), flush=True)
        else:
            report(result)
    return 0


if __name__ == "__main__":
    sys.exit(main())
