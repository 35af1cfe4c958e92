"""Writes a CIFAR-10 binary data set as torchvision's ImageFolder layout.

  cifar_to_imagefolder.py CIFAR_DIR OUT_DIR

OUT_DIR/train/<class>/<n>.png from data_batch_*.bin and OUT_DIR/val/... from
test_batch.bin, one PNG (lossless, so the pixels survive) per record.
"""
import glob
import os
import sys

import numpy as np
from PIL import Image


def write_split(files, out):
    records = np.concatenate(
        [np.fromfile(f, dtype=np.uint8).reshape(-1, 3073) for f in files])
    for n, record in enumerate(records):
        folder = os.path.join(out, f"class{record[0]}")
        os.makedirs(folder, exist_ok=True)
        image = record[1:].reshape(3, 32, 32).transpose(1, 2, 0)
        Image.fromarray(image).save(os.path.join(folder, f"{n:05d}.png"))


def main():
    cifar, out = sys.argv[1:]
    write_split(sorted(glob.glob(os.path.join(cifar, "data_batch_*.bin"))),
                os.path.join(out, "train"))
    write_split([os.path.join(cifar, "test_batch.bin")],
                os.path.join(out, "val"))


if __name__ == "__main__":
    main()
