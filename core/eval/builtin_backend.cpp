#include "core/eval/builtin_backend.h"

#include <omp.h>

namespace lathe {

Result<std::unique_ptr<BuiltinBackend>> BuiltinBackend::create(const Graph& graph, int threads) {
    if (graph.inputs.empty() || graph.outputs.empty())
        return makeError(ErrorCode::InvalidModel, graph.sourcePath + ": the model has no input or no output");
    auto executor = Executor::compile(graph);
    if (!executor) return executor.error();
    return std::unique_ptr<BuiltinBackend>(
        new BuiltinBackend(std::move(*executor), graph.inputs.front(), graph.outputs.front(), threads));
}

BuiltinBackend::BuiltinBackend(Executor executor, std::string input, std::string output, int threads)
    : m_executor(std::move(executor)), m_threads(threads), m_input(std::move(input)), m_output(std::move(output)) {}

Result<NDArray> BuiltinBackend::run(const NDArray& batch) {
    if (m_threads > 0) omp_set_num_threads(m_threads);
    auto outputs = m_executor.run({{m_input, batch}});
    if (!outputs) return outputs.error();
    auto it = outputs->find(m_output);
    if (it == outputs->end())
        return makeError(ErrorCode::Internal, "executor returned no value for output '" + m_output + "'");
    return std::move(it->second);
}

}  // namespace lathe
