"""Compiles every complete model in spec/FORMAT.md with rtmlc --emit=summary.

A complete model is a ```yaml block that starts with `format:` or `name:`.
Prints one line per example: `ok NAME: Total params: N`, or `FAIL` with
rtmlc's output; exits 1 when any fails.
"""
import os
import re
import subprocess
import sys

doc, out = sys.argv[1], sys.argv[2]
text = open(doc).read()
failed = False
for i, block in enumerate(re.findall(r"```yaml\n(.*?)```", text, re.S)):
    if not (block.startswith("format:") or block.startswith("name:")):
        continue
    name = re.search(r"^name: (\S+)", block, re.M).group(1)
    path = os.path.join(out, "%02d-%s.yaml" % (i, name))
    with open(path, "w") as f:
        f.write(block)
    r = subprocess.run(["rtmlc", path, "--emit=summary"], capture_output=True,
                       text=True)
    total = [l for l in r.stdout.splitlines() if l.startswith("Total params:")]
    if r.returncode != 0 or not total:
        failed = True
        print("FAIL %s\n%s%s" % (name, r.stdout, r.stderr))
    else:
        print("ok %s: %s" % (name, total[0]))
sys.exit(1 if failed else 0)
