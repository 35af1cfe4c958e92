#!/usr/bin/python3
"""Whole training step, side by side, in interleaved rounds of processes.

Every variant is a process that times --steps training steps after --warmup
(a trainer's `bench --json`, or bench/alexnet_eager.py --json on the same
network from bench/reference_models.py); the variants run interleaved for
--rounds rounds (a, b, c, a, b, c, ...; with several models, each round runs
them all), and each variant's figure is the median of its rounds' medians.
Ratios are given of the medians and as the median of the rounds' paired
ratios (runs seconds apart share a slow spell of the machine). The exact
commands are printed last. A benchmark, run by hand; nothing asserts a time.

The fusion benchmark (the default): the trainer rtmlc builds with the
default pipeline (fused), the one it builds with --no-fuse, and PyTorch
eager, with the ratios no-fuse/fused and eager/fused (above 1: the fused
trainer is faster). With --versus FLAGS, the default trainer ("default")
against the one rtmlc builds with FLAGS instead of --no-fuse (ratios
FLAGS/default and eager/default; above 1: the default trainer is faster):

    bench/step_bench.py --model alexnet --batch-size 16 --rounds 5
    bench/step_bench.py --model alexnet googlenet --rounds 3 --json
    bench/step_bench.py --model zoo --rounds 5   # every zoo model with a fusion
    bench/step_bench.py --model googlenet --versus=--layout=nhwc --rounds 3

The peer benchmark (--peer, issue 14): on one GPU at batch 128, AlexNet-LRN,
GoogLeNet (the paper's) and googlenet_bn as
  rtml                  the trainer rtmlc builds by default,
  rtml-fp32|tf32|bf16   the trainers of rtmlc --precision P (when rtmlc has
                        the flag; otherwise "unavailable: ..."),
  eager                 PyTorch eager as is,
  eager-tuned           bf16 autocast, channels_last, cudnn.benchmark, fused
                        SGD (foreach where torch has no fused SGD),
  compile               torch.compile of eager-tuned, mode default,
  compile-max-autotune  the same, mode max-autotune.
Each trainer's JSON line says the precision and input layout it ran in;
where the default one ran as one of the --precision trainers (on CUDA,
bf16 NHWC as rtml-bf16), it is timed in round 1 only and that one goes on.
For each model it prints ms/step, images/s, the speedups over the best
torch.compile variant and over eager (above 1: this variant is faster), and
the compute floor: FLOPs per step (rtmlc's "MACs per image" x 2 x 3 x batch)
over the peak of the variant's precision on the card torch names (dense
datasheet peaks, CARD_PEAK_TFLOPS; H200's where the card is not listed or
there is none, as in the dry run; --peak-tflops overrides).
torch.compile's time is reported apart from the step time: it happens in the
warm-up (at least 3 steps), and TorchInductor's cache (under --out, emptied
at the start unless --keep-compile-cache) spares the later rounds most of
it. Each compile mode has a budget (--compile-budget; default 90 s, and
120 s for max-autotune, which runs last in each round): a process that
compiles longer is stopped with its workers and the variant skipped, with a
note, as is a first compile whose budget no longer fits in the time budget
(--time-budget), which also stops further rounds when the next would
overrun it. The GPU defaults (3 rounds of 20 steps, time budget 360 s) size
the three models to about 6 minutes: all of round 1 (max-autotune where its
budget fits) and as many more rounds as fit; each process's wall time is in
the JSON (process_s) to size the next run. A variant that fails is a row
saying why, never the end of the run.

On the GPU machine (no MLIR there), scripts/device-check.sh runs it first of
all its checks, against the trainers it built from the source that
`scripts/device-check.sh --prepare` emitted here, and the manifest
(trainers to build, the models' MACs) that --prepare wrote with
--write-manifest. Alone, in a GPU session:

    DEVICE_CHECK_ONLY=peer-bench scripts/device-check.sh
    # what that runs, after building the trainers into build-device/:
    python3 bench/step_bench.py --peer --manifest out/device/peer-bench.json \
        --trainer-dir build-device --batch-size 128 \
        --out build-device/step-bench --json-out build-device/peer-bench.jsonl

Here, with the trainers built by rtmlc: bench/step_bench.py --peer (needs a
GPU), or its CPU dry run, which the test suite runs
(test/Bench/step-bench-dry-run.test) so that the script cannot rot between
GPU sessions: batch 2, 1 step, 1 round, one thread, no CUDA (the images
stay 224x224: the trainers are compiled for that size, and GoogLeNet's side
heads need it):

    bench/step_bench.py --dry-run

Run it with Debian's Python, which has torch: /usr/bin/python3.
"""
import argparse
import json
import os
import re
import shlex
import shutil
import signal
import statistics
import subprocess
import sys
import time
from pathlib import Path

from bench_args import assignments, non_negative, non_negative_float, positive

BENCH_DIR = Path(__file__).resolve().parent
REPO = BENCH_DIR.parent
EAGER = BENCH_DIR / "alexnet_eager.py"
MODELS = ("alexnet", "googlenet", "googlenet_bn")
# The fusion benchmark also takes the zoo's other models that the fusion
# passes change (relu_lrn, concat_relu) and that have a PyTorch twin at
# 3x224x224 in bench/reference_models.py; "zoo" names them all.
FUSE_MODELS = MODELS + ("alexnet_towers", "alexnet_2gpu",
                        "torchvision_googlenet")
PRECISIONS = ("fp32", "tf32", "bf16")
COMPILE_MODES = {"compile": "default", "compile-max-autotune": "max-autotune"}
RTML_VARIANTS = ("rtml",) + tuple(f"rtml-{p}" for p in PRECISIONS)
PEER_VARIANTS = RTML_VARIANTS + ("eager", "eager-tuned") + tuple(COMPILE_MODES)
LAST_IN_ROUND = ("compile-max-autotune",)
# Dense (no 2:4 sparsity) peaks in TFLOP/s from NVIDIA's datasheets, by the
# first of these names found in the one torch gives the card; the lending
# machines are H100 SXM and H200 SXM, whose tensor cores are the same.
CARD_PEAK_TFLOPS = (
    ("H200 NVL", {"fp32": 60.0, "tf32": 417.5, "bf16": 835.0}),
    ("H100 NVL", {"fp32": 60.0, "tf32": 417.5, "bf16": 835.0}),
    ("H100 PCIe", {"fp32": 51.0, "tf32": 378.0, "bf16": 756.0}),
    ("H200", {"fp32": 67.0, "tf32": 494.7, "bf16": 989.4}),
    ("H100", {"fp32": 67.0, "tf32": 494.7, "bf16": 989.4}),
    ("A100", {"fp32": 19.5, "tf32": 156.0, "bf16": 312.0}),
)
ASSUMED_CARD = "H200"
COMPILE_BUDGET_S = {"default": 90.0, "max-autotune": 120.0}
# A compiling process also imports torch, builds the model and times its
# steps: its time limit is the compile budget plus this.
COMPILE_SLACK_S = 60.0
# Asking torch what it offers only imports it, however loaded the machine.
PROBE_TIMEOUT_S = 300.0
# Defaults per benchmark; flags given on the command line win.
DEFAULTS = {
    "fuse": dict(model=["alexnet"], batch_size=16, rounds=5, steps=3,
                 warmup=1, threads=2, device="cpu", time_budget=None,
                 process_timeout=None),
    "peer": dict(model=list(MODELS), batch_size=128, rounds=3, steps=20,
                 warmup=5, threads=None, device="cuda", time_budget=360.0,
                 process_timeout=300.0),
    "dry-run": dict(model=list(MODELS), batch_size=2, rounds=1, steps=1,
                    warmup=0, threads=1, device="cpu", time_budget=None,
                    process_timeout=300.0),
}


def fail(message):
    sys.exit(f"step_bench: error: {message}")


def run(cmd, quiet=False):
    """Runs cmd, returns its stdout; on failure shows its output and exits."""
    done = subprocess.run(cmd, capture_output=True, text=True)
    if done.returncode != 0:
        sys.stderr.write(done.stdout + done.stderr)
        fail(f"failed ({done.returncode}): {shlex.join(cmd)}")
    if not quiet:
        sys.stderr.write(done.stderr)
    return done.stdout


def run_timed(cmd, timeout, env):
    """Runs cmd in its own process group (torch.compile starts workers);
    returns (stdout, stderr, returncode, wall seconds, timed out). A process
    past timeout is killed with its group."""
    start = time.monotonic()
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, env=env,
                            start_new_session=True)
    timed_out = False
    try:
        out, err = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        timed_out = True
        os.killpg(proc.pid, signal.SIGKILL)
        out, err = proc.communicate()
    except BaseException:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
        raise
    return out, err, proc.returncode, time.monotonic() - start, timed_out


def last_json_line(text):
    for line in reversed(text.strip().splitlines()):
        try:
            value = json.loads(line)
        except ValueError:
            continue
        if (isinstance(value, dict) and
                isinstance(value.get("median_ms"), (int, float)) and
                value["median_ms"] > 0):
            return value
    return None


def trainer_path(out_dir, name):
    return out_dir / "build" / name


def build_trainer(args, model, dir_name, rtmlc_flags):
    """The trainer rtmlc builds from models/MODEL.yaml with rtmlc_flags into
    --out/DIR_NAME, rebuilt when rtmlc, the runtime or the spec is newer than
    it (or with --rebuild). Returns (path, None), or (None, why) when rtmlc
    failed."""
    spec = REPO / "models" / f"{model}.yaml"
    out_dir = args.out / dir_name
    trainer = trainer_path(out_dir, model)
    # rtmlc builds trainers against the runtime of its own build tree.
    runtime = args.rtmlc.parents[2] / "runtime" / "librtml_runtime.a"
    inputs = [p for p in (args.rtmlc, runtime, spec) if p.exists()]
    if (not args.rebuild and trainer.exists() and
            all(p.stat().st_mtime <= trainer.stat().st_mtime for p in inputs)):
        return trainer, None
    cmd = [str(args.rtmlc), str(spec), "-o", str(out_dir)] + rtmlc_flags
    print(f"building: {shlex.join(cmd)}", file=sys.stderr, flush=True)
    done = subprocess.run(cmd, capture_output=True, text=True)
    if done.returncode != 0:
        sys.stderr.write(done.stdout + done.stderr)
        return None, f"rtmlc failed ({done.returncode}): {shlex.join(cmd)}"
    built = Path(done.stdout.strip().splitlines()[-1])
    if built != trainer:
        return None, f"rtmlc built {built}, expected {trainer}"
    return trainer, None


def macs_per_image(rtmlc, spec):
    summary = run([str(rtmlc), str(spec), "--emit=summary"], quiet=True)
    found = re.search(r"^MACs per image: ([0-9,]+)$", summary, re.MULTILINE)
    if not found:
        fail(f"rtmlc --emit=summary of {spec} printed no 'MACs per image' "
             "line")
    return int(found.group(1).replace(",", ""))


def make_manifest(args):
    """What the peer benchmark needs from rtmlc, per model: the trainers to
    build (name, rtmlc flags) or why one is unavailable, and the MACs per
    image. Written by --write-manifest for the GPU machine, which has no
    rtmlc."""
    has_precision = "--precision" in run([str(args.rtmlc), "--help"],
                                         quiet=True)
    models = {}
    for model in args.model:
        spec = REPO / "models" / f"{model}.yaml"
        trainers = {"rtml": {"name": model, "rtmlc_flags": []}}
        for precision in PRECISIONS:
            trainers[f"rtml-{precision}"] = (
                {"name": f"{model}_{precision}",
                 "rtmlc_flags": ["--precision", precision]}
                if has_precision else
                {"unavailable": "rtmlc has no --precision"})
        models[model] = {"spec": str(spec.relative_to(REPO)),
                         "macs_per_image": macs_per_image(args.rtmlc, spec),
                         "trainers": trainers}
    return {"format": 1, "rtmlc_has_precision": has_precision,
            "models": models}


def load_manifest(path, models):
    try:
        manifest = json.loads(path.read_text())
    except FileNotFoundError:
        fail(f"{path}: no such manifest (scripts/device-check.sh --prepare "
             "writes it, or step_bench.py --peer --write-manifest)")
    except (OSError, ValueError) as e:
        fail(f"{path}: not a readable JSON manifest: {e}")
    if (not isinstance(manifest, dict) or manifest.get("format") != 1 or
            not isinstance(manifest.get("models"), dict)):
        fail(f"{path}: not a step_bench manifest (format 1)")
    for model in models:
        entry = manifest["models"].get(model)
        if not isinstance(entry, dict):
            fail(f"{path}: has no model '{model}' (it has: "
                 f"{', '.join(manifest['models']) or 'none'})")
        macs = entry.get("macs_per_image")
        if not isinstance(macs, int) or isinstance(macs, bool) or macs < 1:
            fail(f"{path}: model '{model}' has no 'macs_per_image' (a "
                 "positive integer)")
        trainers = entry.get("trainers")
        if not isinstance(trainers, dict):
            fail(f"{path}: model '{model}' has no 'trainers'")
        for variant in RTML_VARIANTS:
            trainer = trainers.get(variant)
            if not (isinstance(trainer, dict) and
                    (isinstance(trainer.get("name"), str) or
                     isinstance(trainer.get("unavailable"), str))):
                fail(f"{path}: model '{model}' has no trainer entry for "
                     f"'{variant}'")
    return manifest


class Variant:
    """One variant of one model: its command, or why it does not run, and
    the JSON result of each round it ran."""

    def __init__(self, name, cmd=None, reason=None, precision=None,
                 timeout=None, compile_budget=None):
        self.name = name
        self.cmd = cmd
        # "unavailable: why", "skipped: why" or "failed: why"
        self.reason = reason
        self.status = reason.split(":")[0] if reason else "pending"
        self.precision = precision
        self.timeout = timeout
        self.compile_budget = compile_budget
        self.results = {}  # round index -> the process's JSON line
        self.walls = {}  # round index -> seconds the process took

    def active(self):
        return self.cmd is not None and self.status == "pending"

    def stop(self, reason):
        self.status, self.reason = reason.split(":")[0], reason

    def medians(self):
        return {r: res["median_ms"] for r, res in self.results.items()}

    def median(self):
        values = list(self.medians().values())
        return statistics.median(values) if values else None

    def next_round_estimate(self):
        """Seconds its next process may take: the last one's, less most of
        a first compile, which the cache then spares."""
        if not self.walls:
            return 0.0
        last = max(self.walls)
        compile_s = self.results.get(last, {}).get("compile_s") or 0.0
        return self.walls[last] - (0.75 * compile_s if last == 0 else 0.0)


class ModelBench:
    def __init__(self, model, variants, macs=None):
        self.model = model
        self.variants = {v.name: v for v in variants}
        self.macs = macs
        self.notes = []
        self.rounds_done = 0


def common_flags(args):
    flags = ["--batch-size", str(args.batch_size), "--steps", str(args.steps),
             "--warmup", str(args.warmup)]
    if args.threads:
        flags += ["--threads", str(args.threads)]
    if args.benchmark != "fuse":
        flags += ["--device", args.device]
    return flags + ["--json"]


def eager_command(args, model, extra=()):
    return ([sys.executable, str(EAGER), "--model", model] +
            common_flags(args) + list(extra))


def fuse_trainers(args, model):
    """(variant name, trainer directory, rtmlc flags) of the fusion
    benchmark's two trainers: the default one first."""
    if args.versus is None:
        return (("fused", model, []),
                ("no-fuse", model + "-nofuse", ["--no-fuse"]))
    flags = shlex.split(args.versus)
    slug = re.sub(r"[^A-Za-z0-9.,+-]+", "_", " ".join(flags)).strip("-_")
    return (("default", model, []), (args.versus, f"{model}-{slug}", flags))


def fuse_bench(args, model):
    variants = []
    for name, dir_name, flags in fuse_trainers(args, model):
        trainer, why = build_trainer(args, model, dir_name, flags)
        if why:
            fail(why)
        variants.append(Variant(name, [str(trainer), "bench"] +
                                common_flags(args)))
    variants.append(Variant("eager", eager_command(args, model)))
    return ModelBench(model, variants)


def torch_capabilities(args, env):
    cmd = [sys.executable, str(EAGER), "--capabilities"]
    out, err, rc, _, timed_out = run_timed(cmd, PROBE_TIMEOUT_S, env)
    try:
        return json.loads(out.strip().splitlines()[-1])
    except (ValueError, IndexError):
        sys.stderr.write(out + err)
        how = "timed out" if timed_out else f"exit {rc}"
        fail(f"could not ask torch what it offers ({how}): {shlex.join(cmd)}")


def rtml_variant(args, model, name, entry):
    """The trainer variant NAME of MODEL from its manifest entry: built here
    by rtmlc, or found in --trainer-dir."""
    precision = name.split("-", 1)[1] if "-" in name else None
    if "unavailable" in entry:
        return Variant(name, reason=f"unavailable: {entry['unavailable']}",
                       precision=precision)
    if args.trainer_dir:
        trainer = args.trainer_dir / entry["name"]
        if not trainer.exists():
            return Variant(name, reason=f"failed: no trainer at {trainer} "
                           "(did its build fail?)", precision=precision)
    else:
        trainer, why = build_trainer(args, model, entry["name"],
                                     entry["rtmlc_flags"])
        if why:
            return Variant(name, reason=f"failed: {why}", precision=precision)
    return Variant(name, [str(trainer), "bench"] + common_flags(args),
                   precision=precision, timeout=args.process_timeout)


def peer_bench(args, manifest, caps, model):
    entry = manifest["models"][model]
    variants = []
    for name in args.variants:
        if name in entry["trainers"]:
            variants.append(rtml_variant(args, model, name,
                                         entry["trainers"][name]))
        elif name in COMPILE_MODES:
            mode = COMPILE_MODES[name]
            if not caps["compile"]:
                variants.append(Variant(
                    name, reason=f"unavailable: torch {caps['torch_release']}"
                    " has no torch.compile", precision="bf16"))
                continue
            budget = args.compile_budget[mode]
            variants.append(Variant(
                name, eager_command(args, model, ["--compile", mode]),
                precision="bf16", timeout=budget + COMPILE_SLACK_S,
                compile_budget=budget))
        else:
            tuned = name == "eager-tuned"
            variants.append(Variant(
                name, eager_command(args, model, ["--tuned"] if tuned else []),
                precision="bf16" if tuned else "fp32",
                timeout=args.process_timeout))
    return ModelBench(model, variants, macs=entry["macs_per_image"])


def run_variant(args, bench, variant, round_index, env, elapsed):
    """Runs variant's process for one round. A failure ends the fusion
    benchmark; in the peer benchmark it ends only the variant, with why."""
    if (variant.compile_budget is not None and not variant.results and
            args.time_budget is not None):
        left = args.time_budget - elapsed
        if variant.compile_budget > left:
            variant.stop(f"skipped: its {variant.compile_budget:.0f} s "
                         f"compile budget does not fit in the {left:.0f} s "
                         "left of --time-budget")
            return
    out, err, rc, wall, timed_out = run_timed(variant.cmd, variant.timeout,
                                              env)
    result = last_json_line(out) if rc == 0 else None
    if result is None:
        if args.benchmark == "fuse":
            sys.stderr.write(out + err)
            fail(f"failed ({rc}): {shlex.join(variant.cmd)}")
        if timed_out and variant.compile_budget is not None:
            variant.stop(f"skipped: compile ran over its "
                         f"{variant.compile_budget:.0f} s budget "
                         f"(--compile-budget; stopped after {wall:.0f} s)")
        else:
            tail = (err.strip().splitlines() or out.strip().splitlines() or
                    ["no output"])[-1]
            how = (f"timed out after {wall:.0f} s" if timed_out else
                   f"exit {rc}" if rc else "no JSON line")
            variant.stop(f"failed: {how}: {tail[:200]}")
        print(f"{bench.model} round {round_index + 1}: {variant.name}: "
              f"{variant.reason}", file=sys.stderr, flush=True)
        return
    variant.results[round_index] = result
    variant.walls[round_index] = wall
    print(f"{bench.model} round {round_index + 1}/{args.rounds}: "
          f"{variant.name} {result['median_ms']:.2f} ms ({wall:.1f} s)",
          file=sys.stderr, flush=True)


def retire_default_twin(bench):
    """After round 1: where the default trainer ran in the precision and
    input layout of one of the --precision trainers (on CUDA the default is
    bf16 NHWC, as rtml-bf16), the later rounds time that one alone."""
    default = bench.variants.get("rtml")
    if default is None or not default.active() or 0 not in default.results:
        return
    ran_as = (default.results[0].get("precision"),
              default.results[0].get("layout"))
    twin = bench.variants.get(f"rtml-{ran_as[0]}")
    if (None in ran_as or twin is None or not twin.active()
            or 0 not in twin.results
            or (twin.results[0].get("precision"),
                twin.results[0].get("layout")) != ran_as):
        return
    default.stop(f"timed in round 1 only: it ran as {twin.name} "
                 f"({ran_as[0]}, {ran_as[1]}), which the later rounds time")
    print(f"{bench.model}: rtml {default.reason}", file=sys.stderr, flush=True)


def run_rounds(args, benches, env):
    start = time.monotonic()
    for round_index in range(args.rounds):
        active = [v for b in benches for v in b.variants.values()
                  if v.active()]
        if round_index and args.time_budget is not None:
            estimate = sum(v.next_round_estimate() for v in active)
            spent = time.monotonic() - start
            if spent + estimate > args.time_budget:
                note = (f"stopped after {round_index} of {args.rounds} rounds:"
                        f" the next (about {estimate:.0f} s) would overrun "
                        f"--time-budget {args.time_budget:.0f} s "
                        f"({spent:.0f} s spent)")
                for bench in benches:
                    bench.notes.append(note)
                print(note, file=sys.stderr, flush=True)
                break
        # The longest compile runs last in a round, every model's other
        # variants first, so that when it exhausts the time budget nothing
        # else goes without its round.
        for last in (False, True):
            for bench in benches:
                for variant in bench.variants.values():
                    if variant.active() and (variant.name in LAST_IN_ROUND
                                             ) == last:
                        run_variant(args, bench, variant, round_index, env,
                                    time.monotonic() - start)
                bench.rounds_done = round_index + 1
        if round_index == 0 and args.rounds > 1:
            for bench in benches:
                retire_default_twin(bench)
    for bench in benches:
        for variant in bench.variants.values():
            if variant.status == "pending":
                variant.status = "ok" if variant.results else "skipped"
                if not variant.results:
                    variant.reason = "skipped: no round ran"
            elif variant.results:
                variant.status = "ok"  # with the reason it stopped early


def ratio(numerator, denominator):
    """numerator's median over denominator's, of the medians and as the
    median of the rounds both ran."""
    a, b = numerator.medians(), denominator.medians()
    paired = [a[r] / b[r] for r in sorted(a) if r in b]
    if not paired:
        return None
    return {"of_medians": numerator.median() / denominator.median(),
            "median_paired": statistics.median(paired), "paired": paired}


def fuse_result(args, bench):
    # The default trainer, the one it is measured against, eager.
    base, other, eager = bench.variants.values()
    ratios = ({"no_fuse_over_fused": ratio(other, base)}
              if args.versus is None else
              {"versus": args.versus, "versus_over_default": ratio(other, base)})
    ratios[f"eager_over_{base.name}"] = ratio(eager, base)
    order = (base, other, eager)
    return {"model": bench.model, "batch": args.batch_size,
            "steps": args.steps, "warmup": args.warmup,
            "threads": args.threads, "rounds": args.rounds,
            "variants": [x.name for x in order],
            "median_ms": {x.name: x.median() for x in order},
            "round_medians_ms": {x.name: [x.results[r]["median_ms"]
                                          for r in sorted(x.results)]
                                 for x in order},
            **ratios,
            "commands": {x.name: shlex.join(x.cmd) for x in order}}


def fuse_report(result):
    model = result["model"]
    base, other, eager = result["variants"]
    width = max(8, len(other))
    print(f"{model}: batch {result['batch']}, {result['threads']} threads, "
          f"{result['rounds']} rounds of {result['steps']} steps "
          f"(+{result['warmup']} warm-up), variants interleaved")
    for variant in result["variants"]:
        rounds = " ".join(f"{ms:.0f}"
                          for ms in result["round_medians_ms"][variant])
        print(f"  {variant:{width}} median "
              f"{result['median_ms'][variant]:9.1f} ms   (rounds: {rounds})")
    other_key = ("versus_over_default" if "versus" in result else
                 "no_fuse_over_fused")
    labels = ((f"{other}/{base}", other_key),
              (f"{eager}/{base}", f"eager_over_{base}"))
    label_width = max(14, max(len(label) for label, _ in labels))
    for label, key in labels:
        ratio = result[key]
        paired = " ".join(f"{r:.3f}" for r in ratio["paired"])
        print(f"  {label:{label_width}} {ratio['of_medians']:.3f} (of the "
              f"medians; median of paired rounds "
              f"{ratio['median_paired']:.3f}: {paired})")
    print("  commands:")
    for variant in result["variants"]:
        print(f"    {variant}: {result['commands'][variant]}")


def card_peaks(args, caps):
    """The peaks of the card the benchmark ran on, --peak-tflops over the
    datasheet's, and where they come from."""
    card = caps.get("cuda_device") if args.device.startswith("cuda") else None
    known = next(((name, peaks) for name, peaks in CARD_PEAK_TFLOPS
                  if card and name.lower() in card.lower()), None)
    if known:
        source = f"{card}: the {known[0]} datasheet's dense peaks"
    else:
        known = (ASSUMED_CARD, dict(CARD_PEAK_TFLOPS)[ASSUMED_CARD])
        source = (f"{card or 'no GPU'}: not a listed card, "
                  f"{ASSUMED_CARD}'s dense peaks assumed")
    given = sorted(args.peak_tflops)
    if given:
        source += f" (--peak-tflops for {', '.join(given)})"
    return {**known[1], **args.peak_tflops}, source


def peer_result(args, bench, caps, env_note):
    flops = bench.macs * 2 * 3 * args.batch_size
    peaks, peak_source = card_peaks(args, caps)
    ran = [v for v in bench.variants.values() if v.results]
    compiled = [v for v in ran if v.name in COMPILE_MODES]
    best_compile = min(compiled, key=Variant.median) if compiled else None
    eager = bench.variants.get("eager")
    eager = eager if eager and eager.results else None
    rows = {}
    for v in bench.variants.values():
        row = {"status": v.status, "reason": v.reason,
               "command": shlex.join(v.cmd) if v.cmd else None}
        if v.results:
            said = [r.get("precision") for r in v.results.values()]
            precision = said[-1] or v.precision or "fp32"
            peak = peaks.get(precision)
            median = v.median()
            floor_ms = flops / (peak * 1e12) * 1e3 if peak else None
            last = v.results[max(v.results)]
            row.update({
                "median_ms": median,
                "images_per_s": args.batch_size / (median / 1e3),
                "round_medians_ms": [v.results[r]["median_ms"]
                                     for r in sorted(v.results)],
                "precision": precision,
                # The default trainer may not say which precision it runs.
                "precision_assumed": said[-1] is None and v.precision is None,
                "floor_ms": floor_ms,
                "of_peak": floor_ms / median if floor_ms else None,
                "speedup_over_best_compile": (ratio(best_compile, v)
                                              if best_compile else None),
                "speedup_over_eager": ratio(eager, v) if eager else None,
                "compile_s": ([v.results[r].get("compile_s")
                               for r in sorted(v.results)]
                              if v.name in COMPILE_MODES else None),
                "sgd": last.get("sgd"),
                "process_s": [v.walls[r] for r in sorted(v.walls)]})
        rows[v.name] = row
    return {"benchmark": "peer", "model": bench.model, "device": args.device,
            "batch": args.batch_size, "steps": args.steps,
            "warmup": args.warmup, "threads": args.threads,
            "rounds": args.rounds, "rounds_done": bench.rounds_done,
            "macs_per_image": bench.macs, "flops_per_step": flops,
            "peak_tflops": peaks, "peak_source": peak_source,
            "best_compile": best_compile.name if best_compile else None,
            "torch": caps, "environment": env_note, "notes": bench.notes,
            "variants": rows}


def speedup_text(ratio_value):
    return f"{ratio_value['median_paired']:.2f}x" if ratio_value else "-"


def peer_report(result):
    r = result
    peaks = ", ".join(f"{p} {r['peak_tflops'][p]:g}" for p in PRECISIONS
                      if p in r["peak_tflops"])
    print(f"{r['model']}: batch {r['batch']} on {r['device']}, "
          f"{r['rounds_done']} of {r['rounds']} rounds of {r['steps']} timed "
          f"steps (+{r['warmup']} warm-up) per process, variants interleaved")
    print(f"  work per step {r['flops_per_step'] / 1e9:.1f} GFLOP (MACs per "
          f"image {r['macs_per_image']:,} x 2 x 3 x batch {r['batch']}); "
          f"floors at peaks of {peaks} TFLOP/s ({r['peak_source']})")
    print(f"  {'variant':21} {'ms/step':>9} {'images/s':>9} "
          f"{'vs compile':>10} {'vs eager':>9}  {'precision':9} "
          f"{'floor ms':>8} {'of peak':>7}")
    for name, v in r["variants"].items():
        if "median_ms" not in v:
            print(f"  {name:21} {v['reason']}")
            continue
        floor = f"{v['floor_ms']:8.3f}" if v["floor_ms"] else f"{'-':>8}"
        of_peak = f"{v['of_peak']:7.1%}" if v["of_peak"] else f"{'-':>7}"
        precision = v["precision"] + ("?" if v["precision_assumed"] else "")
        print(f"  {name:21} {v['median_ms']:9.3f} {v['images_per_s']:9.1f} "
              f"{speedup_text(v['speedup_over_best_compile']):>10} "
              f"{speedup_text(v['speedup_over_eager']):>9}  {precision:9} "
              f"{floor} {of_peak}")
    best = r["best_compile"]
    print(f"  vs X: X's ms/step over this variant's, median of the paired "
          f"rounds (above 1: this one is faster); X = the best torch.compile "
          f"variant ({best or 'none ran'}) or eager")
    if any(v.get("precision_assumed") for v in r["variants"].values()):
        print("  ?: the trainer does not say its precision; fp32 assumed")
    for name, v in r["variants"].items():
        notes = []
        if v.get("compile_s"):
            times = ", ".join(f"{s:.1f}" for s in v["compile_s"]
                              if s is not None)
            notes.append(f"torch.compile took {times} s (by round; the "
                         "later ones from the cache), not in ms/step")
        if v.get("sgd") and name.startswith(("eager-tuned", "compile")):
            notes.append(f"SGD {v['sgd']}")
        if "median_ms" in v and v["reason"]:
            notes.append(f"then {v['reason']}")
        if notes:
            print(f"  {name}: {'; '.join(notes)}")
    for note in r["notes"]:
        print(f"  note: {note}")
    print(f"  commands (environment: {r['environment']}):")
    for name, v in r["variants"].items():
        if v["command"]:
            print(f"    {name}: {v['command']}")


def parse_args(argv):
    p = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0],
        epilog="Defaults depend on the benchmark: fusion (CPU) "
        + ", ".join(f"{k} {v}" for k, v in DEFAULTS["fuse"].items())
        + "; --peer (GPU) "
        + ", ".join(f"{k} {v}" for k, v in DEFAULTS["peer"].items())
        + "; --dry-run "
        + ", ".join(f"{k} {v}" for k, v in DEFAULTS["dry-run"].items()))
    p.add_argument("--peer", action="store_true",
                   help="the GPU peer benchmark: rtml against PyTorch eager, "
                        "tuned and torch.compile")
    p.add_argument("--dry-run", action="store_true",
                   help="the peer benchmark on the CPU, tiny (no CUDA): "
                        "what the test suite runs")
    p.add_argument("--model", nargs="+", choices=FUSE_MODELS + ("zoo",),
                   help="models/NAME.yaml, against bench/reference_models.py "
                        "(the peer benchmark: " + ", ".join(MODELS) +
                        "); zoo: every model of the fusion benchmark")
    p.add_argument("--versus", metavar="FLAGS",
                   help="fusion benchmark: time the trainer rtmlc builds "
                        "with FLAGS (e.g. --versus=--layout=nhwc) against "
                        "the default one, instead of --no-fuse")
    p.add_argument("--variants", nargs="+", choices=PEER_VARIANTS,
                   help="peer benchmark: only these (default: all)")
    p.add_argument("--batch-size", type=positive)
    p.add_argument("--rounds", type=positive)
    p.add_argument("--steps", type=positive, help="timed steps per run")
    p.add_argument("--warmup", type=non_negative)
    p.add_argument("--threads", type=positive)
    p.add_argument("--device", help="peer benchmark: cuda, cuda:N or cpu")
    p.add_argument("--time-budget", type=non_negative_float, metavar="S",
                   help="start no round that would end after S seconds")
    p.add_argument("--compile-budget", metavar="MODE=S[,MODE=S]",
                   type=assignments(tuple(COMPILE_BUDGET_S)), default={},
                   help="seconds torch.compile may take per process, by mode "
                        "(default " + ",".join(
                            f"{k}={v:g}" for k, v in COMPILE_BUDGET_S.items())
                        + ")")
    p.add_argument("--peak-tflops", metavar="PRECISION=T[,...]",
                   type=assignments(PRECISIONS), default={},
                   help="peaks for the compute floor (default: the "
                        "datasheet's for the card torch names, H200's where "
                        "it is not known: " + ",".join(
                            f"{k}={v:g}" for k, v in
                            dict(CARD_PEAK_TFLOPS)[ASSUMED_CARD].items())
                        + ")")
    p.add_argument("--process-timeout", type=non_negative_float, metavar="S",
                   help="peer benchmark: a process not done in S seconds "
                        "fails")
    p.add_argument("--keep-compile-cache", action="store_true",
                   help="keep TorchInductor's cache from an earlier run "
                        "(compile times then are not first compiles)")
    p.add_argument("--rtmlc", type=Path,
                   default=REPO / "build" / "tools" / "rtmlc" / "rtmlc")
    p.add_argument("--out", type=Path, default=REPO / "out" / "step-bench",
                   help="where the trainers are built")
    p.add_argument("--rebuild", action="store_true",
                   help="run rtmlc even if the trainers look up to date")
    p.add_argument("--write-manifest", type=Path, metavar="FILE",
                   help="peer benchmark: write what the GPU machine needs "
                        "from rtmlc (trainers to build, MACs) to FILE, print "
                        "one 'NAME<tab>SPEC<tab>RTMLC FLAGS' line per "
                        "trainer, and stop")
    p.add_argument("--manifest", type=Path, metavar="FILE",
                   help="peer benchmark without rtmlc: the trainers of FILE, "
                        "built into --trainer-dir")
    p.add_argument("--trainer-dir", type=Path, metavar="DIR",
                   help="where the --manifest trainers are (DIR/NAME)")
    p.add_argument("--json", action="store_true",
                   help="one JSON line per model instead")
    p.add_argument("--json-out", type=Path, metavar="FILE",
                   help="also write the JSON lines to FILE")
    args = p.parse_args(argv)

    args.benchmark = ("dry-run" if args.dry_run else
                      "peer" if args.peer else "fuse")
    for key, value in DEFAULTS[args.benchmark].items():
        if getattr(args, key) is None:
            setattr(args, key, value)
    args.compile_budget = {**COMPILE_BUDGET_S, **args.compile_budget}
    if "zoo" in args.model:
        if args.benchmark != "fuse":
            p.error("--model zoo is the fusion benchmark's")
        args.model = list(FUSE_MODELS)
    elif args.benchmark != "fuse":
        others = [m for m in args.model if m not in MODELS]
        if others:
            p.error(f"the peer benchmark has no {', '.join(others)} "
                    f"(it times {', '.join(MODELS)})")
    if args.benchmark == "fuse":
        if args.versus is not None:
            try:
                flags = shlex.split(args.versus)
            except ValueError as e:
                p.error(f"--versus {args.versus!r}: {e}")
            if not flags:
                p.error("--versus needs rtmlc flags, e.g. "
                        "--versus=--layout=nhwc")
        for flag in ("variants", "manifest", "trainer_dir", "write_manifest"):
            if getattr(args, flag):
                p.error(f"--{flag.replace('_', '-')} needs --peer or "
                        "--dry-run")
        if args.device != "cpu":
            p.error("--device needs --peer or --dry-run (the fusion "
                    "benchmark runs on the CPU)")
    elif args.versus is not None:
        p.error("--versus is the fusion benchmark's (no --peer or --dry-run)")
    args.variants = [v for v in PEER_VARIANTS
                     if v in (args.variants or PEER_VARIANTS)]
    if bool(args.manifest) != bool(args.trainer_dir):
        p.error("--manifest and --trainer-dir go together")
    if args.manifest and args.write_manifest:
        p.error("--manifest reads a manifest, --write-manifest writes one")
    if args.dry_run and args.device != "cpu":
        p.error("--dry-run runs on the CPU")
    args.rtmlc = args.rtmlc.resolve()
    args.out = args.out.resolve()
    if args.trainer_dir:
        args.trainer_dir = args.trainer_dir.resolve()
    needs_rtmlc = not args.manifest
    if needs_rtmlc and not args.rtmlc.exists():
        fail(f"no rtmlc at {args.rtmlc} (build it, or pass --rtmlc; on a "
             "machine without rtmlc: --manifest and --trainer-dir)")
    return args


def child_environment(args):
    """The environment of every timed process, and its description."""
    env = dict(os.environ)
    cache = args.out / "compile-cache"
    if args.benchmark != "fuse" and not args.keep_compile_cache:
        shutil.rmtree(cache, ignore_errors=True)
    changes = {"TORCHINDUCTOR_CACHE_DIR": str(cache / "inductor"),
               "TRITON_CACHE_DIR": str(cache / "triton")}
    if args.dry_run:
        changes["CUDA_VISIBLE_DEVICES"] = ""  # the dry run uses no GPU
    if args.benchmark == "fuse":
        changes = {}
    env.update(changes)
    return env, " ".join(f"{k}={shlex.quote(v)}" for k, v in changes.items())


def main(argv=None):
    args = parse_args(argv)
    if args.write_manifest:
        manifest = make_manifest(args)
        args.write_manifest.parent.mkdir(parents=True, exist_ok=True)
        args.write_manifest.write_text(json.dumps(manifest, indent=1) + "\n")
        for model, entry in manifest["models"].items():
            for trainer in entry["trainers"].values():
                if "name" in trainer:
                    print(f"{trainer['name']}\t{entry['spec']}\t"
                          f"{' '.join(trainer['rtmlc_flags'])}")
        return 0

    env, env_note = child_environment(args)
    if args.benchmark == "fuse":
        caps = None
        benches = [fuse_bench(args, model) for model in args.model]
    else:
        manifest = (load_manifest(args.manifest, args.model) if args.manifest
                    else make_manifest(args))
        caps = torch_capabilities(args, env)
        if args.device.startswith("cuda") and not caps["cuda"]:
            fail(f"--device {args.device}, but torch {caps['torch']} "
                 f"({sys.executable}) sees no CUDA device")
        benches = [peer_bench(args, manifest, caps, model)
                   for model in args.model]
    run_rounds(args, benches, env)

    results = [fuse_result(args, b) if args.benchmark == "fuse" else
               peer_result(args, b, caps, env_note) for b in benches]
    if args.json_out:
        args.json_out.parent.mkdir(parents=True, exist_ok=True)
        args.json_out.write_text("".join(json.dumps(r) + "\n"
                                         for r in results))
    for result in results:
        if args.json:
            print(json.dumps(result), flush=True)
        elif args.benchmark == "fuse":
            fuse_report(result)
        else:
            peer_report(result)
    return 0


if __name__ == "__main__":
    sys.exit(main())
