#pragma once

#include <cstdint>
#include <string>

#include "core/common/result.h"
#include "core/model/graph.h"

namespace lathe {

struct OnnxWriteOptions {
    std::string producerName = "lathe";
    std::string producerVersion = "0.1.0";
    // onnx::checker on the serialized model; failure is an error naming the problem. Skipped for graphs with int4/uint4
    // initializers (libonnx 1.12 predates them; ONNX Runtime verifies those files in the tests).
    bool runChecker = true;
};

// Serializes the graph to ONNX bytes (initializers from Tensor dtype: float from `data`, integer types from `ints`).
Result<std::string> serializeOnnxModel(const Graph& graph, const OnnxWriteOptions& options = {});
// Writes atomically (temp file in the same directory, then rename). Refuses to overwrite graph.sourcePath.
Status writeOnnxModel(const Graph& graph, const std::string& path, const OnnxWriteOptions& options = {});
// Writes `bytes` to `path` atomically: a reader never sees a half-written file.
Status writeFileAtomically(const std::string& path, const std::string& bytes);

}  // namespace lathe
