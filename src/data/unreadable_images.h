// The images a training loader failed to read: the first few warnings naming them, and the
// limit past which training stops. Shared by DetectionLoader and ClassificationLoader, whose
// workers call it concurrently.
#pragma once

#include <cstddef>
#include <functional>
#include <mutex>
#include <set>
#include <string>
#include <vector>

#include "data/augment.h"

namespace yolo9k {

class UnreadableImages {
public:
    explicit UnreadableImages(std::size_t max_failed, bool quiet) : max_failed_(max_failed), quiet_(quiet) {}

    bool known_bad(std::size_t key) const;
    // Records a failed read (the first few are warned about); throws Error past the limit.
    void record(std::size_t key, const std::string& why);
    std::size_t count() const;
    std::vector<std::string> warnings() const;

    // Draws an index below n from rng, skipping known failures, until read(index) returns
    // without an Error (a failure is recorded under key_offset + index). Throws Error after
    // 50 draws that all failed.
    std::size_t draw_readable(std::size_t n, AugmentRng& rng, std::size_t key_offset,
                              const std::function<void(std::size_t)>& read);

private:
    const std::size_t max_failed_;
    const bool quiet_;
    mutable std::mutex mutex_;
    std::set<std::size_t> failed_;
    std::vector<std::string> warnings_;
};

}  // namespace yolo9k
