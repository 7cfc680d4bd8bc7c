#include "core/model/tensor.h"

#include <sstream>

namespace lathe {

std::string_view dtypeName(DType dtype) {
    switch (dtype) {
        case DType::Float: return "float32";
        case DType::UInt8: return "uint8";
        case DType::Int8: return "int8";
        case DType::UInt16: return "uint16";
        case DType::Int16: return "int16";
        case DType::Int32: return "int32";
        case DType::Int64: return "int64";
        case DType::String: return "string";
        case DType::Bool: return "bool";
        case DType::Float16: return "float16";
        case DType::Double: return "float64";
        case DType::UInt32: return "uint32";
        case DType::UInt64: return "uint64";
        case DType::UInt4: return "uint4";
        case DType::Int4: return "int4";
        case DType::Complex64: return "complex64";
        case DType::Complex128: return "complex128";
        case DType::BFloat16: return "bfloat16";
        case DType::Undefined: break;
    }
    return "undefined";
}

int dtypeSize(DType dtype) {
    switch (dtype) {
        case DType::Float: case DType::Int32: case DType::UInt32: return 4;
        case DType::UInt8: case DType::Int8: case DType::Bool: case DType::UInt4: case DType::Int4: return 1;
        case DType::UInt16: case DType::Int16: case DType::Float16: case DType::BFloat16: return 2;
        case DType::Int64: case DType::UInt64: case DType::Double: case DType::Complex64: return 8;
        case DType::Complex128: return 16;
        case DType::String: case DType::Undefined: break;
    }
    return 0;
}

bool isFourBitType(DType dtype) { return dtype == DType::Int4 || dtype == DType::UInt4; }

int64_t storedBytes(DType dtype, int64_t count) {
    return isFourBitType(dtype) ? (count + 1) / 2 : count * dtypeSize(dtype);
}

bool isFloatingType(DType dtype) {
    return dtype == DType::Float || dtype == DType::Double || dtype == DType::Float16 || dtype == DType::BFloat16;
}

bool isIntegerType(DType dtype) {
    switch (dtype) {
        case DType::UInt8: case DType::Int8: case DType::UInt16: case DType::Int16: case DType::Int32:
        case DType::Int64: case DType::UInt32: case DType::UInt64: case DType::Bool: case DType::UInt4:
        case DType::Int4: return true;
        default: return false;
    }
}

int64_t shapeNumel(std::span<const int64_t> shape) {
    int64_t n = 1;
    for (int64_t d : shape)
        if (__builtin_mul_overflow(n, d, &n)) return -1;
    return n;
}

std::optional<int64_t> checkedNumel(std::span<const int64_t> shape) {
    int64_t n = 1;
    for (int64_t d : shape)
        if (d < 0 || __builtin_mul_overflow(n, d, &n)) return std::nullopt;
    return n;
}

std::optional<int64_t> checkedMul(int64_t a, int64_t b) {
    int64_t r;
    if (__builtin_mul_overflow(a, b, &r)) return std::nullopt;
    return r;
}

std::string shapeToString(std::span<const int64_t> shape) {
    std::ostringstream out;
    out << '[';
    for (size_t i = 0; i < shape.size(); ++i) {
        if (i) out << ", ";
        if (shape[i] < 0) out << '?'; else out << shape[i];
    }
    out << ']';
    return out.str();
}

}  // namespace lathe
