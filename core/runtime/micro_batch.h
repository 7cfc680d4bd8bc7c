#pragma once

#include <cstdint>

#include "core/model/graph.h"

namespace lathe {

// Batch tiling: a large batch runs as consecutive slices of `microBatchSize` samples so that every intermediate of a
// slice stays in the last-level cache instead of streaming the whole batch through memory between layers.

// Bytes of intermediates one slice may hold at once (per value), about a share of a desktop CPU's L3.
constexpr int64_t kMicroBatchBytes = int64_t(6) << 20;

// The graph keeps samples apart: it has one float input whose first dimension is the batch, and every node is an op
// that treats samples independently with settings that do not touch the batch axis (Conv, pooling, element-wise ops
// with per-sample or batch-1 constants, Gemm/MatMul with constant weights, Flatten/Softmax/Concat/Transpose/Reduce
// off axis 0, Reshape keeping dimension 0). Anything else, or unknown shapes, answers false.
bool isBatchSeparable(const Graph& graph);

// Samples per slice: `sliceBytes` over the largest per-sample intermediate (from inferred shapes), at least 1;
// 0 when the graph is not batch-separable, the shapes are unknown or sliceBytes is 0 (never split).
int64_t microBatchSize(const Graph& graph, int64_t sliceBytes = kMicroBatchBytes);

}  // namespace lathe
