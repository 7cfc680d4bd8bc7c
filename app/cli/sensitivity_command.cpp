#include "app/cli/sensitivity_command.h"

#include <algorithm>
#include <cmath>
#include <fstream>
#include <iomanip>
#include <iostream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "app/cli/dataset_arguments.h"
#include "app/cli/terminal_output.h"
#include "core/common/output_path.h"
#include "core/compress/apply_recipe.h"
#include "core/compress/budget_allocation.h"
#include "core/compress/compressible_layer.h"
#include "core/compress/sensitivity_scan.h"
#include "core/eval/evaluator.h"
#include "core/eval/incremental_evaluator.h"
#include "core/export/model_size.h"
#include "core/export/onnx_export.h"
#include "core/model/model_summary.h"
#include "core/model/onnx_reader.h"
#include "core/model/onnx_writer.h"

namespace lathe {

namespace {

using cli::fail;
using cli::parseInteger;
using cli::TerminalProgress;
using cli::UsageError;

constexpr const char* kSensitivityUsage =
    "usage: lathe-cli sensitivity MODEL --data SPEC [options]\n"
    "per-layer sensitivity: each compressible layer alone pruned (10..95 % of its weights), quantized (8..2 bits)\n"
    "and factored (fractions of its rank), top-1 measured on a fixed seeded subset; only the layers after the\n"
    "changed one run (the others' activations are cached)\n"
    "  SPEC                 idx:DIR, folder:DIR or npy:IMAGES.npy,LABELS.npy\n"
    "  --split test|train   IDX files to read (default test)\n"
    "  --limit N            subset size (default 1000; 0 = the whole set)\n"
    "  --seed S             seed of the subset (default 0)\n"
    "  --layers A,B         only these layers (node names)\n"
    "  --granularity G      per_channel (default) or per_tensor quantization\n"
    "  --threads T          inference threads (default: all cores)\n"
    "  -o FILE.json         also write the JSON result to FILE.json (allocate --sensitivity reads it)\n"
    "  --json               machine-readable output:\n"
    "                       {\"layers\": [{\"name\", \"sparsity\": [[s, top1]...], \"bits\": [[b, top1]...],\n"
    "                       \"rank\": [[r, top1]...]}], \"baseline_top1\", \"samples\", ...}\n"
    "  --scale F, --mean M[,M,M], --std S[,S,S]   preprocessing, as in lathe-cli eval\n";

constexpr const char* kAllocateUsage =
    "usage: lathe-cli allocate MODEL --data SPEC --target T --budget X -o R.json [options]\n"
    "chooses per-layer settings within a budget from the layers' sensitivity curves (multiple-choice knapsack on\n"
    "the predicted drop), measures the best few on the subset, writes the best as a recipe and reports its top-1\n"
    "on the whole data set and its real size\n"
    "  --target T           bits (stored weights x bits), bytes (ONNX bytes of the weights, int8 = 1 byte),\n"
    "                       zlib (zlib bytes of the weights, estimated), nonzeros (weights left after pruning),\n"
    "                       macs (multiply-accumulates per sample), latency (ms per image at batch 1 in\n"
    "                       Lathe's executor, from the scan's timing of each layer at each rank)\n"
    "  --budget X           in the target's unit: a number, a percentage of the float model (\"50%\"), or for\n"
    "                       bits, bits per weight (\"4bit\")\n"
    "  --methods M,M        techniques to combine: bits, sparsity, rank (default: bits/bytes -> bits,\n"
    "                       zlib -> bits,sparsity, nonzeros -> sparsity, macs, latency -> rank)\n"
    "  --sensitivity F.json a saved scan (lathe-cli sensitivity -o) instead of scanning again\n"
    "  --candidates K       plans measured on the subset (default 3)\n"
    "  --no-refit           leave pruned weights as cut; by default plans that prune refit the weights they\n"
    "                       keep by least squares on calibration data (the recipe's prune_correction; IDX:\n"
    "                       512 images of the train split), as the written recipe does when applied\n"
    "  --limit N            subset of the scan and the candidates (default 1000)\n"
    "  --seed S, --split, --granularity, --threads, --scale/--mean/--std   as in lathe-cli sensitivity\n"
    "  --json               machine-readable output\n";

struct ScanArgs : cli::DatasetArguments {
    std::string model;
    std::string output;
    std::string sensitivityFile;
    uint64_t seed = 0;
    int64_t subset = 1000;
    bool json = false;
    SensitivityOptions scan;
    AllocationOptions allocation;
    std::string budget;
    bool targetGiven = false;
    ScanArgs() { allocation.refitPruned = true; }  // allocate refits pruned weights unless --no-refit
};

std::vector<std::string> splitList(const std::string& text) {
    std::vector<std::string> out;
    std::stringstream in(text);
    for (std::string item; std::getline(in, item, ',');)
        if (!item.empty()) out.push_back(item);
    return out;
}

ScanArgs parseArgs(const std::vector<std::string>& args, bool allocate) {
    ScanArgs out;
    cli::OptionSwitches switches = {{"--json", [&] { out.json = true; }}};
    if (allocate) switches.insert({"--no-refit", [&] { out.allocation.refitPruned = false; }});
    cli::OptionSetters withValue = cli::datasetOptionSetters(out);
    withValue.erase("--limit");
    withValue.insert({
        {"-o", [&](auto&, auto& v) { out.output = v; }},
        {"--seed", [&](auto& o, auto& v) { out.seed = parseInteger<uint64_t>(o, v, 0); }},
        {"--limit", [&](auto& o, auto& v) { out.subset = parseInteger<int64_t>(o, v, 0); }},
        {"--layers", [&](auto&, auto& v) { out.scan.layers = splitList(v); }},
        {"--granularity",
         [&](auto&, auto& v) {
             if (v != "per_channel" && v != "per_tensor")
                 throw UsageError{"--granularity is per_channel or per_tensor, got '" + v + "'"};
             out.scan.granularity = v == "per_channel" ? Granularity::PerChannel : Granularity::PerTensor;
         }},
    });
    if (allocate)
        withValue.insert({
            {"--target",
             [&](auto&, auto& v) {
                 auto t = budgetTargetFromString(v);
                 if (!t) throw UsageError{"--target is bits, bytes, zlib, nonzeros, macs or latency, got '" + v + "'"};
                 out.allocation.target = *t;
                 out.targetGiven = true;
             }},
            {"--budget", [&](auto&, auto& v) { out.budget = v; }},
            {"--sensitivity", [&](auto&, auto& v) { out.sensitivityFile = v; }},
            {"--candidates",
             [&](auto& o, auto& v) { out.allocation.candidates = parseInteger<int>(o, v, 1); }},
            {"--methods",
             [&](auto&, auto& v) {
                 out.allocation.useBits = out.allocation.useSparsity = out.allocation.useRank = false;
                 for (const std::string& m : splitList(v)) {
                     if (m == "bits") out.allocation.useBits = true;
                     else if (m == "sparsity") out.allocation.useSparsity = true;
                     else if (m == "rank") out.allocation.useRank = true;
                     else throw UsageError{"--methods takes bits, sparsity and rank, got '" + m + "'"};
                 }
             }},
        });
    out.model = cli::parseCommandLine(args, switches, withValue);
    if (out.data.empty()) throw UsageError{"no data set given (--data SPEC)"};
    if (allocate) {
        if (!out.targetGiven) throw UsageError{"no target given (--target bits|bytes|zlib|nonzeros|macs|latency)"};
        if (out.budget.empty()) throw UsageError{"no budget given (--budget X)"};
        if (out.output.empty()) throw UsageError{"no recipe file to write given (-o R.json)"};
    }
    out.spec = cli::datasetSpec(out);
    out.allocation.granularity = out.scan.granularity;
    return out;
}

Result<nlohmann::json> readJsonFile(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    if (!in) return makeError(ErrorCode::FileNotFound, path + ": cannot open the file");
    std::stringstream text;
    text << in.rdbuf();
    auto parsed = parseStrictJson(text.str(), path);
    if (!parsed) return parsed.error();
    return *parsed;
}

double round4(double v) { return std::round(v * 1e4) / 1e4; }

void printCurves(std::ostream& out, const SensitivityResult& r) {
    out << "baseline top-1 " << std::fixed << std::setprecision(2) << r.baselineTop1 << " % on " << r.samples
        << " samples (seed " << r.seed << "); " << std::setprecision(1) << r.seconds << " s, " << r.nodesRun
        << " of " << r.nodesTotal << " node runs needed\n";
    for (const LayerSensitivity& l : r.layers) {
        out << '\n' << l.name << " (" << l.opType << ", " << l.params << " weights), drop score "
            << std::setprecision(2) << l.score(r.baselineTop1) << '\n';
        auto line = [&](const char* label, const std::vector<std::pair<double, double>>& curve, bool percent) {
            if (curve.empty()) return;
            out << "  " << std::left << std::setw(9) << label << std::right;
            for (const auto& [x, y] : curve)
                out << "  " << std::setprecision(0) << (percent ? x * 100 : x) << (percent ? "%" : "") << ":"
                    << std::setprecision(1) << y;
            out << '\n';
        };
        line("sparsity", l.sparsity, true);
        line("bits", l.bits, false);
        line("rank", l.rank, false);
        for (const auto& note : l.notes) out << "  note: " << note << '\n';
    }
}

// Measured size of a compressed model: the float export's and, when something is quantized, the QDQ export's.
struct MeasuredSize {
    FileSize floatFile;
    std::optional<FileSize> qdqFile;
    int64_t nonzeros = 0;
    int64_t macs = 0;
    double bits = 0;
    std::optional<double> latencyMs;  // batch 1 in Lathe's executor, measured for the latency target only
};

Result<MeasuredSize> measureSize(const CompressedModel& model, bool timeIt) {
    MeasuredSize m;
    auto bytes = serializeOnnxModel(model.graph);
    if (!bytes) return bytes.error();
    m.floatFile = measureBytes(*bytes);
    if (!model.quantized.empty()) {
        auto qdq = buildExportGraph(model, ActivationRanges{}, ExportFormat::Qdq);
        if (!qdq) return qdq.error();
        auto qdqBytes = serializeOnnxModel(qdq->graph);
        if (!qdqBytes) return qdqBytes.error();
        m.qdqFile = measureBytes(*qdqBytes);
    }
    m.macs = summarizeModel(model.graph).totalMacs;
    for (const LayerReport& r : model.layers)
        for (const std::string& w : r.weights)
            if (const Tensor* t = model.graph.initializer(w)) {
                for (float v : t->data) m.nonzeros += v != 0.f;
                m.bits += double(t->numel()) * r.bits;
            }
    if (timeIt) {
        auto ms = measureLatencyMs(model.graph);
        if (!ms) return ms.error();
        m.latencyMs = *ms;
    }
    return m;
}

double measuredCost(const MeasuredSize& m, BudgetTarget target) {
    switch (target) {
        case BudgetTarget::Bits: return m.bits;
        case BudgetTarget::Bytes: return double((m.qdqFile ? *m.qdqFile : m.floatFile).onnxBytes);
        case BudgetTarget::Zlib: return double((m.qdqFile ? *m.qdqFile : m.floatFile).zlibBytes);
        case BudgetTarget::Nonzeros: return double(m.nonzeros);
        case BudgetTarget::Macs: return double(m.macs);
        case BudgetTarget::Latency: return m.latencyMs.value_or(0);
    }
    return 0;
}

nlohmann::ordered_json sizeJson(const MeasuredSize& m) {
    nlohmann::ordered_json j;
    j["onnx_bytes"] = m.floatFile.onnxBytes;
    j["zlib_bytes"] = m.floatFile.zlibBytes;
    if (m.qdqFile) {
        j["qdq_onnx_bytes"] = m.qdqFile->onnxBytes;
        j["qdq_zlib_bytes"] = m.qdqFile->zlibBytes;
    }
    j["weight_bits"] = m.bits;
    j["nonzero_weights"] = m.nonzeros;
    j["macs"] = m.macs;
    if (m.latencyMs) j["latency_ms"] = std::round(*m.latencyMs * 1e4) / 1e4;
    return j;
}

// Everything both commands share: the model, the data set and the subset evaluator.
struct Session {
    Graph graph;
    std::shared_ptr<const Dataset> data;
    std::unique_ptr<IncrementalEvaluator> evaluator;
};

Result<Session> openSession(const ScanArgs& args, const ProgressFn& progress) {
    Session s;
    auto graph = readOnnxModel(args.model);
    if (!graph) return graph.error();
    s.graph = std::move(*graph);
    auto data = openDataset(*args.spec, args.datasetOptions);
    if (!data) return data.error();
    s.data = *data;
    IncrementalEvalOptions options;
    options.limit = args.subset;
    options.seed = args.seed;
    options.threads = args.evalOptions.threads;
    auto evaluator = IncrementalEvaluator::create(s.graph, s.data, options, progress);
    if (!evaluator) return makeError(evaluator.error().code, args.model + ": " + evaluator.error().message);
    s.evaluator = std::move(*evaluator);
    return s;
}

}  // namespace

int runSensitivityCommand(const std::vector<std::string>& args) {
    ScanArgs parsed;
    if (auto exitCode = cli::parseCommand("sensitivity", kSensitivityUsage, args,
                                          [&] { parsed = parseArgs(args, false); }))
        return *exitCode;
    if (!parsed.output.empty()) {
        std::vector<InputPath> inputs = {{parsed.model, "the model", false}};
        for (InputPath& input : datasetInputPaths(*parsed.spec)) inputs.push_back(std::move(input));
        if (auto ok = checkOutputPath(parsed.output, inputs); !ok) return fail(ok.error());
    }
    TerminalProgress terminal;
    auto session = openSession(parsed, terminal.callback());
    if (!session) {
        terminal.clear();
        return fail(session.error());
    }
    auto result = scanSensitivity(session->graph, *session->evaluator, parsed.scan, terminal.callback());
    terminal.clear();
    if (!result) return fail(result.error());
    const nlohmann::json json = sensitivityToJson(*result);
    if (!parsed.output.empty())
        if (auto written = writeFileAtomically(parsed.output, json.dump(2) + "\n"); !written)
            return fail(written.error());
    if (parsed.json)
        std::cout << json.dump() << '\n';
    else
        printCurves(std::cout, *result);
    return 0;
}

int runAllocateCommand(const std::vector<std::string>& args) {
    ScanArgs parsed;
    if (auto exitCode =
            cli::parseCommand("allocate", kAllocateUsage, args, [&] { parsed = parseArgs(args, true); }))
        return *exitCode;
    std::vector<InputPath> inputs = {{parsed.model, "the model", false}};
    if (!parsed.sensitivityFile.empty()) inputs.push_back({parsed.sensitivityFile, "the sensitivity scan", false});
    for (InputPath& input : datasetInputPaths(*parsed.spec)) inputs.push_back(std::move(input));
    if (auto ok = checkOutputPath(parsed.output, inputs); !ok) return fail(ok.error());

    TerminalProgress terminal;
    auto session = openSession(parsed, terminal.callback());
    if (!session) {
        terminal.clear();
        return fail(session.error());
    }
    const Graph& graph = session->graph;
    AllocationOptions options = parsed.allocation;
    // The budget's form is checked before the scan (its value needs the float cost, known after it for latency).
    if (auto form = parseBudget(parsed.budget, options.target, 1.0, compressibleWeights(graph)); !form) {
        terminal.clear();
        return fail("--budget: " + form.error().message);
    }
    SensitivityResult sensitivity;
    if (!parsed.sensitivityFile.empty()) {
        auto json = readJsonFile(parsed.sensitivityFile);
        if (!json) return fail(json.error());
        auto loaded = sensitivityFromJson(*json);
        if (!loaded) return fail(parsed.sensitivityFile + ": " + loaded.error().message);
        sensitivity = std::move(*loaded);
    } else {
        auto scanned = scanSensitivity(graph, *session->evaluator, parsed.scan, terminal.callback());
        if (!scanned) {
            terminal.clear();
            return fail(scanned.error());
        }
        sensitivity = std::move(*scanned);
    }
    // After the scan: the latency target's float cost is the scan's timing of the float model.
    const LatencyProfile* latency = sensitivity.latency ? &*sensitivity.latency : nullptr;
    if (options.target == BudgetTarget::Latency && !latency) {
        terminal.clear();
        return fail(sensitivity.latencyNote.empty()
                        ? "--target latency: the scan has no latency profile (" + parsed.sensitivityFile +
                              " was saved without one; scan again)"
                        : "--target latency: " + sensitivity.latencyNote);
    }
    const double floatCost = modelCost(graph, options.target, latency);
    auto budget = parseBudget(parsed.budget, options.target, floatCost, compressibleWeights(graph));
    if (!budget) {
        terminal.clear();
        return fail("--budget: " + budget.error().message);
    }
    options.budget = *budget;
    auto allocation = allocateBudget(graph, sensitivity, options);
    if (!allocation) {
        terminal.clear();
        return fail(allocation.error());
    }
    // Plans that prune and refit calibrate on the train split (IDX) or the data set itself, as `apply --data` does.
    ApplyOptions apply;
    apply.seed = parsed.seed;
    apply.threads = parsed.evalOptions.threads;
    if (std::any_of(allocation->candidates.begin(), allocation->candidates.end(),
                    [](const AllocationPlan& p) { return recipeRefitsPruning(p.recipe()); })) {
        auto calibration = openCalibrationData(*parsed.spec, parsed.datasetOptions, session->data);
        if (!calibration) {
            terminal.clear();
            return fail(calibration.error());
        }
        apply.calibration = calibration->dataset;
        apply.calibrationName = calibration->name;
    }
    if (auto measured = measureCandidates(graph, *allocation, *session->evaluator, terminal.callback(), apply);
        !measured) {
        terminal.clear();
        return fail(measured.error());
    }
    const AllocationPlan& best = allocation->candidates.front();
    const Recipe recipe = best.recipe();
    auto compressed = applyRecipe(graph, recipe, apply, terminal.callback());
    if (!compressed) {
        terminal.clear();
        return fail(compressed.error());
    }
    EvalOptions evalOptions = parsed.evalOptions;
    evalOptions.latencySamples = 0;
    evalOptions.backend = BackendKind::Builtin;
    auto report = evaluate(compressed->graph, *session->data, evalOptions, terminal.callback());
    auto floatReport = evaluate(graph, *session->data, evalOptions, terminal.callback());
    terminal.clear();
    if (!report) return fail(report.error());
    if (!floatReport) return fail(floatReport.error());
    auto size = measureSize(*compressed, options.target == BudgetTarget::Latency);
    if (!size) return fail(size.error());
    if (auto written = writeFileAtomically(parsed.output, writeRecipe(recipe)); !written) return fail(written.error());

    // For a bits budget of a whole number of bits per weight: the uniform setting at that width, for comparison.
    std::optional<std::pair<double, double>> uniform;  // (subset top-1, full top-1)
    const double perWeight = options.budget / double(compressibleWeights(graph));
    const int uniformBits = int(std::llround(perWeight));
    if (options.target == BudgetTarget::Bits && std::abs(perWeight - uniformBits) < 1e-9 && uniformBits >= 2 &&
        uniformBits <= 8) {
        Recipe u;
        u.defaults.quant = QuantEntry{};
        u.defaults.quant->bits = uniformBits;
        u.defaults.quant->granularity = options.granularity;
        u.defaults.quant->symmetric = options.symmetric;
        auto uc = applyRecipe(graph, u);
        if (uc) {
            auto subset = session->evaluator->evaluate(uc->graph);
            auto full = evaluate(uc->graph, *session->data, evalOptions);
            if (subset && full) uniform = {subset->top1, full->top1};
        }
    }

    nlohmann::ordered_json j;
    j["target"] = std::string(toString(options.target));
    j["budget"] = options.budget;
    j["float_cost"] = floatCost;
    j["recipe"] = parsed.output;
    j["predicted_top1"] = round4(best.predictedTop1);
    j["subset_top1"] = round4(best.measuredTop1.value_or(0));
    j["subset"] = session->evaluator->subsetSize();
    j["top1"] = round4(report->top1);
    j["macro_f1"] = round4(report->macroF1);
    j["n"] = report->n;
    j["float_top1"] = round4(floatReport->top1);
    j["cost"] = measuredCost(*size, options.target);
    j["size"] = sizeJson(*size);
    if (uniform)
        j["uniform"] = {{"bits", uniformBits}, {"subset_top1", round4(uniform->first)}, {"top1", round4(uniform->second)}};
    if (compressed->correction.method == PruneCorrection::LeastSquares)
        j["refit"] = {{"method", "least_squares"}, {"samples", compressed->correction.samples},
                      {"data", compressed->correction.data}};
    j["allocation"] = allocationToJson(*allocation);
    if (parsed.json) {
        std::cout << j.dump() << '\n';
        return 0;
    }
    const int costDigits = options.target == BudgetTarget::Latency ? 4 : 0;  // milliseconds are fractions
    std::cout << std::fixed << std::setprecision(2) << "target " << toString(options.target) << ", budget "
              << std::setprecision(costDigits) << options.budget << " (float model " << floatCost << ")\n";
    std::cout << "chosen: cost " << measuredCost(*size, options.target) << ", top-1 " << std::setprecision(2)
              << report->top1 << " % on " << report->n << " samples (float " << floatReport->top1
              << " %); predicted " << best.predictedTop1 << " %, " << best.measuredTop1.value_or(0) << " % on the "
              << session->evaluator->subsetSize() << "-sample subset\n";
    if (compressed->correction.method == PruneCorrection::LeastSquares)
        std::cout << "pruned weights refit by least squares on " << compressed->correction.samples << " samples of "
                  << compressed->correction.data << " (--no-refit: as cut)\n";
    if (uniform)
        std::cout << "uniform " << uniformBits << "-bit: top-1 " << uniform->second << " % (subset " << uniform->first
                  << " %)\n";
    std::cout << "size: ONNX " << size->floatFile.onnxBytes << " bytes (zlib " << size->floatFile.zlibBytes << ")";
    if (size->qdqFile)
        std::cout << "; QDQ export " << size->qdqFile->onnxBytes << " bytes (zlib " << size->qdqFile->zlibBytes << ")";
    std::cout << "\n\n" << std::left << std::setw(18) << "layer" << std::right << std::setw(6) << "bits"
              << std::setw(10) << "sparsity" << std::setw(6) << "rank" << std::setw(16) << "predicted drop\n";
    for (const LayerChoice& c : best.layers)
        std::cout << std::left << std::setw(18) << c.name << std::right << std::setw(6) << c.bits << std::setw(9)
                  << std::setprecision(0) << c.sparsity * 100 << '%' << std::setw(6)
                  << (c.rank ? std::to_string(c.rank) : "-") << std::setw(15) << std::setprecision(2)
                  << c.predictedDrop << '\n';
    std::cout << "\nrecipe written to " << parsed.output << '\n';
    return 0;
}

}  // namespace lathe
