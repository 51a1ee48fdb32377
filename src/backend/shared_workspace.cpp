#include "backend/shared_workspace.h"

#include <algorithm>
#include <cstdlib>
#include <string>

#include "core/error.h"

namespace yolo9k {

void AlignedFree::operator()(void* p) const { std::free(p); }

AlignedBuffer allocate_aligned(std::size_t bytes, const char* what) {
    bytes = std::max<std::size_t>(64, (bytes + 63) / 64 * 64);
    void* p = std::aligned_alloc(64, bytes);
    if (!p) throw Error("out of memory allocating " + std::to_string(bytes) + " bytes of " + what);
    return AlignedBuffer(p);
}

void* SharedWorkspace::reserve(std::size_t slot, std::size_t bytes) {
    std::lock_guard lock(slots_mutex_);
    if (slot >= slots_.size()) slots_.resize(slot + 1);
    Slot& s = slots_[slot];
    if (s.bytes < bytes || !s.data) {
        s.data.reset();  // the old contents are never needed: each pass writes before it reads
        s.data = allocate_aligned(bytes, "shared activations");
        s.bytes = std::max<std::size_t>(64, (bytes + 63) / 64 * 64);
    }
    return s.data.get();
}

std::size_t SharedWorkspace::bytes() const {
    std::lock_guard lock(slots_mutex_);
    std::size_t total = 0;
    for (const Slot& s : slots_) total += s.bytes;
    return total;
}

}  // namespace yolo9k
