#include "core/limits.h"

#include "core/error.h"

namespace yolo9k {

Limits& limits() {
    static Limits l;
    return l;
}

void check_thread_count(int threads, const std::string& what) {
    if (threads < 1 || threads > limits().max_threads)
        throw Error(what + " " + std::to_string(threads) + ": expected 1 to " + std::to_string(limits().max_threads) +
                    " threads (raise the bound with --max-threads)");
}

}  // namespace yolo9k
