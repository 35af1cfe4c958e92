"""Trains with TRAINER ARGS... in RUN, kills it with SIGKILL as soon as its
first mid-epoch checkpoint exists, resumes it, and checks that it ends with
the weights, momentum and generator states of the uninterrupted run REF, bit
for bit, and with the same losses and accuracies.

  kill_and_resume.py TRAINER REF RUN -- TRAIN-ARGS...
"""
import json
import os
import signal
import subprocess
import sys
import time

import torch


def fail(message):
    sys.exit(f"kill_and_resume: FAIL: {message}")


def main():
    trainer, ref, run = sys.argv[1:4]
    args = sys.argv[sys.argv.index("--") + 1:]
    ckpt = os.path.join(run, "checkpoints", "checkpoint.pt")
    proc = subprocess.Popen([trainer, "train", "--out", run] + args,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.time() + 120
    while not os.path.exists(ckpt):
        if proc.poll() is not None:
            fail(f"the run ended (status {proc.returncode}) before its first checkpoint")
        if time.time() > deadline:
            proc.kill()
            fail("no checkpoint after 120 s")
        time.sleep(0.005)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    if proc.returncode != -signal.SIGKILL:
        fail(f"the run was not killed (status {proc.returncode})")
    state = torch.load(ckpt, weights_only=True)
    print(f"killed; last checkpoint at epoch {state['epoch']} step {state['step']}")
    if os.path.exists(os.path.join(run, "summary.json")):
        fail("a killed run has a summary.json")
    resumed = subprocess.run([trainer, "train", "--resume", run, "--threads", "1",
                              "--no-progress"], capture_output=True, text=True)
    if resumed.returncode != 0:
        fail(f"resume failed ({resumed.returncode}): {resumed.stderr}")
    a = torch.load(os.path.join(ref, "checkpoints", "checkpoint.pt"), weights_only=True)
    b = torch.load(ckpt, weights_only=True)
    for group in ("model_state_dict", "optimizer_state_dict", "rng"):
        if sorted(a[group]) != sorted(b[group]):
            fail(f"{group}: keys differ")
        for key in a[group]:
            if not torch.equal(a[group][key], b[group][key]):
                fail(f"{group}/{key} differs")
    with open(os.path.join(ref, "checkpoints", "last.pt"), "rb") as f, \
            open(os.path.join(run, "checkpoints", "last.pt"), "rb") as g:
        if f.read() != g.read():
            fail("last.pt differs")

    def losses(path):
        with open(os.path.join(path, "metrics.jsonl")) as f:
            return [(r["epoch"], r["phase"], r["loss"], r["accuracy"]) for r in map(json.loads, f)]

    if losses(ref) != losses(run):
        fail(f"metrics differ:\n{losses(ref)}\n{losses(run)}")
    print(f"resumed run matches bit for bit ({len(a['model_state_dict'])} tensors, "
          f"{len(losses(run))} metrics records)")


if __name__ == "__main__":
    main()
