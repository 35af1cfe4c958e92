"""Reference data from the report's PyTorch models, for end-to-end tests.

  torch_reference.py export MODEL DIR [--ordered] [--batch N] [--size S]
      writes DIR/weights.pt (state dict: a plain dict, or with --ordered the
      OrderedDict that model.state_dict() returns), DIR/input.pt (random
      images) and DIR/expected.pt (eval-mode logits)
  torch_reference.py compare EXPECTED ACTUAL --tol T
      fails unless the two saved tensors have the same shape and their
      largest absolute difference is below T
"""
import argparse
import os
import sys

import torch

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "..", "..", "bench"))
from reference_models import MODELS  # noqa: E402


def export(args):
    torch.manual_seed(args.seed)
    model = MODELS[args.model]().eval()
    # Weights of a trained-looking scale, not only the initial ones.
    with torch.no_grad():
        for p in model.parameters():
            p.add_(torch.randn_like(p) * p.std().clamp(min=1e-3) * 0.1)
    x = torch.randn(args.batch, 3, args.size, args.size)
    with torch.no_grad():
        y = model(x)
    state = model.state_dict()
    torch.save(state if args.ordered else dict(state),
               os.path.join(args.dir, "weights.pt"))
    torch.save(x, os.path.join(args.dir, "input.pt"))
    torch.save(y, os.path.join(args.dir, "expected.pt"))


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
    e.set_defaults(run=export)
    c = sub.add_parser("compare")
    c.add_argument("expected")
    c.add_argument("actual")
    c.add_argument("--tol", type=float, required=True)
    c.set_defaults(run=compare)
    args = parser.parse_args()
    args.run(args)


if __name__ == "__main__":
    main()
