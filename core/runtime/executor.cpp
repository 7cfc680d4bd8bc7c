#include "core/runtime/executor.h"

#include <algorithm>
#include <map>

#include "core/runtime/execution_plan.h"
#include "core/runtime/micro_batch.h"
#include "core/runtime/op_registry.h"

namespace lathe {

namespace {

Status checkSupported(const Graph& graph) {
    const std::vector<std::string> unsupported = Executor::unsupportedOps(graph);
    if (unsupported.empty()) return Ok{};
    std::string list;
    for (const std::string& entry : unsupported) list += (list.empty() ? "" : "; ") + entry;
    return makeError(ErrorCode::UnsupportedOp,
                     "the built-in runtime has no kernel for: " + list +
                         ". The model can still be inspected and compressed; run it with OpenCV DNN instead.");
}

}  // namespace

Result<Executor> Executor::compile(const Graph& graph, const ExecutorOptions& options) {
    if (auto supported = checkSupported(graph); !supported) return supported.error();
    auto plan = ExecutionPlan::compile(graph, options);
    if (!plan) return plan.error();
    return Executor(std::move(plan.value()), microBatchSize(graph, options.microBatchBytes));
}

Result<Executor> Executor::compileBorrowing(Graph& graph, const ExecutorOptions& options) {
    if (auto supported = checkSupported(graph); !supported) return supported.error();
    auto plan = ExecutionPlan::compileBorrowing(graph, options);
    if (!plan) return plan.error();
    return Executor(std::move(plan.value()), microBatchSize(graph, options.microBatchBytes));
}

void Executor::returnInitializers(Graph& graph) && {
    if (!m_plan) return;
    m_plan->returnInitializers(graph);
    m_plan.reset();
}

std::vector<std::string> Executor::unsupportedOps(const Graph& graph) {
    std::map<std::string, std::vector<std::string>> byOp;
    for (const Node& node : graph.nodes) {
        const bool defaultDomain = node.domain.empty() || node.domain == "ai.onnx";
        if (defaultDomain && findKernelFactory(node.opType)) continue;
        byOp[defaultDomain ? node.opType : node.domain + "." + node.opType].push_back(node.name);
    }
    std::vector<std::string> entries;
    for (const auto& [op, nodes] : byOp) {
        std::string entry = op + " (";
        constexpr size_t shown = 3;
        for (size_t i = 0; i < nodes.size() && i < shown; ++i) entry += (i ? ", " : "") + nodes[i];
        if (nodes.size() > shown) entry += ", …";
        entries.push_back(entry + ")");
    }
    return entries;
}

Result<std::map<std::string, NDArray>> Executor::run(const std::map<std::string, NDArray>& inputs,
                                                     const std::vector<std::string>& capture,
                                                     std::vector<NodeTiming>* timings) const {
    const int64_t batch = inputs.size() == 1 && !inputs.begin()->second.shape.empty()
                              ? inputs.begin()->second.shape[0]
                              : 0;
    if (m_microBatch <= 0 || batch <= m_microBatch || !capture.empty() || timings)
        return m_plan->run(inputs, capture, timings);
    const auto& [inputName, whole] = *inputs.begin();
    const int64_t perSample = whole.numel() / batch;
    if (whole.data.size() != size_t(whole.numel())) return m_plan->run(inputs, capture, timings);  // reports it
    std::map<std::string, NDArray> outputs;
    // Slices of equal size (64 at a micro-batch of 62 runs as 32 + 32, not 62 + 2).
    const int64_t slices = (batch + m_microBatch - 1) / m_microBatch, sliceSize = (batch + slices - 1) / slices;
    for (int64_t first = 0; first < batch; first += sliceSize) {
        const int64_t count = std::min(sliceSize, batch - first);
        std::vector<int64_t> shape = whole.shape;
        shape[0] = count;
        std::map<std::string, NDArray> slice;
        slice.emplace(inputName, NDArray(std::move(shape), std::vector<float>(whole.data.begin() + first * perSample,
                                                                            whole.data.begin() +
                                                                                (first + count) * perSample)));
        auto part = m_plan->run(slice, capture, timings);
        if (!part) return part.error();
        for (auto& [name, array] : *part) {
            if (array.shape.empty() || array.shape[0] != count)  // not split along the batch after all: run whole
                return m_plan->run(inputs, capture, timings);
            NDArray& out = outputs[name];
            if (first == 0) {
                out.shape = array.shape;
                out.shape[0] = batch;
                out.data.reserve(size_t(out.numel()));
            }
            out.data.insert(out.data.end(), array.data.begin(), array.data.end());
        }
    }
    return outputs;
}

Result<std::map<std::string, std::vector<int64_t>>> Executor::valueShapes(
    const std::map<std::string, NDArray>& inputs) const {
    std::map<std::string, std::vector<int64_t>> shapes;
    auto run = m_plan->run(inputs, {}, nullptr, &shapes);
    if (!run) return run.error();
    return shapes;
}

const std::vector<std::string>& Executor::inputNames() const { return m_plan->inputNames(); }
const std::vector<std::string>& Executor::outputNames() const { return m_plan->outputNames(); }
int Executor::threads() const { return m_plan->threads(); }

Executor::Executor(std::unique_ptr<ExecutionPlan> plan, int64_t microBatch)
    : m_plan(std::move(plan)), m_microBatch(microBatch) {}
Executor::Executor(Executor&&) noexcept = default;
Executor& Executor::operator=(Executor&&) noexcept = default;
Executor::~Executor() = default;

}  // namespace lathe
