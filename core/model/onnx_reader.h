#pragma once

#include <string>

#include "core/common/result.h"
#include "core/model/graph.h"

namespace lathe {

// Reads an ONNX model file (any size; external data resolved relative to the file), runs ONNX shape inference and
// returns the neutral graph. Errors name the file and what is wrong with it.
Result<Graph> readOnnxModel(const std::string& path);

}  // namespace lathe
