#pragma once

#include <string_view>

namespace lathe {

// The convolution and pooling ops whose attributes describe spatial axes (kernel_shape, strides, dilations, pads).
// The reader's attribute checks and guardShapeInference() cover this one list.
bool isSpatialConvOrPool(std::string_view op);

// The input holding a convolution's weight ([M, C, k...]): 1, or 3 for QLinearConv; -1 for pooling ops.
int convWeightInput(std::string_view op);

// libonnx 1.12's convolution and pooling shape inference indexes the input's dimensions by the kernel's spatial rank
// without checking it: a rank-2 input to a Conv with a 4-D weight (found by fuzz_onnx), or strides, pads or
// kernel_shape longer than the input's spatial axes, read out of bounds and crashed the reader. Wraps the inference
// of those ops (every registered version; once per process, thread-safe) in a check that fails inference for such a
// node instead, so its output shapes stay unknown and the reader goes on.
void guardShapeInference();

}  // namespace lathe
