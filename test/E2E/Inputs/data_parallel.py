"""Data-parallel checks of a compiled trainer, launched as torchrun launches
it (RANK, WORLD_SIZE, LOCAL_RANK, MASTER_ADDR, MASTER_PORT) on loopback.

  data_parallel.py CHECK TRAINER DATA WORKDIR [-- TRAIN-ARGS...]

CHECK is one of:
  same-weights  2 processes with batch 16 each end with the weights and
                metrics of 1 process with batch 32 (within float tolerance),
                launched by hand and by torchrun; only rank 0 writes.
  dead-peer     a process killed with SIGKILL makes the other exit with an
                error long before its --dist-timeout.
  stalled-peer  a process that stops answering (SIGSTOP) makes the other
                exit with an error once --dist-timeout has passed.
  signal-one    SIGTERM to one process stops both at the same step, rank 0
                saves a checkpoint, and the job resumes to the end.
  nan-loss      a diverging run (huge learning rate) stops both processes
                with the same "loss is nan/inf at epoch E step S".
  mismatch      processes started with different flags (the extra
                TRAIN-ARGS go to rank 1 only) end with one clear error
                on every rank.
  torchrun      one job of 2 processes by torchrun, into WORKDIR/run.
  group-of-one  one process launched with WORLD_SIZE=1 and a --dist-backend
                forms its group, runs every collective and ends with the
                weights and metrics of a plain run; without --dist-backend
                it trains alone.
"""
import os
import signal
import socket
import subprocess
import sys
import time

import torch

WORLD = 2


def fail(message):
    sys.exit(f"data_parallel: FAIL: {message}")


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def launch(trainer, args, port, logs, rank_args=None, world=WORLD):
    """Starts the job's WORLD processes; returns them with their output
    files (LOGS.rankN.log). RANK_ARGS: {rank: more arguments for that
    rank}."""
    procs = []
    for rank in range(world):
        more = (rank_args or {}).get(rank, [])
        env = dict(os.environ, RANK=str(rank), WORLD_SIZE=str(world),
                   LOCAL_RANK=str(rank), MASTER_ADDR="127.0.0.1",
                   MASTER_PORT=str(port))
        out = open(f"{logs}.rank{rank}.log", "w+")
        procs.append((subprocess.Popen([trainer, "train"] + args + more,
                                       env=env,
                                       stdout=out, stderr=subprocess.STDOUT),
                      out))
    return procs


def wait_all(procs, limit):
    deadline = time.time() + limit
    for proc, _ in procs:
        try:
            proc.wait(timeout=max(1, deadline - time.time()))
        except subprocess.TimeoutExpired:
            for p, _ in procs:
                p.kill()
            fail(f"the job did not end within {limit} s")
    return [(proc.returncode, read(out)) for proc, out in procs]


def read(out):
    out.seek(0)
    return out.read()


def wait_for_file(path, procs, limit=120):
    deadline = time.time() + limit
    while not os.path.exists(path):
        for proc, out in procs:
            if proc.poll() is not None:
                fail(f"a process ended ({proc.returncode}) before {path} "
                     f"existed: {read(out)}")
        if time.time() > deadline:
            fail(f"no {path} after {limit} s")
        time.sleep(0.01)


def compare_runs(single, parallel, label):
    a = torch.load(f"{single}/checkpoints/last.pt")
    b = torch.load(f"{parallel}/checkpoints/last.pt")
    if sorted(a) != sorted(b):
        fail(f"{label}: different tensors")
    diff = max((a[k].double() - b[k].double()).abs().max().item() for k in a)
    print(f"{label}: max abs weight difference {diff:.3g}")
    if diff > 1e-5:
        fail(f"{label}: weights differ by {diff}")
    import json
    ma = [json.loads(l) for l in open(f"{single}/metrics.jsonl")]
    mb = [json.loads(l) for l in open(f"{parallel}/metrics.jsonl")]
    if len(ma) != len(mb):
        fail(f"{label}: {len(ma)} metric records against {len(mb)}")
    for x, y in zip(ma, mb):
        if (x["phase"], x["epoch"], x["images"]) != (y["phase"], y["epoch"],
                                                     y["images"]):
            fail(f"{label}: records {x} and {y} differ")
        if abs(x["loss"] - y["loss"]) > 1e-5 * abs(x["loss"]) or \
                abs(x["accuracy"] - y["accuracy"]) > 1e-9:
            fail(f"{label}: {x['phase']} epoch {x['epoch']}: loss "
                 f"{x['loss']} acc {x['accuracy']} against loss {y['loss']} "
                 f"acc {y['accuracy']}")
    print(f"{label}: {len(ma)} metric records agree")


def torchrun(trainer, args):
    """`torchrun --standalone --nproc_per_node 2 --no-python TRAINER ...`.
    Debian's torch 1.13 launcher fails under Python 3.11 while mapping its
    --redirects default (an enum comparison); the mapping is replaced with
    the "no redirection" it means, the rest is torchrun itself."""
    launcher = (
        "import sys\n"
        "import torch.distributed.elastic.multiprocessing as mp\n"
        "import torch.distributed.elastic.multiprocessing.api as api\n"
        "mp.to_map = api.to_map = "
        "lambda value, n: {i: api.Std.NONE for i in range(n)}\n"
        "from torch.distributed.run import main\n"
        "sys.argv[0] = 'torchrun'\n"
        "sys.exit(main())\n")
    return subprocess.run(
        [sys.executable, "-c", launcher, "--standalone", "--nproc_per_node",
         str(WORLD), "--no_python", trainer, "train"] + args,
        capture_output=True, text=True, timeout=300)


def same_weights(trainer, data, work, extra):
    common = ["--data", data, "--no-progress", "--threads", "1"] + extra
    single = subprocess.run(
        [trainer, "train", "--out", f"{work}/single", "--batch-size", "32"] +
        common, capture_output=True, text=True)
    if single.returncode != 0:
        fail(f"single process: {single.stderr}")
    procs = launch(trainer, ["--out", f"{work}/pair", "--batch-size", "16"] +
                   common, free_port(), f"{work}/pair")
    (rc0, out0), (rc1, out1) = wait_all(procs, 300)
    if rc0 != 0 or rc1 != 0:
        fail(f"exit statuses {rc0}, {rc1}: {out0} {out1}")
    if "data parallel: 2 processes (gloo), 16 images per process, 32 per " \
       "step" not in out0:
        fail(f"rank 0 did not describe the job: {out0}")
    if out1:
        fail(f"rank 1 printed: {out1}")
    compare_runs(f"{work}/single", f"{work}/pair", "2 processes by hand")
    run = torchrun(trainer, ["--out", f"{work}/torchrun", "--batch-size",
                             "16"] + common)
    if run.returncode != 0:
        fail(f"torchrun: {run.stdout} {run.stderr}")
    compare_runs(f"{work}/single", f"{work}/torchrun", "2 processes by torchrun")


def group_of_one(trainer, data, work, extra):
    common = ["--data", data, "--no-progress", "--threads", "1",
              "--batch-size", "32"] + extra
    single = subprocess.run([trainer, "train", "--out", f"{work}/single"] +
                            common, capture_output=True, text=True)
    if single.returncode != 0:
        fail(f"single process: {single.stderr}")
    for backend, run in ((["--dist-backend", "gloo"], "group"), ([], "alone")):
        procs = launch(trainer, ["--out", f"{work}/{run}"] + backend + common,
                       free_port(), f"{work}/{run}", world=1)
        [(rc, out)] = wait_all(procs, 300)
        if rc != 0:
            fail(f"{run}: exit status {rc}: {out}")
        described = "data parallel: 1 process (gloo), 32 images per process"
        if (described in out) != bool(backend):
            fail(f"{run}: expected {'' if backend else 'no '}'{described}' "
                 f"in: {out}")
        compare_runs(f"{work}/single", f"{work}/{run}",
                     f"WORLD_SIZE=1, {'gloo' if backend else 'no backend'}")


def long_job(trainer, data, work, timeout):
    return launch(trainer, ["--data", data, "--out", f"{work}/long",
                            "--epochs", "1000", "--batch-size", "4",
                            "--checkpoint-every", "1", "--no-progress",
                            "--threads", "1", "--dist-timeout", str(timeout)],
                  free_port(), f"{work}/long")


def peer_failure(trainer, data, work, stop_signal, timeout, limit, expect):
    procs = long_job(trainer, data, work, timeout)
    wait_for_file(f"{work}/long/checkpoints/checkpoint.pt", procs)
    (rank0, out0), (rank1, _) = procs
    rank1.send_signal(stop_signal)
    start = time.time()
    try:
        rank0.wait(timeout=limit)
    except subprocess.TimeoutExpired:
        rank0.kill()
        rank1.kill()
        fail(f"rank 0 still runs {limit} s after rank 1 got signal "
             f"{stop_signal}")
    seconds = time.time() - start
    rank1.kill()
    rank1.wait()
    text = read(out0)
    print(f"rank 0 exited with status {rank0.returncode} {seconds:.1f} s "
          f"after rank 1 got signal {int(stop_signal)}")
    if rank0.returncode != 1:
        fail(f"rank 0 exit status {rank0.returncode}: {text}")
    for line in text.splitlines():
        if line.startswith("rank 0: error: data parallel:"):
            print(line)
            if expect not in line:
                fail(f"expected '{expect}' in: {line}")
            return
    fail(f"rank 0 did not report the failure: {text}")


def signal_one(trainer, data, work):
    procs = long_job(trainer, data, work, 60)
    ckpt = f"{work}/long/checkpoints/checkpoint.pt"
    wait_for_file(ckpt, procs)
    procs[1][0].send_signal(signal.SIGTERM)
    (rc0, out0), (rc1, out1) = wait_all(procs, 60)
    if (rc0, rc1) != (128 + signal.SIGTERM, 128 + signal.SIGTERM):
        fail(f"exit statuses {rc0}, {rc1}: {out0} {out1}")
    if "interrupted by SIGTERM" not in out0 or "saved" not in out0:
        fail(f"rank 0 did not save: {out0}")
    state = torch.load(ckpt)
    print(f"both exited {rc0}; checkpoint at epoch {state['epoch']} step "
          f"{state['step']}")
    procs = launch(trainer, ["--resume", f"{work}/long", "--epochs",
                             str(state["epoch"]), "--no-progress", "--threads",
                             "1"], free_port(), f"{work}/resumed")
    (rc0, out0), (rc1, out1) = wait_all(procs, 120)
    if rc0 != 0 or rc1 != 0:
        fail(f"resume exit statuses {rc0}, {rc1}: {out0} {out1}")
    if not os.path.exists(f"{work}/long/summary.json"):
        fail("the resumed job wrote no summary.json")
    print("resumed with 2 processes to the end")


def nan_loss(trainer, data, work):
    import re
    procs = launch(trainer, ["--data", data, "--out", f"{work}/nan", "--lr",
                             "1e6", "--epochs", "3", "--batch-size", "16",
                             "--no-progress", "--threads", "1"], free_port(),
                   f"{work}/nan")
    results = wait_all(procs, 120)
    stops = []
    for rank, (rc, out) in enumerate(results):
        found = re.search(r"rank %d: error: (loss is (nan|inf) at epoch \d+ "
                          r"step \d+)" % rank, out)
        if rc != 1 or not found:
            fail(f"rank {rank} exit status {rc}: {out}")
        stops.append(found.group(1))
    if stops[0] != stops[1]:
        fail(f"the ranks stopped apart: {stops}")
    print(f"both ranks: {stops[0]}")


def mismatch(trainer, data, work, extra):
    procs = launch(trainer, ["--data", data, "--out", f"{work}/run",
                             "--epochs", "1", "--batch-size", "16",
                             "--no-progress", "--threads", "1"], free_port(),
                   f"{work}/mismatch", {1: extra})
    results = wait_all(procs, 120)
    errors = []
    for rank, (rc, out) in enumerate(results):
        lines = [l for l in out.splitlines()
                 if l.startswith(f"rank {rank}: error: ")]
        if rc != 1 or len(lines) != 1 or "Traceback" in out or \
                "EnforceNotMet" in out:
            fail(f"rank {rank} exit status {rc}: {out}")
        errors.append(lines[0].split(": error: ", 1)[1])
    if errors[0] != errors[1]:
        fail(f"the ranks gave different errors: {errors}")
    print(f"both ranks: {errors[0]}")


def main():
    check, trainer, data, work = sys.argv[1:5]
    extra = sys.argv[sys.argv.index("--") + 1:] if "--" in sys.argv else []
    os.makedirs(work, exist_ok=True)
    if check == "same-weights":
        same_weights(trainer, data, work, extra)
    elif check == "dead-peer":
        # The closed connection is noticed at once, not after the timeout.
        peer_failure(trainer, data, work, signal.SIGKILL, 120, 30,
                     "failed on rank 0")
    elif check == "stalled-peer":
        peer_failure(trainer, data, work, signal.SIGSTOP, 3, 60,
                     "did not answer within 3 s")
    elif check == "signal-one":
        signal_one(trainer, data, work)
    elif check == "nan-loss":
        nan_loss(trainer, data, work)
    elif check == "mismatch":
        mismatch(trainer, data, work, extra)
    elif check == "group-of-one":
        group_of_one(trainer, data, work, extra)
    elif check == "torchrun":  # one job of 2 processes into WORK/run
        run = torchrun(trainer, ["--data", data, "--out", f"{work}/run",
                                 "--no-progress", "--threads", "1"] + extra)
        if run.returncode != 0:
            fail(f"torchrun: {run.stdout} {run.stderr}")
    else:
        fail(f"unknown check {check}")
    print(f"{check}: ok")


if __name__ == "__main__":
    main()
