"""Runs a shell block of README.md as written: the fenced ```sh block that
contains MARKER, with `trainer` set to TRAINER and `data` a data set, in a
fresh folder.

  readme_block.py README.md MARKER TRAINER DATA WORKDIR [--port-free]
                  [--needs-torchrun2]

--port-free replaces MASTER_PORT=29500 by a free port, so that parallel
tests cannot collide; nothing else of the lines changes. --needs-torchrun2
skips (prints "skipped", exit 0) where `torchrun` is not PyTorch 2.x's.
"""
import os
import re
import shutil
import socket
import subprocess
import sys


def sh_blocks(text):
    return re.findall(r"^```sh\n(.*?)^```", text, flags=re.S | re.M)


def torchrun_major():
    torchrun = shutil.which("torchrun")
    if not torchrun:
        return None
    with open(torchrun, encoding="utf-8", errors="replace") as f:
        head = f.readline().strip()
    python = head[2:].split()[0] if head.startswith("#!") else sys.executable
    r = subprocess.run([python, "-c", "import torch; print(torch.__version__)"],
                       capture_output=True, text=True)
    return int(r.stdout.split(".")[0]) if r.returncode == 0 else None


def main():
    readme, marker, trainer, data, work = sys.argv[1:6]
    flags = sys.argv[6:]
    blocks = [b for b in sh_blocks(open(readme, encoding="utf-8").read()) if marker in b]
    if len(blocks) != 1:
        sys.exit(f"readme_block: FAIL: {len(blocks)} sh blocks of {readme} contain {marker!r}")
    block = blocks[0]
    if "--needs-torchrun2" in flags:
        major = torchrun_major()
        if major is None or major < 2:
            print(f"skipped: torchrun is not PyTorch 2.x's here (torch {major}.x)")
            return
    if "--port-free" in flags:
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        block = block.replace("MASTER_PORT=29500", f"MASTER_PORT={port}")
    os.makedirs(work, exist_ok=True)
    os.symlink(os.path.abspath(data), os.path.join(work, "data"))
    env = dict(os.environ, trainer=os.path.abspath(trainer))
    print(block, end="")
    r = subprocess.run(["bash", "-e", "-c", block], cwd=work, env=env, timeout=600)
    if r.returncode != 0:
        sys.exit(f"readme_block: FAIL: the block exited {r.returncode}")
    print("block ok")


if __name__ == "__main__":
    main()
