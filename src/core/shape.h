#pragma once

#include <cstddef>
#include <string>

namespace yolo9k {

// Per-image activation shape; the batch is a property of an executor, not of a layer.
struct Shape {
    int c = 0, h = 0, w = 0;
    size_t size() const { return size_t(c) * size_t(h) * size_t(w); }
    bool operator==(const Shape&) const = default;
    std::string str() const { return std::to_string(w) + " x " + std::to_string(h) + " x " + std::to_string(c); }
};

}  // namespace yolo9k
