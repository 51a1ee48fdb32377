#include "cli/commands.h"
namespace yolo9k::cli {
Action add_detect_command(CLI::App& app) {
    app.add_subcommand("detect", "Detect objects in images, directories, list files, videos or cameras");
    return [] { return kExitFailure; };
}
}  // namespace yolo9k::cli
