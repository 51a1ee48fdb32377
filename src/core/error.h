// yolo9k::Error (public: include/yolo9k/error.h) and the library's helpers for its messages.
#pragma once

#include <string>

#include "yolo9k/error.h"

namespace yolo9k {

// "file:line: message" — the form compilers use, so editors can jump to it.
inline Error error_at(const std::string& file, int line, const std::string& message) {
    return Error(file + ":" + std::to_string(line) + ": " + message);
}

}  // namespace yolo9k
