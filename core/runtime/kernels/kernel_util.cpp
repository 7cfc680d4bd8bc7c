#include "core/runtime/kernels/kernel_util.h"

#include <algorithm>
#include <cmath>
#include <cstring>

namespace lathe {

int64_t toIndex(float value) {
    constexpr double limit = double(int64_t(1) << 62);
    return int64_t(std::clamp(std::nearbyint(double(value)), -limit, limit));
}

std::vector<int64_t> toIndices(const NDArray& array) {
    std::vector<int64_t> out(array.data.size());
    std::transform(array.data.begin(), array.data.end(), out.begin(), toIndex);
    return out;
}

Result<int64_t> normalizeAxis(int64_t axis, int64_t rank) {
    if (axis < -rank || axis >= std::max<int64_t>(rank, 1))
        return invalidInput("axis " + std::to_string(axis) + " is out of range for rank " + std::to_string(rank));
    return axis < 0 ? axis + rank : axis;
}

Result<std::vector<int64_t>> broadcastShapes(std::span<const int64_t> a, std::span<const int64_t> b) {
    const size_t rank = std::max(a.size(), b.size());
    std::vector<int64_t> out(rank);
    for (size_t i = 0; i < rank; ++i) {
        const int64_t da = i < rank - a.size() ? 1 : a[i - (rank - a.size())];
        const int64_t db = i < rank - b.size() ? 1 : b[i - (rank - b.size())];
        if (da != db && da != 1 && db != 1)
            return invalidInput("shapes " + shapeToString(a) + " and " + shapeToString(b) + " do not broadcast");
        out[i] = da == 1 ? db : da;
    }
    return out;
}

std::vector<int64_t> rowMajorStrides(std::span<const int64_t> shape) {
    std::vector<int64_t> strides(shape.size(), 1);
    for (size_t i = shape.size(); i-- > 1;) strides[i - 1] = strides[i] * shape[i];
    return strides;
}

int64_t dimProduct(std::span<const int64_t> shape, size_t begin, size_t end) {
    int64_t p = 1;
    for (size_t i = begin; i < end && i < shape.size(); ++i) p *= shape[i];
    return p;
}

void stridedCopy(const float* in, int64_t offset, std::span<const int64_t> strides, std::span<const int64_t> shape,
                 float* out, int threads) {
    if (shape.empty()) {
        out[0] = in[offset];
        return;
    }
    const size_t inner = shape.size() - 1;
    const int64_t length = shape[inner], step = strides[inner];
    const int64_t rows = dimProduct(shape, 0, inner);
#pragma omp parallel for num_threads(threads) if (worthParallel(rows * length))
    for (int64_t row = 0; row < rows; ++row) {
        int64_t source = offset, rest = row;
        for (size_t d = inner; d-- > 0;) {
            source += (rest % shape[d]) * strides[d];
            rest /= shape[d];
        }
        float* dst = out + row * length;
        if (step == 1) {
            std::memcpy(dst, in + source, size_t(length) * sizeof(float));
        } else if (step == 0) {
            std::fill(dst, dst + length, in[source]);
        } else {
            for (int64_t i = 0; i < length; ++i) dst[i] = in[source + i * step];
        }
    }
}

std::vector<int64_t> broadcastStrides(std::span<const int64_t> operand, std::span<const int64_t> shape) {
    std::vector<int64_t> padded(shape.size() - std::min(shape.size(), operand.size()), 1);
    padded.insert(padded.end(), operand.begin(), operand.end());
    std::vector<int64_t> strides = rowMajorStrides(padded);
    for (size_t d = 0; d < padded.size(); ++d)
        if (padded[d] == 1 && shape[d] != 1) strides[d] = 0;
    return strides;
}

Error invalidInput(std::string message) { return makeError(ErrorCode::InvalidArgument, std::move(message)); }

Error unsupportedAttribute(std::string message) { return makeError(ErrorCode::Unsupported, std::move(message)); }

}  // namespace lathe
