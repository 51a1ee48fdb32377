// The library's side of the log (the sink is public: include/yolo9k/log.h).
#pragma once

#include <string>

#include "yolo9k/log.h"

namespace yolo9k {

// Calls the sink, one message at a time (messages from several threads never interleave).
void log_message(LogLevel level, const std::string& message);

// printf-style formatting for progress lines.
std::string format_text(const char* format, ...) __attribute__((format(printf, 1, 2)));

}  // namespace yolo9k
