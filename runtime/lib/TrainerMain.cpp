//===- TrainerMain.cpp - The trainer's command line -----------------------===//
//
// trainerMain: train, eval, predict, bench, info. Usage errors exit 2,
// run-time errors exit 1; every exception (std:: and c10::Error) is caught
// and printed as "error: ...", so a trainer never aborts.
//
//===----------------------------------------------------------------------===//
#include "rtml/Runtime/DeviceMap.h"
#include "rtml/Runtime/Distributed.h"
#include "rtml/Runtime/Model.h"
#include "rtml/Runtime/Parameters.h"
#include "rtml/Runtime/Serialization.h"
#include "rtml/Runtime/SettingsIO.h"
#include "rtml/Runtime/Trainer.h"

#include "rtml/Support/Diagnostics.h"
#include "rtml/Support/Shapes.h"

#include <ATen/ATen.h>
#include <ATen/Parallel.h>
#include <c10/core/GradMode.h>

#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <iomanip>
#include <iostream>
#include <limits>
#include <map>
#include <sstream>

namespace rtml {

namespace {

struct OptionSpec {
  std::string name;    ///< without the leading "--"
  std::string metavar; ///< empty: a flag without a value
  std::string help;
};

struct Command {
  std::string name;
  std::string summary;
  std::vector<OptionSpec> options;
  std::vector<std::string> required;
};

/// Parsed options of one subcommand.
class Args {
public:
  bool has(const std::string &name) const { return values.count(name) != 0; }
  std::string str(const std::string &name, const std::string &def) const {
    auto it = values.find(name);
    return it == values.end() ? def : it->second;
  }
  int64_t integer(const std::string &name, int64_t def, int64_t min) const {
    auto it = values.find(name);
    if (it == values.end())
      return def;
    const std::string &text = it->second;
    errno = 0;
    char *end = nullptr;
    long long v = std::strtoll(text.c_str(), &end, 10);
    if (text.empty() || *end != '\0' || errno == ERANGE)
      throw UsageError("--" + name + ": expected an integer, got '" + text +
                       "'");
    if (v < min)
      throw UsageError("--" + name + ": must be at least " +
                       std::to_string(min) + ", got " + text);
    return v;
  }
  double real(const std::string &name, double def, double min) const {
    auto it = values.find(name);
    if (it == values.end())
      return def;
    const std::string &text = it->second;
    errno = 0;
    char *end = nullptr;
    double v = std::strtod(text.c_str(), &end);
    if (text.empty() || *end != '\0' || errno == ERANGE || !std::isfinite(v))
      throw UsageError("--" + name + ": expected a number, got '" + text + "'");
    if (v < min)
      throw UsageError("--" + name + ": must be at least " + jsonNumber(min) +
                       ", got " + text);
    return v;
  }

  std::map<std::string, std::string> values;
};

/// argv[0]'s base name, for usage lines.
std::string kProgram = "trainer";

/// The subcommands; help texts show the defaults the spec gave this model.
std::vector<Command> commands(const ModelInfo &info) {
  const TrainConfig &t = info.train;
  auto dflt = [](const std::string &v) { return " (default " + v + ")"; };
  OptionSpec device{"device", "DEV", "cpu, cuda or cuda:N (default cpu)"};
  OptionSpec devices{
      "devices", "LIST",
      "physical devices for the model's logical ones, e.g. cuda:0,cuda:1 "
      "(fewer are shared; default: all on --device)"};
  OptionSpec threads{"threads", "N", "CPU threads for LibTorch"};
  OptionSpec serialDevices{
      "serial-devices", "",
      "issue every logical device's work on one CUDA stream, one after the "
      "other (default: a stream each, so devices sharing a GPU overlap)"};
  OptionSpec help{"help", "", "show this help"};
  std::vector<Command> all = {
      {"train",
       "train on a CIFAR-10 data set, evaluating after each epoch",
       {{"data", "DIR",
         "data set directory: binary (data_batch_N.bin, test_batch.bin) or "
         "Python (cifar-10-batches-py) format"},
        {"out", "RUN", "run directory" + dflt("runs/" + info.name)},
        {"resume", "RUN",
         "continue the run in RUN (or from a checkpoint file) where it "
         "stopped; only --epochs, --data, --device, --threads may change"},
        device,
        devices,
        serialDevices,
        {"weights", "FILE",
         "initial weights (a PyTorch state dict); layers whose shape "
         "differs are re-initialized, unknown keys skipped"},
        {"strict-weights", "",
         "with --weights: a shape mismatch or unknown key is an error"},
        {"allow-missing", "",
         "with --weights: parameters the file lacks keep their "
         "initialization"},
        {"val", "N",
         "validation images held out of the training set (0: none, test "
         "set each epoch)" +
             dflt(std::to_string(info.data.splitVal))},
        {"split-seed", "N", "seed of the train/validation split"},
        {"checkpoint-every", "N",
         "save a resumable checkpoint every N steps, 0: at epoch ends only "
         "(default 500)"},
        {"max-steps", "N", "stop each epoch after N batches"},
        {"limit-train", "N", "use only the first N training images"},
        {"limit-test", "N", "use only the first N test images"},
        threads,
        {"no-progress", "", "no progress lines on stderr"},
        {"dist-timeout", "S",
         "data parallel: seconds to wait for the other processes, at start "
         "and in each collective, before failing (default 300)"},
        {"dist-backend", "NAME",
         "data parallel: gloo or nccl (default nccl on CUDA when LibTorch "
         "has it, else gloo; gloo lets processes share a GPU)"},
        help},
       {}},
      {"eval",
       "loss and accuracy of a weight file on the test set",
       {{"data", "DIR", "data set directory (test_batch.bin)"},
        {"weights", "FILE", "a PyTorch state dict"},
        device,
        devices,
        {"batch-size", "N",
         "images per batch" + dflt(std::to_string(t.batchSize))},
        {"limit-test", "N", "use only the first N test images"},
        threads,
        help},
       {"data", "weights"}},
      {"predict",
       "logits for a tensor of images (eval mode, no transforms)",
       {{"weights", "FILE", "a PyTorch state dict"},
        {"input", "FILE", "float tensor [N, C, H, W] saved with torch.save"},
        {"output", "FILE", "where to torch.save the logits [N, classes]"},
        device,
        devices,
        threads,
        help},
       {"weights", "input", "output"}},
      {"export",
       "write the weights of a checkpoint or weight file as a PyTorch "
       "state dict",
       {{"weights", "FILE",
         "a checkpoint (checkpoints/checkpoint.pt) or state dict"},
        {"out", "FILE", "where to write the state dict"},
        help},
       {"weights", "out"}},
      {"bench",
       "time full training steps on random data",
       {{"batch-size", "N", "images per step (default 16)"},
        {"steps", "N", "timed steps (default 10)"},
        {"warmup", "N", "untimed steps first (default 2)"},
        device,
        devices,
        serialDevices,
        threads,
        {"seed", "N", "seed for weights and data"},
        {"json", "", "print one JSON line instead"},
        help},
       {}},
      {"info",
       "model name, input shape, classes, parameters, defaults",
       {help},
       {}},
  };
  // The training settings' flags come from the settings table, after
  // train's --data, --out and --resume.
  std::vector<OptionSpec> &train = all.front().options;
  std::vector<OptionSpec> settingOptions;
  for (const SettingFlag &f : settingFlags(t))
    settingOptions.push_back({f.name, f.metavar, f.help});
  train.insert(train.begin() + 3, settingOptions.begin(), settingOptions.end());
  return all;
}

std::string topUsage(const ModelInfo &info) {
  std::ostringstream os;
  os << "usage: " << kProgram << " <command> [options]\n\n"
     << "Compiled trainer for model '" << info.name << "'.\n\ncommands:\n";
  for (const Command &c : commands(info))
    os << "  " << std::left << std::setw(9) << c.name << c.summary << "\n";
  os << "\nRun '" << kProgram << " <command> --help' for its options.\n";
  return os.str();
}

std::string commandUsage(const Command &c) {
  std::ostringstream os;
  os << "usage: " << kProgram << " " << c.name;
  for (const std::string &r : c.required)
    for (const OptionSpec &o : c.options)
      if (o.name == r)
        os << " --" << o.name << " " << o.metavar;
  os << " [options]\n\n" << c.summary << "\n\noptions:\n";
  for (const OptionSpec &o : c.options) {
    std::string left =
        "--" + o.name + (o.metavar.empty() ? "" : " " + o.metavar);
    os << "  " << std::left << std::setw(22) << left << o.help << "\n";
  }
  return os.str();
}

/// Parses ARGV[FIRST..] as Command C's options ("--name value" or
/// "--name=value"). Returns false when --help was given.
bool parseArgs(const Command &c, int argc, char **argv, int first, Args &args) {
  for (int i = first; i < argc; ++i) {
    std::string arg = argv[i];
    if (arg == "-h" || arg == "--help")
      return false;
    if (arg.rfind("--", 0) != 0 || arg.size() == 2)
      throw UsageError("unexpected argument '" + arg + "' for '" + c.name +
                       "'");
    std::string name = arg.substr(2), value;
    bool inlineValue = false;
    if (size_t eq = name.find('='); eq != std::string::npos) {
      value = name.substr(eq + 1);
      name = name.substr(0, eq);
      inlineValue = true;
    }
    const OptionSpec *spec = nullptr;
    std::vector<std::string> names;
    for (const OptionSpec &o : c.options) {
      names.push_back(o.name);
      if (o.name == name)
        spec = &o;
    }
    if (!spec) {
      std::string msg = "unknown option '--" + name + "' for '" + c.name + "'";
      std::string near = closestMatch(name, names);
      if (!near.empty())
        msg += " (did you mean '--" + near + "'?)";
      throw UsageError(msg);
    }
    if (spec->metavar.empty()) {
      if (inlineValue)
        throw UsageError("option '--" + name + "' takes no value");
      args.values[name] = "";
      continue;
    }
    if (!inlineValue) {
      if (i + 1 >= argc)
        throw UsageError("option '--" + name + "' needs a value (" +
                         spec->metavar + ")");
      value = argv[++i];
    }
    args.values[name] = value;
  }
  for (const std::string &r : c.required)
    if (!args.has(r))
      throw UsageError("'" + c.name + "' needs --" + r);
  return true;
}

void applyThreads(const Args &args) {
  if (args.has("threads"))
    at::set_num_threads(static_cast<int>(args.integer("threads", 1, 1)));
}

/// Data parallel on GPUs: local rank R uses the devices of local rank 0
/// shifted by R times their number (cuda, without an index, is cuda:0).
std::vector<at::Device> shiftForLocalRank(std::vector<at::Device> devices,
                                          int64_t localRank) {
  int64_t count = static_cast<int64_t>(devices.size());
  for (at::Device &d : devices)
    if (d.is_cuda())
      d = at::Device(at::kCUDA,
                     static_cast<c10::DeviceIndex>(
                         (d.has_index() ? d.index() : 0) + localRank * count));
  return devices;
}

/// The device the model's input and its default logical device use; maps
/// the other logical devices (--devices) for the emitted transfers. In a
/// data-parallel job the GPUs named are local rank 0's.
at::Device deviceOf(const ModelInfo &info, const Args &args,
                    int64_t localRank = 0) {
  setSeparateStreams(!args.has("serial-devices"));
  if (args.has("devices")) {
    if (args.has("device"))
      throw UsageError("give --device or --devices, not both");
    std::vector<at::Device> physical;
    try {
      physical = parseDeviceList(args.str("devices", ""));
    } catch (const std::invalid_argument &e) {
      throw UsageError(e.what());
    }
    physical = shiftForLocalRank(physical, localRank);
    for (const at::Device &d : physical)
      checkDeviceAvailable(d);
    std::string notice = setDeviceMap(info.devices, physical);
    if (!notice.empty())
      std::cerr << notice << "\n";
    return physicalDevice(0);
  }
  at::Device device =
      shiftForLocalRank({parseDevice(args.str("device", "cpu"))}, localRank)
          .front();
  checkDeviceAvailable(device);
  setSingleDevice(device);
  return device;
}

/// "error: ", or "rank R: error: " in a data-parallel job, whose processes
/// share one terminal.
std::string gErrorPrefix = "error: ";
void setErrorPrefix(std::string prefix) { gErrorPrefix = std::move(prefix); }

/// Discards what a data-parallel rank other than 0 would print.
class NullBuffer : public std::streambuf {
protected:
  int overflow(int c) override { return traits_type::not_eof(c); }
};

/// Refuses a job of several processes for a command that runs as one.
void requireSingleProcess(const std::string &command) {
  const char *world = std::getenv("WORLD_SIZE");
  if (world && *world && std::string(world) != "1")
    throw UsageError(std::string("WORLD_SIZE=") + world +
                     ": data parallel is for 'train'; run '" + command +
                     "' as a single process");
}

int runTrain(const CompiledModel &model, const Args &args) {
  const ModelInfo &info = model.info();
  TrainOptions options;
  options.resume = args.str("resume", "");
  if (!options.resume.empty()) {
    std::vector<std::string> fixed = {
        "out",         "weights",   "strict-weights", "allow-missing", "val",
        "split-seed",  "max-steps", "limit-train",    "limit-test"};
    for (const SettingFlag &f : settingFlags(info.train))
      if (f.name != "epochs")
        fixed.push_back(f.name);
    for (const std::string &flag : fixed)
      if (args.has(flag))
        throw UsageError("--" + flag +
                         " cannot be combined with --resume: a resumed run "
                         "keeps the settings in its checkpoint");
  } else if (!args.has("data")) {
    throw UsageError("'train' needs --data (or --resume RUN)");
  }
  options.dataDir = args.str("data", "");
  options.outDir = args.str("out", "runs/" + info.name);
  TrainConfig &cfg = options.train;
  cfg = info.train;
  applySettingFlags(
      [&](const std::string &flag) -> std::optional<std::string> {
        if (!args.has(flag))
          return std::nullopt;
        return args.str(flag, "");
      },
      cfg);
  if (args.has("epochs"))
    options.epochsOverride = cfg.epochs;
  if (options.resume.empty())
    for (const settings::Violation &v : settings::check(cfg))
      throw UsageError(describeForFlags(v));
  options.maxSteps = args.integer("max-steps", 0, 0);
  options.limitTrain = args.integer("limit-train", 0, 0);
  options.limitTest = args.integer("limit-test", 0, 0);
  options.valImages = args.integer("val", -1, 0);
  options.splitSeed = args.integer("split-seed", -1, 0);
  options.checkpointEvery = args.integer("checkpoint-every", 500, 0);
  options.weights = args.str("weights", "");
  options.weightsPolicy.strict = args.has("strict-weights");
  options.weightsPolicy.allowMissing = args.has("allow-missing");
  if (options.weights.empty() &&
      (args.has("strict-weights") || args.has("allow-missing")))
    throw UsageError(
        std::string("--") +
        (args.has("strict-weights") ? "strict-weights" : "allow-missing") +
        " needs --weights FILE");
  options.progress = !args.has("no-progress");
  DistributedEnv env;
  try {
    env = distributedEnvFromEnvironment();
  } catch (const std::invalid_argument &e) {
    throw UsageError(e.what());
  }
  options.device = deviceOf(info, args, env.localRank);
  options.handleSignals = true;
  applyThreads(args);
  std::unique_ptr<Communicator> comm;
  double timeoutS = args.real("dist-timeout", 300, 1);
  if (env.enabled()) {
    setErrorPrefix("rank " + std::to_string(env.rank) + ": error: ");
    comm = Communicator::connect(
        env, options.device,
        std::chrono::milliseconds(static_cast<int64_t>(timeoutS * 1000)),
        args.str("dist-backend", ""));
    options.comm = comm.get();
  }
  NullBuffer discard;
  std::ostream quiet(&discard);
  bool rankZero = env.rank == 0;
  if (!rankZero)
    options.progress = false;
  TrainResult result = runTraining(model, options, rankZero ? std::cout : quiet,
                                   rankZero ? std::cerr : quiet);
  if (!rankZero)
    return 0;
  std::cout << "best " << (result.hasValidation ? "validation" : "test")
            << " accuracy " << std::fixed << std::setprecision(2)
            << result.bestAccuracy * 100 << "% at epoch " << result.bestEpoch;
  if (result.hasValidation)
    std::cout << "; test accuracy " << result.finalTest.accuracy * 100 << "%";
  std::cout << "; wrote "
            << (options.resume.empty() ? options.outDir : options.resume)
            << std::endl;
  return 0;
}

int runExport(const CompiledModel &model, const Args &args) {
  std::string weights = args.str("weights", "");
  std::string outPath = args.str("out", "");
  ParameterRegistry registry(model.parameters(), at::kCPU, 0);
  loadIntoRegistry(registry, loadStateDict(weights), weights);
  saveStateDict(registryStateDict(registry), outPath);
  std::cout << "wrote " << registry.specs().size() << " tensors ("
            << groupDigits(registry.numParameters()) << " parameters) to "
            << outPath << std::endl;
  return 0;
}

int runEval(const CompiledModel &model, const Args &args) {
  const ModelInfo &info = model.info();
  int64_t batchSize = args.integer("batch-size", info.train.batchSize, 1);
  at::Device device = deviceOf(model.info(), args);
  applyThreads(args);
  std::string weights = args.str("weights", "");
  Dataset test = takeFirst(readCifarTest(args.str("data", "")),
                           args.integer("limit-test", 0, 0));
  ParameterRegistry registry(model.parameters(), device, 0);
  loadIntoRegistry(registry, loadStateDict(weights), weights);
  PhaseMetrics m = evaluate(model, registry.tensors(), test, device, batchSize);
  std::cout << "test loss " << std::fixed << std::setprecision(4) << m.loss
            << " accuracy " << std::setprecision(2) << m.accuracy * 100 << "% ("
            << m.images << " images)" << std::endl;
  std::cout << "{\"phase\": \"test\", \"loss\": " << jsonNumber(m.loss)
            << ", \"accuracy\": " << jsonNumber(m.accuracy)
            << ", \"images\": " << m.images
            << ", \"time_s\": " << jsonNumber(m.timeS) << "}" << std::endl;
  return 0;
}

int runPredict(const CompiledModel &model, const Args &args) {
  const ModelInfo &info = model.info();
  at::Device device = deviceOf(model.info(), args);
  applyThreads(args);
  std::string weights = args.str("weights", "");
  std::string inputPath = args.str("input", "");
  ParameterRegistry registry(model.parameters(), device, 0);
  loadIntoRegistry(registry, loadStateDict(weights), weights);
  at::Tensor input = loadTensor(inputPath);
  std::vector<int64_t> expected = {-1};
  expected.insert(expected.end(), info.inputShape.begin(),
                  info.inputShape.end());
  bool ok = input.dim() == static_cast<int64_t>(expected.size());
  for (size_t i = 1; ok && i < expected.size(); ++i)
    ok = input.size(i) == expected[i];
  if (!ok)
    throw std::runtime_error(inputPath + ": input has shape " +
                             shapeString(std::vector<int64_t>(
                                 input.sizes().begin(), input.sizes().end())) +
                             ", model '" + info.name + "' expects " +
                             shapeString(expected));
  if (!input.is_floating_point())
    throw std::runtime_error(inputPath + ": input must be a floating-point "
                                         "tensor (float32 images)");
  c10::NoGradGuard noGrad;
  at::Tensor logits = model.forward(input.to(device, at::kFloat),
                                    registry.tensors(), /*training=*/false);
  std::string outputPath = args.str("output", "");
  saveTensor(logits, outputPath);
  std::cout << "wrote logits " << shapeString({logits.size(0), logits.size(1)})
            << " to " << outputPath << std::endl;
  return 0;
}

int runBench(const CompiledModel &model, const Args &args) {
  int64_t batchSize = args.integer("batch-size", 16, 1);
  int64_t steps = args.integer("steps", 10, 1);
  int64_t warmup = args.integer("warmup", 2, 0);
  uint64_t seed = static_cast<uint64_t>(args.integer("seed", 0, 0));
  at::Device device = deviceOf(model.info(), args);
  applyThreads(args);
  BenchResult r = benchTrainStep(model, device, batchSize, steps, warmup, seed);
  if (args.has("json")) {
    std::cout << "{\"model\": " << jsonString(model.info().name)
              << ", \"mean_ms\": " << jsonNumber(r.meanMs)
              << ", \"median_ms\": " << jsonNumber(r.medianMs)
              << ", \"steps\": " << steps << ", \"warmup\": " << warmup
              << ", \"batch\": " << batchSize
              << ", \"device\": " << jsonString(device.str())
              << ", \"threads\": " << at::get_num_threads()
              << ", \"images_per_s\": " << jsonNumber(r.imagesPerS);
    if (model.info().devices.size() > 1)
      std::cout << ", \"serial_devices\": "
                << (args.has("serial-devices") ? "true" : "false")
                << ", \"transfer_forward_bytes\": " << r.transferPerStep.forward
                << ", \"transfer_backward_bytes\": "
                << r.transferPerStep.backward;
    std::cout << "}" << std::endl;
    return 0;
  }
  std::cout << std::fixed << std::setprecision(2) << "train step: " << r.meanMs
            << " ms (median " << r.medianMs << " ms, " << steps
            << " steps, batch " << batchSize << ", device " << device.str()
            << ")\nimages/s: " << std::setprecision(1) << r.imagesPerS
            << std::endl;
  if (model.info().devices.size() > 1)
    std::cout << "moved between " << model.info().devices.size()
              << " logical devices per step: forward "
              << formatBytes(r.transferPerStep.forward) << ", backward "
              << formatBytes(r.transferPerStep.backward)
              << (args.has("serial-devices") ? " (serial devices)" : "")
              << std::endl;
  return 0;
}

int runInfo(const CompiledModel &model) {
  const ModelInfo &info = model.info();
  auto list = [](const std::vector<double> &v) {
    std::ostringstream os;
    os << "[";
    for (size_t i = 0; i < v.size(); ++i)
      os << (i ? ", " : "") << v[i];
    return os.str() + "]";
  };
  const TrainConfig &t = info.train;
  const DataConfig &d = info.data;
  std::cout << "model: " << info.name << "\n"
            << "input shape: " << shapeString(info.inputShape) << "\n"
            << "classes: " << info.numClasses << "\n"
            << "parameters: "
            << groupDigits(countParameters(model.parameters())) << "\n"
            << "train: epochs " << t.epochs << ", batch size " << t.batchSize
            << ", lr " << t.learningRate << ", momentum " << t.momentum
            << ", weight decay " << t.weightDecay << ", seed " << t.seed
            << ", nesterov " << (t.nesterov ? "yes" : "no") << ", lr schedule "
            << settings::kLrScheduleInfo.names[int(t.lrSchedule)] << "\n"
            << "data: resize " << d.resize << ", random horizontal flip "
            << (d.randomHorizontalFlip ? "yes" : "no") << ", mean "
            << list(d.mean) << ", std " << list(d.std) << std::endl;
  return 0;
}

} // namespace

int trainerMain(int argc, char **argv, const CompiledModel &model) {
  const ModelInfo &info = model.info();
  if (argc > 0 && argv[0] && *argv[0]) {
    kProgram = argv[0];
    if (size_t slash = kProgram.rfind('/'); slash != std::string::npos)
      kProgram = kProgram.substr(slash + 1);
  }
  std::string command = argc > 1 ? argv[1] : "";
  bool knownCommand = false;
  try {
    if (command.empty()) {
      std::cerr << topUsage(info);
      return 2;
    }
    if (command == "-h" || command == "--help" || command == "help") {
      std::cout << topUsage(info);
      return 0;
    }
    std::vector<Command> all = commands(info);
    const Command *found = nullptr;
    std::vector<std::string> names;
    for (const Command &c : all) {
      names.push_back(c.name);
      if (c.name == command)
        found = &c;
    }
    if (!found) {
      std::string msg = "unknown command '" + command + "'";
      std::string near = closestMatch(command, names);
      if (!near.empty())
        msg += " (did you mean '" + near + "'?)";
      throw UsageError(msg +
                       "; commands: train, eval, predict, export, bench, info");
    }
    knownCommand = true;
    Args args;
    if (!parseArgs(*found, argc, argv, 2, args)) {
      std::cout << commandUsage(*found);
      return 0;
    }
    if (command == "train")
      return runTrain(model, args);
    if (command == "eval" || command == "predict" || command == "bench")
      requireSingleProcess(command);
    if (command == "eval")
      return runEval(model, args);
    if (command == "predict")
      return runPredict(model, args);
    if (command == "bench")
      return runBench(model, args);
    if (command == "export")
      return runExport(model, args);
    return runInfo(model);
  } catch (const UsageError &e) {
    std::cerr << gErrorPrefix << e.what() << "\n";
    if (knownCommand)
      std::cerr << "run '" << kProgram << " " << command
                << " --help' for usage\n";
    return 2;
  } catch (const TrainingInterrupted &e) {
    std::cerr << e.what() << "\n";
    return 128 + e.signal;
  } catch (const c10::Error &e) {
    std::cerr << gErrorPrefix << e.what_without_backtrace() << "\n";
    return 1;
  } catch (const std::exception &e) {
    std::cerr << gErrorPrefix << e.what() << "\n";
    return 1;
  } catch (...) {
    std::cerr << gErrorPrefix << "unknown exception\n";
    return 1;
  }
}

} // namespace rtml
