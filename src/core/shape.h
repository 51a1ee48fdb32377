#pragma once

#include <cstddef>
#include <string>

namespace yolo9k {

// The most channels a layer may output: darknet's cfgs stay under 2^13, the cfg parser
// caps filters at 2^20, and reorg/route products stay well inside int.
constexpr int kMaxChannels = 1 << 24;

// Per-image activation shape; the batch is a property of an executor, not of a layer.
struct Shape {
    int c = 0, h = 0, w = 0;
    size_t size() const { return size_t(c) * size_t(h) * size_t(w); }
    bool operator==(const Shape&) const = default;
    std::string str() const { return std::to_string(w) + " x " + std::to_string(h) + " x " + std::to_string(c); }
};

}  // namespace yolo9k
