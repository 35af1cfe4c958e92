//===- TrainerCommandLine.h - The trainer's subcommands and their flags ---===//
//
// CLI11 parsers for train, eval, predict, export, bench and info, bound to
// the structs below; help texts show the defaults the spec gave the model.
// Every mistake becomes a UsageError whose message names the flag (and, for
// an unknown one, the closest known one).
//
//===----------------------------------------------------------------------===//
#ifndef RTML_RUNTIME_LIB_TRAINERCOMMANDLINE_H
#define RTML_RUNTIME_LIB_TRAINERCOMMANDLINE_H

#include "rtml/Runtime/Model.h"
#include "rtml/Runtime/Trainer.h"

#include <map>
#include <ostream>
#include <set>
#include <string>

namespace rtml {

/// Where a command runs: --device or --devices, --serial-devices,
/// --threads.
struct DeviceArgs {
  std::string device = "cpu";
  bool deviceGiven = false; ///< --device given (with --devices: an error)
  std::string devices;      ///< empty: not given
  bool serialDevices = false;
  int64_t threads = 0; ///< 0: every available core
};

struct TrainArgs {
  TrainOptions options; ///< the spec's defaults overridden by the flags
  bool noProgress = false;
  bool noCudaGraph = false;
  DeviceArgs devices;
  double distTimeoutS = 300;
  std::string distBackend;
};

struct EvalArgs {
  std::string data, weights;
  int64_t batchSize = 0, limitTest = 0;
  DeviceArgs devices;
};

struct PredictArgs {
  std::string weights, input, output;
  DeviceArgs devices;
};

struct ExportArgs {
  std::string weights, out;
};

struct BenchArgs {
  int64_t batchSize = 16, steps = 10, warmup = 2, seed = 0;
  bool json = false;
  bool noCudaGraph = false;
  std::string profile; ///< --profile FILE: empty for none
  int64_t profileSteps = 3;
  DeviceArgs devices;
};

/// The values of every command; parsing fills the given command's.
struct CommandArgs {
  std::string command;         ///< train, eval, predict, export, bench or info
  std::set<std::string> given; ///< the flags given, without "--"
  TrainArgs train;
  EvalArgs eval;
  PredictArgs predict;
  ExportArgs exportArgs;
  BenchArgs bench;
};

/// The program name usage lines show (argv[0]'s base name).
const std::string &programName();
void setProgramName(const char *argv0);

/// "usage: PROGRAM <command> [options]" and the commands.
std::string topUsage(const ModelInfo &info);

/// Parses ARGV[1] (a command) and its options ARGV[2..] into ARGS. Returns
/// false after writing the command's help to HELP (for --help). Throws
/// UsageError on a mistake; ARGS.command is set once the command is known.
bool parseCommandLine(int argc, char **argv, const ModelInfo &info,
                      CommandArgs &args, std::ostream &help);

} // namespace rtml

#endif // RTML_RUNTIME_LIB_TRAINERCOMMANDLINE_H
