#include "app/cli/eval_command.h"

#include <unistd.h>

#include <charconv>
#include <cmath>
#include <cstdio>
#include <functional>
#include <iomanip>
#include <iostream>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <sstream>

#include "core/model/onnx_reader.h"

namespace lathe {

namespace {
constexpr const char* kEvalUsage =
    "usage: lathe-cli eval MODEL --data SPEC [options]\n"
    "accuracy, F1, k-fold spread, throughput and latency of MODEL on a labelled data set\n"
    "  SPEC                 idx:DIR (MNIST-style IDX files), folder:DIR (one sub-folder per class)\n"
    "                       or npy:IMAGES.npy,LABELS.npy\n"
    "  --split test|train   IDX files to read (default test)\n"
    "  --limit N            evaluate the first N samples (default all)\n"
    "  --shuffle            take them in a seeded random order (with --limit: a random sample)\n"
    "  --backend B          auto (default: builtin, or OpenCV DNN for ops it lacks), builtin or opencv\n"
    "  --folds K            k-fold accuracy spread (default 5)\n"
    "  --batch B            batch size (default 100)\n"
    "  --seed S             seed of the shuffle and the folds (default 0)\n"
    "  --threads T          inference threads (default: all cores)\n"
    "  --json               machine-readable output\n"
    "  --scale F            pixel multiplier (default 1/255 for 8-bit pixels)\n"
    "  --mean M[,M,M]       per-channel mean subtracted after scaling (tensor channel order)\n"
    "  --std S[,S,S]        per-channel divisor after the mean\n"
    "  folder data only:    --size N (shorter side), --crop N (centre square), --bgr, --gray\n";

struct UsageError {
    std::string message;
};

struct EvalArgs {
    std::string model;
    std::string data;
    DatasetOptions datasetOptions;
    EvalOptions evalOptions;
    bool json = false;
};

template <class T>
T parseNumber(const std::string& option, const std::string& text, T min) {
    T value{};
    auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
    if (ec != std::errc() || end != text.data() + text.size() || value < min)
        throw UsageError{option + " needs an integer >= " + std::to_string(min) + ", got '" + text + "'"};
    return value;
}

float parseFloat(const std::string& option, const std::string& text) {
    char* end = nullptr;
    float value = std::strtof(text.c_str(), &end);
    if (text.empty() || end != text.c_str() + text.size() || !std::isfinite(value))
        throw UsageError{option + " needs a number, got '" + text + "'"};
    return value;
}

std::vector<float> parseFloats(const std::string& option, const std::string& text) {
    std::vector<float> values;
    std::stringstream in(text);
    std::string item;
    while (std::getline(in, item, ',')) values.push_back(parseFloat(option, item));
    if (values.size() != 1 && values.size() != 3)
        throw UsageError{option + " needs 1 or 3 comma-separated numbers, got '" + text + "'"};
    return values;
}

BackendKind parseBackend(const std::string& text) {
    for (BackendKind kind : {BackendKind::Auto, BackendKind::Builtin, BackendKind::OpenCv})
        if (text == backendName(kind)) return kind;
    throw UsageError{"--backend is auto, builtin or opencv, got '" + text + "'"};
}

Split parseSplit(const std::string& text) {
    if (text != "test" && text != "train") throw UsageError{"--split is test or train, got '" + text + "'"};
    return text == "train" ? Split::Train : Split::Test;
}

EvalArgs parseArgs(const std::vector<std::string>& args) {
    EvalArgs out;
    Preprocessing& pre = out.datasetOptions.preprocessing;
    EvalOptions& eval = out.evalOptions;
    const std::map<std::string, std::function<void()>> switches = {
        {"--json", [&] { out.json = true; }},
        {"--shuffle", [&] { eval.shuffle = true; }},
        {"--bgr", [&] { pre.bgr = true; }},
        {"--gray", [&] { pre.gray = true; }},
    };
    using Setter = std::function<void(const std::string& option, const std::string& value)>;
    const std::map<std::string, Setter> withValue = {
        {"--data", [&](auto&, auto& v) { out.data = v; }},
        {"--split", [&](auto&, auto& v) { out.datasetOptions.split = parseSplit(v); }},
        {"--backend", [&](auto&, auto& v) { eval.backend = parseBackend(v); }},
        {"--limit", [&](auto& o, auto& v) { eval.limit = parseNumber<int64_t>(o, v, 1); }},
        {"--folds", [&](auto& o, auto& v) { eval.folds = parseNumber<int>(o, v, 1); }},
        {"--batch", [&](auto& o, auto& v) { eval.batchSize = parseNumber<int>(o, v, 1); }},
        {"--seed", [&](auto& o, auto& v) { eval.seed = parseNumber<uint64_t>(o, v, 0); }},
        {"--threads", [&](auto& o, auto& v) { eval.threads = parseNumber<int>(o, v, 1); }},
        {"--size", [&](auto& o, auto& v) { pre.resize = parseNumber<int>(o, v, 1); }},
        {"--crop", [&](auto& o, auto& v) { pre.crop = parseNumber<int>(o, v, 1); }},
        {"--scale", [&](auto& o, auto& v) { pre.scale = parseFloat(o, v); }},
        {"--mean", [&](auto& o, auto& v) { pre.mean = parseFloats(o, v); }},
        {"--std", [&](auto& o, auto& v) { pre.stddev = parseFloats(o, v); }},
    };
    for (size_t i = 0; i < args.size(); ++i) {
        const std::string& a = args[i];
        if (auto s = switches.find(a); s != switches.end()) {
            s->second();
        } else if (auto v = withValue.find(a); v != withValue.end()) {
            if (i + 1 >= args.size()) throw UsageError{a + " needs a value"};
            v->second(a, args[++i]);
        } else if (!a.empty() && a[0] == '-') {
            throw UsageError{"unknown option '" + a + "'"};
        } else if (out.model.empty()) {
            out.model = a;
        } else {
            throw UsageError{"more than one model given ('" + out.model + "', '" + a + "')"};
        }
    }
    if (out.model.empty()) throw UsageError{"no model given"};
    if (out.data.empty()) throw UsageError{"no data set given (--data SPEC)"};
    return out;
}

std::string oneLine(std::string text) {
    for (char& c : text)
        if (c == '\n' || c == '\r') c = ' ';
    while (!text.empty() && text.back() == ' ') text.pop_back();
    return text;
}

int fail(const std::string& message) {
    std::cerr << "error: " << oneLine(message) << '\n';
    return 1;
}

double rounded(double value, int decimals) {
    const double scale = std::pow(10.0, decimals);
    return std::round(value * scale) / scale;
}

// "\r<stage> 42%" on a terminal, redrawn when the whole percentage changes.
class TerminalProgress {
public:
    void clear() {
        if (m_drawn) std::cerr << "\r\033[K" << std::flush;
        m_drawn = false;
    }
    bool update(float fraction, std::string_view stage) {
        int percent = int(fraction * 100.f);
        if (percent == m_percent && stage == m_stage) return true;
        m_percent = percent;
        m_stage = stage;
        std::cerr << "\r\033[K" << stage << ' ' << percent << '%' << std::flush;
        m_drawn = true;
        return true;
    }

private:
    int m_percent = -1;
    std::string m_stage;
    bool m_drawn = false;
};
}  // namespace

std::string evalJson(const EvalReport& r) {
    nlohmann::ordered_json j;
    j["top1"] = rounded(r.top1, 4);
    j["top5"] = rounded(r.top5, 4);
    j["macro_f1"] = rounded(r.macroF1, 4);
    j["n"] = r.n;
    j["folds"] = {{"k", r.folds.k}, {"mean", rounded(r.folds.mean, 4)}, {"std", rounded(r.folds.stddev, 4)}};
    j["seconds"] = rounded(r.seconds, 3);
    j["images_per_s"] = rounded(r.imagesPerSecond, 1);
    j["latency_ms"] = rounded(r.latencyMs, 4);
    j["backend"] = r.backend;
    return j.dump(2);
}

void printEvalReport(std::ostream& out, const EvalReport& r, const std::vector<std::string>& classNames) {
    auto className = [&](int c) { return size_t(c) < classNames.size() ? classNames[size_t(c)] : std::to_string(c); };
    out << std::fixed << std::setprecision(2);
    out << "samples:   " << r.n << "   backend: " << r.backend << '\n';
    out << "top-1:     " << r.top1 << "%\n";
    out << "top-5:     " << r.top5 << "%\n";
    out << "macro-F1:  " << r.macroF1 << "%\n";
    out << r.folds.k << "-fold:    " << r.folds.mean << "% +- " << r.folds.stddev << "%  (accuracy over " << r.folds.k
        << " disjoint parts of the data: spread of the estimate)\n";
    out << "time:      " << std::setprecision(3) << r.seconds << " s   " << std::setprecision(1) << r.imagesPerSecond
        << " images/s (inference)   latency " << std::setprecision(3) << r.latencyMs << " ms/image (batch 1)\n";

    size_t nameWidth = 5;
    for (int c = 0; c < r.confusion.numClasses(); ++c) nameWidth = std::max(nameWidth, className(c).size());
    out << '\n'
        << std::left << std::setw(int(nameWidth) + 2) << "class" << std::right << std::setw(10) << "precision"
        << std::setw(9) << "recall" << std::setw(8) << "F1" << std::setw(9) << "support" << '\n';
    out << std::setprecision(4);
    for (size_t c = 0; c < r.perClass.size(); ++c) {
        const ClassMetrics& m = r.perClass[c];
        out << std::left << std::setw(int(nameWidth) + 2) << className(int(c)) << std::right << std::setw(10)
            << m.precision << std::setw(9) << m.recall << std::setw(8) << m.f1 << std::setw(9) << m.support << '\n';
    }

    out << "\nconfusion matrix (rows: true class, columns: predicted)\n";
    int64_t largest = 1;
    for (int t = 0; t < r.confusion.numClasses(); ++t)
        for (int p = 0; p < r.confusion.numClasses(); ++p) largest = std::max(largest, r.confusion.count(t, p));
    const int cell = std::max(3, int(std::to_string(largest).size()) + 1);
    out << std::left << std::setw(int(nameWidth) + 2) << "" << std::right;
    for (int p = 0; p < r.confusion.numClasses(); ++p) out << std::setw(cell) << p;
    out << '\n';
    for (int t = 0; t < r.confusion.numClasses(); ++t) {
        out << std::left << std::setw(int(nameWidth) + 2) << className(t) << std::right;
        for (int p = 0; p < r.confusion.numClasses(); ++p) out << std::setw(cell) << r.confusion.count(t, p);
        out << '\n';
    }
}

int runEvalCommand(const std::vector<std::string>& args) {
    if (args.size() == 1 && (args[0] == "-h" || args[0] == "--help")) {
        std::cout << kEvalUsage;
        return 0;
    }
    EvalArgs parsed;
    std::optional<DatasetSpec> spec;
    try {
        parsed = parseArgs(args);
        auto parsedSpec = parseDatasetSpec(parsed.data);
        if (!parsedSpec) throw UsageError{parsedSpec.error().message};
        if (auto valid = validateDatasetOptions(*parsedSpec, parsed.datasetOptions); !valid)
            throw UsageError{valid.error().message};
        spec = *parsedSpec;
    } catch (const UsageError& e) {
        std::cerr << "lathe-cli eval: " << e.message << '\n' << kEvalUsage;
        return 2;
    }

    auto graph = readOnnxModel(parsed.model);
    if (!graph) return fail(graph.error().message);
    auto dataset = openDataset(*spec, parsed.datasetOptions);
    if (!dataset) return fail(dataset.error().message);

    TerminalProgress terminal;
    ProgressFn progress;
    if (isatty(STDERR_FILENO))
        progress = [&terminal](float fraction, std::string_view stage) { return terminal.update(fraction, stage); };
    auto report = evaluate(*graph, **dataset, parsed.evalOptions, progress);
    terminal.clear();
    if (!report) return fail(report.error().message);

    if (parsed.json)
        std::cout << evalJson(*report) << '\n';
    else {
        std::cout << "model:     " << parsed.model << "\ndata:      " << parsed.data << "   " << (*dataset)->size()
                  << " samples of " << (*dataset)->sampleShape().toString() << '\n';
        printEvalReport(std::cout, *report, (*dataset)->classNames());
    }
    return 0;
}

}  // namespace lathe
