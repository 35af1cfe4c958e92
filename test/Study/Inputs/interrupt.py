"""Ctrl-C in the middle of a study: the trainer saves a checkpoint, the study
exits 130 and says how to resume; the same command again resumes the run
(not from scratch) and finishes it.

  interrupt.py OUT -- RTML-STUDY-COMMAND...
"""
import os
import signal
import subprocess
import sys
import time


def fail(message):
    sys.exit(f"interrupt: FAIL: {message}")


def main():
    out = sys.argv[1]
    cmd = sys.argv[sys.argv.index("--") + 1:]
    checkpoint = os.path.join(out, "runs", "long", "checkpoints", "checkpoint.pt")
    # A session of its own: the signal goes to the whole process group, as
    # a terminal's Ctrl-C does.
    study = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                             text=True, start_new_session=True)
    deadline = time.monotonic() + 240
    while not os.path.exists(checkpoint):
        if study.poll() is not None:
            fail(f"the study ended (exit {study.returncode}) before its first checkpoint:\n"
                 + study.stdout.read())
        if time.monotonic() > deadline:
            os.killpg(study.pid, signal.SIGKILL)
            fail("no checkpoint after 240 s")
        time.sleep(0.05)
    os.killpg(study.pid, signal.SIGINT)
    output, _ = study.communicate(timeout=120)
    if study.returncode != 130:
        fail(f"interrupted study exited {study.returncode}, not 130:\n{output}")
    if "Run the same command again to resume" not in output:
        fail(f"no resume hint:\n{output}")
    if os.path.exists(os.path.join(out, "runs", "long", "summary.json")):
        fail("an interrupted run has a summary.json")
    print("interrupted: exit 130, checkpoint kept")

    again = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                           timeout=600)
    if again.returncode != 0:
        fail(f"the resumed study exited {again.returncode}:\n{again.stdout}")
    if "long: resuming from" not in again.stdout:
        fail(f"the second run did not resume:\n{again.stdout}")
    print("resumed: exit 0")
    sys.stdout.write(again.stdout)


if __name__ == "__main__":
    main()
