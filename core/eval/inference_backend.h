#pragma once

#include <memory>
#include <string>
#include <string_view>

#include "core/common/result.h"
#include "core/model/graph.h"
#include "core/runtime/ndarray.h"

namespace lathe {

enum class BackendKind { Auto, Builtin, OpenCv };

std::string_view backendName(BackendKind kind);  // "auto", "builtin", "opencv"

// Runs a one-input classification model on float batches. run() is not thread-safe: one instance per thread.
class InferenceBackend {
public:
    virtual ~InferenceBackend() = default;

    virtual BackendKind kind() const = 0;
    // Feeds `batch` (N first, shaped like the model input) to the first graph input; returns the first graph output.
    virtual Result<NDArray> run(const NDArray& batch) = 0;
};

// Builtin needs a kernel for every op (else the error lists the missing ops); OpenCv reads graph.sourcePath with
// cv::dnn. Auto takes Builtin when it can run the graph, else OpenCv; when neither can, the error lists the ops
// without a built-in kernel and what OpenCV said. threads > 0 caps the backend's threads (OpenMP of the calling
// thread, or the process-wide cv::setNumThreads).
Result<std::unique_ptr<InferenceBackend>> makeInferenceBackend(const Graph& graph, BackendKind kind, int threads = 0);

}  // namespace lathe
