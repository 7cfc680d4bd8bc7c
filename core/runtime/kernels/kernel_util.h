#pragma once

#include <Eigen/Core>
#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "core/common/result.h"
#include "core/runtime/ndarray.h"

// Helpers shared by the kernels: integer values carried as float, axes, broadcasting, Eigen views, errors.
namespace lathe {

using RowMatrix = Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
using MatrixMap = Eigen::Map<RowMatrix, Eigen::Unaligned, Eigen::OuterStride<>>;

// An integer carried as float, rounded and clamped to ±2^62 so sentinels such as INT64_MAX stay usable.
int64_t toIndex(float value);
std::vector<int64_t> toIndices(const NDArray& array);
// `axis` (negative counts from the back) mapped into [0, rank), or an error naming both.
Result<int64_t> normalizeAxis(int64_t axis, int64_t rank);
// Numpy broadcast of two shapes, or an error naming both.
Result<std::vector<int64_t>> broadcastShapes(std::span<const int64_t> a, std::span<const int64_t> b);
std::vector<int64_t> rowMajorStrides(std::span<const int64_t> shape);
// The first n bits set, n clamped to [0, 32]: the lanes of a masked vector load or store that hold n values.
inline uint32_t lowBits(int64_t n) { return n <= 0 ? 0 : n >= 32 ? ~uint32_t(0) : (uint32_t(1) << n) - 1; }
// Bits j (< 32) with first + j in [0, size): the elements of a masked load from element `first` of a row of `size`
// that lie inside the row.
inline uint32_t insideBits(int64_t first, int64_t size) { return lowBits(size - first) & ~lowBits(-first); }
// Product of shape[begin, end).
int64_t dimProduct(std::span<const int64_t> shape, size_t begin, size_t end);
// ErrorCode::InvalidArgument for inputs that do not fit the op.
Error invalidInput(std::string message);
// ErrorCode::Unsupported for attribute values the runtime does not implement.
Error unsupportedAttribute(std::string message);
// out[i...] = in[offset + sum_d i_d * strides[d]] over `shape` (strides may be 0 to broadcast), parallel over the rows
// of the last dimension.
void stridedCopy(const float* in, int64_t offset, std::span<const int64_t> strides, std::span<const int64_t> shape,
                 float* out, int threads);
// Element strides of `shape` inside an operand of shape `operand` that broadcasts to it (0 on broadcast axes).
std::vector<int64_t> broadcastStrides(std::span<const int64_t> operand, std::span<const int64_t> shape);
// Whether `work` elementary operations justify waking the OpenMP team.
inline bool worthParallel(int64_t work) { return work >= (int64_t(1) << 15); }
// Values per task when a long run of values is split statically over the team (so each thread handles the part of the
// batch it computed in the layers before, from its own cache).
constexpr int64_t kParallelPiece = int64_t(1) << 14;

}  // namespace lathe
