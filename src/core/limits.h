// The library's checks against the public limits (include/yolo9k/limits.h).
#pragma once

#include <cstdint>
#include <string>

#include "yolo9k/limits.h"

namespace yolo9k {

// True when `bytes` of weights and activations exceed limits().max_network_bytes.
bool over_network_limit(std::uint64_t bytes);

// The message for that case; `what` says what needs the bytes. Callers throw it with their
// cfg line.
std::string network_limit_message(std::uint64_t bytes, const std::string& what);

// Throws Error unless 1 <= threads <= limits().max_threads; `what` names the option.
void check_thread_count(int threads, const std::string& what);

}  // namespace yolo9k
