"""Argument types the Python benchmarks share (no torch import, so the
step benchmark's driver stays light)."""
import argparse


def positive(text):
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError("must be at least 1")
    return value


def non_negative(text):
    value = int(text)
    if value < 0:
        raise argparse.ArgumentTypeError("must be at least 0")
    return value


def non_negative_float(text):
    value = float(text)
    if not value >= 0:
        raise argparse.ArgumentTypeError("must be a number at least 0")
    return value


def assignments(keys, value_type=non_negative_float):
    """An argument type for "KEY=VALUE[,KEY=VALUE...]" with KEY one of keys;
    it returns {KEY: value_type(VALUE)} of the keys given."""

    def parse(text):
        result = {}
        for item in text.split(","):
            key, sep, value = item.partition("=")
            if not sep or key not in keys:
                raise argparse.ArgumentTypeError(
                    f"'{item}' is not KEY=VALUE with KEY one of "
                    f"{', '.join(keys)}")
            try:
                result[key] = value_type(value)
            except (ValueError, argparse.ArgumentTypeError) as e:
                raise argparse.ArgumentTypeError(f"{key}: {value!r}: {e}")
        return result

    return parse
