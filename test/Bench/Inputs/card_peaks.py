"""Prints bench/step_bench.py's compute-floor peaks for the card names torch
gives (and for no card), one "NAME: fp32 tf32 bf16 | SOURCE" line each, for
step-bench-card-peaks.test:

    card_peaks.py STEP_BENCH_DIR [--peak-tflops P=T,...] [--device D] NAME...
"""
import argparse
import sys


def main():
    p = argparse.ArgumentParser()
    p.add_argument("bench_dir")
    p.add_argument("cards", nargs="*")
    p.add_argument("--peak-tflops", default="")
    p.add_argument("--device", default="cuda")
    known = p.parse_intermixed_args()
    sys.path.insert(0, known.bench_dir)
    import step_bench

    argv = ["--dry-run", "--rtmlc", sys.executable]
    if known.peak_tflops:
        argv += ["--peak-tflops", known.peak_tflops]
    args = step_bench.parse_args(argv)
    args.device = known.device  # the dry run refuses CUDA; the lookup does not
    for card in known.cards or [None]:
        caps = {"cuda_device": None if card == "none" else card}
        peaks, source = step_bench.card_peaks(args, caps)
        values = " ".join(f"{peaks[k]:g}" for k in ("fp32", "tf32", "bf16"))
        print(f"{card}: {values} | {source}")


if __name__ == "__main__":
    main()
