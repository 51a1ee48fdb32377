#include "core/limits.h"

#include "core/error.h"

namespace yolo9k {

Limits& limits() {
    static Limits l;
    return l;
}

bool over_network_limit(std::uint64_t bytes) { return bytes > limits().max_network_bytes; }

std::string network_limit_message(std::uint64_t bytes, const std::string& what) {
    return what + " need " + std::to_string(bytes >> 20) + " MiB, over the " +
           std::to_string(limits().max_network_bytes >> 20) + " MiB limit for a network (raise it with --max-network-mb)";
}

void check_thread_count(int threads, const std::string& what) {
    if (threads < 1 || threads > limits().max_threads)
        throw Error(what + " " + std::to_string(threads) + ": expected 1 to " + std::to_string(limits().max_threads) +
                    " threads (raise the bound with --max-threads)");
}

}  // namespace yolo9k
