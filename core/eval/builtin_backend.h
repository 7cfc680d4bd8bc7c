#pragma once

#include <memory>
#include <string>

#include "core/eval/inference_backend.h"
#include "core/runtime/executor.h"

namespace lathe {

// Inference through Lathe's own Executor.
class BuiltinBackend : public InferenceBackend {
public:
    // Fails with Unsupported naming the ops without a kernel. threads > 0 sets the OpenMP thread count of the
    // calling thread before each run.
    static Result<std::unique_ptr<BuiltinBackend>> create(const Graph& graph, int threads);

    BackendKind kind() const override { return BackendKind::Builtin; }
    Result<NDArray> run(const NDArray& batch) override;

private:
    BuiltinBackend(Executor executor, std::string input, std::string output, int threads);

    Executor m_executor;
    int m_threads = 0;
    std::string m_input;
    std::string m_output;
};

}  // namespace lathe
