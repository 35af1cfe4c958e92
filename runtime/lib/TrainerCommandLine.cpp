//===- TrainerCommandLine.cpp - The trainer's subcommands and their flags -===//
#include "TrainerCommandLine.h"

#include "rtml/Runtime/SettingsIO.h"
#include "rtml/Support/Diagnostics.h"

#include <CLI/CLI.hpp>

#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <iomanip>
#include <memory>
#include <sstream>

namespace rtml {

namespace {

std::string gProgram = "trainer";

std::string fmt(double v) {
  std::ostringstream os;
  os << v;
  return os.str();
}

std::string dflt(const std::string &v) { return " (default " + v + ")"; }

/// An integer >= MIN, in decimal; rewritten canonically, so that CLI11's
/// own conversion (which reads 010 as octal) sees what was checked.
CLI::Validator integerAtLeast(int64_t min) {
  return CLI::Validator(
      [min](std::string &text) -> std::string {
        errno = 0;
        char *end = nullptr;
        long long v = std::strtoll(text.c_str(), &end, 10);
        if (text.empty() || *end != '\0' || errno == ERANGE)
          return "expected an integer, got '" + text + "'";
        if (v < min)
          return "must be at least " + std::to_string(min) + ", got " + text;
        text = std::to_string(v);
        return "";
      },
      "");
}

/// A finite number >= MIN.
CLI::Validator numberAtLeast(double min) {
  return CLI::Validator(
      [min](std::string &text) -> std::string {
        errno = 0;
        char *end = nullptr;
        double v = std::strtod(text.c_str(), &end);
        if (text.empty() || *end != '\0' || errno == ERANGE ||
            !std::isfinite(v))
          return "expected a number, got '" + text + "'";
        if (v < min)
          return "must be at least " + fmt(min) + ", got " + text;
        char buf[40];
        std::snprintf(buf, sizeof buf, "%.17g", v);
        text = buf;
        return "";
      },
      "");
}

/// Help lines in the trainer's own layout: "usage: PROGRAM COMMAND
/// --required VALUE [options]", the summary, then one line per option.
class HelpFormatter : public CLI::FormatterBase {
public:
  std::string make_help(const CLI::App *app, std::string,
                        CLI::AppFormatMode) const override {
    std::ostringstream os;
    os << "usage: " << gProgram << " " << app->get_name();
    auto options = app->get_options();
    for (const CLI::Option *o : options)
      if (o->get_required())
        os << " " << o->get_name() << " " << o->get_type_name();
    os << " [options]\n\n" << app->get_description() << "\n\noptions:\n";
    for (const CLI::Option *o : options) {
      std::string left = o->get_name();
      if (o->get_items_expected_max() != 0)
        left += " " + o->get_type_name();
      os << "  " << std::left << std::setw(22) << left << o->get_description()
         << "\n";
    }
    return os.str();
  }
};

/// The trainer's conventions for every command's parser: the last of a
/// repeated flag wins, a flag takes no value, and unknown arguments are
/// collected (to be reported with a hint) rather than thrown.
std::unique_ptr<CLI::App> makeApp(const std::string &name,
                                  const std::string &summary) {
  auto app = std::make_unique<CLI::App>(summary, name);
  app->option_defaults()->multi_option_policy(CLI::MultiOptionPolicy::TakeLast);
  app->set_help_flag();
  app->allow_extras();
  app->formatter(std::make_shared<HelpFormatter>());
  return app;
}

CLI::Option *addInteger(CLI::App &app, const std::string &name, int64_t &value,
                        const std::string &help, int64_t min,
                        const std::string &metavar = "N") {
  return app.add_option("--" + name, value, help)
      ->type_name(metavar)
      ->check(integerAtLeast(min));
}

CLI::Option *addNumber(CLI::App &app, const std::string &name, double &value,
                       const std::string &help, double min = 0) {
  return app.add_option("--" + name, value, help)
      ->type_name("X")
      ->check(numberAtLeast(min));
}

CLI::Option *addText(CLI::App &app, const std::string &name, std::string &value,
                     const std::string &metavar, const std::string &help) {
  return app.add_option("--" + name, value, help)->type_name(metavar);
}

CLI::Option *addFlag(CLI::App &app, const std::string &name, bool &value,
                     const std::string &help) {
  return app.add_flag("--" + name, value, help)->disable_flag_override();
}

void addDeviceOptions(CLI::App &app, DeviceArgs &d, bool serial) {
  addText(app, "device", d.device, "DEV", "cpu, cuda or cuda:N (default cpu)")
      ->each([&d](const std::string &) { d.deviceGiven = true; });
  addText(app, "devices", d.devices, "LIST",
          "physical devices for the model's logical ones, e.g. cuda:0,cuda:1 "
          "(fewer are shared; default: all on --device)");
  if (serial)
    addFlag(app, "serial-devices", d.serialDevices,
            "issue every logical device's work on one CUDA stream, one after "
            "the other (default: a stream each, so devices sharing a GPU "
            "overlap)");
}

void addThreads(CLI::App &app, DeviceArgs &d) {
  addInteger(app, "threads", d.threads,
             "CPU threads for LibTorch (default: every core this process may "
             "use, or OMP_NUM_THREADS when set)",
             1);
}

void addHelp(CLI::App &app) {
  app.set_help_flag("-h,--help", "show this help");
}

/// The training settings: how the model learns (not where or for how long
/// it runs). One flag per setting of the settings table, its text collected
/// and applied (checked against the table) once parsing is done.
void addTrainingSettings(CLI::App &app, TrainArgs &a, const TrainConfig &t) {
  auto given = std::make_shared<std::map<std::string, std::string>>();
  for (const SettingFlag &f : settingFlags(t)) {
    std::string name = f.name;
    if (f.metavar.empty()) {
      app.add_flag_callback(
             "--" + name, [given, name] { (*given)[name] = ""; }, f.help)
          ->disable_flag_override();
      continue;
    }
    app.add_option_function<std::string>(
           "--" + name,
           [given, name](const std::string &text) { (*given)[name] = text; },
           f.help)
        ->type_name(f.metavar);
  }
  // Runs after parsing; a bad value's UsageError leaves parse() as it is.
  app.final_callback([given, &a] {
    applySettingFlags(
        [&](const std::string &flag) -> std::optional<std::string> {
          auto it = given->find(flag);
          if (it == given->end())
            return std::nullopt;
          return it->second;
        },
        a.options.train);
  });
}

std::unique_ptr<CLI::App> trainCommand(const ModelInfo &info, TrainArgs &a) {
  auto app =
      makeApp("train", "train on a data set, evaluating after each epoch");
  TrainOptions &o = a.options;
  o.train = info.train;
  o.outDir = "runs/" + info.name;
  addText(*app, "data", o.dataDir, "DIR",
          "data set directory: CIFAR-10 (binary or Python format), IDX "
          "(MNIST, Fashion-MNIST) or an ImageFolder tree (train/<class>/, "
          "val/ or test/); see the README's Data sets");
  addText(*app, "out", o.outDir, "RUN",
          "run directory" + dflt("runs/" + info.name));
  addFlag(*app, "overwrite", o.overwrite,
          "replace the run --out holds (refused otherwise; --resume "
          "continues it)");
  addText(*app, "resume", o.resume, "RUN",
          "continue the run in RUN (or from a checkpoint file) where it "
          "stopped, with its settings; only --epochs, --data, --device, "
          "--threads, --checkpoint-every may change");
  addTrainingSettings(*app, a, info.train);
  addDeviceOptions(*app, a.devices, /*serial=*/true);
  addText(*app, "weights", o.weights, "FILE",
          "initial weights (a PyTorch state dict); layers whose shape "
          "differs are re-initialized, unknown keys skipped");
  addFlag(*app, "strict-weights", o.weightsPolicy.strict,
          "with --weights: a shape mismatch or unknown key is an error");
  addFlag(*app, "allow-missing", o.weightsPolicy.allowMissing,
          "with --weights: parameters the file lacks keep their "
          "initialization");
  addInteger(*app, "val", o.valImages,
             "validation images held out of the training set (0: none, test "
             "set each epoch)" +
                 dflt(std::to_string(info.data.splitVal)),
             0);
  addInteger(*app, "split-seed", o.splitSeed,
             "seed of the train/validation split", 0);
  addInteger(*app, "checkpoint-every", o.checkpointEvery,
             "save a resumable checkpoint every N steps, 0: at epoch ends only "
             "(default 500; a resumed run keeps its own)",
             0);
  addInteger(*app, "max-steps", o.maxSteps, "stop each epoch after N batches",
             0);
  addInteger(*app, "limit-train", o.limitTrain,
             "use only the first N training images", 0);
  addInteger(*app, "limit-test", o.limitTest,
             "use only the first N test images", 0);
  addThreads(*app, a.devices);
  addFlag(*app, "no-progress", a.noProgress, "no progress lines on stderr");
  addFlag(*app, "no-cuda-graph", a.noCudaGraph,
          "on CUDA: run every step eagerly instead of replaying a captured "
          "CUDA graph of the whole step (forward, backward, SGD)");
  addNumber(*app, "dist-timeout", a.distTimeoutS,
            "data parallel: seconds to wait for the other processes, at start "
            "and in each collective, before failing (default 300)",
            1)
      ->type_name("S");
  addText(*app, "dist-backend", a.distBackend, "NAME",
          "data parallel: gloo or nccl (default nccl on CUDA when LibTorch "
          "has it, else gloo; gloo lets processes share a GPU); given under "
          "torchrun, one process (WORLD_SIZE=1) forms its group too");
  addHelp(*app);
  return app;
}

std::unique_ptr<CLI::App> evalCommand(const ModelInfo &info, EvalArgs &a) {
  auto app = makeApp("eval", "loss and accuracy of a weight file on the test "
                             "set");
  a.batchSize = info.train.batchSize;
  addText(*app, "data", a.data, "DIR",
          "data set directory (any format train reads; its test split)")
      ->required();
  addText(*app, "weights", a.weights, "FILE", "a PyTorch state dict")
      ->required();
  addDeviceOptions(*app, a.devices, /*serial=*/false);
  addInteger(*app, "batch-size", a.batchSize,
             "images per batch" + dflt(std::to_string(info.train.batchSize)),
             1);
  addInteger(*app, "limit-test", a.limitTest,
             "use only the first N test images", 0);
  addThreads(*app, a.devices);
  addHelp(*app);
  return app;
}

std::unique_ptr<CLI::App> predictCommand(PredictArgs &a) {
  auto app = makeApp(
      "predict", "logits for a tensor of images (eval mode, no transforms)");
  addText(*app, "weights", a.weights, "FILE", "a PyTorch state dict")
      ->required();
  addText(*app, "input", a.input, "FILE",
          "float tensor [N, C, H, W] saved with torch.save")
      ->required();
  addText(*app, "output", a.output, "FILE",
          "where to torch.save the logits [N, classes]")
      ->required();
  addDeviceOptions(*app, a.devices, /*serial=*/false);
  addThreads(*app, a.devices);
  addHelp(*app);
  return app;
}

std::unique_ptr<CLI::App> exportCommand(ExportArgs &a) {
  auto app = makeApp("export", "write the weights of a checkpoint or weight "
                               "file as a PyTorch state dict");
  addText(*app, "weights", a.weights, "FILE",
          "a checkpoint (checkpoints/checkpoint.pt) or state dict")
      ->required();
  addText(*app, "out", a.out, "FILE", "where to write the state dict")
      ->required();
  addHelp(*app);
  return app;
}

std::unique_ptr<CLI::App> benchCommand(BenchArgs &a) {
  auto app = makeApp("bench", "time full training steps on random data");
  addInteger(*app, "batch-size", a.batchSize, "images per step (default 16)",
             1);
  addInteger(*app, "steps", a.steps, "timed steps (default 10)", 1);
  addInteger(*app, "warmup", a.warmup, "untimed steps first (default 2)", 0);
  addDeviceOptions(*app, a.devices, /*serial=*/true);
  addThreads(*app, a.devices);
  addInteger(*app, "seed", a.seed, "seed for weights and data", 0);
  addFlag(*app, "json", a.json, "print one JSON line instead");
  addFlag(*app, "no-cuda-graph", a.noCudaGraph,
          "on CUDA: time eager steps instead of replays of a captured CUDA "
          "graph of the step");
  CLI::Option *profile = addText(
      *app, "profile", a.profile, "FILE",
      "after the timed steps, run --profile-steps more under LibTorch's "
      "profiler and write the ops and GPU kernels of one step, with their "
      "calls and self and total time, to FILE (JSON); the longest are "
      "printed too");
  addInteger(*app, "profile-steps", a.profileSteps,
             "steps --profile measures, one step's share reported (default 3)",
             1)
      ->needs(profile);
  addHelp(*app);
  return app;
}

std::unique_ptr<CLI::App> infoCommand() {
  auto app =
      makeApp("info", "model name, input shape, classes, parameters, defaults");
  addHelp(*app);
  return app;
}

std::unique_ptr<CLI::App> commandApp(const std::string &name,
                                     const ModelInfo &info, CommandArgs &args) {
  if (name == "train")
    return trainCommand(info, args.train);
  if (name == "eval")
    return evalCommand(info, args.eval);
  if (name == "predict")
    return predictCommand(args.predict);
  if (name == "export")
    return exportCommand(args.exportArgs);
  if (name == "bench")
    return benchCommand(args.bench);
  if (name == "info")
    return infoCommand();
  return nullptr;
}

const char *const kCommands[] = {"train",  "eval",  "predict",
                                 "export", "bench", "info"};

/// The first argument CLI11 did not take, as a mistake with a hint.
[[noreturn]] void throwUnexpected(const CLI::App &app, const std::string &arg) {
  const std::string &command = app.get_name();
  if (arg.rfind("--", 0) != 0 || arg.size() == 2)
    throw UsageError("unexpected argument '" + arg + "' for '" + command + "'");
  std::string name = arg.substr(2, arg.find('=') - 2);
  std::vector<std::string> names;
  for (const CLI::Option *o : app.get_options())
    names.push_back(o->get_name().substr(2));
  std::string msg = "unknown option '--" + name + "' for '" + command + "'";
  std::string near = closestMatch(name, names);
  if (!near.empty())
    msg += " (did you mean '--" + near + "'?)";
  throw UsageError(msg);
}

/// CLI11's error as the trainer words it.
[[noreturn]] void throwUsage(const CLI::App &app, const CLI::ParseError &e) {
  std::string what = e.what();
  std::string name = what.substr(0, what.find_first_of(": "));
  if (name.rfind("--", 0) != 0) // CLI11 names some options without dashes
    name = "--" + name;
  const CLI::Option *option = app.get_option_no_throw(name);
  if (dynamic_cast<const CLI::RequiredError *>(&e))
    throw UsageError("'" + app.get_name() + "' needs " + name);
  if (dynamic_cast<const CLI::ArgumentMismatch *>(&e) && option) {
    if (option->get_items_expected_max() == 0)
      throw UsageError("option '" + name + "' takes no value");
    throw UsageError("option '" + name + "' needs a value (" +
                     option->get_type_name() + ")");
  }
  throw UsageError(what);
}

} // namespace

const std::string &programName() { return gProgram; }

void setProgramName(const char *argv0) {
  if (!argv0 || !*argv0)
    return;
  gProgram = argv0;
  if (size_t slash = gProgram.rfind('/'); slash != std::string::npos)
    gProgram = gProgram.substr(slash + 1);
}

std::string topUsage(const ModelInfo &info) {
  CommandArgs scratch;
  std::ostringstream os;
  os << "usage: " << gProgram << " <command> [options]\n\n"
     << "Compiled trainer for model '" << info.name << "'.\n\ncommands:\n";
  for (const char *name : kCommands)
    os << "  " << std::left << std::setw(9) << name
       << commandApp(name, info, scratch)->get_description() << "\n";
  os << "\nRun '" << gProgram << " <command> --help' for its options.\n";
  return os.str();
}

bool parseCommandLine(int argc, char **argv, const ModelInfo &info,
                      CommandArgs &args, std::ostream &help) {
  std::string command = argc > 1 ? argv[1] : "";
  std::unique_ptr<CLI::App> app = commandApp(command, info, args);
  if (!app) {
    std::string msg = "unknown command '" + command + "'";
    std::string near =
        closestMatch(command, std::vector<std::string>(std::begin(kCommands),
                                                       std::end(kCommands)));
    if (!near.empty())
      msg += " (did you mean '" + near + "'?)";
    throw UsageError(msg +
                     "; commands: train, eval, predict, export, bench, info");
  }
  args.command = command;
  try {
    // CLI11 takes the first argument as the program's name: the command.
    app->parse(argc - 1, argv + 1);
  } catch (const CLI::CallForHelp &) {
    help << app->help();
    return false;
  } catch (const CLI::ParseError &e) {
    throwUsage(*app, e);
  }
  if (!app->remaining().empty())
    throwUnexpected(*app, app->remaining().front());
  for (const CLI::Option *o : app->get_options())
    if (o->count() > 0)
      args.given.insert(o->get_name().substr(2));
  return true;
}

} // namespace rtml
