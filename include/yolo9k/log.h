// Library code never prints. Progress lines, notes and warnings go to one sink that the
// program installs: the CLI prints progress to stdout and the rest to stderr; a library
// user may route them anywhere. Without a sink nothing is printed.
#pragma once

#include <functional>
#include <string>

namespace yolo9k {

enum class LogLevel {
    progress,  // a training or evaluation progress line (the CLI: stdout)
    note,      // what the library did on the user's behalf (resumed, loaded, removed)
    warning,   // something was wrong and was worked around (the CLI: "yolo9k: warning: ...")
};

using LogSink = std::function<void(LogLevel level, const std::string& message)>;

// Installs `sink` for the whole process and returns the previous one (null: silent).
LogSink set_log_sink(LogSink sink);

}  // namespace yolo9k
