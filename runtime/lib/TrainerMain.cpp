//===- TrainerMain.cpp - The trainer's main -------------------------------===//
//
// trainerMain: train, eval, predict, export, bench, info. Usage errors exit
// 2, run-time errors exit 1; every exception (std:: and c10::Error) is
// caught and printed as "error: ...", so a trainer never aborts.
//
//===----------------------------------------------------------------------===//
#include "HeapReuse.h"
#include "TrainerCommandLine.h"
#include "TrainerCommands.h"

#include <c10/util/Exception.h>

#include <iostream>

namespace rtml {

namespace {

/// Refuses a job of several processes for a command that runs as one.
void requireSingleProcess(const std::string &command) {
  const char *world = std::getenv("WORLD_SIZE");
  if (world && *world && std::string(world) != "1")
    throw UsageError(std::string("WORLD_SIZE=") + world +
                     ": data parallel is for 'train'; run '" + command +
                     "' as a single process");
}

int runCommand(const CompiledModel &model, CommandArgs &args) {
  const std::string &command = args.command;
  if (command == "train")
    return runTrain(model, args);
  if (command == "eval" || command == "predict" || command == "bench")
    requireSingleProcess(command);
  if (command == "eval")
    return runEval(model, args.eval);
  if (command == "predict")
    return runPredict(model, args.predict);
  if (command == "bench")
    return runBench(model, args.bench);
  if (command == "export")
    return runExport(model, args.exportArgs);
  return runInfo(model);
}

} // namespace

int trainerMain(int argc, char **argv, const CompiledModel &model) {
  keepFreedMemoryForReuse();
  const ModelInfo &info = model.info();
  setProgramName(argc > 0 ? argv[0] : nullptr);
  std::string command = argc > 1 ? argv[1] : "";
  CommandArgs args;
  try {
    if (command.empty()) {
      std::cerr << topUsage(info);
      return 2;
    }
    if (command == "-h" || command == "--help" || command == "help") {
      std::cout << topUsage(info);
      return 0;
    }
    if (!parseCommandLine(argc, argv, info, args, std::cout))
      return 0;
    return runCommand(model, args);
  } catch (const UsageError &e) {
    std::cerr << errorPrefix() << e.what() << "\n";
    if (!args.command.empty())
      std::cerr << "run '" << programName() << " " << args.command
                << " --help' for usage\n";
    return 2;
  } catch (const TrainingInterrupted &e) {
    std::cerr << e.what() << "\n";
    return 128 + e.signal;
  } catch (const c10::Error &e) {
    std::cerr << errorPrefix() << e.what_without_backtrace() << "\n";
    return 1;
  } catch (const std::exception &e) {
    std::cerr << errorPrefix() << e.what() << "\n";
    return 1;
  } catch (...) {
    std::cerr << errorPrefix() << "unknown exception\n";
    return 1;
  }
}

} // namespace rtml
