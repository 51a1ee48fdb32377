// Reading user-named files whole, safely: only regular files (a FIFO or a device would block
// or never end), and never more than a limit, so a wrong path cannot hang or exhaust memory.
#pragma once

#include <cstdint>
#include <string>

namespace yolo9k {

// The file's size in bytes. Throws Error naming the path and `what` (e.g. "cfg file") when it
// does not exist, is a directory or another non-regular file, or is over `max_bytes`.
std::uint64_t check_regular_file(const std::string& path, const std::string& what, std::uint64_t max_bytes);

// The whole file, after check_regular_file with limits().max_file_bytes.
std::string read_text_file_bounded(const std::string& path, const std::string& what);

}  // namespace yolo9k
