// Activation and scratch memory that several executors share when they never run at the
// same time: a server's executors of one model at several batch sizes. Each takes its
// buffers from numbered slots here, grown to the largest need, so the memory is the largest
// executor's, not the sum. Whoever owns the executors holds pass_mutex() across a pass and
// the reading of its output.
#pragma once

#include <cstddef>
#include <memory>
#include <mutex>
#include <vector>

namespace yolo9k {

struct AlignedFree {
    void operator()(void* p) const;
};
using AlignedBuffer = std::unique_ptr<void, AlignedFree>;
// At least `bytes` (rounded up to 64, at least 64), 64-byte aligned; throws Error naming `what`.
AlignedBuffer allocate_aligned(std::size_t bytes, const char* what);

class SharedWorkspace {
public:
    std::mutex& pass_mutex() { return pass_; }
    // Slot `slot`, at least `bytes` (64-byte aligned). A slot that must grow moves, so an
    // executor asks again before each pass and rebinds when the address changed.
    void* reserve(std::size_t slot, std::size_t bytes);
    std::size_t bytes() const;  // held in all slots

private:
    struct Slot {
        std::size_t bytes = 0;
        AlignedBuffer data;
    };
    std::mutex pass_;
    mutable std::mutex slots_mutex_;
    std::vector<Slot> slots_;
};

}  // namespace yolo9k
