#pragma once

#include <string>

#include "core/common/progress.h"
#include "core/common/result.h"
#include "core/model/graph.h"

namespace lathe {

// Reads an ONNX model file (any size; external data resolved relative to the file), runs ONNX shape inference and
// returns the neutral graph. Errors name the file and what is wrong with it. `progress` is called between stages and
// between initializers; returning false stops the read with ErrorCode::Cancelled.
Result<Graph> readOnnxModel(const std::string& path, const ProgressFn& progress = {});

}  // namespace lathe
