#pragma once

#include <map>
#include <string>
#include <vector>

#include "core/common/result.h"
#include "core/model/graph.h"
#include "core/runtime/ndarray.h"

namespace lathe {

// What completeShapesByExecution did.
struct ShapeProbeReport {
    bool ran = false;     // the graph was executed (some shapes were unknown and it could run)
    int learned = 0;      // values whose shape was missing or partly unknown and is now complete
    std::string problem;  // why shapes stay unknown (the graph could not run), empty otherwise
};

// Zeros of each graph input's declared shape with a free batch dimension set to 1: what the shape probe and the latency
// profile run. Errors: an undeclared input shape, a free dimension other than the batch one, an input above 2^28
// elements.
Result<std::map<std::string, NDArray>> batchOneZeroInputs(const Graph& graph);

// Values whose shape is missing or has an unknown dimension that is not a named (symbolic) one.
std::vector<std::string> valuesWithUnknownShapes(const Graph& graph);

// When static inference left shapes unknown, runs the graph once on zeros of its inputs' shapes (free batch
// dimensions set to 1) and records every value's computed shape in graph.values: unknown dimensions take the computed
// size, known and symbolic ones stay. When the graph cannot run (an op without kernel, an input with an unknown
// non-batch dimension, a kernel error) nothing changes, the report says why and graph.warnings gets one line (none when
// the graph holds an op ONNX does not define: the reader has warned about it already).
ShapeProbeReport completeShapesByExecution(Graph& graph);

}  // namespace lathe
