#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "core/model/float_buffer.h"

namespace lathe {

// ONNX TensorProto element types, same numbering.
enum class DType : int {
    Undefined = 0, Float = 1, UInt8 = 2, Int8 = 3, UInt16 = 4, Int16 = 5, Int32 = 6, Int64 = 7, String = 8,
    Bool = 9, Float16 = 10, Double = 11, UInt32 = 12, UInt64 = 13, Complex64 = 14, Complex128 = 15, BFloat16 = 16,
    UInt4 = 21, Int4 = 22,  // ONNX 1.16 (IR 10): two values per byte, the first in the low nibble
};

std::string_view dtypeName(DType dtype);
// Bytes per element; 0 for String/Undefined; 1 for the 4-bit types (see storedBytes).
int dtypeSize(DType dtype);
bool isFourBitType(DType dtype);
// Bytes `count` elements take in a file: packed two per byte for the 4-bit types.
int64_t storedBytes(DType dtype, int64_t count);
bool isFloatingType(DType dtype);
bool isIntegerType(DType dtype);

// Product of the dims (negative when a dim is unknown, -1); -1 as well when the product overflows int64.
int64_t shapeNumel(std::span<const int64_t> shape);
// Product of the dims when every dim is >= 0 and the product fits int64; nullopt otherwise.
std::optional<int64_t> checkedNumel(std::span<const int64_t> shape);
// a * b, nullopt when it overflows int64.
std::optional<int64_t> checkedMul(int64_t a, int64_t b);
std::string shapeToString(std::span<const int64_t> shape);

// A constant tensor (initializer or Constant attribute). Numeric contents are kept as float in `data`; integer
// types are also kept exactly in `ints`.
struct Tensor {
    std::string name;
    DType dtype = DType::Float;
    std::vector<int64_t> shape;
    FloatBuffer data;
    std::vector<int64_t> ints;
    std::vector<std::string> strings;

    int64_t numel() const { return shapeNumel(shape); }
    // Storage size in the model file: numel * dtypeSize.
    int64_t byteSize() const { return storedBytes(dtype, numel()); }
};

}  // namespace lathe
