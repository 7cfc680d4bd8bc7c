#pragma once

#include <memory>
#include <string>

#include "core/eval/inference_backend.h"

namespace lathe {

// Inference through OpenCV's DNN module (cv::dnn::readNetFromONNX on the model file), an independent runtime, run
// in a worker process (lathe-dnn-worker) so that an abort, a crash or a log line of OpenCV can neither take Lathe
// down nor reach the user raw: its failures come back as errors in Lathe's words.
class OpenCvBackend : public InferenceBackend {
public:
    // Starts the worker on graph.sourcePath; fails when the graph has no file, the worker cannot be found or started,
    // or OpenCV cannot import the model (its message included). threads > 0 sets the worker's cv::setNumThreads.
    static Result<std::unique_ptr<OpenCvBackend>> create(const Graph& graph, int threads);
    ~OpenCvBackend() override;  // closes the worker's input and reaps it

    BackendKind kind() const override { return BackendKind::OpenCv; }
    Result<NDArray> run(const NDArray& batch) override;

    // The worker executable: $LATHE_DNN_WORKER, else lathe-dnn-worker next to this program or in its parent folder.
    static std::string workerPath();

private:
    struct Process;
    explicit OpenCvBackend(std::unique_ptr<Process> process);
    std::unique_ptr<Process> m_process;
};

}  // namespace lathe
