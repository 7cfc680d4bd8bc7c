#include "app/cli/eval_command.h"

#include <cmath>
#include <iomanip>
#include <iostream>
#include <nlohmann/json.hpp>
#include <optional>

#include "app/cli/dataset_arguments.h"
#include "app/cli/terminal_output.h"
#include "core/model/onnx_reader.h"

namespace lathe {

namespace {

constexpr const char* kEvalUsage =
    "usage: lathe-cli eval MODEL --data SPEC [options]\n"
    "accuracy, F1, split spread, throughput and latency of MODEL on a labelled data set\n"
    "  SPEC                 idx:DIR (MNIST-style IDX files), folder:DIR (one sub-folder per class)\n"
    "                       or npy:IMAGES.npy,LABELS.npy\n"
    "  --split test|train   IDX files to read (default test)\n"
    "  --limit N            evaluate the first N samples (default all)\n"
    "  --shuffle            take them in a seeded random order (with --limit: a random sample)\n"
    "  --backend B          auto (default: builtin, or OpenCV DNN for ops it lacks), builtin or opencv\n"
    "  --folds K            split spread: accuracy over K disjoint parts of the evaluated images, nothing\n"
    "                       retrained (default 5; cross-validation is lathe-cli apply --cv K)\n"
    "  --batch B            batch size (default 100)\n"
    "  --seed S             seed of the shuffle and the folds (default 0)\n"
    "  --threads T          inference threads (default: all cores)\n"
    "  --json               machine-readable output\n"
    "  --scale F            pixel multiplier (default 1/255 for 8-bit pixels)\n"
    "  --mean M[,M,M]       per-channel mean subtracted after scaling (tensor channel order)\n"
    "  --std S[,S,S]        per-channel divisor after the mean\n"
    "  folder data only:    --size N (shorter side), --crop N (centre square), --bgr, --gray\n";

struct EvalArgs : cli::DatasetArguments {
    std::string model;
    bool json = false;
};

EvalArgs parseArgs(const std::vector<std::string>& args) {
    EvalArgs out;
    Preprocessing& pre = out.datasetOptions.preprocessing;
    EvalOptions& eval = out.evalOptions;
    const cli::OptionSwitches switches = {
        {"--json", [&] { out.json = true; }},
        {"--shuffle", [&] { eval.shuffle = true; }},
        {"--bgr", [&] { pre.bgr = true; }},
        {"--gray", [&] { pre.gray = true; }},
    };
    cli::OptionSetters withValue = cli::datasetOptionSetters(out);
    withValue.insert({
        {"--folds", [&](auto& o, auto& v) { eval.folds = cli::parseInteger<int>(o, v, 1); }},
        {"--seed", [&](auto& o, auto& v) { eval.seed = cli::parseInteger<uint64_t>(o, v, 0); }},
        {"--size", [&](auto& o, auto& v) { pre.resize = cli::parseInteger<int>(o, v, 1); }},
        {"--crop", [&](auto& o, auto& v) { pre.crop = cli::parseInteger<int>(o, v, 1); }},
    });
    out.model = cli::parseCommandLine(args, switches, withValue);
    if (out.data.empty()) throw cli::UsageError{"no data set given (--data SPEC)"};
    out.spec = cli::datasetSpec(out);
    return out;
}

double rounded(double value, int decimals) {
    const double scale = std::pow(10.0, decimals);
    return std::round(value * scale) / scale;
}

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
    out << "split spread: " << r.folds.mean << "% +- " << r.folds.stddev << "%  (accuracy over " << r.folds.k
        << " disjoint parts of the evaluated images, nothing retrained; not cross-validation)\n";
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
    EvalArgs parsed;
    if (auto exitCode = cli::parseCommand("eval", kEvalUsage, args, [&] { parsed = parseArgs(args); }))
        return *exitCode;

    auto graph = readOnnxModel(parsed.model);
    if (!graph) return cli::fail(graph.error());
    auto dataset = openDataset(*parsed.spec, parsed.datasetOptions);
    if (!dataset) return cli::fail(dataset.error());
    for (const std::string& w : scaleWarnings(**dataset, parsed.datasetOptions.preprocessing))
        std::cerr << "warning: " << w << '\n';

    cli::TerminalProgress terminal;
    auto report = evaluate(*graph, **dataset, parsed.evalOptions, terminal.callback());
    terminal.clear();
    if (!report) return cli::fail(report.error());
    for (const std::string& note : report->notes) std::cerr << "note: " << note << '\n';

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
