#include "core/runtime/executor.h"

#include <map>

#include "core/runtime/execution_plan.h"
#include "core/runtime/op_registry.h"

namespace lathe {

Result<Executor> Executor::compile(const Graph& graph, const ExecutorOptions& options) {
    if (auto unsupported = unsupportedOps(graph); !unsupported.empty()) {
        std::string list;
        for (const std::string& entry : unsupported) list += (list.empty() ? "" : "; ") + entry;
        return makeError(ErrorCode::Unsupported,
                         "the built-in runtime has no kernel for: " + list +
                             ". The model can still be inspected and compressed; run it with OpenCV DNN instead.");
    }
    auto plan = ExecutionPlan::compile(graph, options);
    if (!plan) return plan.error();
    return Executor(std::move(plan.value()));
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
    return m_plan->run(inputs, capture, timings);
}

const std::vector<std::string>& Executor::inputNames() const { return m_plan->inputNames(); }
const std::vector<std::string>& Executor::outputNames() const { return m_plan->outputNames(); }
int Executor::threads() const { return m_plan->threads(); }

Executor::Executor(std::unique_ptr<ExecutionPlan> plan) : m_plan(std::move(plan)) {}
Executor::Executor(Executor&&) noexcept = default;
Executor& Executor::operator=(Executor&&) noexcept = default;
Executor::~Executor() = default;

}  // namespace lathe
