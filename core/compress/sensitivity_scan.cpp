#include "core/compress/sensitivity_scan.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <nlohmann/json.hpp>
#include <set>

#include "core/compress/apply_recipe.h"
#include "core/compress/compressible_layer.h"
#include "core/compress/lowrank/decompose_layer.h"

namespace lathe {

namespace {

// One point of one layer's sweep.
struct Setting {
    enum Kind { Sparsity, Bits, Rank } kind;
    double value;
};

LayerEntry entryFor(const Setting& s, const SensitivityOptions& options) {
    LayerEntry e;
    if (s.kind == Setting::Sparsity) {
        e.prune = PruneEntry{};
        e.prune->sparsity = s.value;
    } else if (s.kind == Setting::Bits) {
        e.quant = QuantEntry{};
        e.quant->bits = int(s.value);
        e.quant->granularity = options.granularity;
        e.quant->symmetric = options.symmetric;
    } else {
        e.lowrank = LowRankEntry{};
        e.lowrank->method = LowRankMethod::Channel;
        e.lowrank->rank = int64_t(s.value);
    }
    return e;
}

std::vector<int64_t> ranksToScan(int64_t fullRank, const std::vector<double>& fractions) {
    std::set<int64_t, std::greater<>> ranks;
    for (double f : fractions) {
        const int64_t r = std::clamp<int64_t>(int64_t(std::llround(f * double(fullRank))), 1, fullRank);
        if (r < fullRank) ranks.insert(r);
    }
    return {ranks.begin(), ranks.end()};
}

nlohmann::json curveToJson(const std::vector<std::pair<double, double>>& curve, double scale = 1e4) {
    nlohmann::json out = nlohmann::json::array();
    for (const auto& [x, y] : curve) out.push_back({x, std::round(y * scale) / scale});
    return out;
}

Result<std::vector<std::pair<double, double>>> curveFromJson(const nlohmann::json& j, const std::string& field) {
    std::vector<std::pair<double, double>> curve;
    if (!j.is_array()) return makeError(ErrorCode::InvalidArgument, field + ": expected an array of [x, top1] pairs");
    for (const auto& point : j) {
        if (!point.is_array() || point.size() != 2 || !point[0].is_number() || !point[1].is_number())
            return makeError(ErrorCode::InvalidArgument, field + ": every point must be [number, number]");
        curve.emplace_back(point[0].get<double>(), point[1].get<double>());
    }
    return curve;
}

}  // namespace

double LayerSensitivity::score(double baselineTop1) const {
    double drop = 0;
    for (const auto& [s, top1] : sparsity)
        if (s <= 0.5 + 1e-9) drop = std::max(drop, baselineTop1 - top1);
    for (const auto& [b, top1] : bits)
        if (b >= 4) drop = std::max(drop, baselineTop1 - top1);
    return drop;
}

Result<SensitivityResult> scanSensitivity(const Graph& graph, IncrementalEvaluator& evaluator,
                                          const SensitivityOptions& options, const ProgressFn& progress) {
    const auto start = std::chrono::steady_clock::now();
    std::vector<LayerWeight> layers = compressibleLayers(graph);
    if (!options.layers.empty()) {
        for (const std::string& name : options.layers)
            if (std::none_of(layers.begin(), layers.end(), [&](const LayerWeight& l) { return l.nodeName == name; }))
                return makeError(ErrorCode::InvalidArgument,
                                 "layer '" + name + "' is not a compressible layer (Conv, Gemm or MatMul with a "
                                 "constant weight) of " + graph.sourcePath);
        std::erase_if(layers, [&](const LayerWeight& l) {
            return std::find(options.layers.begin(), options.layers.end(), l.nodeName) == options.layers.end();
        });
    }
    for (int b : options.bits)
        if (b < 2 || b > 8) return makeError(ErrorCode::InvalidArgument, "bits " + std::to_string(b) + " is not 2..8");
    for (double s : options.sparsities)
        if (!(s > 0 && s < 1))
            return makeError(ErrorCode::InvalidArgument, "sparsity " + std::to_string(s) + " is not in (0, 1)");

    SensitivityResult result;
    result.baselineTop1 = evaluator.baseline().top1;
    result.baselineLoss = evaluator.baseline().meanLoss;
    result.samples = evaluator.subsetSize();
    result.seed = evaluator.seed();

    // Every (layer, setting) to run, so progress can count them.
    std::vector<std::vector<Setting>> plans;
    for (const LayerWeight& layer : layers) {
        LayerSensitivity curves;
        curves.name = layer.nodeName;
        curves.opType = layer.opType;
        curves.params = graph.initializer(layer.weight)->numel();
        std::vector<Setting> plan;
        for (double s : options.sparsities) plan.push_back({Setting::Sparsity, s});
        for (int b : options.bits) plan.push_back({Setting::Bits, double(b)});
        const std::string refusal = decompositionRefusal(graph, layer.node, LowRankMethod::Channel);
        if (refusal.empty()) {
            curves.fullRank = decompositionFullRanks(graph, layer.node, LowRankMethod::Channel).first;
            for (int64_t r : ranksToScan(curves.fullRank, options.rankFractions))
                plan.push_back({Setting::Rank, double(r)});
        } else {
            curves.notes.push_back("rank: " + refusal);
        }
        curves.sparsity.emplace_back(0.0, result.baselineTop1);
        curves.sparsityLoss.emplace_back(0.0, result.baselineLoss);
        result.layers.push_back(std::move(curves));
        plans.push_back(std::move(plan));
    }
    size_t total = 0, done = 0;
    for (const auto& plan : plans) total += plan.size();
    // The sweeps take most of the time; the latency profile, when asked for, the last tenth of the bar.
    const float sweepShare = options.measureLatency ? 0.9f : 1.f;
    const ProgressFn sweepProgress = [&](float f, std::string_view stage) {
        return reportProgress(progress, sweepShare * f, stage);
    };

    for (size_t l = 0; l < layers.size(); ++l) {
        LayerSensitivity& curves = result.layers[l];
        for (const Setting& setting : plans[l]) {
            Recipe recipe;
            recipe.layers[curves.name] = entryFor(setting, options);
            const std::string stage = "scanning " + curves.name;
            const float from = total ? float(done) / float(total) : 0.f;
            const float to = total ? float(done + 1) / float(total) : 1.f;
            if (!reportProgress(sweepProgress, from, stage)) return makeError(ErrorCode::Cancelled, "scan cancelled");
            auto compressed = applyRecipe(graph, recipe);
            if (!compressed) {
                if (compressed.error().code == ErrorCode::Cancelled) return compressed.error();
                curves.notes.push_back(compressed.error().message);
                ++done;
                continue;
            }
            auto acc = evaluator.evaluate(compressed->graph, [&](float f, std::string_view) {
                return reportProgress(sweepProgress, from + (to - from) * f, stage);
            });
            if (!acc) return acc.error();
            result.nodesRun += acc->nodesRun;
            result.nodesTotal += acc->nodesTotal;
            auto& curve = setting.kind == Setting::Sparsity ? curves.sparsity
                          : setting.kind == Setting::Bits   ? curves.bits
                                                            : curves.rank;
            curve.emplace_back(setting.value, acc->top1);
            auto& lossCurve = setting.kind == Setting::Sparsity ? curves.sparsityLoss
                              : setting.kind == Setting::Bits   ? curves.bitsLoss
                                                                : curves.rankLoss;
            lossCurve.emplace_back(setting.value, acc->meanLoss);
            ++done;
        }
    }
    if (options.measureLatency) {
        auto latency = profileLayerLatency(graph, scannedRanks(result), options.latency, [&](float f, std::string_view stage) {
            return reportProgress(progress, sweepShare + (1.f - sweepShare) * f, stage);
        });
        if (latency)
            result.latency = std::move(*latency);
        else if (latency.error().code == ErrorCode::Cancelled)
            return latency.error();
        else
            result.latencyNote = latency.error().message;  // the curves stand; only the latency target is unavailable
    }
    reportProgress(progress, 1.f, "scan done");
    result.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    return result;
}

nlohmann::json sensitivityToJson(const SensitivityResult& result) {
    nlohmann::ordered_json j;
    j["baseline_top1"] = std::round(result.baselineTop1 * 1e4) / 1e4;
    j["baseline_loss"] = std::round(result.baselineLoss * 1e6) / 1e6;
    j["samples"] = result.samples;
    j["seed"] = result.seed;
    j["seconds"] = std::round(result.seconds * 1e3) / 1e3;
    j["nodes_run"] = result.nodesRun;
    j["nodes_full"] = result.nodesTotal;
    nlohmann::ordered_json layers = nlohmann::ordered_json::array();
    for (const LayerSensitivity& l : result.layers) {
        nlohmann::ordered_json e;
        e["name"] = l.name;
        e["op"] = l.opType;
        e["params"] = l.params;
        e["full_rank"] = l.fullRank;
        e["sparsity"] = curveToJson(l.sparsity);
        e["bits"] = curveToJson(l.bits);
        e["rank"] = curveToJson(l.rank);
        e["sparsity_loss"] = curveToJson(l.sparsityLoss, 1e6);
        e["bits_loss"] = curveToJson(l.bitsLoss, 1e6);
        e["rank_loss"] = curveToJson(l.rankLoss, 1e6);
        e["score"] = std::round(l.score(result.baselineTop1) * 1e4) / 1e4;
        if (!l.notes.empty()) e["notes"] = l.notes;
        layers.push_back(std::move(e));
    }
    j["layers"] = std::move(layers);
    if (result.latency) j["latency"] = latencyProfileToJson(*result.latency);
    if (!result.latencyNote.empty()) j["latency_note"] = result.latencyNote;
    return nlohmann::json(j);
}

std::map<std::string, std::vector<int64_t>> scannedRanks(const SensitivityResult& result) {
    std::map<std::string, std::vector<int64_t>> ranks;
    for (const LayerSensitivity& l : result.layers) {
        std::vector<int64_t>& r = ranks[l.name];
        for (const auto& [rank, top1] : l.rank) r.push_back(int64_t(rank));
    }
    return ranks;
}

Result<SensitivityResult> sensitivityFromJson(const nlohmann::json& j) {
    if (!j.is_object() || !j.contains("layers") || !j["layers"].is_array() || !j.contains("baseline_top1") ||
        !j["baseline_top1"].is_number())
        return makeError(ErrorCode::InvalidArgument, "sensitivity: expected an object with baseline_top1 and layers");
    SensitivityResult r;
    r.baselineTop1 = j["baseline_top1"].get<double>();
    if (j.contains("baseline_loss") && j["baseline_loss"].is_number()) r.baselineLoss = j["baseline_loss"].get<double>();
    if (j.contains("samples") && j["samples"].is_number_integer()) r.samples = j["samples"].get<int64_t>();
    if (j.contains("seed") && j["seed"].is_number_unsigned()) r.seed = j["seed"].get<uint64_t>();
    if (j.contains("seconds") && j["seconds"].is_number()) r.seconds = j["seconds"].get<double>();
    for (size_t i = 0; i < j["layers"].size(); ++i) {
        const auto& e = j["layers"][i];
        const std::string field = "sensitivity.layers[" + std::to_string(i) + "]";
        if (!e.is_object() || !e.contains("name") || !e["name"].is_string())
            return makeError(ErrorCode::InvalidArgument, field + ": needs a name");
        LayerSensitivity l;
        l.name = e["name"].get<std::string>();
        if (e.contains("op") && e["op"].is_string()) l.opType = e["op"].get<std::string>();
        if (e.contains("params") && e["params"].is_number_integer()) l.params = e["params"].get<int64_t>();
        if (e.contains("full_rank") && e["full_rank"].is_number_integer()) l.fullRank = e["full_rank"].get<int64_t>();
        for (const auto& [key, curve] : {std::pair{"sparsity", &l.sparsity}, {"bits", &l.bits}, {"rank", &l.rank},
                                         {"sparsity_loss", &l.sparsityLoss}, {"bits_loss", &l.bitsLoss},
                                         {"rank_loss", &l.rankLoss}}) {
            if (!e.contains(key)) continue;
            auto parsed = curveFromJson(e[key], field + "." + key);
            if (!parsed) return parsed.error();
            *curve = std::move(*parsed);
        }
        // The settings must be ones a scan can produce: sparsity in [0, 1), whole bits 2..8, whole ranks >= 1.
        for (const auto& [x, y] : l.sparsity)
            if (!(x >= 0 && x < 1))
                return makeError(ErrorCode::InvalidArgument, field + ".sparsity: " + std::to_string(x) +
                                                                 " is not a fraction in [0, 1)");
        for (const auto& [x, y] : l.bits)
            if (!(x >= 2 && x <= 8) || x != std::floor(x))
                return makeError(ErrorCode::InvalidArgument,
                                 field + ".bits: " + std::to_string(x) + " is not a whole number of bits 2..8");
        for (const auto& [x, y] : l.rank)
            if (!(x >= 1 && x <= 1e9) || x != std::floor(x) || (l.fullRank > 0 && x > double(l.fullRank)))
                return makeError(ErrorCode::InvalidArgument,
                                 field + ".rank: " + std::to_string(x) + " is not a whole rank from 1 to full_rank");
        if (e.contains("notes") && e["notes"].is_array())
            for (const auto& note : e["notes"])
                if (note.is_string()) l.notes.push_back(note.get<std::string>());
        r.layers.push_back(std::move(l));
    }
    if (j.contains("latency")) {
        auto latency = latencyProfileFromJson(j["latency"]);
        if (!latency) return makeError(ErrorCode::InvalidArgument, "sensitivity." + latency.error().message);
        r.latency = std::move(*latency);
    }
    if (j.contains("latency_note") && j["latency_note"].is_string()) r.latencyNote = j["latency_note"].get<std::string>();
    return r;
}

}  // namespace lathe
