// Each subcommand adds itself to the CLI11 app and returns the action to run when chosen.
#pragma once

#include <CLI/CLI.hpp>

#include <functional>

namespace yolo9k::cli {

using Action = std::function<int()>;  // returns the process exit code

Action add_info_command(CLI::App& app);
Action add_detect_command(CLI::App& app);
Action add_bench_command(CLI::App& app);
Action add_init_weights_command(CLI::App& app);
Action add_train_command(CLI::App& app);
Action add_partial_command(CLI::App& app);
Action add_dataset_command(CLI::App& app);
Action add_anchors_command(CLI::App& app);
Action add_eval_command(CLI::App& app);
Action add_classifier_command(CLI::App& app);
Action add_weights_command(CLI::App& app);
Action add_export_command(CLI::App& app);
Action add_serve_command(CLI::App& app);
Action add_calibrate_command(CLI::App& app);

// Exit codes, documented in the README.
constexpr int kExitOk = 0;
constexpr int kExitFailure = 1;   // bad input: files, cfg, weights, images
constexpr int kExitUsage = 2;     // bad command line (CLI11's own code for parse errors)

}  // namespace yolo9k::cli
