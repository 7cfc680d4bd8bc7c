#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "core/common/result.h"
#include "core/model/tensor.h"

namespace lathe {

// A C-ordered array read from a NumPy .npy file, raw little-endian bytes as stored.
struct NpyArray {
    DType dtype = DType::Undefined;
    std::vector<int64_t> shape;
    std::vector<uint8_t> bytes;

    int64_t numel() const { return shapeNumel(shape); }
};

// Reads a .npy file (format versions 1-3) of dtype uint8, int8, int32, int64, float32 or float64, little-endian,
// fortran_order False. Errors name the file and the offending header field.
Result<NpyArray> readNpy(const std::string& path);

}  // namespace lathe
