#!/usr/bin/python3
"""Eager PyTorch reference for the seed report's AlexNet (with LRN), and the
other networks of bench/reference_models.py.

Times the same training step as a compiled trainer's `bench` subcommand
(forward, cross-entropy, backward, SGD lr 0.01 momentum 0.9 weight decay 5e-4)
on random 224x224 inputs, and prints the same lines:

    train step: MEAN ms (median M ms, N steps, batch B, device D)
    images/s: X

or, with --json, the trainer's JSON line with what this script set up added
(variant, precision, channels_last, cudnn_benchmark, sgd, compile_mode,
torch, warmup_ms, compile_s).

--tuned is what a PyTorch user tunes by hand: bf16 autocast, channels_last,
torch.backends.cudnn.benchmark = True and the fused SGD (foreach where this
torch has no fused SGD; "sgd" in the JSON says which). --compile MODE adds
torch.compile(model, mode=MODE) to that; its warm-up is at least
COMPILE_MIN_WARMUP steps, so that no timed step compiles, and compile_s is
the warm-up's time beyond that of as many timed steps. --capabilities prints
what this torch offers as one JSON line and exits.

It can also write the files a predict-equivalence test needs: the model's
state dict as a plain dict (--export-weights), a random input batch
(--save-input) and the eval-mode logits for it (--save-output).

Run it with Debian's Python, which has torch: /usr/bin/python3.
"""
import argparse
import inspect
import json
import statistics
import sys
import time

import torch
import torch.nn as nn


# One definition of the report's model, shared with the tests.
from reference_models import MODELS, AlexNet  # noqa: E402
from bench_args import non_negative, positive  # noqa: E402

COMPILE_MODES = ("default", "max-autotune")
# torch.compile compiles in the first step; CUDA graphs (max-autotune) are
# recorded in the following ones.
COMPILE_MIN_WARMUP = 3


def torch_version():
    """"major.minor" of the installed torch, as people name releases."""
    return ".".join(torch.__version__.split("+")[0].split(".")[:2])


def has_fused_sgd():
    return "fused" in inspect.signature(torch.optim.SGD).parameters


def capabilities():
    return {"torch": torch.__version__, "torch_release": torch_version(),
            "compile": hasattr(torch, "compile"),
            "fused_sgd": has_fused_sgd(),
            "cuda": torch.cuda.is_available(),
            "cuda_device": (torch.cuda.get_device_name(0)
                            if torch.cuda.is_available() else None)}


def make_sgd(params, tuned):
    """The trainer's SGD; tuned: fused where this torch has it for the
    parameters' device, else foreach. Returns (optimizer, kind)."""
    params = list(params)
    settings = dict(lr=0.01, momentum=0.9, weight_decay=5e-4)
    if not tuned:
        return torch.optim.SGD(params, **settings), "default"
    if has_fused_sgd():
        try:
            return torch.optim.SGD(params, fused=True, **settings), "fused"
        except (RuntimeError, ValueError):
            pass  # no fused kernel for this device: foreach below
    return torch.optim.SGD(params, foreach=True, **settings), "foreach"


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--batch-size", type=positive, default=16)
    p.add_argument("--steps", type=non_negative, default=10,
                   help="timed steps (0: only write the requested files)")
    p.add_argument("--warmup", type=non_negative, default=2)
    p.add_argument("--threads", type=positive, help="torch.set_num_threads")
    p.add_argument("--device", default="cpu")
    p.add_argument("--model", default="alexnet", choices=sorted(MODELS),
                   help="another network of bench/reference_models.py; side "
                        "heads add 0.3 x their loss, as the trainer does")
    p.add_argument("--seed", type=non_negative, default=0)
    p.add_argument("--image-size", type=positive, default=224)
    p.add_argument("--num-classes", type=positive, default=10)
    p.add_argument("--no-lrn", action="store_true")
    p.add_argument("--tuned", action="store_true",
                   help="bf16 autocast, channels_last, cudnn.benchmark, "
                        "fused (else foreach) SGD")
    p.add_argument("--compile", choices=COMPILE_MODES, metavar="MODE",
                   help="torch.compile the model with this mode "
                        f"({', '.join(COMPILE_MODES)}); implies --tuned")
    p.add_argument("--capabilities", action="store_true",
                   help="print what this torch offers (JSON) and exit")
    p.add_argument("--json", action="store_true", help="one JSON line")
    p.add_argument("--export-weights", metavar="FILE",
                   help="torch.save(dict(model.state_dict())) at init")
    p.add_argument("--save-input", metavar="FILE",
                   help="a random input [N, 3, S, S] (N = --input-batch)")
    p.add_argument("--save-output", metavar="FILE",
                   help="eval-mode logits of the saved input")
    p.add_argument("--input-batch", type=positive, default=2)
    args = p.parse_args(argv)

    if args.capabilities:
        print(json.dumps(capabilities()), flush=True)
        return 0
    if args.compile and not hasattr(torch, "compile"):
        p.error(f"--compile: torch {torch_version()} has no torch.compile")
    tuned = args.tuned or args.compile is not None
    warmup = args.warmup
    if args.compile:
        warmup = max(warmup, COMPILE_MIN_WARMUP)

    if args.threads:
        torch.set_num_threads(args.threads)
    device = torch.device(args.device)
    torch.manual_seed(args.seed)
    if args.model == "alexnet":
        model = AlexNet(args.num_classes, use_lrn=not args.no_lrn)
    else:
        model = MODELS[args.model](num_classes=args.num_classes)
    model = model.to(device)

    if args.export_weights:
        state = {k: v.detach().cpu() for k, v in model.state_dict().items()}
        torch.save(state, args.export_weights)
    if args.save_input or args.save_output:
        x = torch.randn(args.input_batch, 3, args.image_size, args.image_size)
        if args.save_input:
            torch.save(x, args.save_input)
        if args.save_output:
            model.eval()
            with torch.no_grad():
                torch.save(model(x.to(device)).cpu(), args.save_output)
            model.train()
    if args.steps == 0:
        return 0

    layout = torch.channels_last if tuned else torch.contiguous_format
    if tuned:
        torch.backends.cudnn.benchmark = True
        model = model.to(memory_format=layout)
    opt, sgd_kind = make_sgd(model.parameters(), tuned)
    step_model = model
    if args.compile:
        step_model = torch.compile(
            model, mode=None if args.compile == "default" else args.compile)
    # CUDA graph trees (max-autotune) need to be told where a step begins.
    mark_step = getattr(getattr(torch, "compiler", None),
                        "cudagraph_mark_step_begin", None)
    if args.compile != "max-autotune":
        mark_step = None
    loss_fn = nn.CrossEntropyLoss()
    x = torch.randn(args.batch_size, 3, args.image_size, args.image_size,
                    device=device).contiguous(memory_format=layout)
    y = torch.randint(args.num_classes, (args.batch_size,), device=device)

    def sync():
        if device.type == "cuda":
            torch.cuda.synchronize(device)

    model.train()
    times = []
    for i in range(warmup + args.steps):
        sync()
        start = time.perf_counter()
        if mark_step:
            mark_step()
        opt.zero_grad()
        with torch.autocast(device.type, dtype=torch.bfloat16,
                            enabled=tuned):
            out = step_model(x)
            if isinstance(out, tuple):  # main head, then side heads
                loss = loss_fn(out[0], y) + sum(0.3 * loss_fn(o, y)
                                                for o in out[1:])
            else:
                loss = loss_fn(out, y)
        loss.backward()
        opt.step()
        sync()
        times.append((time.perf_counter() - start) * 1e3)
    warmup_ms, times = times[:warmup], times[warmup:]

    mean = statistics.fmean(times)
    median = statistics.median(times)
    images_per_s = args.batch_size / (mean / 1e3)
    if args.json:
        result = {"model": args.model + "_eager", "mean_ms": mean,
                  "median_ms": median, "steps": args.steps,
                  "warmup": warmup, "batch": args.batch_size,
                  "device": str(device), "threads": torch.get_num_threads(),
                  "images_per_s": images_per_s,
                  "variant": ("compile" + ("" if args.compile == "default"
                                           else "-" + args.compile)
                              if args.compile else
                              "eager-tuned" if tuned else "eager"),
                  "precision": "bf16" if tuned else "fp32",
                  "channels_last": tuned, "cudnn_benchmark": tuned,
                  "sgd": sgd_kind, "compile_mode": args.compile,
                  "torch": torch.__version__, "warmup_ms": warmup_ms}
        if args.compile:
            result["compile_s"] = max(
                0.0, (sum(warmup_ms) - warmup * median) / 1e3)
        print(json.dumps(result))
    else:
        print(f"train step: {mean:.2f} ms (median {median:.2f} ms, "
              f"{args.steps} steps, batch {args.batch_size}, device {device})")
        print(f"images/s: {images_per_s:.1f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
