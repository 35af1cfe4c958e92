//===- TrainerCommands.h - What each trainer subcommand does --------------===//
#ifndef RTML_RUNTIME_LIB_TRAINERCOMMANDS_H
#define RTML_RUNTIME_LIB_TRAINERCOMMANDS_H

#include "TrainerCommandLine.h"

namespace rtml {

/// Each returns the exit status; errors are thrown (UsageError, or
/// std::runtime_error and c10::Error for run-time failures).
int runTrain(const CompiledModel &model, CommandArgs &args);
int runEval(const CompiledModel &model, const EvalArgs &args);
int runPredict(const CompiledModel &model, const PredictArgs &args);
int runExport(const CompiledModel &model, const ExportArgs &args);
int runBench(const CompiledModel &model, const BenchArgs &args);
int runInfo(const CompiledModel &model);

/// "error: ", or "rank R: error: " in a data-parallel job, whose processes
/// share one terminal.
const std::string &errorPrefix();

} // namespace rtml

#endif // RTML_RUNTIME_LIB_TRAINERCOMMANDS_H
