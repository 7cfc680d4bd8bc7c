#pragma once

#include <algorithm>
#include <cstdint>
#include <memory>
#include <new>
#include <utility>
#include <vector>

#include "core/model/tensor.h"

namespace lathe {

// A dense float32 tensor in row-major (C) order: the executor's activations and the data sets' batches.
struct NDArray {
    std::vector<int64_t> shape;
    FloatBuffer data;

    NDArray() = default;
    NDArray(std::vector<int64_t> s) : shape(std::move(s)), data(size_t(shapeNumel(shape)), 0.f) {}
    NDArray(std::vector<int64_t> s, FloatBuffer d) : shape(std::move(s)), data(std::move(d)) {}
    // From a plain vector (a template so that a braced list picks the constructor above).
    template <class Allocator>
    NDArray(std::vector<int64_t> s, const std::vector<float, Allocator>& d)
        : shape(std::move(s)), data(d.begin(), d.end()) {}

    int64_t numel() const { return shapeNumel(shape); }
    int rank() const { return int(shape.size()); }
};

// A copy of an array's values as a plain vector (for parameters kept by kernels).
inline std::vector<float> values(const NDArray& a) { return {a.data.begin(), a.data.end()}; }

}  // namespace lathe
