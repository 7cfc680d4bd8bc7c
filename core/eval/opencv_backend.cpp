#include "core/eval/opencv_backend.h"

#include <opencv2/core.hpp>
#include <opencv2/dnn.hpp>

namespace lathe {

struct OpenCvBackend::Net {
    cv::dnn::Net net;
    std::string input;
    std::string output;
    std::string path;
};

Result<std::unique_ptr<OpenCvBackend>> OpenCvBackend::create(const Graph& graph, int threads) {
    if (graph.sourcePath.empty())
        return makeError(ErrorCode::InvalidArgument, "OpenCV DNN reads models from a file; this model has none");
    if (graph.inputs.empty() || graph.outputs.empty())
        return makeError(ErrorCode::InvalidModel, graph.sourcePath + ": the model has no input or no output");
    if (threads > 0) cv::setNumThreads(threads);
    auto net = std::make_unique<Net>();
    net->input = graph.inputs.front();
    net->output = graph.outputs.front();
    net->path = graph.sourcePath;
    try {
        net->net = cv::dnn::readNetFromONNX(graph.sourcePath);
        net->net.setPreferableBackend(cv::dnn::DNN_BACKEND_OPENCV);
        net->net.setPreferableTarget(cv::dnn::DNN_TARGET_CPU);
    } catch (const cv::Exception& e) {
        return makeError(ErrorCode::Unsupported, "OpenCV DNN cannot load " + graph.sourcePath + ": " + e.err);
    }
    if (net->net.empty())
        return makeError(ErrorCode::Unsupported, "OpenCV DNN cannot load " + graph.sourcePath + ": empty network");
    return std::unique_ptr<OpenCvBackend>(new OpenCvBackend(std::move(net)));
}

OpenCvBackend::OpenCvBackend(std::unique_ptr<Net> net) : m_net(std::move(net)) {}
OpenCvBackend::~OpenCvBackend() = default;

Result<NDArray> OpenCvBackend::run(const NDArray& batch) {
    std::vector<int> sizes(batch.shape.begin(), batch.shape.end());
    try {
        // cv::Mat does not own `batch`'s data; setInput copies it.
        cv::Mat blob(int(sizes.size()), sizes.data(), CV_32F, const_cast<float*>(batch.data.data()));
        m_net->net.setInput(blob, m_net->input);
        cv::Mat out = m_net->net.forward(m_net->output);
        std::vector<int64_t> shape(out.size.p, out.size.p + out.dims);
        if (!out.isContinuous()) out = out.clone();
        const float* data = out.ptr<float>();
        return NDArray(std::move(shape), std::vector<float>(data, data + out.total()));
    } catch (const cv::Exception& e) {
        return makeError(ErrorCode::Unsupported, "OpenCV DNN failed to run " + m_net->path + ": " + e.err);
    }
}

}  // namespace lathe
