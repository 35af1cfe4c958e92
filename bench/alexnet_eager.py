#!/usr/bin/python3
"""Eager PyTorch reference for the seed report's AlexNet (with LRN).

Times the same training step as a compiled trainer's `bench` subcommand
(forward, cross-entropy, backward, SGD lr 0.01 momentum 0.9 weight decay 5e-4)
on random 224x224 inputs, and prints the same lines:

    train step: MEAN ms (median M ms, N steps, batch B, device D)
    images/s: X

It can also write the files a predict-equivalence test needs: the model's
state dict as a plain dict (--export-weights), a random input batch
(--save-input) and the eval-mode logits for it (--save-output).

Run it with Debian's Python, which has torch: /usr/bin/python3.
"""
import argparse
import json
import statistics
import sys
import time

import torch
import torch.nn as nn


# One definition of the report's model, shared with the tests.
from reference_models import MODELS, AlexNet  # noqa: E402
from bench_args import non_negative, positive  # noqa: E402


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
    p.add_argument("--json", action="store_true", help="one JSON line")
    p.add_argument("--export-weights", metavar="FILE",
                   help="torch.save(dict(model.state_dict())) at init")
    p.add_argument("--save-input", metavar="FILE",
                   help="a random input [N, 3, S, S] (N = --input-batch)")
    p.add_argument("--save-output", metavar="FILE",
                   help="eval-mode logits of the saved input")
    p.add_argument("--input-batch", type=positive, default=2)
    args = p.parse_args(argv)

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

    opt = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9,
                          weight_decay=5e-4)
    loss_fn = nn.CrossEntropyLoss()
    x = torch.randn(args.batch_size, 3, args.image_size, args.image_size,
                    device=device)
    y = torch.randint(args.num_classes, (args.batch_size,), device=device)

    def sync():
        if device.type == "cuda":
            torch.cuda.synchronize(device)

    model.train()
    times = []
    for i in range(args.warmup + args.steps):
        sync()
        start = time.perf_counter()
        opt.zero_grad()
        out = model(x)
        if isinstance(out, tuple):  # main head, then side heads
            loss = loss_fn(out[0], y) + sum(0.3 * loss_fn(o, y)
                                            for o in out[1:])
        else:
            loss = loss_fn(out, y)
        loss.backward()
        opt.step()
        sync()
        if i >= args.warmup:
            times.append((time.perf_counter() - start) * 1e3)

    mean = statistics.fmean(times)
    median = statistics.median(times)
    images_per_s = args.batch_size / (mean / 1e3)
    if args.json:
        print(json.dumps({"model": args.model + "_eager", "mean_ms": mean,
                          "median_ms": median, "steps": args.steps,
                          "warmup": args.warmup, "batch": args.batch_size,
                          "device": str(device),
                          "threads": torch.get_num_threads(),
                          "images_per_s": images_per_s}))
    else:
        print(f"train step: {mean:.2f} ms (median {median:.2f} ms, "
              f"{args.steps} steps, batch {args.batch_size}, device {device})")
        print(f"images/s: {images_per_s:.1f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
