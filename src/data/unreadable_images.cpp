#include "data/unreadable_images.h"

#include <iostream>

#include "core/error.h"
#include "core/log.h"

namespace yolo9k {
namespace {
constexpr int kMaxDrawsPerSlot = 50;
constexpr std::size_t kWarningsShown = 10;
}  // namespace

bool UnreadableImages::known_bad(std::size_t key) const {
    std::lock_guard lock(mutex_);
    return failed_.count(key) != 0;
}

void UnreadableImages::record(std::size_t key, const std::string& why) {
    std::lock_guard lock(mutex_);
    if (!failed_.insert(key).second) return;
    if (warnings_.size() < kWarningsShown) {
        std::string message = why + " (replaced by another image)";
        if (!quiet_) log_message(LogLevel::warning, message);
        warnings_.push_back(std::move(message));
    }
    if (failed_.size() > max_failed_)
        throw Error(std::to_string(failed_.size()) + " images could not be read (more than " +
                    std::to_string(max_failed_) + " allowed); first: " + warnings_.front());
}

std::size_t UnreadableImages::count() const {
    std::lock_guard lock(mutex_);
    return failed_.size();
}

std::vector<std::string> UnreadableImages::warnings() const {
    std::lock_guard lock(mutex_);
    return warnings_;
}

std::size_t UnreadableImages::draw_readable(std::size_t n, AugmentRng& rng, std::size_t key_offset,
                                            const std::function<void(std::size_t)>& read) {
    for (int attempt = 0; attempt < kMaxDrawsPerSlot; ++attempt) {
        const std::size_t i = rng.below(n);
        if (known_bad(key_offset + i)) continue;
        try {
            read(i);
            return i;
        } catch (const Error& e) {
            record(key_offset + i, e.what());
        }
    }
    throw Error("no readable image in " + std::to_string(kMaxDrawsPerSlot) + " random draws (" +
                std::to_string(count()) + " of " + std::to_string(n) + " images failed so far)");
}

}  // namespace yolo9k
