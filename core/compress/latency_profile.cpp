#include "core/compress/latency_profile.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <nlohmann/json.hpp>
#include <set>

#include "core/compress/apply_recipe.h"
#include "core/eval/metrics.h"
#include "core/runtime/executor.h"
#include "core/runtime/shape_probe.h"

namespace lathe {

namespace {

// Median milliseconds per step name over `runs` timed runs (after one warm-up run).
Result<std::map<std::string, double>> stepMedians(const Graph& graph, const LatencyProfileOptions& options) {
    auto inputs = batchOneZeroInputs(graph);
    if (!inputs) return makeError(inputs.error().code, inputs.error().message + ", so it cannot be timed");
    ExecutorOptions executorOptions;
    executorOptions.threads = options.threads;
    auto executor = Executor::compile(graph, executorOptions);
    if (!executor) return executor.error();
    std::map<std::string, std::vector<double>> samples;
    std::vector<NodeTiming> timings;
    for (int run = 0; run <= std::max(1, options.runs); ++run) {
        auto out = executor->run(*inputs, {}, &timings);
        if (!out) return out.error();
        if (run == 0) continue;  // warm-up: first-touch allocations
        for (const NodeTiming& t : timings) samples[t.node].push_back(t.milliseconds);
    }
    std::map<std::string, double> medians;
    for (auto& [step, ms] : samples) medians[step] = median(std::move(ms));
    return medians;
}

// The first node of a step ("conv1" of "conv1+bn1+relu1").
std::string leadNode(const std::string& step) { return step.substr(0, step.find('+')); }

}  // namespace

std::optional<double> LatencyProfile::layerMs(const std::string& name, int64_t rank) const {
    for (const LayerLatency& l : layers) {
        if (l.name != name) continue;
        if (rank <= 0) return l.floatMs;
        for (const auto& [r, ms] : l.rankMs)
            if (r == rank) return ms;
        return std::nullopt;
    }
    return std::nullopt;
}

Result<double> measureLatencyMs(const Graph& graph, const LatencyProfileOptions& options) {
    auto medians = stepMedians(graph, options);
    if (!medians) return makeError(medians.error().code, "latency: " + medians.error().message);
    double total = 0;
    for (const auto& [step, ms] : *medians) total += ms;
    return total;
}

Result<LatencyProfile> profileLayerLatency(const Graph& graph, const std::map<std::string, std::vector<int64_t>>& ranks,
                                           const LatencyProfileOptions& options, const ProgressFn& progress) {
    const auto start = std::chrono::steady_clock::now();
    LatencyProfile profile;
    profile.runs = std::max(1, options.runs);
    profile.threads = options.threads;
    if (!reportProgress(progress, 0.f, "timing the float model"))
        return makeError(ErrorCode::Cancelled, "latency profile cancelled");
    auto base = stepMedians(graph, options);
    if (!base) return makeError(base.error().code, "latency: " + base.error().message);
    std::set<std::string> original;
    for (const Node& n : graph.nodes) original.insert(n.name);
    for (const auto& [step, ms] : *base) profile.totalMs += ms;
    profile.otherMs = profile.totalMs;
    size_t total = 0, done = 0;
    for (const auto& [layer, rs] : ranks) total += rs.size();
    for (const auto& [layer, rs] : ranks) {
        LayerLatency l;
        l.name = layer;
        for (const auto& [step, ms] : *base)
            if (leadNode(step) == layer) l.floatMs += ms;
        profile.otherMs -= l.floatMs;
        for (int64_t rank : rs) {
            const double elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
            if (elapsed > options.maxSeconds) break;
            if (!reportProgress(progress, total ? float(done) / float(total) : 1.f, "timing " + layer))
                return makeError(ErrorCode::Cancelled, "latency profile cancelled");
            ++done;
            Recipe recipe;
            LayerEntry& e = recipe.layers[layer];
            e.lowrank = LowRankEntry{};
            e.lowrank->method = LowRankMethod::Channel;
            e.lowrank->rank = rank;
            auto decomposed = applyRecipe(graph, recipe);
            if (!decomposed)
                return makeError(decomposed.error().code, "latency: " + layer + " at rank " + std::to_string(rank) +
                                                              ": " + decomposed.error().message);
            auto medians = stepMedians(decomposed->graph, options);
            if (!medians) return makeError(medians.error().code, "latency: " + medians.error().message);
            // The layer's steps: its own node if it is still there, and every node the decomposition added.
            double ms = 0;
            for (const auto& [step, t] : *medians) {
                const std::string lead = leadNode(step);
                if (lead == layer || !original.count(lead)) ms += t;
            }
            l.rankMs.emplace_back(rank, ms);
        }
        profile.layers.push_back(std::move(l));
    }
    reportProgress(progress, 1.f, "latency measured");
    return profile;
}

nlohmann::json latencyProfileToJson(const LatencyProfile& profile) {
    auto ms = [](double v) { return std::round(v * 1e5) / 1e5; };
    nlohmann::ordered_json j;
    j["total_ms"] = ms(profile.totalMs);
    j["other_ms"] = ms(profile.otherMs);
    j["runs"] = profile.runs;
    j["threads"] = profile.threads;
    nlohmann::ordered_json layers = nlohmann::ordered_json::array();
    for (const LayerLatency& l : profile.layers) {
        nlohmann::ordered_json e;
        e["name"] = l.name;
        e["float_ms"] = ms(l.floatMs);
        nlohmann::ordered_json points = nlohmann::ordered_json::array();
        for (const auto& [rank, t] : l.rankMs) points.push_back({rank, ms(t)});
        e["rank_ms"] = std::move(points);
        layers.push_back(std::move(e));
    }
    j["layers"] = std::move(layers);
    return nlohmann::json(j);
}

Result<LatencyProfile> latencyProfileFromJson(const nlohmann::json& j) {
    auto time = [](const nlohmann::json& v) { return v.is_number() && std::isfinite(v.get<double>()) && v.get<double>() >= 0; };
    if (!j.is_object() || !j.contains("total_ms") || !time(j["total_ms"]) || !j.contains("other_ms") ||
        !time(j["other_ms"]) || !j.contains("layers") || !j["layers"].is_array())
        return makeError(ErrorCode::InvalidArgument,
                         "latency: expected an object with total_ms and other_ms (non-negative) and layers");
    LatencyProfile p;
    p.totalMs = j["total_ms"].get<double>();
    p.otherMs = j["other_ms"].get<double>();
    if (j.contains("runs") && j["runs"].is_number_integer()) p.runs = int(std::clamp<int64_t>(j["runs"].get<int64_t>(), 0, 1 << 20));
    if (j.contains("threads") && j["threads"].is_number_integer())
        p.threads = int(std::clamp<int64_t>(j["threads"].get<int64_t>(), 0, 1 << 12));
    for (size_t i = 0; i < j["layers"].size(); ++i) {
        const auto& e = j["layers"][i];
        const std::string field = "latency.layers[" + std::to_string(i) + "]";
        if (!e.is_object() || !e.contains("name") || !e["name"].is_string() || !e.contains("float_ms") ||
            !time(e["float_ms"]))
            return makeError(ErrorCode::InvalidArgument, field + ": needs a name and float_ms (non-negative)");
        LayerLatency l;
        l.name = e["name"].get<std::string>();
        l.floatMs = e["float_ms"].get<double>();
        if (e.contains("rank_ms")) {
            if (!e["rank_ms"].is_array()) return makeError(ErrorCode::InvalidArgument, field + ".rank_ms: expected an array");
            for (const auto& point : e["rank_ms"]) {
                if (!point.is_array() || point.size() != 2 || !point[0].is_number_integer() || point[0].get<int64_t>() < 1 ||
                    !time(point[1]))
                    return makeError(ErrorCode::InvalidArgument,
                                     field + ".rank_ms: expected [rank, milliseconds] pairs with a whole rank >= 1");
                l.rankMs.emplace_back(point[0].get<int64_t>(), point[1].get<double>());
            }
        }
        p.layers.push_back(std::move(l));
    }
    return p;
}

}  // namespace lathe
