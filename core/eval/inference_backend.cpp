#include "core/eval/inference_backend.h"

#include "core/eval/builtin_backend.h"
#include "core/eval/opencv_backend.h"

namespace lathe {

namespace {
std::string joined(const std::vector<std::string>& items) {
    std::string out;
    for (const auto& item : items) out += (out.empty() ? "" : "; ") + item;
    return out;
}
}  // namespace

std::string_view backendName(BackendKind kind) {
    switch (kind) {
        case BackendKind::Auto:
            return "auto";
        case BackendKind::Builtin:
            return "builtin";
        case BackendKind::OpenCv:
            return "opencv";
    }
    return "?";
}

Result<std::unique_ptr<InferenceBackend>> makeInferenceBackend(const Graph& graph, BackendKind kind, int threads) {
    std::vector<std::string> missing = Executor::unsupportedOps(graph);
    if (kind == BackendKind::OpenCv || (kind == BackendKind::Auto && !missing.empty())) {
        auto opencv = OpenCvBackend::create(graph, threads);
        if (opencv) return std::unique_ptr<InferenceBackend>(std::move(*opencv));
        if (kind == BackendKind::OpenCv) return opencv.error();
        return makeError(ErrorCode::UnsupportedOp, graph.sourcePath +
                                                     " cannot be run: the built-in executor has no "
                                                     "kernel for " +
                                                     joined(missing) + ", and " + opencv.error().message);
    }
    if (!missing.empty())
        return makeError(ErrorCode::UnsupportedOp, graph.sourcePath + ": the built-in executor has no kernel for " +
                                                     joined(missing) + " (the opencv backend may run it)");
    auto builtin = BuiltinBackend::create(graph, threads);
    if (!builtin) return builtin.error();
    return std::unique_ptr<InferenceBackend>(std::move(*builtin));
}

}  // namespace lathe
