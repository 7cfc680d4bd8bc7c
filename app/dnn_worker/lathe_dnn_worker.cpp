// lathe-dnn-worker: runs one ONNX model with OpenCV DNN for OpenCvBackend, in its own process, so that an abort or
// a crash inside OpenCV ends this process, not Lathe. Protocol: core/eval/dnn_worker_protocol.h.
// usage: lathe-dnn-worker MODEL INPUT OUTPUT THREADS   (requests on stdin, replies on stdout, OpenCV's log on stderr)
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <exception>
#include <opencv2/core.hpp>
#include <opencv2/core/utils/logger.hpp>
#include <opencv2/dnn.hpp>
#include <string>
#include <vector>

#include "core/eval/dnn_worker_protocol.h"

namespace {

using namespace lathe::dnnworker;

constexpr int64_t kMaxInputElements = int64_t(1) << 30;

ssize_t sendOut(const char* data, size_t size) { return ::write(STDOUT_FILENO, data, size); }

bool replyError(const std::string& why) {
    const uint8_t ok = 0;
    return writeAll(sendOut, &ok, 1) && writeString(sendOut, why);
}

bool replyTensor(const cv::Mat& result) {
    cv::Mat out = result.isContinuous() ? result : result.clone();
    if (out.type() != CV_32F) out.convertTo(out, CV_32F);
    std::vector<int64_t> shape(out.size.p, out.size.p + out.dims);
    const uint8_t ok = 1;
    return writeAll(sendOut, &ok, 1) && writeTensor(sendOut, shape, out.ptr<float>(), out.total());
}

}  // namespace

int main(int argc, char** argv) {
    if (argc != 5) {
        std::fprintf(stderr, "usage: lathe-dnn-worker MODEL INPUT OUTPUT THREADS (started by Lathe, not by hand)\n");
        return 2;
    }
    cv::utils::logging::setLogLevel(cv::utils::logging::LOG_LEVEL_ERROR);
    const std::string model = argv[1], input = argv[2], output = argv[3];
    if (const int threads = std::atoi(argv[4]); threads > 0) cv::setNumThreads(threads);

    cv::dnn::Net net;
    try {
        net = cv::dnn::readNetFromONNX(model);
        net.setPreferableBackend(cv::dnn::DNN_BACKEND_OPENCV);
        net.setPreferableTarget(cv::dnn::DNN_TARGET_CPU);
    } catch (const cv::Exception& e) {
        return replyError(e.err) ? 0 : 1;
    } catch (const std::exception& e) {
        return replyError(e.what()) ? 0 : 1;
    }
    if (net.empty()) return replyError("empty network") ? 0 : 1;
    const uint8_t loaded = 1;
    if (!writeAll(sendOut, &loaded, 1)) return 1;

    std::vector<int64_t> shape;
    std::vector<float> data;
    while (readTensor(STDIN_FILENO, shape, data, kMaxInputElements)) {
        bool written = false;
        try {
            std::vector<int> sizes(shape.begin(), shape.end());
            // The Mat does not own `data`; setInput copies it.
            cv::Mat blob(int(sizes.size()), sizes.data(), CV_32F, data.data());
            net.setInput(blob, input);
            written = replyTensor(net.forward(output));
        } catch (const cv::Exception& e) {
            written = replyError(e.err);
        } catch (const std::exception& e) {
            written = replyError(e.what());
        }
        if (!written) return 1;
    }
    return 0;
}
