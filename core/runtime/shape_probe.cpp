#include "core/runtime/shape_probe.h"

#include <map>

#include "core/runtime/executor.h"

namespace lathe {

namespace {

bool isComplete(const ValueInfo& info) {
    if (!info.hasShape) return false;
    for (size_t d = 0; d < info.shape.size(); ++d)
        if (info.shape[d] < 0 && (d >= info.dimParams.size() || info.dimParams[d].empty())) return false;
    return true;
}

}  // namespace

Result<std::map<std::string, NDArray>> batchOneZeroInputs(const Graph& graph) {
    std::map<std::string, NDArray> inputs;
    for (const std::string& name : graph.inputs) {
        const ValueInfo* info = graph.value(name);
        if (!info || !info->hasShape)
            return makeError(ErrorCode::InvalidArgument, "the shape of input '" + name + "' is not declared");
        std::vector<int64_t> shape = info->shape;
        for (size_t d = 0; d < shape.size(); ++d) {
            if (shape[d] >= 0) continue;
            if (d != 0)
                return makeError(ErrorCode::InvalidArgument, "input '" + name + "' has the free dimension " +
                                                                 std::to_string(d) + " (" + info->shapeString() +
                                                                 "); only the batch dimension may be free");
            shape[d] = 1;
        }
        if (!checkedNumel(shape) || *checkedNumel(shape) > (int64_t(1) << 28))
            return makeError(ErrorCode::InvalidArgument,
                             "input '" + name + "' of shape " + shapeToString(shape) + " is too large to run once");
        inputs.emplace(name, NDArray(std::move(shape)));
    }
    return inputs;
}

std::vector<std::string> valuesWithUnknownShapes(const Graph& graph) {
    std::vector<std::string> unknown;
    for (const Node& node : graph.nodes)
        for (const std::string& out : node.outputs) {
            if (out.empty() || graph.initializer(out)) continue;
            const ValueInfo* info = graph.value(out);
            if (!info || !isComplete(*info)) unknown.push_back(out);
        }
    return unknown;
}

ShapeProbeReport completeShapesByExecution(Graph& graph) {
    ShapeProbeReport report;
    const std::vector<std::string> unknown = valuesWithUnknownShapes(graph);
    if (unknown.empty()) return report;
    auto giveUp = [&](std::string why) {
        report.problem =
            std::to_string(unknown.size()) + " value(s) keep unknown shapes (e.g. '" + unknown.front() + "'): " + why;
        // An op ONNX does not define already has its warning from the reader, and it is why the model cannot run.
        if (graph.unknownOps().empty()) graph.warnings.push_back(report.problem);
        return report;
    };
    auto inputs = batchOneZeroInputs(graph);
    if (!inputs) return giveUp(inputs.error().message);
    ExecutorOptions options;
    options.microBatchBytes = 0;
    options.packWeights = false;  // one shapes-only run: packing the weights would cost more than it
    // Borrowed, not copied: copying a large model's weights took most of the probe's time.
    auto executor = Executor::compileBorrowing(graph, options);
    if (!executor) return giveUp("the model cannot run here: " + executor.error().message);
    auto shapes = executor->valueShapes(*inputs);
    std::move(*executor).returnInitializers(graph);
    if (!shapes) return giveUp("running it once on zeros failed: " + shapes.error().message);
    report.ran = true;
    for (const std::string& name : unknown) {
        auto it = shapes->find(name);
        if (it == shapes->end()) continue;
        ValueInfo& info = graph.values[name];
        info.name = name;
        const std::vector<int64_t>& computed = it->second;
        if (!info.hasShape || info.shape.size() != computed.size()) {
            info.hasShape = true;
            info.shape = computed;
            info.dimParams.assign(computed.size(), std::string());
        } else {
            info.dimParams.resize(info.shape.size());
            for (size_t d = 0; d < computed.size(); ++d)
                if (info.shape[d] < 0 && info.dimParams[d].empty()) info.shape[d] = computed[d];
        }
        ++report.learned;
    }
    return report;
}

}  // namespace lathe
