#pragma once

#include <memory>
#include <string>

#include "core/eval/inference_backend.h"

namespace lathe {

// Inference through OpenCV's DNN module (cv::dnn::readNetFromONNX on the model file), an independent runtime.
class OpenCvBackend : public InferenceBackend {
public:
    // Reads graph.sourcePath; fails when the graph has no file or OpenCV cannot import it (its message included).
    // threads > 0 sets cv::setNumThreads (process-wide).
    static Result<std::unique_ptr<OpenCvBackend>> create(const Graph& graph, int threads);
    ~OpenCvBackend() override;

    BackendKind kind() const override { return BackendKind::OpenCv; }
    Result<NDArray> run(const NDArray& batch) override;

private:
    struct Net;
    explicit OpenCvBackend(std::unique_ptr<Net> net);
    std::unique_ptr<Net> m_net;
};

}  // namespace lathe
