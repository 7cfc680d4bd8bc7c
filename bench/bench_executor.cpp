// Images per second of the built-in Executor against OpenCV DNN on the same ONNX files, at batch 1 and 64, with the
// same thread count, measured interleaved in the same run (warm-up, then the median of the repeats).
//
//   bench_executor [--threads N] [--seconds S] [--profile] [model.onnx...]
//
// Without model arguments it benchmarks the demo model, the fixtures bn_conv, depthwise, residual, tf_nhwc and two
// synthetic nets (VGG-style and MobileNet-style blocks). --profile adds the executor's time per op type at batch 64.
#include <omp.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <map>
#include <opencv2/core.hpp>
#include <opencv2/dnn.hpp>
#include <random>
#include <string>
#include <vector>

#include "bench/synthetic_models.h"
#include "core/model/onnx_reader.h"
#include "core/runtime/executor.h"

namespace fs = std::filesystem;
using namespace lathe;

namespace {

struct Options {
    int threads = omp_get_max_threads();
    double seconds = 2.0;
    bool profile = false;
    std::vector<std::string> models;
};

double seconds(std::chrono::steady_clock::duration d) { return std::chrono::duration<double>(d).count(); }

double median(std::vector<double> v) {
    std::sort(v.begin(), v.end());
    return v[v.size() / 2];
}

template <class F>
double timeOnce(F&& f) {
    const auto start = std::chrono::steady_clock::now();
    f();
    return seconds(std::chrono::steady_clock::now() - start);
}

void benchModel(const std::string& path, const Options& options) {
    const std::string name = fs::path(path).stem().string();
    auto graph = readOnnxModel(path);
    if (!graph) {
        std::printf("%-18s cannot read: %s\n", name.c_str(), graph.error().message.c_str());
        return;
    }
    auto executor = Executor::compile(*graph, ExecutorOptions{options.threads});
    if (!executor) {
        std::printf("%-18s executor cannot run it: %s\n", name.c_str(), executor.error().message.c_str());
        return;
    }
    cv::dnn::Net net;
    try {
        net = cv::dnn::readNetFromONNX(path);
    } catch (const cv::Exception& e) {
        std::printf("%-18s OpenCV cannot load it: %s\n", name.c_str(), e.what());
        return;
    }
    const std::string inputName = executor->inputNames().front();
    const std::string outputName = executor->outputNames().front();
    const ValueInfo* info = graph->value(inputName);
    for (int64_t batch : {1, 64}) {
        std::vector<int64_t> shape = info->shape;
        shape[0] = batch;
        if (std::any_of(shape.begin(), shape.end(), [](int64_t d) { return d < 1; })) {
            std::printf("%-18s input '%s' has a free dimension besides the batch\n", name.c_str(), inputName.c_str());
            return;
        }
        NDArray input(shape);
        std::mt19937 rng(42);
        std::uniform_real_distribution<float> uniform(0.f, 1.f);
        for (float& v : input.data) v = uniform(rng);
        const std::map<std::string, NDArray> feeds{{inputName, input}};
        const std::vector<int> dims(shape.begin(), shape.end());
        const cv::Mat blob(int(dims.size()), dims.data(), CV_32F, input.data.data());

        NDArray ours;
        cv::Mat theirs;
        auto runOurs = [&] { ours = std::move(executor->run(feeds).value().at(outputName)); };
        auto runTheirs = [&] {
            net.setInput(blob);
            theirs = net.forward();
        };
        for (int i = 0; i < 3; ++i) {
            runOurs();
            runTheirs();
        }
        // Alternating blocks of runs: load drift hits both runtimes alike, and each runtime's idle worker threads
        // (OpenMP / TBB spin a while after a parallel region) rarely overlap the other's timed runs.
        std::vector<double> oursTimes, theirsTimes;
        const auto start = std::chrono::steady_clock::now();
        constexpr int kBlock = 3;
        while (oursTimes.size() < 6 ||
               (oursTimes.size() < 600 && seconds(std::chrono::steady_clock::now() - start) < options.seconds)) {
            for (int i = 0; i < kBlock; ++i) oursTimes.push_back(timeOnce(runOurs));
            for (int i = 0; i < kBlock; ++i) theirsTimes.push_back(timeOnce(runTheirs));
        }
        float maxDiff = 0.f;
        const float* reference = theirs.ptr<float>();
        for (size_t i = 0; i < ours.data.size() && i < theirs.total(); ++i)
            maxDiff = std::max(maxDiff, std::abs(ours.data[i] - reference[i]));
        const double oursRate = double(batch) / median(oursTimes);
        const double theirsRate = double(batch) / median(theirsTimes);
        std::printf("%-18s %5lld %12.1f %12.1f %8.2f %10.1e %6zu %6lld\n", name.c_str(), static_cast<long long>(batch),
                    oursRate, theirsRate, oursRate / theirsRate, double(maxDiff), oursTimes.size(),
                    static_cast<long long>(executor->microBatch()));
        if (options.profile && batch == 64) {
            std::map<std::string, double> byOp;
            std::vector<NodeTiming> timings;
            for (int i = 0; i < 10; ++i) {
                (void)executor->run(feeds, {}, &timings);
                for (const NodeTiming& t : timings) byOp[t.opType] += t.milliseconds / 10;
            }
            for (const auto& [op, ms] : byOp) std::printf("    %-20s %8.3f ms\n", op.c_str(), ms);
        }
    }
}

}  // namespace

int main(int argc, char** argv) {
    if (!std::getenv("OMP_WAIT_POLICY")) {
        setenv("OMP_WAIT_POLICY", "PASSIVE", 1);
        execv("/proc/self/exe", argv);
    }
    Options options;
    for (int i = 1; i < argc; ++i) {
        const std::string arg = argv[i];
        if (arg == "--threads" && i + 1 < argc)
            options.threads = std::max(1, std::atoi(argv[++i]));
        else if (arg == "--seconds" && i + 1 < argc)
            options.seconds = std::atof(argv[++i]);
        else if (arg == "--profile")
            options.profile = true;
        else if (arg.rfind("--", 0) == 0) {
            std::fprintf(stderr, "usage: %s [--threads N] [--seconds S] [--profile] [model.onnx...]\n", argv[0]);
            return 2;
        } else
            options.models.push_back(arg);
    }
    cv::setNumThreads(options.threads);
    if (options.models.empty()) {
        options.models.push_back(LATHE_DEMO_MODEL);
        for (const char* fixture : {"bn_conv", "depthwise", "residual", "tf_nhwc"}) {
            const fs::path path = fs::path(LATHE_FIXTURES_DIR) / (std::string(fixture) + ".onnx");
            if (fs::exists(path)) options.models.push_back(path.string());
        }
        const fs::path dir = fs::temp_directory_path() / "lathe_bench";
        fs::create_directories(dir);
        const std::string vgg = (dir / "vgg_block.onnx").string();
        const std::string mobile = (dir / "mobile_block.onnx").string();
        bench::writeVggBlock(vgg);
        bench::writeMobileBlock(mobile);
        options.models.push_back(vgg);
        options.models.push_back(mobile);
    }
    std::printf(
        "threads: %d (executor OpenMP team and cv::setNumThreads), OMP_WAIT_POLICY=%s, %.1f s per measurement\n",
        options.threads, std::getenv("OMP_WAIT_POLICY"), options.seconds);
    std::printf("%-18s %5s %12s %12s %8s %10s %6s %6s\n", "model", "batch", "ours img/s", "opencv img/s", "ratio",
                "max|diff|", "runs", "slice");
    for (const std::string& model : options.models) benchModel(model, options);
    return 0;
}
