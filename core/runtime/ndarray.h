#pragma once

#include <cstdint>
#include <vector>

#include "core/model/tensor.h"

namespace lathe {

// A dense float32 tensor in row-major (C) order: the executor's activations and the data sets' batches.
struct NDArray {
    std::vector<int64_t> shape;
    std::vector<float> data;

    NDArray() = default;
    NDArray(std::vector<int64_t> s) : shape(std::move(s)), data(size_t(shapeNumel(shape)), 0.f) {}
    NDArray(std::vector<int64_t> s, std::vector<float> d) : shape(std::move(s)), data(std::move(d)) {}

    int64_t numel() const { return shapeNumel(shape); }
    int rank() const { return int(shape.size()); }
};

}  // namespace lathe
