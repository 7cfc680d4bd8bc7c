#pragma once

#include <cstdint>

#include "core/model/graph.h"

namespace lathe {

// Batch tiling: a large batch runs as consecutive slices of `microBatchSize` samples so that no intermediate of a
// slice grows past a bound, however large the batch (an evaluation batch of 100 ImageNet-sized images would otherwise
// hold 480 MB in one EfficientNet-B0 activation).

// Bytes of intermediates one slice may hold at once (per value). Slices sized to stay in the L3 (6 MB) were slower
// everywhere on the 2-core VM this is built on: they cut EfficientNet-B0 and ResNet-18 at batch 8 to one image per
// slice (90 against 120 images/s whole, 64 against 70) and LeNet-5 at batch 1024 to slices of 136 (40.7K against
// 44.5K images/s); larger batches keep every layer's parallel work big enough.
constexpr int64_t kMicroBatchBytes = int64_t(64) << 20;

// The graph keeps samples apart: it has one float input whose first dimension is the batch, and every node is an op
// that treats samples independently with settings that do not touch the batch axis (Conv, pooling, element-wise ops
// with per-sample or batch-1 constants, Gemm/MatMul with constant weights, Flatten/Softmax/Concat/Transpose/Reduce
// off axis 0, Reshape keeping dimension 0). Anything else, or unknown shapes, answers false.
bool isBatchSeparable(const Graph& graph);

// Samples per slice: `sliceBytes` over the largest per-sample intermediate (from inferred shapes), at least 1;
// 0 when the graph is not batch-separable, the shapes are unknown or sliceBytes is 0 (never split).
int64_t microBatchSize(const Graph& graph, int64_t sliceBytes = kMicroBatchBytes);

}  // namespace lathe
