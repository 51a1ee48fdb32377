// What crosses the backend seam: a tensor's shape, element type and memory layout.
// Host weights stay f32 as the source of truth; a backend keeps converted copies
// (bf16, int8 with scales) in whatever layout its kernels want.
#pragma once

#include <cstddef>
#include <string>

#include "core/shape.h"

namespace yolo9k {

enum class DType { f32, bf16, s8, u8 };
enum class Layout { nchw };  // the one layout at the seam; blocked forms stay inside a backend

// The arithmetic a backend uses inside: f32 is darknet-exact; bf16 and int8 trade accuracy
// for speed where the hardware has the instructions.
enum class Precision { f32, bf16, int8 };

const char* dtype_name(DType t);
size_t dtype_bytes(DType t);
const char* precision_name(Precision p);
// "f32" | "bf16" | "int8"; throws Error naming the accepted values.
Precision parse_precision(const std::string& text);

struct TensorDesc {
    int batch = 1;
    Shape shape;  // C x H x W of one image
    DType dtype = DType::f32;
    Layout layout = Layout::nchw;
    float scale = 1.f;  // s8/u8: real value = scale x stored value
    size_t elements() const { return size_t(batch) * shape.size(); }
    size_t bytes() const { return elements() * dtype_bytes(dtype); }
    bool operator==(const TensorDesc&) const = default;
    std::string str() const;  // "2 x 3 x 416 x 416 f32 nchw"
};

// A tensor someone else owns, as it crosses the seam.
struct ConstTensorView {
    TensorDesc desc;
    const void* data = nullptr;
};

}  // namespace yolo9k
