"""Fails unless RUN/summary.json's final test accuracy is at least MIN.

  check_accuracy.py RUN MIN
"""
import json
import os
import sys

run, least = sys.argv[1], float(sys.argv[2])
with open(os.path.join(run, "summary.json"), encoding="utf-8") as f:
    accuracy = json.load(f)["final_test"]["accuracy"]
print(f"test accuracy {accuracy:.4f} (at least {least})")
if not accuracy >= least:
    sys.exit(f"check_accuracy: FAIL: test accuracy {accuracy} below {least}")
