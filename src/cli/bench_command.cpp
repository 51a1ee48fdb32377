#include "cli/commands.h"
namespace yolo9k::cli {
Action add_bench_command(CLI::App& app) {
    app.add_subcommand("bench", "Benchmark forward speed against OpenCV dnn and darknet");
    return [] { return kExitFailure; };
}
}  // namespace yolo9k::cli
