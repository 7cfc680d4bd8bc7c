// Images per second of the built-in Executor against ONNX Runtime (npm onnxruntime-node, graph optimizations 'all'
// and 'disabled', run by bench/ort_bench.js in node) and OpenCV DNN on the same ONNX files, at batch 1 and 64, with
// the same thread count. Lathe and OpenCV are measured interleaved (warm-up, then the median of the repeats); ONNX
// Runtime right after them on the same input, in its own process. Prints images/s and the ratios Lathe / peer, and
// for int8 exports (MODEL_qdq.onnx, MODEL_qop.onnx) the ratio to Lathe's float speed on MODEL.onnx.
//
//   bench_executor [--threads N] [--seconds S] [--profile] [--int8-dir DIR] [--blocks] [--torchvision DIR]
//                  [--no-ort] [--ort-modules DIR] [--batches B,B] [model.onnx...]
//
// Without model arguments it benchmarks the demo LeNet-5, a 784-300-100-10 MLP (synthetic), and the MobileNet-style
// and ResNet-style nets of resources/models; --int8-dir adds the int8 exports found there for each
// (bench/make_int8_models.sh writes them with lathe-cli); --blocks adds two synthetic nets at 56x56 and
// 64x64 (VGG-style and MobileNet-style blocks); --torchvision DIR adds torchvision's ResNet-18, MobileNet V2,
// EfficientNet-B0 and ViT-B/16 (224x224, random weights, at batch 1 and 8), exported into DIR by
// tools/export_torchvision.py (python3-torchvision) when they are not there yet. `--write-mlp PATH` only writes the
// MLP. --profile adds the executor's time per step at the larger batch, and ONNX Runtime's per-node kernel times
// (its profiler, level 'all').
#include <omp.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <opencv2/core.hpp>
#include <opencv2/core/utils/logger.hpp>
#include <opencv2/dnn.hpp>
#include <optional>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include "bench/synthetic_models.h"
#include "core/model/onnx_reader.h"
#include "core/runtime/executor.h"

namespace fs = std::filesystem;
using namespace lathe;

namespace {

std::string shellQuote(const std::string& text);

struct Options {
    int threads = omp_get_max_threads();
    double seconds = 2.0;
    bool profile = false;
    bool ort = true;
    bool blocks = false;
    std::string ortModules;
    std::string int8Dir;
    std::string torchvisionDir;
    std::vector<std::pair<std::string, std::vector<int64_t>>> models;  // path, batch sizes
};

const std::vector<int64_t> kSmallBatches = {1, 64};
const std::vector<int64_t> kImageNetBatches = {1, 8};  // 224x224 inputs: batch 8 as in the torchvision issue
const char* const kTorchvisionModels[] = {"resnet18", "mobilenet_v2", "efficientnet_b0", "vit_b_16"};

// The torchvision models' files in `dir`, exported there first when any is missing; empty (with a message) on failure.
std::vector<std::string> torchvisionModels(const std::string& dir) {
    std::vector<std::string> paths;
    std::string names;
    bool missing = false;
    for (const char* name : kTorchvisionModels) {
        paths.push_back((fs::path(dir) / (std::string(name) + "_seed0_opset14.onnx")).string());
        if (!names.empty()) names += ',';
        names += name;
        missing = missing || !fs::exists(paths.back());
    }
    if (!missing) return paths;
    const std::string command = "python3 " + shellQuote(LATHE_TOOLS_DIR "/export_torchvision.py") + " --out " +
                                shellQuote(dir) + " --models " + names + " --manifest bench_manifest.json";
    std::printf("exporting %s into %s (tools/export_torchvision.py)\n", names.c_str(), dir.c_str());
    std::fflush(stdout);
    if (std::system(command.c_str()) != 0) {
        std::printf("    cannot export the torchvision models (needs python3-torchvision and python3-onnx)\n");
        return {};
    }
    return paths;
}

// Images per second of one model at one batch; nullopt when that runtime could not run it.
struct Rates {
    std::optional<double> lathe, ortAll, ortDisabled, opencv;
    double maxDiff = -1;  // Lathe against OpenCV, when both ran
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

std::string shellQuote(const std::string& text) {
    std::string quoted = "'";
    for (char c : text) {
        if (c == '\'')
            quoted.append("'\\''");
        else
            quoted.push_back(c);
    }
    quoted.push_back('\'');
    return quoted;
}

std::string defaultOrtModules() {
    for (const char* dir : {LATHE_BUILD_ORT_MODULES, LATHE_RELEASE_ORT_MODULES})
        if (fs::exists(fs::path(dir) / "onnxruntime-node")) return dir;
    return LATHE_RELEASE_ORT_MODULES;
}

// Runs bench/ort_bench.js on the inputs written for each batch; fills ortAll / ortDisabled. Prints why not on failure.
void measureOrt(const std::string& path, const std::vector<int64_t>& shape,
                const std::vector<std::pair<int64_t, std::string>>& inputs, const Options& options,
                std::map<int64_t, Rates>& rates) {
    std::string shapeText;
    for (size_t d = 0; d < shape.size(); ++d) shapeText += (d ? "," : "") + std::to_string(shape[d]);
    std::string command = std::string(LATHE_NODE) + " " + shellQuote(LATHE_ORT_BENCH) + " --modules " +
                          shellQuote(options.ortModules) + " --threads " + std::to_string(options.threads) +
                          " --seconds " + std::to_string(options.seconds) + " --shape " + shapeText;
    if (options.profile) command += " --profile";
    for (const auto& [batch, input] : inputs)
        command += " " + shellQuote(path) + " " + shellQuote(input) + " " + std::to_string(batch);
    command += " 2>&1";
    FILE* pipe = popen(command.c_str(), "r");
    if (!pipe) return;
    char line[4096];
    while (std::fgets(line, sizeof line, pipe)) {
        std::istringstream in(line);
        std::string tag, model, level, value;
        int64_t batch = 0;
        if (!(in >> tag >> model >> batch >> level >> value) || tag != "ort") {
            std::printf("    onnxruntime: %s", line);
            continue;
        }
        if (value == "error") {
            std::printf("    onnxruntime (%s, batch %lld):%s", level.c_str(), static_cast<long long>(batch),
                        line + in.tellg());
            continue;
        }
        (level == "all" ? rates[batch].ortAll : rates[batch].ortDisabled) = std::atof(value.c_str());
    }
    pclose(pipe);
}

// The first line of an OpenCV exception's message.
std::string firstLine(const cv::Exception& e) { return e.err.substr(0, e.err.find('\n')); }

std::string rateText(const std::optional<double>& rate) {
    char text[32];
    if (!rate) return "-";
    std::snprintf(text, sizeof text, "%.1f", *rate);
    return text;
}

std::string ratioText(const std::optional<double>& ours, const std::optional<double>& theirs) {
    char text[32];
    if (!ours || !theirs || *theirs <= 0) return "-";
    std::snprintf(text, sizeof text, "%.2f", *ours / *theirs);
    return text;
}

// Benchmarks one model at each batch size; returns the rates per batch.
std::map<int64_t, Rates> benchModel(const std::string& path, const std::vector<int64_t>& batches,
                                    const Options& options) {
    std::map<int64_t, Rates> rates;
    const std::string name = fs::path(path).stem().string();
    auto graph = readOnnxModel(path);
    if (!graph) {
        std::printf("%-30s cannot read: %s\n", name.c_str(), graph.error().message.c_str());
        return rates;
    }
    auto executor = Executor::compile(*graph, ExecutorOptions{options.threads});
    if (!executor) {
        std::printf("%-30s executor cannot run it: %s\n", name.c_str(), executor.error().message.c_str());
        return rates;
    }
    std::optional<cv::dnn::Net> net;
    try {
        net = cv::dnn::readNetFromONNX(path);
    } catch (const cv::Exception& e) {
        std::printf("    opencv cannot load %s: %s\n", name.c_str(), firstLine(e).c_str());
    }
    const std::string inputName = executor->inputNames().front();
    const std::string outputName = executor->outputNames().front();
    const ValueInfo* info = graph->value(inputName);
    const fs::path dir = fs::temp_directory_path() / "lathe_bench";
    fs::create_directories(dir);
    std::vector<std::pair<int64_t, std::string>> ortInputs;
    std::vector<int64_t> shape = info->shape;
    for (int64_t batch : batches) {
        shape[0] = batch;
        if (std::any_of(shape.begin(), shape.end(), [](int64_t d) { return d < 1; })) {
            std::printf("%-30s input '%s' has a free dimension besides the batch\n", name.c_str(), inputName.c_str());
            return rates;
        }
        NDArray input(shape);
        std::mt19937 rng(42);
        std::uniform_real_distribution<float> uniform(0.f, 1.f);
        for (float& v : input.data) v = uniform(rng);
        const std::map<std::string, NDArray> feeds{{inputName, input}};
        const std::vector<int> dims(shape.begin(), shape.end());
        const cv::Mat blob(int(dims.size()), dims.data(), CV_32F, input.data.data());
        const std::string inputFile = (dir / (name + "_b" + std::to_string(batch) + ".bin")).string();
        std::ofstream(inputFile, std::ios::binary)
            .write(reinterpret_cast<const char*>(input.data.data()), std::streamsize(input.data.size() * 4));
        ortInputs.emplace_back(batch, inputFile);

        NDArray ours;
        cv::Mat theirs;
        bool opencvRuns = net.has_value();
        auto runOurs = [&] { ours = std::move(executor->run(feeds).value().at(outputName)); };
        auto runTheirs = [&] {
            net->setInput(blob);
            theirs = net->forward();
        };
        // Three warm-up runs each, one for a model whose run takes over half a second (it then needs 3 timed runs, not
        // 6).
        int warmups = 3, minimumRuns = 6;
        for (int i = 0; i < warmups; ++i) {
            if (timeOnce(runOurs) > 0.5) warmups = 1, minimumRuns = 3;
            if (opencvRuns) try {
                    runTheirs();
                } catch (const cv::Exception& e) {
                    std::printf("    opencv cannot run %s: %s\n", name.c_str(), firstLine(e).c_str());
                    opencvRuns = false;
                }
        }
        // Alternating blocks of runs: load drift hits both runtimes alike, and each runtime's idle worker threads
        // (OpenMP / TBB spin a while after a parallel region) rarely overlap the other's timed runs.
        std::vector<double> oursTimes, theirsTimes;
        const auto start = std::chrono::steady_clock::now();
        constexpr int kBlock = 3;
        while (oursTimes.size() < size_t(minimumRuns) ||
               (oursTimes.size() < 600 && seconds(std::chrono::steady_clock::now() - start) < options.seconds)) {
            for (int i = 0; i < kBlock; ++i) oursTimes.push_back(timeOnce(runOurs));
            if (opencvRuns)
                for (int i = 0; i < kBlock; ++i) theirsTimes.push_back(timeOnce(runTheirs));
        }
        Rates& r = rates[batch];
        r.lathe = double(batch) / median(oursTimes);
        if (opencvRuns) {
            r.opencv = double(batch) / median(theirsTimes);
            float maxDiff = 0.f;
            const float* reference = theirs.ptr<float>();
            for (size_t i = 0; i < ours.data.size() && i < theirs.total(); ++i)
                maxDiff = std::max(maxDiff, std::abs(ours.data[i] - reference[i]));
            r.maxDiff = maxDiff;
        }
        if (options.profile) {
            // Each step's median over 10 runs after 3 dropped ones, as ort_bench.js --profile reports ONNX Runtime's
            // nodes (a mean let one slow run on a shared machine move a step's time).
            std::map<std::string, std::vector<double>> byStep;
            std::vector<std::string> order;
            std::vector<NodeTiming> timings;
            constexpr int kDropped = 3, kRuns = 10;
            for (int i = 0; i < kDropped + kRuns; ++i) {
                (void)executor->run(feeds, {}, &timings);
                if (i < kDropped) continue;
                for (const NodeTiming& t : timings) {
                    auto [it, inserted] = byStep.try_emplace(t.node + " (" + t.opType + ")");
                    if (inserted) order.push_back(it->first);
                    it->second.push_back(t.milliseconds);
                }
            }
            std::map<std::string, double> stepMedian;
            double total = 0;
            for (const auto& [step, times] : byStep) total += stepMedian[step] = median(times);
            std::printf("    profile of %s at batch %lld (%.3f ms per run: each step's median over %d runs):\n",
                        name.c_str(), static_cast<long long>(batch), total, kRuns);
            for (const std::string& step : order)
                std::printf("      %8.3f ms %5.1f %%  %s\n", stepMedian[step], 100 * stepMedian[step] / total,
                            step.c_str());
        }
    }
    shape[0] = 1;
    if (options.ort) measureOrt(path, shape, ortInputs, options, rates);
    for (const auto& [batch, r] : rates) {
        char diff[32] = "-";
        if (r.maxDiff >= 0) std::snprintf(diff, sizeof diff, "%.1e", r.maxDiff);
        std::printf("%-30s %5lld %10s %10s %10s %10s %8s %8s %8s %9s\n", name.c_str(), static_cast<long long>(batch),
                    rateText(r.lathe).c_str(), rateText(r.ortAll).c_str(), rateText(r.ortDisabled).c_str(),
                    rateText(r.opencv).c_str(), ratioText(r.lathe, r.ortAll).c_str(),
                    ratioText(r.lathe, r.ortDisabled).c_str(), ratioText(r.lathe, r.opencv).c_str(), diff);
    }
    std::fflush(stdout);
    return rates;
}

}  // namespace

int main(int argc, char** argv) {
    // OpenMP's idle threads spin a bounded while after a parallel region (GOMP_SPINCOUNT=20000), then sleep. The
    // workbench runs with libgomp's default (a longer spin); ONNX Runtime's intra-op threads spin too. Sleeping at
    // once (OMP_WAIT_POLICY=PASSIVE) costs Lathe a futex wake-up per parallel region (15-20 % of EfficientNet-B0 on
    // this VM), while libgomp's default spin steals the cores from OpenCV DNN's runs that follow Lathe's in this
    // process (LeNet-5 at batch 64: 17.3K -> 12.5K images/s); with the bounded spin OpenCV's rates equal its rates
    // under PASSIVE. Either variable set by the caller is kept.
    if (!std::getenv("OMP_WAIT_POLICY") && !std::getenv("GOMP_SPINCOUNT")) {
        setenv("GOMP_SPINCOUNT", "20000", 1);
        execv("/proc/self/exe", argv);
    }
    Options options;
    options.ortModules = defaultOrtModules();
    std::vector<int64_t> modelBatches = kSmallBatches;  // of the models named on the command line (--batches)
    const char* usage =
        "usage: %s [--threads N] [--seconds S] [--profile] [--int8-dir DIR] [--blocks] [--torchvision DIR] "
        "[--no-ort] [--ort-modules DIR] [--batches 1,64] [model.onnx...]\n";
    for (int i = 1; i < argc; ++i) {
        const std::string arg = argv[i];
        if (arg == "--threads" && i + 1 < argc)
            options.threads = std::max(1, std::atoi(argv[++i]));
        else if (arg == "--seconds" && i + 1 < argc)
            options.seconds = std::atof(argv[++i]);
        else if (arg == "--profile")
            options.profile = true;
        else if (arg == "--write-mlp" && i + 1 < argc) {
            bench::writeMlp(argv[++i]);
            return 0;
        } else if (arg == "--blocks")
            options.blocks = true;
        else if (arg == "--no-ort")
            options.ort = false;
        else if (arg == "--ort-modules" && i + 1 < argc)
            options.ortModules = argv[++i];
        else if (arg == "--int8-dir" && i + 1 < argc)
            options.int8Dir = argv[++i];
        else if (arg == "--batches" && i + 1 < argc) {
            std::vector<int64_t> batches;
            std::stringstream list(argv[++i]);
            for (std::string item; std::getline(list, item, ',');)
                batches.push_back(std::max(1, std::atoi(item.c_str())));
            if (!batches.empty()) modelBatches = batches;
        } else if (arg == "--torchvision" && i + 1 < argc)
            options.torchvisionDir = argv[++i];
        else if (arg.rfind("--", 0) == 0) {
            std::fprintf(stderr, usage, argv[0]);
            return 2;
        } else
            options.models.emplace_back(arg, modelBatches);
    }
    cv::setNumThreads(options.threads);
    cv::utils::logging::setLogLevel(cv::utils::logging::LOG_LEVEL_SILENT);
    if (options.models.empty() && options.torchvisionDir.empty()) {
        const fs::path dir = fs::temp_directory_path() / "lathe_bench";
        fs::create_directories(dir);
        const std::string mlp = (dir / "mlp_300_100.onnx").string();
        bench::writeMlp(mlp);
        for (const std::string& model : {std::string(LATHE_MODELS_DIR "/lenet5_fashion.onnx"), mlp,
                                         std::string(LATHE_MODELS_DIR "/mobilenet_fashion.onnx"),
                                         std::string(LATHE_MODELS_DIR "/resnet_fashion.onnx")}) {
            options.models.emplace_back(model, kSmallBatches);
            if (options.int8Dir.empty()) continue;
            for (const char* format : {"_qdq", "_qop"}) {
                const fs::path path = fs::path(options.int8Dir) / (fs::path(model).stem().string() + format + ".onnx");
                if (fs::exists(path)) options.models.emplace_back(path.string(), kSmallBatches);
            }
        }
    }
    if (options.blocks) {
        const fs::path dir = fs::temp_directory_path() / "lathe_bench";
        fs::create_directories(dir);
        options.models.emplace_back((dir / "vgg_block.onnx").string(), kSmallBatches);
        options.models.emplace_back((dir / "mobile_block.onnx").string(), kSmallBatches);
        bench::writeVggBlock(options.models[options.models.size() - 2].first);
        bench::writeMobileBlock(options.models.back().first);
    }
    if (!options.torchvisionDir.empty())
        for (const std::string& path : torchvisionModels(options.torchvisionDir))
            options.models.emplace_back(path, kImageNetBatches);
    std::printf(
        "threads: %d (Lathe's OpenMP team, ONNX Runtime's intra-op threads, cv::setNumThreads), "
        "OMP_WAIT_POLICY=%s, GOMP_SPINCOUNT=%s, %.1f s per measurement; images/s (median run), ratios = Lathe / peer\n",
        options.threads, std::getenv("OMP_WAIT_POLICY") ? std::getenv("OMP_WAIT_POLICY") : "unset",
        std::getenv("GOMP_SPINCOUNT") ? std::getenv("GOMP_SPINCOUNT") : "unset", options.seconds);
    if (options.ort) std::printf("onnxruntime-node from %s\n", options.ortModules.c_str());
    std::printf("%-30s %5s %10s %10s %10s %10s %8s %8s %8s %9s\n", "model", "batch", "lathe", "ort-all", "ort-off",
                "opencv", "/ort-all", "/ort-off", "/opencv", "max|diff|");
    std::map<std::string, std::map<int64_t, Rates>> all;
    for (const auto& [model, batches] : options.models)
        all[fs::path(model).stem().string()] = benchModel(model, batches, options);
    bool header = false;
    for (const auto& [name, rates] : all)
        for (const char* format : {"_qdq", "_qop"}) {
            const size_t at = name.size() >= 4 ? name.size() - 4 : 0;
            if (name.compare(at, std::string::npos, format) != 0 || !all.count(name.substr(0, at))) continue;
            if (!header) std::printf("\nint8 export in Lathe / float model in Lathe:\n");
            header = true;
            for (const auto& [batch, r] : rates)
                std::printf("%-30s %5lld %8s\n", name.c_str(), static_cast<long long>(batch),
                            ratioText(r.lathe, all[name.substr(0, at)][batch].lathe).c_str());
        }
    return 0;
}
