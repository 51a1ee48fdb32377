// The command-line options of a training run that `train` and `classifier train` share
// (train/training_run.h's TrainingRunOptions), registered in two groups so each command
// can put its own options between them.
#pragma once

#include <CLI/CLI.hpp>

#include <functional>
#include <string>

#include "train/training_run.h"

namespace yolo9k::cli {

// --cfg (required), --weights, --backup, --name, --resume, --clear, --seed, --threads,
// --loader-threads, --backend, --batch, --subdivisions, --max-batches, --learning-rate,
// --burn-in; the help of --cfg and --weights names what the command trains.
void add_run_setup_options(CLI::App& sub, TrainingRunOptions& o, const std::string& cfg_help,
                           const std::string& weights_help);

// --checkpoint-every, --save-every, --chart, --no-chart, --stop-after, -q/--quiet.
void add_run_output_options(CLI::App& sub, TrainingRunOptions& o);

// Runs `train` with Ctrl-C / SIGTERM wired to options.stop_requested (the first signal saves
// <name>_last and stops after the current step; a second quits at once), prints the summary
// line, and returns the exit code: 0, or 128 + the signal when interrupted.
int run_training(TrainingRunOptions& options, const std::function<TrainingRunResult()>& train);

}  // namespace yolo9k::cli
