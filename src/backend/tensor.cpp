#include "backend/tensor.h"

#include "core/error.h"

namespace yolo9k {

const char* dtype_name(DType t) {
    switch (t) {
        case DType::f32: return "f32";
        case DType::bf16: return "bf16";
        case DType::s8: return "s8";
        case DType::u8: return "u8";
    }
    return "?";
}

size_t dtype_bytes(DType t) {
    switch (t) {
        case DType::f32: return 4;
        case DType::bf16: return 2;
        case DType::s8:
        case DType::u8: return 1;
    }
    return 0;
}

const char* precision_name(Precision p) {
    switch (p) {
        case Precision::f32: return "f32";
        case Precision::bf16: return "bf16";
        case Precision::int8: return "int8";
    }
    return "?";
}

std::string TensorDesc::str() const {
    return std::to_string(batch) + " x " + std::to_string(shape.c) + " x " + std::to_string(shape.h) + " x " +
           std::to_string(shape.w) + " " + dtype_name(dtype) + " nchw";
}

Precision parse_precision(const std::string& text) {
    for (Precision p : {Precision::f32, Precision::bf16, Precision::int8})
        if (text == precision_name(p)) return p;
    throw Error("unknown precision '" + text + "'; expected one of f32, bf16, int8");
}

}  // namespace yolo9k
