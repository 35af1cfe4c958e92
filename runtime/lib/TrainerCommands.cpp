//===- TrainerCommands.cpp - What each trainer subcommand does ------------===//
#include "TrainerCommands.h"

#include "DeviceSelection.h"

#include "rtml/Runtime/Distributed.h"
#include "rtml/Runtime/Parameters.h"
#include "rtml/Runtime/Serialization.h"
#include "rtml/Runtime/SettingsIO.h"

#include "rtml/Support/Shapes.h"

#include <ATen/ATen.h>
#include <ATen/Parallel.h>
#include <c10/core/GradMode.h>

#include <nlohmann/json.hpp>

#include <algorithm>
#include <filesystem>
#include <iomanip>
#include <iostream>
#include <sstream>

namespace rtml {

namespace {

std::string gErrorPrefix = "error: ";

/// Discards what a data-parallel rank other than 0 would print.
class NullBuffer : public std::streambuf {
protected:
  int overflow(int c) override { return traits_type::not_eof(c); }
};

/// NaN and infinities have no JSON spelling: null, as Python's json reads.
nlohmann::ordered_json number(double value) {
  return std::isfinite(value) ? nlohmann::ordered_json(value)
                              : nlohmann::ordered_json(nullptr);
}

/// The flags a resumed run may not change: its checkpoint keeps them (every
/// training setting's but --epochs).
void refuseWithResume(const std::set<std::string> &given,
                      const TrainConfig &defaults) {
  std::vector<std::string> fixed = {
      "out", "overwrite",  "weights",   "strict-weights", "allow-missing",
      "val", "split-seed", "max-steps", "limit-train",    "limit-test"};
  for (const SettingFlag &f : settingFlags(defaults))
    if (f.name != "epochs")
      fixed.push_back(f.name);
  for (const std::string &flag : fixed)
    if (given.count(flag))
      throw UsageError("--" + flag +
                       " cannot be combined with --resume: a resumed run "
                       "keeps the settings in its checkpoint");
}

/// Checks what one flag alone cannot (a resumed run's settings are its
/// checkpoint's, checked when read).
void resolveTrainSettings(TrainArgs &args, const std::set<std::string> &given) {
  TrainOptions &options = args.options;
  if (given.count("epochs"))
    options.epochsOverride = options.train.epochs;
  if (!options.resume.empty())
    return;
  for (const settings::Violation &v : settings::check(options.train))
    throw UsageError(describeForFlags(v));
}

/// Refuses an output path that names the file an input is read from
/// (directly, through a link, or spelled another way).
void refuseSamePath(const std::string &output, const char *outFlag,
                    const std::string &input, const char *inFlag) {
  namespace fs = std::filesystem;
  std::error_code error;
  bool same = fs::exists(output, error) && fs::exists(input, error)
                  ? fs::equivalent(output, input, error)
                  : fs::weakly_canonical(output, error) ==
                        fs::weakly_canonical(input, error);
  if (same)
    throw UsageError(std::string("--") + outFlag + " " + output +
                     " is the file --" + inFlag + " reads (" + input +
                     "): writing it would destroy it; give another path");
}

} // namespace

const std::string &errorPrefix() { return gErrorPrefix; }

int runTrain(const CompiledModel &model, CommandArgs &all) {
  TrainArgs &args = all.train;
  TrainOptions &options = args.options;
  if (!options.resume.empty())
    refuseWithResume(all.given, model.info().train);
  else if (options.dataDir.empty())
    throw UsageError("'train' needs --data (or --resume RUN)");
  resolveTrainSettings(args, all.given);
  if (options.weights.empty() &&
      (options.weightsPolicy.strict || options.weightsPolicy.allowMissing))
    throw UsageError(
        std::string("--") +
        (options.weightsPolicy.strict ? "strict-weights" : "allow-missing") +
        " needs --weights FILE");
  options.progress = !args.noProgress;
  options.cudaGraphs = !args.noCudaGraph;
  DistributedEnv env;
  try {
    // A backend named under torchrun forms the group even for one process.
    env = distributedEnvFromEnvironment(!args.distBackend.empty());
  } catch (const std::invalid_argument &e) {
    throw UsageError(e.what());
  }
  options.device = selectDevices(model.info(), args.devices, env.localRank);
  options.handleSignals = true;
  applyThreads(args.devices);
  std::unique_ptr<Communicator> comm;
  if (env.enabled()) {
    gErrorPrefix = "rank " + std::to_string(env.rank) + ": error: ";
    comm = Communicator::connect(env, options.device,
                                 std::chrono::milliseconds(static_cast<int64_t>(
                                     args.distTimeoutS * 1000)),
                                 args.distBackend);
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

int runExport(const CompiledModel &model, const ExportArgs &args) {
  refuseSamePath(args.out, "out", args.weights, "weights");
  ParameterRegistry registry(model.parameters(), at::kCPU, 0);
  loadIntoRegistry(registry, loadStateDict(args.weights), args.weights);
  saveStateDict(registryStateDict(registry), args.out);
  std::cout << "wrote " << registry.specs().size() << " tensors ("
            << groupDigits(registry.numParameters()) << " parameters) to "
            << args.out << std::endl;
  return 0;
}

int runEval(const CompiledModel &model, const EvalArgs &args) {
  at::Device device = selectDevices(model.info(), args.devices);
  applyThreads(args.devices);
  const ModelInfo &info = model.info();
  Dataset test = takeFirst(readTestSet(args.data, info.data), args.limitTest);
  checkInputMatches(test, info.data, info.inputShape, args.data);
  ParameterRegistry registry(model.parameters(), device, 0);
  loadIntoRegistry(registry, loadStateDict(args.weights), args.weights);
  PhaseMetrics m =
      evaluate(model, registry.forwardTensors(), test, device, args.batchSize);
  std::cout << "test loss " << std::fixed << std::setprecision(4) << m.loss
            << " accuracy " << std::setprecision(2) << m.accuracy * 100 << "% ("
            << m.images << " images)" << std::endl;
  nlohmann::ordered_json line = {{"phase", "test"},
                                 {"loss", number(m.loss)},
                                 {"accuracy", number(m.accuracy)},
                                 {"images", m.images},
                                 {"time_s", number(m.timeS)}};
  std::cout << line.dump() << std::endl;
  return 0;
}

int runPredict(const CompiledModel &model, const PredictArgs &args) {
  const ModelInfo &info = model.info();
  refuseSamePath(args.output, "output", args.weights, "weights");
  refuseSamePath(args.output, "output", args.input, "input");
  at::Device device = selectDevices(info, args.devices);
  applyThreads(args.devices);
  ParameterRegistry registry(model.parameters(), device, 0);
  loadIntoRegistry(registry, loadStateDict(args.weights), args.weights);
  at::Tensor input = loadTensor(args.input);
  std::vector<int64_t> expected = {-1};
  expected.insert(expected.end(), info.inputShape.begin(),
                  info.inputShape.end());
  bool ok = input.dim() == static_cast<int64_t>(expected.size());
  for (size_t i = 1; ok && i < expected.size(); ++i)
    ok = input.size(i) == expected[i];
  if (!ok)
    throw std::runtime_error(args.input + ": input has shape " +
                             shapeString(std::vector<int64_t>(
                                 input.sizes().begin(), input.sizes().end())) +
                             ", model '" + info.name + "' expects " +
                             shapeString(expected));
  if (!input.is_floating_point())
    throw std::runtime_error(args.input + ": input must be a floating-point "
                                          "tensor (float32 images)");
  c10::NoGradGuard noGrad;
  at::Tensor logits =
      model.forward(input.to(device, at::kFloat), registry.forwardTensors(),
                    /*training=*/false);
  saveTensor(logits, args.output);
  std::cout << "wrote logits " << shapeString({logits.size(0), logits.size(1)})
            << " to " << args.output << std::endl;
  return 0;
}

namespace {

/// --profile's file: the run's facts and every op and kernel of one step.
void writeProfile(const std::string &path, const ModelInfo &info,
                  const BenchArgs &args, at::Device device,
                  const BenchResult &r) {
  nlohmann::ordered_json ops = nlohmann::ordered_json::array();
  for (const ProfiledOp &op : r.profile)
    ops.push_back({{"name", op.name},
                   {"on", op.onDevice ? "gpu" : "cpu"},
                   {"calls_per_step", number(op.callsPerStep)},
                   {"self_us_per_step", number(op.selfUsPerStep)},
                   {"total_us_per_step", number(op.totalUsPerStep)}});
  nlohmann::ordered_json file = {{"model", info.name},
                                 {"device", device.str()},
                                 {"batch", args.batchSize},
                                 {"threads", at::get_num_threads()},
                                 {"step_mode", r.stepMode},
                                 {"median_ms", number(r.medianMs)},
                                 {"profile_steps", args.profileSteps},
                                 {"profiled_step_ms", number(r.profiledStepMs)},
                                 {"ops", ops}};
  std::string text = file.dump(1) + "\n";
  writeFileAtomically(path, text.data(), text.size());
}

/// The longest of one side (GPU kernels where there are any, else CPU ops)
/// by self time, on stderr: stdout keeps the bench's own lines.
void printProfile(const std::string &path, const BenchResult &r) {
  bool gpu = std::any_of(r.profile.begin(), r.profile.end(),
                         [](const ProfiledOp &op) { return op.onDevice; });
  double sideUs = 0;
  for (const ProfiledOp &op : r.profile)
    if (op.onDevice == gpu)
      sideUs += op.selfUsPerStep;
  std::ostringstream os;
  os << std::fixed << "profile (" << path
     << "): " << (gpu ? "GPU kernels" : "CPU ops")
     << " by self time per step: " << std::setprecision(3) << sideUs * 1e-3
     << " ms named; the profiled steps took " << r.profiledStepMs
     << " ms each (the timed ones " << r.medianMs << ")\n";
  int shown = 0;
  for (const ProfiledOp &op : r.profile) {
    if (op.onDevice != gpu)
      continue;
    if (shown++ == 15)
      break;
    os << "  " << std::setw(9) << std::setprecision(3)
       << op.selfUsPerStep * 1e-3 << " ms " << std::setw(5)
       << std::setprecision(1)
       << (sideUs > 0 ? 100 * op.selfUsPerStep / sideUs : 0) << "% "
       << std::setw(6) << std::setprecision(1) << op.callsPerStep << "x  "
       << op.name.substr(0, 100) << "\n";
  }
  std::cerr << os.str() << std::flush;
}

} // namespace

int runBench(const CompiledModel &model, const BenchArgs &args) {
  const ModelInfo &info = model.info();
  // Minutes of timing must not end in a file that cannot be written.
  if (!args.profile.empty()) {
    std::filesystem::path dir =
        std::filesystem::path(args.profile).parent_path();
    if (!dir.empty() && !std::filesystem::is_directory(dir))
      throw std::runtime_error("--profile " + args.profile + ": " +
                               dir.string() + " is not a directory");
  }
  at::Device device = selectDevices(info, args.devices);
  applyThreads(args.devices);
  BenchResult r =
      benchTrainStep(model, device, args.batchSize, args.steps, args.warmup,
                     static_cast<uint64_t>(args.seed), !args.noCudaGraph,
                     args.profile.empty() ? 0 : args.profileSteps);
  if (!args.profile.empty()) {
    writeProfile(args.profile, info, args, device, r);
    printProfile(args.profile, r);
  }
  bool serial = args.devices.serialDevices;
  if (args.json) {
    nlohmann::ordered_json line = {{"model", info.name},
                                   {"mean_ms", number(r.meanMs)},
                                   {"median_ms", number(r.medianMs)},
                                   {"steps", args.steps},
                                   {"warmup", args.warmup},
                                   {"batch", args.batchSize},
                                   {"device", device.str()},
                                   {"threads", at::get_num_threads()},
                                   {"images_per_s", number(r.imagesPerS)},
                                   {"step_mode", r.stepMode}};
    // The precision and the input's layout the compiler chose for this
    // device's kind: what the step ran in.
    bool cuda = device.is_cuda();
    line["precision"] = settings::kPrecisionInfo.names[static_cast<int>(
        cuda ? info.cudaPrecision : info.cpuPrecision)];
    line["layout"] =
        (cuda ? info.cudaInput : info.cpuInput).nhwc ? "nhwc" : "nchw";
    if (info.devices.size() > 1) {
      line["serial_devices"] = serial;
      line["transfer_forward_bytes"] = r.transferPerStep.forward;
      line["transfer_backward_bytes"] = r.transferPerStep.backward;
    }
    std::cout << line.dump() << std::endl;
    return 0;
  }
  std::cout << std::fixed << std::setprecision(2) << "train step: " << r.meanMs
            << " ms (median " << r.medianMs << " ms, " << args.steps
            << " steps, batch " << args.batchSize << ", device " << device.str()
            << ", " << r.stepMode << ")\nimages/s: " << std::setprecision(1)
            << r.imagesPerS << std::endl;
  if (info.devices.size() > 1)
    std::cout << "moved between " << info.devices.size()
              << " logical devices per step: forward "
              << formatBytes(r.transferPerStep.forward) << ", backward "
              << formatBytes(r.transferPerStep.backward)
              << (serial ? " (serial devices)" : "") << std::endl;
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

} // namespace rtml
