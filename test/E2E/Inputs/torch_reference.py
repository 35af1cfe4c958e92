"""Reference data from PyTorch models, for end-to-end and zoo tests.

  torch_reference.py export MODEL DIR [--ordered] [--batch N] [--size S]
                     [--seed S] [--transform-input]
      writes DIR/weights.pt (state dict: a plain dict, or with --ordered the
      OrderedDict that model.state_dict() returns), DIR/input.pt (random
      images) and DIR/expected.pt (eval-mode logits, of order one: the main
      classifier is scaled up where they come out small). Weights are moved away
      from their initial values, and batch norm's running statistics away
      from 0 and 1 (from a few training-mode passes, then noise), so that a
      wrong key, layout or formula shows in the output.
  torch_reference.py compare EXPECTED ACTUAL --tol T
      fails unless the two saved tensors have the same shape and their
      largest absolute difference is below T
  torch_reference.py params MODEL
      prints `Total params: N` (N with thousands separators), the count of
      the PyTorch model's parameters (sum of numel, as the report counts)
  torch_reference.py step-data MODEL DIR [--batch N] [--seed S]
                     [--format cifar|idx]
      writes DIR/data/ (a data set whose training set is N random images,
      one batch: CIFAR-10 binary, 3x32x32, or with --format idx an
      uncompressed MNIST-style IDX set, 1x28x28) and DIR/w0.pt (initial
      weights as `export` makes them)
  torch_reference.py step-check MODEL DIR RUN --lr X --momentum X
                     --weight-decay X --size S --mean M,... --std S,...
                     [--head-weights W,W] [--rtol R]
      does in PyTorch the one training step the trainer took on DIR/data
      from DIR/w0.pt (pixels / 255, bilinear resize to S, normalize; train
      mode with dropout off; loss = main + sum of weighted side heads;
      torch.optim.SGD), in float32 and in float64, and compares
      RUN/checkpoints/last.pt entry by entry with the float64 result: each
      update must be within RTOL of its largest element or within 4 times
      PyTorch float32's own error (but for at most 1% of the elements of a
      tensor of 100 or more, if its relative L2 error is under 5%); batch norm buffers within 4 times
      PyTorch float32's error or ATOL; counters equal. The train loss and
      each head's loss in RUN/metrics.jsonl must be within RTOL of PyTorch's
"""
import argparse
import json
import os
import sys

import torch
import torch.nn as nn
import torch.nn.functional as F

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "..", "..", "bench"))
from reference_models import MODELS  # noqa: E402


def build(name, args=None):
    kwargs = {}
    if args is not None and getattr(args, "transform_input", False):
        kwargs["transform_input"] = True
    return MODELS[name](**kwargs)


def perturb_params(model):
    """Weights of a trained-looking scale, not only the initial ones."""
    with torch.no_grad():
        for p in model.parameters():
            p.add_(torch.randn_like(p) * p.std().clamp(min=1e-3) * 0.1)


def perturb_buffers(model, seed, size):
    """Batch norm's scale and shift away from 1 and 0, running statistics
    from two training-mode passes plus noise, a counter of 7."""
    bns = [m for m in model.modules() if isinstance(m, nn.BatchNorm2d)]
    if not bns:
        return
    gen = torch.Generator().manual_seed(seed + 1000)
    with torch.no_grad():
        for m in bns:
            m.weight.copy_(1 + 0.2 * torch.randn(m.weight.shape, generator=gen))
            m.bias.copy_(0.1 * torch.randn(m.bias.shape, generator=gen))
        model.train()
        for _ in range(2):
            model(torch.randn(2, 3, size, size, generator=gen))
        for m in bns:
            m.running_mean.add_(0.05 * torch.randn(m.running_mean.shape, generator=gen))
            m.running_var.mul_(1 + 0.2 * torch.rand(m.running_var.shape, generator=gen))
            m.num_batches_tracked.fill_(7)
    model.eval()


def export(args):
    torch.manual_seed(args.seed)
    model = build(args.model, args).eval()
    perturb_params(model)
    # Three channels unless the model says otherwise (LeNet-5: one).
    x = torch.randn(args.batch, getattr(model, "in_channels", 3), args.size,
                    args.size)
    # Batch norm after the input is drawn: the models without batch norm
    # keep the data they always had.
    perturb_buffers(model, args.seed, args.size)
    model_x = x
    if args.transform_input:
        # x holds images normalized with mean 0.5 and std 0.5 (what the
        # trainer gets); torchvision's pretrained set-up sees the same
        # pixels normalized with ImageNet's statistics, then transformed.
        mean = torch.tensor([0.485, 0.456, 0.406]).view(1, 3, 1, 1)
        std = torch.tensor([0.229, 0.224, 0.225]).view(1, 3, 1, 1)
        model_x = (x * 0.5 + 0.5 - mean) / std
    with torch.no_grad():
        y = model(model_x)
        # Logits of order one, so that an absolute tolerance means
        # something: scale the main classifier (the last nn.Linear outside
        # the side heads) where they come out small.
        peak = y.abs().max().item()
        if 0 < peak < 1:
            fc = [m for n, m in model.named_modules()
                  if isinstance(m, nn.Linear) and not n.startswith("aux")][-1]
            fc.weight.mul_(4 / peak)
            fc.bias.mul_(4 / peak)
            y = model(model_x)
    state = model.state_dict()
    torch.save(state if args.ordered else dict(state),
               os.path.join(args.dir, "weights.pt"))
    torch.save(x, os.path.join(args.dir, "input.pt"))
    torch.save(y, os.path.join(args.dir, "expected.pt"))
    print(f"{args.model}: output {tuple(y.shape)}, max |logit| "
          f"{y.abs().max().item():.3g}")


def compare(args):
    expected = torch.load(args.expected)
    actual = torch.load(args.actual)
    if expected.shape != actual.shape:
        sys.exit(f"shape mismatch: expected {tuple(expected.shape)}, "
                 f"got {tuple(actual.shape)}")
    diff = (expected - actual).abs().max().item()
    print(f"max abs difference {diff:.3g} (tolerance {args.tol:g})")
    if not diff < args.tol:
        sys.exit(1)


def params(args):
    n = sum(p.numel() for p in build(args.model).parameters())
    print(f"Total params: {n:,}")


def write_cifar(path, images, labels):
    """CIFAR-10 binary records: label byte, then 3072 bytes R, G, B planes."""
    with open(path, "wb") as f:
        for img, label in zip(images, labels):
            f.write(bytes([int(label)]))
            f.write(img.contiguous().numpy().tobytes())


def write_idx(path, array):
    """An IDX file of unsigned bytes: 00 00 08 RANK, big-endian dimensions,
    then the elements."""
    with open(path, "wb") as f:
        f.write(bytes([0, 0, 0x08, array.dim()]))
        for d in array.shape:
            f.write(int(d).to_bytes(4, "big"))
        f.write(array.contiguous().numpy().tobytes())


def step_data(args):
    torch.manual_seed(args.seed)
    model = build(args.model)
    perturb_params(model)
    perturb_buffers(model, args.seed, 224)
    torch.save(model.state_dict(), os.path.join(args.dir, "w0.pt"))
    data = os.path.join(args.dir, "data")
    os.makedirs(data, exist_ok=True)
    gen = torch.Generator().manual_seed(args.seed + 1)
    channels, side = (1, 28) if args.format == "idx" else (3, 32)
    images = torch.randint(0, 256, (args.batch, channels, side, side),
                           generator=gen, dtype=torch.uint8)
    labels = torch.randint(0, 10, (args.batch,), generator=gen)
    if args.format == "idx":
        # The test split repeats the training one, as test_batch does below.
        for split in ("train", "t10k"):
            write_idx(os.path.join(data, f"{split}-images-idx3-ubyte"),
                      images[:, 0].to(torch.uint8))
            write_idx(os.path.join(data, f"{split}-labels-idx1-ubyte"),
                      labels.to(torch.uint8))
    else:
        write_cifar(os.path.join(data, "data_batch_1.bin"), images, labels)
        write_cifar(os.path.join(data, "test_batch.bin"), images, labels)
    torch.save({"images": images, "labels": labels},
               os.path.join(args.dir, "batch.pt"))


def floats(text):
    return [float(v) for v in text.split(",")]


def one_step(args, w0, batch, dtype):
    """PyTorch's training step from W0 on BATCH, in DTYPE: (model, losses,
    total loss, state dict after the step)."""
    torch.manual_seed(0)
    model = build(args.model)
    model.load_state_dict(w0)
    model = model.to(dtype)
    for m in model.modules():
        if isinstance(m, nn.Dropout):
            m.p = 0.0
    # The trainer's pipeline: ToTensor, Resize (bilinear, no corner
    # alignment), Normalize.
    x = batch["images"].to(dtype).div(255.0)
    x = F.interpolate(x, size=(args.size, args.size), mode="bilinear",
                      align_corners=False)
    mean = torch.tensor(floats(args.mean), dtype=dtype).view(1, -1, 1, 1)
    std = torch.tensor(floats(args.std), dtype=dtype).view(1, -1, 1, 1)
    x = (x - mean) / std
    y = batch["labels"]
    model.train()
    opt = torch.optim.SGD(model.parameters(), lr=args.lr,
                          momentum=args.momentum,
                          weight_decay=args.weight_decay)
    opt.zero_grad()
    # Side heads in the order the zoo files list them: aux1, aux2 (taken
    # from the modules themselves: torchvision's GoogLeNetOutputs names
    # them in an order of its own).
    side = {}
    for head in ("aux1", "aux2"):
        module = getattr(model, head, None)
        if module is not None:
            module.register_forward_hook(
                lambda mod, inp, output, head=head: side.update({head: output}))
    out = model(x)
    main_out = out if isinstance(out, torch.Tensor) else out[0]
    out = [main_out] + [side[h] for h in ("aux1", "aux2") if h in side]
    weights = [1.0] + (floats(args.head_weights) if args.head_weights else [])
    if len(weights) != len(out):
        sys.exit(f"{len(out)} heads, {len(weights)} loss weights")
    losses = [F.cross_entropy(o, y) for o in out]
    loss = sum(w * l for w, l in zip(weights, losses))
    loss.backward()
    opt.step()
    return model, [l.item() for l in losses], loss.item(), model.state_dict()


def step_check(args):
    w0 = torch.load(os.path.join(args.dir, "w0.pt"))
    batch = torch.load(os.path.join(args.dir, "batch.pt"))
    model, losses, loss, expected = one_step(args, w0, batch, torch.float32)
    # The same step in float64 is the exact answer; PyTorch's own float32
    # error against it says how well float32 can resolve each update (batch
    # norm before a global average pool cancels most of a gradient, and a
    # max pool between near-equal values routes it either way).
    _, _, _, exact = one_step(args, w0, batch, torch.float64)
    actual = torch.load(os.path.join(args.run_dir, "checkpoints", "last.pt"))
    missing = sorted(set(expected) - set(actual))
    extra = sorted(set(actual) - set(expected))
    if missing or extra:
        sys.exit(f"keys differ: missing {missing[:5]}, unexpected {extra[:5]}")
    trainable = {n for n, _ in model.named_parameters()}
    worst = (0.0, "")      # rtml vs PyTorch float32, relative to the update
    worst_ratio = (0.0, "")  # rtml's error / PyTorch float32's error
    worst_abs, failures, outliers = 0.0, [], []
    for name, e in expected.items():
        a = actual[name]
        if a.shape != e.shape or a.dtype != e.dtype:
            failures.append(f"{name}: {a.dtype}{tuple(a.shape)} != "
                            f"{e.dtype}{tuple(e.shape)}")
            continue
        if not e.is_floating_point():
            if not torch.equal(a, e):
                failures.append(f"{name}: {a.tolist()} != {e.tolist()}")
            continue
        a64, e64, x64 = a.double(), e.double(), exact[name].double()
        worst_abs = max(worst_abs, (a64 - e64).abs().max().item())
        if name not in trainable:
            err = (a64 - x64).abs().max().item()
            bound = max(args.atol, 4 * (e64 - x64).abs().max().item())
            if err > bound:
                failures.append(f"{name}: max abs difference {err:.3g} "
                                f"(bound {bound:.3g})")
            continue
        w = w0[name].double()
        update = (x64 - w).abs().max().item()
        if update == 0:
            failures.append(f"{name}: the step leaves it unchanged")
            continue
        # float32 rounding of the weights themselves bounds how well a small
        # update can be resolved.
        floor = 2 * torch.finfo(torch.float32).eps * x64.abs().max().item()
        rel = max((a64 - e64).abs().max().item() - floor, 0.0) / update
        err = (a64 - x64).abs().max().item()
        err32 = (e64 - x64).abs().max().item()
        if rel > worst[0]:
            worst = (rel, name)
        if err32 > 0 and err / err32 > worst_ratio[0]:
            worst_ratio = (err / err32, name)
        bound = max(args.rtol * update + floor, 4 * err32)
        if err > bound:
            # A ReLU or a max pool that a float32 rounding tips the other
            # way moves a few elements by a whole term: at most 1% of the
            # elements may, while the update as a whole stays within 5%.
            off = ((a64 - x64).abs() > bound).double().mean().item()
            l2 = ((a64 - x64).norm() / (x64 - w).norm()).item()
            if a.numel() < 100 or off > 0.01 or l2 > 0.05:
                failures.append(f"{name}: update off by {err:.3g} (largest "
                                f"element {update:.3g}, PyTorch float32 off "
                                f"by {err32:.3g}; {off:.2%} of the elements, "
                                f"relative L2 error {l2:.2g})")
            else:
                outliers.append(f"{name} ({off:.2%}, L2 {l2:.2g})")

    with open(os.path.join(args.run_dir, "metrics.jsonl")) as f:
        records = [json.loads(line) for line in f if line.strip()]
    train = [r for r in records if r["phase"] == "train"]
    n = batch["labels"].numel()
    if len(train) != 1 or train[0]["images"] != n:
        sys.exit(f"expected one training epoch of {n} images, got "
                 f"{[(r['epoch'], r['images']) for r in train]}")
    rtml_loss = train[0]["loss"]
    loss_rel = abs(rtml_loss - loss) / abs(loss)
    if loss_rel > args.rtol:
        failures.append(f"train loss {rtml_loss} != PyTorch's {loss}")
    heads = train[0].get("heads", {})
    if len(losses) > 1:
        names = list(heads)
        if len(names) != len(losses):
            failures.append(f"metrics name heads {names}, PyTorch has "
                            f"{len(losses)}")
        for name, l in zip(names, losses):
            got = heads[name]["loss"]
            if abs(got - l) > args.rtol * abs(l):
                failures.append(f"head {name} loss {got} != PyTorch's {l}")
    print(f"{args.model}: {len(expected)} tensors, {len(losses)} heads; "
          f"train loss {rtml_loss:.7g} vs PyTorch {loss:.7g} (relative "
          f"difference {loss_rel:.2g}); updates vs PyTorch float32: largest "
          f"difference {worst[0]:.2g} of the update ({worst[1] or '-'}); vs "
          f"float64: at most {worst_ratio[0]:.2g} x PyTorch float32's error "
          f"({worst_ratio[1] or '-'}); max abs weight difference "
          f"{worst_abs:.3g}")
    if outliers:
        print("tipped elements in " + ", ".join(outliers))
    if failures:
        sys.exit("step-check failed:\n  " + "\n  ".join(failures[:20]))

def main():
    parser = argparse.ArgumentParser()
    sub = parser.add_subparsers(dest="command", required=True)
    e = sub.add_parser("export")
    e.add_argument("model", choices=sorted(MODELS))
    e.add_argument("dir")
    e.add_argument("--ordered", action="store_true")
    e.add_argument("--batch", type=int, default=4)
    e.add_argument("--size", type=int, default=224)
    e.add_argument("--seed", type=int, default=0)
    e.add_argument("--transform-input", action="store_true",
                   help="torchvision_googlenet with transform_input=True, "
                        "fed the same pixels normalized with ImageNet's "
                        "mean and std")
    e.set_defaults(run=export)
    c = sub.add_parser("compare")
    c.add_argument("expected")
    c.add_argument("actual")
    c.add_argument("--tol", type=float, required=True)
    c.set_defaults(run=compare)
    p = sub.add_parser("params")
    p.add_argument("model", choices=sorted(MODELS))
    p.set_defaults(run=params)
    d = sub.add_parser("step-data")
    d.add_argument("model", choices=sorted(MODELS))
    d.add_argument("dir")
    d.add_argument("--batch", type=int, default=2)
    d.add_argument("--seed", type=int, default=0)
    d.add_argument("--format", choices=("cifar", "idx"), default="cifar")
    d.set_defaults(run=step_data)
    k = sub.add_parser("step-check")
    k.add_argument("model", choices=sorted(MODELS))
    k.add_argument("dir")
    k.add_argument("run_dir", metavar="RUN")
    k.add_argument("--lr", type=float, required=True)
    k.add_argument("--momentum", type=float, required=True)
    k.add_argument("--weight-decay", type=float, required=True)
    k.add_argument("--size", type=int, required=True)
    k.add_argument("--mean", required=True)
    k.add_argument("--std", required=True)
    k.add_argument("--head-weights", default="")
    k.add_argument("--rtol", type=float, default=1e-4)
    k.add_argument("--atol", type=float, default=1e-5)
    k.set_defaults(run=step_check)
    args = parser.parse_args()
    args.run(args)


if __name__ == "__main__":
    main()
