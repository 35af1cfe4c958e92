"""Compares the weights and momentum buffers of training runs, bit for bit.

usage: compare_checkpoints.py REFERENCE RUN...

Prints, for each RUN, "NAME: same as REFERENCE" or the tensors that differ,
and last the element types of the reference's saved weights. Exits 1 if
any RUN differs.
"""
import os
import sys

import torch


def state(run):
    c = torch.load(os.path.join(run, "checkpoints", "checkpoint.pt"))
    return {**c["model_state_dict"], **c["optimizer_state_dict"]}


def main():
    reference, runs = sys.argv[1], sys.argv[2:]
    want = state(reference)
    ok = True
    for run in runs:
        got = state(run)
        differ = sorted(k for k in set(want) | set(got)
                        if k not in want or k not in got
                        or not torch.equal(want[k], got[k]))
        name, ref = os.path.basename(run), os.path.basename(reference)
        if differ:
            ok = False
            print(f"{name}: differs from {ref} in {len(differ)} tensors, "
                  f"e.g. {differ[:3]}")
        else:
            print(f"{name}: same as {ref}")
    weights = torch.load(os.path.join(reference, "checkpoints", "last.pt"))
    print("dtypes:", " ".join(sorted({str(t.dtype).replace("torch.", "")
                                      for t in weights.values()})))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
