#pragma once

#include <string>

#include "core/common/progress.h"
#include "core/common/result.h"
#include "core/model/graph.h"

namespace lathe {

// Reads an ONNX model file (any size; external data resolved relative to the file and inside its folder), checks the
// node attributes shape inference divides by (strides, dilations, kernel_shape, pads, group, blocksize...), runs ONNX
// shape inference and returns the neutral graph. Errors name the file and what is wrong with it: the node and
// attribute, or the tensor and its dims or external-data field. `progress` is called between stages and between
// initializers; returning false stops the read with ErrorCode::Cancelled.
Result<Graph> readOnnxModel(const std::string& path, const ProgressFn& progress = {});

}  // namespace lathe
