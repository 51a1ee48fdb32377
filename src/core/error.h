// One error type for everything the user can get wrong: the message names the file
// (and line or byte offset) and what was expected, so the CLI can print it verbatim.
#pragma once

#include <stdexcept>
#include <string>

namespace yolo9k {

class Error : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

// "file:line: message" — the form compilers use, so editors can jump to it.
inline Error error_at(const std::string& file, int line, const std::string& message) {
    return Error(file + ":" + std::to_string(line) + ": " + message);
}

}  // namespace yolo9k
