#!/usr/bin/python3
"""rtml-study: compile, train and compare the runs a study file declares.

  rtml-study STUDY.yaml [-o OUT] [--data DIR] [--check] [--rtmlc PATH]

A study file (studies/FORMAT.md) names a set of runs: a model file with its
`--set` overrides, training settings, the weights to start from, the data and
the validation split. rtml-study then

  1. checks the whole file first (errors read FILE:LINE:COL: error: ...);
  2. compiles every distinct model + overrides once (rtmlc) into OUT/models/;
  3. trains every run into OUT/runs/NAME: a finished run (summary.json with
     the test result) is skipped, an interrupted one (a checkpoint) resumes
     with `train --resume`, anything else starts fresh;
  4. writes, through rtml-report, OUT/report.md, report.csv, report.html and
     the figure OUT/model_comparison.png, and prints the table.

Ctrl-C stops the trainer, which saves a checkpoint; running the same command
again continues. Exit status: 0 ok, 1 a bad study file or a failed run, 2 a
usage error, 130 interrupted.
"""
import argparse
import difflib
import hashlib
import importlib.machinery
import importlib.util
import json
import os
import re
import shutil
import signal
import subprocess
import sys

try:
    import yaml
except ImportError:
    sys.exit("rtml-study: error: needs PyYAML (apt-get install python3-yaml; "
             "scripts/setup.sh installs it)")


class StudyError(Exception):
    """An error in the study file, at a node's position when there is one."""

    def __init__(self, message, node=None, hint=None):
        super().__init__(message)
        self.node = node
        self.hint = hint


def suggest(word, candidates):
    close = difflib.get_close_matches(word, list(candidates), n=1, cutoff=0.6)
    return f"; did you mean '{close[0]}'?" if close else ""


def describe(node):
    if isinstance(node, yaml.MappingNode):
        return "a mapping"
    if isinstance(node, yaml.SequenceNode):
        return "a list"
    return f"'{node.value}'"


# --- the study file's schema --------------------------------------------------

# Training settings: study key -> (trainer flag, kind). Bool settings are
# flags without a value (true: given, false: left out).
TRAIN_SETTINGS = {
    "epochs": ("--epochs", int),
    "batch_size": ("--batch-size", int),
    "lr": ("--lr", float),
    "momentum": ("--momentum", float),
    "nesterov": ("--nesterov", bool),
    "weight_decay": ("--weight-decay", float),
    "lr_schedule": ("--lr-schedule", ("constant", "step", "cosine")),
    "lr_step": ("--lr-step", int),
    "lr_gamma": ("--lr-gamma", float),
    "lr_min": ("--lr-min", float),
    "seed": ("--seed", int),
    "split_seed": ("--split-seed", int),
    "device": ("--device", str),
    "devices": ("--devices", str),
    "serial_devices": ("--serial-devices", bool),
    "strict_weights": ("--strict-weights", bool),
    "allow_missing": ("--allow-missing", bool),
    "checkpoint_every": ("--checkpoint-every", int),
    "max_steps": ("--max-steps", int),
    "limit_train": ("--limit-train", int),
    "limit_test": ("--limit-test", int),
    "threads": ("--threads", int),
    "args": (None, list),
}
# What `train --resume` still accepts (it keeps the run's other settings).
RESUME_SETTINGS = ("epochs", "device", "devices", "threads")

STUDY_KEYS = ("format", "name", "title", "data", "val", "train", "runs")
RUN_KEYS = ("name", "model", "set", "precision", "train", "weights",
            "weights_command", "data", "val")
# rtmlc --precision's modes (rtml::Precision, lib/include/rtml/Support/TrainSettings.h).
PRECISIONS = ("auto", "fp32", "tf32", "bf16")
NAME_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")


class Reader:
    """Turns composed YAML nodes into values, with located errors."""

    def __init__(self, path):
        self.path = path
        self.base = os.path.dirname(os.path.abspath(path))
        self.constructor = yaml.SafeLoader("")

    def scalar(self, node, key):
        if not isinstance(node, yaml.ScalarNode):
            raise StudyError(f"key '{key}' expects a scalar, got {describe(node)}", node)
        return self.constructor.construct_object(node)

    def mapping(self, node, owner, allowed):
        """The entries of a mapping node as {key: (key node, value node)}."""
        if not isinstance(node, yaml.MappingNode):
            raise StudyError(f"{owner} expects a mapping, got {describe(node)}", node)
        entries = {}
        for key_node, value_node in node.value:
            if not isinstance(key_node, yaml.ScalarNode):
                raise StudyError(f"{owner}: keys are names", key_node)
            key = key_node.value
            if key in entries:
                raise StudyError(f"duplicate key '{key}' in {owner}", key_node)
            if allowed is not None and key not in allowed:
                raise StudyError(f"unknown key '{key}' in {owner}" + suggest(key, allowed),
                                 key_node)
            entries[key] = (key_node, value_node)
        return entries

    def typed(self, node, key, kind):
        value = self.scalar(node, key)
        if kind is bool:
            if not isinstance(value, bool):
                raise StudyError(f"key '{key}' expects true or false, got {describe(node)}", node)
        elif kind is int:
            if not isinstance(value, int) or isinstance(value, bool) or value < 0:
                raise StudyError(f"key '{key}' expects an integer >= 0, got {describe(node)}", node)
        elif kind is float:
            if not isinstance(value, (int, float)) or isinstance(value, bool):
                raise StudyError(f"key '{key}' expects a number, got {describe(node)}", node)
        elif kind is str:
            if value is None or isinstance(value, (bool, dict, list)):
                raise StudyError(f"key '{key}' expects a string, got {describe(node)}", node)
            value = str(value)
        elif isinstance(kind, tuple):
            if value not in kind:
                raise StudyError(f"key '{key}' expects one of {', '.join(kind)}, got "
                                 f"{describe(node)}" + suggest(str(value), kind), node)
        return value

    def file_path(self, node, key):
        value = self.typed(node, key, str)
        return os.path.normpath(os.path.join(self.base, os.path.expanduser(value)))

    def train(self, node, owner):
        settings = {}
        for key, (_, value_node) in self.mapping(node, f"'train' of {owner}",
                                                 TRAIN_SETTINGS).items():
            kind = TRAIN_SETTINGS[key][1]
            if kind is list:
                if not isinstance(value_node, yaml.SequenceNode) or not all(
                        isinstance(n, yaml.ScalarNode) for n in value_node.value):
                    raise StudyError("key 'args' expects a list of trainer arguments, "
                                     f"got {describe(value_node)}", value_node)
                settings[key] = (value_node, [n.value for n in value_node.value])
            else:
                settings[key] = (value_node, self.typed(value_node, key, kind))
        return settings

    def overrides(self, node, owner):
        """`set:` as rtmlc's NAME=VALUE arguments, values spelled as written."""
        out = {}
        for key, (key_node, value_node) in self.mapping(node, f"'set' of {owner}", None).items():
            if not re.match(r"^[A-Za-z_][A-Za-z0-9_]*$", key):
                raise StudyError(f"invalid parameter name '{key}' in 'set' of {owner}", key_node)
            if isinstance(value_node, yaml.ScalarNode):
                out[key] = value_node.value
            elif isinstance(value_node, yaml.SequenceNode) and all(
                    isinstance(n, yaml.ScalarNode) for n in value_node.value):
                out[key] = "[" + ",".join(n.value for n in value_node.value) + "]"
            else:
                raise StudyError(f"parameter '{key}' expects a scalar or a list of scalars, "
                                 f"got {describe(value_node)}", value_node)
        return out


def load_study(path, data_override=None):
    """Reads and checks a study file; every run fully resolved."""
    try:
        with open(path, encoding="utf-8") as f:
            text = f.read()
    except OSError as e:
        raise StudyError(f"cannot read the study file: {e.strerror}")
    except UnicodeDecodeError:
        raise StudyError("the study file is not UTF-8 text")
    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.MarkedYAMLError as e:
        mark = e.problem_mark or e.context_mark
        raise StudyError(f"invalid YAML: {e.problem or e.context}",
                         _MarkNode(mark) if mark else None)
    except yaml.YAMLError as e:
        raise StudyError(f"invalid YAML: {e}")
    if root is None:
        raise StudyError("the study file is empty; it needs 'format: 1', 'name' and 'runs'")
    reader = Reader(path)
    top = reader.mapping(root, "the study", STUDY_KEYS)
    for key in ("format", "name", "runs"):
        if key not in top:
            raise StudyError(f"missing required key '{key}' in the study", root)
    fmt_node = top["format"][1]
    if reader.scalar(fmt_node, "format") != 1:
        raise StudyError(f"unsupported study format {describe(fmt_node)}; this rtml-study "
                         "reads format 1", fmt_node)
    name_node = top["name"][1]
    name = reader.typed(name_node, "name", str)
    if not NAME_PATTERN.match(name):
        raise StudyError(f"invalid study name '{name}' (letters, digits, '_', '-', '.')", name_node)
    study = {"name": name, "path": path,
             "title": reader.typed(top["title"][1], "title", str) if "title" in top else name}
    default_data = None
    if data_override:
        default_data = (os.path.abspath(data_override), None)
    elif "data" in top:
        default_data = (reader.file_path(top["data"][1], "data"), top["data"][1])
    default_val = reader.typed(top["val"][1], "val", int) if "val" in top else None
    default_train = reader.train(top["train"][1], "the study") if "train" in top else {}

    runs_node = top["runs"][1]
    if not isinstance(runs_node, yaml.SequenceNode) or not runs_node.value:
        raise StudyError("key 'runs' expects a non-empty list of runs", runs_node)
    runs, seen = [], {}
    for index, run_node in enumerate(runs_node.value, 1):
        owner = f"run #{index}"
        entries = reader.mapping(run_node, owner, None)
        if "name" in entries and isinstance(entries["name"][1], yaml.ScalarNode):
            owner = f"run '{entries['name'][1].value}'"
        reader.mapping(run_node, owner, RUN_KEYS)
        for key in ("name", "model"):
            if key not in entries:
                raise StudyError(f"missing required key '{key}' in {owner}", run_node)
        name_node = entries["name"][1]
        run_name = reader.typed(name_node, "name", str)
        if not NAME_PATTERN.match(run_name):
            raise StudyError(f"invalid run name '{run_name}' (letters, digits, '_', '-', '.'; "
                             "it names the run folder)", name_node)
        if run_name in seen:
            raise StudyError(f"duplicate run name '{run_name}' (first at line {seen[run_name]})",
                             name_node)
        seen[run_name] = name_node.start_mark.line + 1
        model_node = entries["model"][1]
        model = reader.file_path(model_node, "model")
        if not os.path.isfile(model):
            raise StudyError(f"{owner}: model file '{model}' does not exist", model_node)
        overrides = reader.overrides(entries["set"][1], owner) if "set" in entries else {}
        precision = None
        if "precision" in entries:
            precision_node = entries["precision"][1]
            precision = reader.typed(precision_node, "precision", str)
            if precision not in PRECISIONS:
                raise StudyError(f"{owner}: invalid precision '{precision}' (one of "
                                 + ", ".join(PRECISIONS) + ")", precision_node)
        train = dict(default_train)
        if "train" in entries:
            train.update(reader.train(entries["train"][1], owner))
        weights = None
        if "weights" in entries:
            weights_node = entries["weights"][1]
            weights = reader.file_path(weights_node, "weights")
            command = (reader.typed(entries["weights_command"][1], "weights_command", str)
                       if "weights_command" in entries else None)
            if not os.path.isfile(weights):
                raise StudyError(
                    f"{owner}: weights file '{weights}' does not exist"
                    + ("; write it with the command below" if command else ""), weights_node,
                    hint=command.replace("{weights}", weights) if command else None)
        elif "weights_command" in entries:
            raise StudyError(f"{owner}: 'weights_command' says how to write the 'weights' "
                             "file, and there is no 'weights'", entries["weights_command"][0])
        if "data" in entries:
            data, data_node = reader.file_path(entries["data"][1], "data"), entries["data"][1]
        elif default_data:
            data, data_node = default_data
        else:
            raise StudyError(f"{owner} has no data directory: give 'data' in the run, in the "
                             "study, or --data DIR", run_node)
        if not os.path.isdir(data):
            raise StudyError(f"{owner}: data directory '{data}' does not exist", data_node)
        val = reader.typed(entries["val"][1], "val", int) if "val" in entries else default_val
        runs.append({"name": run_name, "model": model, "overrides": overrides,
                     "precision": precision,
                     "train": {k: v for k, (_, v) in train.items()}, "weights": weights,
                     "data": data, "val": val})
    study["runs"] = runs
    return study


class _MarkNode:
    """Stands for a node where PyYAML gives only a mark (syntax errors)."""

    def __init__(self, mark):
        self.start_mark = mark


def format_error(error, path, text_lines):
    """FILE:LINE:COL: error: ..., the source line and a caret, as rtmlc
    reports spec errors; then the hint, if any."""
    node = error.node
    if node is None or node.start_mark is None:
        out = f"{path}: error: {error}"
    else:
        line, col = node.start_mark.line, node.start_mark.column
        out = f"{path}:{line + 1}:{col + 1}: error: {error}"
        if 0 <= line < len(text_lines):
            out += f"\n{text_lines[line].rstrip()}\n{' ' * col}^"
    if error.hint:
        out += f"\n  {error.hint}"
    return out


# --- tools next to this one ---------------------------------------------------

def sibling(tool, names):
    """A tool in the build tree (tools/TOOL/NAME), installed beside this
    script, or in the source tree."""
    here = os.path.dirname(os.path.realpath(__file__))
    for candidate in [os.path.join(here, "..", tool, n) for n in names] + \
                     [os.path.join(here, n) for n in names]:
        if os.path.isfile(candidate) and os.access(candidate, os.X_OK | os.R_OK):
            return os.path.normpath(candidate)
    return shutil.which(names[0])


def import_report():
    path = sibling("rtml-report", ["rtml-report", "rtml-report.py"])
    if not path:
        sys.exit("rtml-study: error: rtml-report not found next to rtml-study")
    loader = importlib.machinery.SourceFileLoader("rtml_report", path)
    spec = importlib.util.spec_from_loader("rtml_report", loader)
    module = importlib.util.module_from_spec(spec)
    loader.exec_module(module)
    return module


# --- compiling and training ---------------------------------------------------

def model_key(run):
    return (run["model"], tuple(sorted(run["overrides"].items())), run["precision"])


def model_dir_name(run):
    stem = os.path.splitext(os.path.basename(run["model"]))[0]
    parts = [f"{k}={v}" for k, v in sorted(run["overrides"].items())]
    if run["precision"]:
        parts.append(f"precision={run['precision']}")
    if not parts:
        return stem
    spelled = "-".join(parts)
    safe = re.sub(r"[^A-Za-z0-9_.=-]", "_", spelled)
    if len(safe) > 60:
        safe = hashlib.sha1(spelled.encode()).hexdigest()[:12]
    return f"{stem}-{safe}"


def override_args(overrides):
    return [a for k, v in sorted(overrides.items()) for a in ("--set", f"{k}={v}")]


def compile_args(run):
    """rtmlc's arguments for RUN's overrides and precision."""
    return override_args(run["overrides"]) + (
        [f"--precision={run['precision']}"] if run["precision"] else [])


def run_child(cmd):
    """Runs a child in the foreground; Ctrl-C reaches it (it saves and exits
    130) while this process waits for it instead of dying first."""
    previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        child = subprocess.Popen(cmd)
        while True:
            try:
                return child.wait()
            except KeyboardInterrupt:
                continue
    finally:
        signal.signal(signal.SIGINT, previous)


def compile_model(rtmlc, run, out):
    build = os.path.join(out, "models", model_dir_name(run))
    cmd = [rtmlc, run["model"]] + compile_args(run) + ["-o", build]
    print("$ " + " ".join(cmd), flush=True)
    result = subprocess.run(cmd, stdout=subprocess.PIPE, text=True)
    lines = result.stdout.strip().splitlines()
    if result.returncode != 0 or not lines or not os.access(lines[-1], os.X_OK):
        sys.stdout.write(result.stdout)
        return None, result.returncode or 1
    return lines[-1], 0


def summary_complete(run_dir):
    try:
        with open(os.path.join(run_dir, "summary.json"), encoding="utf-8") as f:
            summary = json.load(f)
    except (OSError, ValueError):
        return False
    test = summary.get("final_test") if isinstance(summary, dict) else None
    return isinstance(test, dict) and isinstance(test.get("accuracy"), (int, float))


def checkpoint_of(run_dir):
    for name in ("checkpoint.pt", "checkpoint.prev.pt"):
        path = os.path.join(run_dir, "checkpoints", name)
        if os.path.isfile(path):
            return path
    return None


def train_args(run, resume):
    args = []
    for key, value in run["train"].items():
        flag, kind = TRAIN_SETTINGS[key]
        if resume and key not in RESUME_SETTINGS:
            continue
        if kind is list:
            args += value
        elif kind is bool:
            args += [flag] if value else []
        else:
            args += [flag, str(value)]
    return args


def write_run_description(run, run_dir):
    """run.json: what made this run (rtml-report shows the overrides)."""
    description = {"study_run": run["name"], "model_file": run["model"],
                   "overrides": run["overrides"], "precision": run["precision"],
                   "train": run["train"],
                   "weights": run["weights"], "data": run["data"], "val": run["val"]}
    path = os.path.join(run_dir, "run.json")
    tmp = path + ".tmp"
    with open(tmp, "w", encoding="utf-8") as f:
        json.dump(description, f, indent=1)
        f.write("\n")
    os.replace(tmp, path)


def train_run(trainer, run, run_dir, position):
    if summary_complete(run_dir):
        print(f"[{position}] {run['name']}: finished, skipped", flush=True)
        return 0
    checkpoint = checkpoint_of(run_dir)
    if checkpoint:
        print(f"[{position}] {run['name']}: resuming from {checkpoint}", flush=True)
        cmd = [trainer, "train", "--resume", run_dir, "--data", run["data"]] + \
            train_args(run, resume=True)
    else:
        if os.path.exists(run_dir):
            # Nothing to resume (stopped before its first checkpoint).
            print(f"[{position}] {run['name']}: {run_dir} has no checkpoint; starting again",
                  flush=True)
            shutil.rmtree(run_dir)
        print(f"[{position}] {run['name']}: training", flush=True)
        cmd = [trainer, "train", "--data", run["data"], "--out", run_dir]
        if run["val"] is not None:
            cmd += ["--val", str(run["val"])]
        if run["weights"]:
            cmd += ["--weights", run["weights"]]
        cmd += train_args(run, resume=False)
    print("$ " + " ".join(cmd), flush=True)
    rc = run_child(cmd)
    if os.path.isdir(run_dir):
        write_run_description(run, run_dir)
    return rc


def main(argv=None):
    parser = argparse.ArgumentParser(
        prog="rtml-study",
        description="Compile, train (resumably) and compare the runs of a study file "
                    "(studies/FORMAT.md).")
    parser.add_argument("study", metavar="STUDY.yaml")
    parser.add_argument("-o", "--out", metavar="DIR",
                        help="where models, runs and the report go (default out/studies/NAME)")
    parser.add_argument("--data", metavar="DIR",
                        help="the data directory of runs that name none of their own "
                             "(replaces the study's 'data')")
    parser.add_argument("--check", action="store_true",
                        help="check the study file and print the plan; compile and train nothing")
    parser.add_argument("--rtmlc", metavar="PATH", help="the rtmlc to use (default: the one "
                        "built beside rtml-study)")
    args = parser.parse_args(argv)

    try:
        study = load_study(args.study, args.data)
    except StudyError as e:
        try:
            with open(args.study, encoding="utf-8", errors="replace") as f:
                lines = f.readlines()
        except OSError:
            lines = []
        print(format_error(e, args.study, lines), file=sys.stderr)
        return 1
    out = os.path.abspath(args.out or os.path.join("out", "studies", study["name"]))
    runs = study["runs"]
    if args.check:
        print(f"study {study['name']}: {len(runs)} runs into {out}")
        for run in runs:
            sets = " ".join(compile_args(run))
            print(f"  {run['name']}: {run['model']} {sets}".rstrip())
            print(f"    train {' '.join(train_args(run, False))}".rstrip())
            print(f"    data {run['data']}" + (f", val {run['val']}" if run["val"] is not None else "")
                  + (f", weights {run['weights']}" if run["weights"] else ""))
        return 0

    rtmlc = args.rtmlc or sibling("rtmlc", ["rtmlc"])
    if not rtmlc:
        print("rtml-study: error: rtmlc not found (build rtml, or pass --rtmlc PATH)",
              file=sys.stderr)
        return 1
    report = import_report()

    trainers, failed = {}, []
    for run in runs:
        key = model_key(run)
        if key not in trainers:
            print(f"==> compiling {os.path.relpath(run['model'])}"
                  + (" " + " ".join(compile_args(run)) if compile_args(run) else ""),
                  flush=True)
            trainers[key], rc = compile_model(rtmlc, run, out)
            if trainers[key] is None:
                print(f"rtml-study: error: compiling {run['model']} failed (exit {rc})",
                      file=sys.stderr)
                return 1

    for position, run in enumerate(runs, 1):
        run_dir = os.path.join(out, "runs", run["name"])
        os.makedirs(os.path.dirname(run_dir), exist_ok=True)
        print(f"==> run {position}/{len(runs)}: {run['name']}", flush=True)
        rc = train_run(trainers[model_key(run)], run, run_dir, f"{position}/{len(runs)}")
        if rc in (130, 143, -signal.SIGINT, -signal.SIGTERM):
            print(f"rtml-study: interrupted; the run saved a checkpoint. Run the same command "
                  f"again to resume: rtml-study {args.study}"
                  + (f" -o {args.out}" if args.out else ""), file=sys.stderr)
            return 130
        if rc != 0:
            print(f"rtml-study: error: run '{run['name']}' failed (trainer exit {rc}); "
                  "continuing with the others", file=sys.stderr)
            failed.append(run["name"])

    run_dirs = [os.path.join(out, "runs", r["name"]) for r in runs
                if os.path.isdir(os.path.join(out, "runs", r["name"]))]
    print(f"==> report: {out}", flush=True)
    rc = report.main(run_dirs + ["-o", out, "--title", study["title"], "--png",
                                 os.path.join(out, "model_comparison.png")]) if run_dirs else 1
    if failed:
        print(f"rtml-study: error: {len(failed)} run(s) failed: {', '.join(failed)}",
              file=sys.stderr)
        return 1
    return rc


if __name__ == "__main__":
    try:
        sys.exit(main())
    except KeyboardInterrupt:
        # Between runs or while compiling: nothing half-written to lose.
        print("rtml-study: interrupted; run the same command again to continue",
              file=sys.stderr)
        sys.exit(130)
