#include "core/compress/budget_allocation.h"

#include <algorithm>
#include <charconv>
#include <cstdio>
#include <cmath>
#include <limits>
#include <map>
#include <nlohmann/json.hpp>
#include <set>

#include "core/compress/apply_recipe.h"
#include "core/compress/compressible_layer.h"
#include "core/compress/lowrank/decompose_layer.h"
#include "core/compress/prune/magnitude_prune.h"
#include "core/compress/quantize/uniform_quantize.h"
#include "core/model/model_summary.h"

namespace lathe {

namespace {

constexpr int kGrid = 20000;  // cost buckets of the knapsack (rounding up costs at most a bucket per layer)


// Shannon entropy in bits per symbol of the values' histogram.
template <class T>
double entropyBits(const std::vector<T>& values) {
    std::map<T, int64_t> counts;
    for (const T& v : values) ++counts[v];
    double h = 0;
    const double n = double(values.size());
    for (const auto& [v, c] : counts) {
        const double p = double(c) / n;
        h -= p * std::log2(p);
    }
    return h;
}

// zlib bytes of a stored tensor, estimated as its order-0 entropy (what deflate's Huffman stage reaches on weights):
// quantized codes at their histogram's entropy, floats as 4 bytes per non-zero plus the zero mask.
double zlibEstimate(const Tensor& weight, int channelAxis, const LayerChoice& c, double storedFraction,
                    const AllocationOptions& options) {
    std::vector<float> w(weight.data.begin(), weight.data.end());
    if (c.sparsity > 0) pruneToSparsity(w, c.sparsity);
    const double n = double(w.size()) * storedFraction;
    if (c.bits < 32) {
        UniformQuantSettings q;
        q.bits = c.bits;
        q.symmetric = options.symmetric;
        q.perChannel = options.granularity == Granularity::PerChannel;
        QuantizedTensor codes;
        fakeQuantize(w, weight.shape, channelAxis, q, 0, &codes);
        return n * entropyBits(codes.codes) / 8.0;
    }
    const double zeros = double(countZeros(w)) / double(std::max<size_t>(w.size(), 1));
    const double mask = zeros > 0 && zeros < 1 ? -(zeros * std::log2(zeros) + (1 - zeros) * std::log2(1 - zeros)) : 0;
    return n * ((1 - zeros) * 4.0 + mask / 8.0);
}

double optionCost(const Graph& graph, const LayerWeight& layer, const LayerChoice& c, const AllocationOptions& options) {
    const Tensor& weight = *graph.initializer(layer.weight);
    const double n = double(weight.numel());
    const double stored =
        c.rank ? double(decomposedParams(LowRankMethod::Channel, weight.shape, c.rank, 0)) : n;
    switch (options.target) {
        case BudgetTarget::Bits: return stored * c.bits;
        case BudgetTarget::Bytes: return stored * (c.bits <= 8 ? 1.0 : 4.0);
        case BudgetTarget::Nonzeros: return stored * (1.0 - c.sparsity);
        case BudgetTarget::Zlib: return zlibEstimate(weight, layer.channelAxis, c, stored / n, options);
        case BudgetTarget::Macs: {
            const LayerGeometry g = layerGeometry(graph, layer.node);
            if (!c.rank) return double(g.macs);
            return double(decomposedMacs(LowRankMethod::Channel, weight.shape, c.rank, 0, g.inputSpatial,
                                         g.outputSpatial));
        }
        case BudgetTarget::Latency: {
            if (!options.latency) return std::numeric_limits<double>::infinity();
            const auto profiled = std::find_if(options.latency->layers.begin(), options.latency->layers.end(),
                                               [&](const LayerLatency& l) { return l.name == layer.nodeName; });
            if (profiled == options.latency->layers.end()) return 0;  // not profiled: its time is in otherMs
            // A rank the profile did not time cannot be chosen.
            return options.latency->layerMs(layer.nodeName, c.rank).value_or(std::numeric_limits<double>::infinity());
        }
    }
    return 0;
}

// What the rest of the model costs (constants that are not compressible weights, MACs of other nodes, the time of the
// steps that are not profiled layers).
double fixedCost(const Graph& graph, BudgetTarget target, const LatencyProfile* latency) {
    if (target == BudgetTarget::Latency) return latency ? latency->otherMs : 0;
    const std::vector<LayerWeight> layers = compressibleLayers(graph);
    std::set<std::string> weights;
    for (const LayerWeight& l : layers) weights.insert(l.weight);
    double cost = 0;
    if (target == BudgetTarget::Bytes || target == BudgetTarget::Zlib) {
        for (const auto& [name, t] : graph.initializers)
            if (!weights.count(name)) cost += double(t.byteSize());
    } else if (target == BudgetTarget::Macs) {
        cost = double(summarizeModel(graph).totalMacs);
        for (const LayerWeight& l : layers) cost -= double(layerGeometry(graph, l.node).macs);
    }
    return cost;
}

double dropAt(const std::vector<std::pair<double, double>>& curve, double x, double baseline) {
    for (const auto& [at, top1] : curve)
        if (std::abs(at - x) < 1e-9) return std::max(0.0, baseline - top1);
    return std::numeric_limits<double>::infinity();
}

// Every setting a layer may take: the product of the allowed techniques' measured points. The objective the knapsack
// minimises is the rise in subset cross-entropy when the scan has it (smooth), else the top-1 drop.
std::vector<LayerChoice> layerOptions(const LayerSensitivity& s, double baseline, double baselineLoss, bool useLoss,
                                      bool bits, bool sparsity, bool rank) {
    std::vector<int> bitChoices = {32};
    if (bits)
        for (const auto& [b, top1] : s.bits) bitChoices.push_back(int(b));
    std::vector<double> sparsityChoices = {0};
    if (sparsity)
        for (const auto& [sp, top1] : s.sparsity)
            if (sp > 0) sparsityChoices.push_back(sp);
    std::vector<int64_t> rankChoices = {0};
    if (rank)
        for (const auto& [r, top1] : s.rank) rankChoices.push_back(int64_t(r));
    std::vector<LayerChoice> out;
    for (int b : bitChoices)
        for (double sp : sparsityChoices)
            for (int64_t r : rankChoices) {
                LayerChoice c;
                c.name = s.name;
                c.bits = b;
                c.sparsity = sp;
                c.rank = r;
                c.predictedDrop = (b < 32 ? dropAt(s.bits, b, baseline) : 0) +
                                  (sp > 0 ? dropAt(s.sparsity, sp, baseline) : 0) +
                                  (r > 0 ? dropAt(s.rank, double(r), baseline) : 0);
                // dropAt on a loss curve: "baseline − loss" is the negated rise, so the rise is -(baseline - loss).
                auto lossRise = [&](const std::vector<std::pair<double, double>>& curve, double x) {
                    for (const auto& [at, loss] : curve)
                        if (std::abs(at - x) < 1e-9) return std::max(0.0, loss - baselineLoss);
                    return std::numeric_limits<double>::infinity();
                };
                c.objective = useLoss ? (b < 32 ? lossRise(s.bitsLoss, b) : 0) +
                                            (sp > 0 ? lossRise(s.sparsityLoss, sp) : 0) +
                                            (r > 0 ? lossRise(s.rankLoss, double(r)) : 0)
                                      : c.predictedDrop;
                if (!std::isfinite(c.predictedDrop)) c.objective = c.predictedDrop;
                out.push_back(c);
            }
    return out;
}

// Multiple-choice knapsack over a cost grid: the least total drop for each reachable cost bucket, and the choice
// per layer that reaches it. Returns, for each bucket b, the plan with cost ≤ (b+1)·step (or none).
struct Knapsack {
    double step = 1;
    std::vector<double> best;                  // per bucket: least drop with cost within that bucket's bound
    std::vector<std::vector<int>> choiceTable;  // [layer][bucket]: option index chosen there
    std::vector<std::vector<int>> bucketBefore;
};

// A cost for messages: whole numbers from 100 on, four significant digits below (milliseconds).
std::string costString(double cost) {
    if (std::abs(cost) >= 100) return std::to_string(int64_t(std::llround(cost)));
    char text[32];
    std::snprintf(text, sizeof text, "%.4g", cost);
    return text;
}

Knapsack solve(const std::vector<std::vector<LayerChoice>>& options, double maxCost) {
    Knapsack k;
    k.step = maxCost / kGrid;
    const double inf = std::numeric_limits<double>::infinity();
    std::vector<double> cur(kGrid + 1, inf);
    cur[0] = 0;
    for (const auto& layer : options) {
        std::vector<double> next(kGrid + 1, inf);
        std::vector<int> choice(kGrid + 1, -1), before(kGrid + 1, -1);
        for (int b = 0; b <= kGrid; ++b) {
            if (cur[size_t(b)] == inf) continue;
            for (size_t o = 0; o < layer.size(); ++o) {
                if (!std::isfinite(layer[o].objective)) continue;
                const int nb = b + int(std::ceil(layer[o].cost / k.step - 1e-9));
                if (nb > kGrid) continue;
                const double d = cur[size_t(b)] + layer[o].objective;
                if (d < next[size_t(nb)]) {
                    next[size_t(nb)] = d;
                    choice[size_t(nb)] = int(o);
                    before[size_t(nb)] = b;
                }
            }
        }
        cur = std::move(next);
        k.choiceTable.push_back(std::move(choice));
        k.bucketBefore.push_back(std::move(before));
    }
    k.best = std::move(cur);
    return k;
}

AllocationPlan planAt(const Knapsack& k, const std::vector<std::vector<LayerChoice>>& options, int bucket,
                      double fixed, double baseline, const AllocationOptions& settings) {
    AllocationPlan plan;
    plan.granularity = settings.granularity;
    plan.symmetric = settings.symmetric;
    plan.layers.resize(options.size());
    int b = bucket;
    for (size_t l = options.size(); l-- > 0;) {
        const int o = k.choiceTable[l][size_t(b)];
        plan.layers[l] = options[l][size_t(o)];
        b = k.bucketBefore[l][size_t(b)];
    }
    plan.cost = fixed;
    double drop = 0;
    for (const LayerChoice& c : plan.layers) {
        plan.cost += c.cost;
        drop += c.predictedDrop;
    }
    plan.predictedTop1 = baseline - drop;
    return plan;
}

bool samePlan(const AllocationPlan& a, const AllocationPlan& b) {
    for (size_t i = 0; i < a.layers.size(); ++i)
        if (a.layers[i].bits != b.layers[i].bits || a.layers[i].sparsity != b.layers[i].sparsity ||
            a.layers[i].rank != b.layers[i].rank)
            return false;
    return true;
}

}  // namespace

std::string_view toString(BudgetTarget t) {
    switch (t) {
        case BudgetTarget::Bits: return "bits";
        case BudgetTarget::Bytes: return "bytes";
        case BudgetTarget::Zlib: return "zlib";
        case BudgetTarget::Nonzeros: return "nonzeros";
        case BudgetTarget::Macs: return "macs";
        case BudgetTarget::Latency: return "latency";
    }
    return "bits";
}

std::optional<BudgetTarget> budgetTargetFromString(std::string_view text) {
    for (BudgetTarget t : {BudgetTarget::Bits, BudgetTarget::Bytes, BudgetTarget::Zlib, BudgetTarget::Nonzeros,
                           BudgetTarget::Macs, BudgetTarget::Latency})
        if (toString(t) == text) return t;
    return std::nullopt;
}

Recipe AllocationPlan::recipe() const {
    Recipe r;
    for (const LayerChoice& c : layers) {
        if (c.bits == 32 && c.sparsity == 0 && c.rank == 0) continue;
        LayerEntry e;
        if (c.sparsity > 0) {
            e.prune = PruneEntry{};
            e.prune->sparsity = c.sparsity;
        }
        if (c.rank > 0) {
            e.lowrank = LowRankEntry{};
            e.lowrank->method = LowRankMethod::Channel;
            e.lowrank->rank = c.rank;
        }
        if (c.bits < 32) {
            e.quant = QuantEntry{};
            e.quant->bits = c.bits;
            e.quant->granularity = granularity;
            e.quant->symmetric = symmetric;
        }
        r.layers[c.name] = e;
    }
    if (refitPruned && std::any_of(layers.begin(), layers.end(), [](const LayerChoice& c) { return c.sparsity > 0; }))
        r.layerPruneCorrection = PruneCorrection::LeastSquares;
    return r;
}

int64_t compressibleWeights(const Graph& graph) {
    int64_t n = 0;
    for (const LayerWeight& l : compressibleLayers(graph)) n += graph.initializer(l.weight)->numel();
    return n;
}

double modelCost(const Graph& graph, BudgetTarget target, const LatencyProfile* latency) {
    if (target == BudgetTarget::Latency) return latency ? latency->totalMs : 0;
    AllocationOptions options;
    options.target = target;
    double cost = fixedCost(graph, target, nullptr);
    for (const LayerWeight& l : compressibleLayers(graph)) {
        LayerChoice c;
        cost += optionCost(graph, l, c, options);
    }
    return cost;
}

Result<double> parseBudget(std::string_view text, BudgetTarget target, double floatCost, int64_t weights) {
    auto number = [](std::string_view s) -> std::optional<double> {
        double v = 0;
        auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
        if (ec != std::errc() || end != s.data() + s.size() || !(v > 0) || !std::isfinite(v)) return std::nullopt;
        return v;
    };
    if (text.ends_with("%")) {
        if (auto v = number(text.substr(0, text.size() - 1))) return floatCost * *v / 100.0;
    } else if (text.ends_with("bit")) {
        if (target != BudgetTarget::Bits)
            return makeError(ErrorCode::InvalidArgument,
                             "budget '" + std::string(text) + "': bits per weight only apply to --target bits");
        if (auto v = number(text.substr(0, text.size() - 3))) return *v * double(weights);
    } else if (auto v = number(text)) {
        return *v;
    }
    return makeError(ErrorCode::InvalidArgument, "budget '" + std::string(text) +
                                                     "' is not a positive number, a percentage (\"50%\") or, for "
                                                     "bits, bits per weight (\"4bit\")");
}

Result<Allocation> allocateBudget(const Graph& graph, const SensitivityResult& sensitivity,
                                  const AllocationOptions& requested) {
    AllocationOptions options = requested;
    if (!options.latency && sensitivity.latency) options.latency = &*sensitivity.latency;
    const BudgetTarget t = options.target;
    if (t == BudgetTarget::Latency && !options.latency)
        return makeError(ErrorCode::InvalidArgument,
                         sensitivity.latencyNote.empty()
                             ? "the latency target needs the scan's latency profile (scan again: scans measure it)"
                             : "the latency target is unavailable: " + sensitivity.latencyNote);
    const bool bits = options.useBits.value_or(t == BudgetTarget::Bits || t == BudgetTarget::Bytes ||
                                               t == BudgetTarget::Zlib);
    const bool sparsity = options.useSparsity.value_or(t == BudgetTarget::Zlib || t == BudgetTarget::Nonzeros);
    const bool rank = options.useRank.value_or(t == BudgetTarget::Macs || t == BudgetTarget::Latency);
    if (!bits && !sparsity && !rank)
        return makeError(ErrorCode::InvalidArgument, "the allocation may use no technique (bits, sparsity or rank)");

    std::vector<LayerWeight> layers = compressibleLayers(graph);
    std::vector<std::vector<LayerChoice>> choices;
    const double fixed = fixedCost(graph, t, options.latency);
    // Loss curves rank settings when every scanned layer has them for every point (scans saved before they existed
    // do not).
    const bool useLoss = std::all_of(sensitivity.layers.begin(), sensitivity.layers.end(), [](const LayerSensitivity& s) {
        return s.sparsityLoss.size() == s.sparsity.size() && s.bitsLoss.size() == s.bits.size() &&
               s.rankLoss.size() == s.rank.size();
    });
    Allocation out;
    out.target = t;
    out.budget = options.budget;
    out.floatCost = modelCost(graph, t, options.latency);
    double minimum = fixed;
    for (const LayerWeight& layer : layers) {
        auto it = std::find_if(sensitivity.layers.begin(), sensitivity.layers.end(),
                               [&](const LayerSensitivity& s) { return s.name == layer.nodeName; });
        std::vector<LayerChoice> opts;
        if (it == sensitivity.layers.end()) {
            opts.push_back(LayerChoice{layer.nodeName});  // not scanned: stays as it is
        } else {
            opts = layerOptions(*it, sensitivity.baselineTop1, sensitivity.baselineLoss, useLoss, bits, sparsity, rank);
        }
        double cheapest = std::numeric_limits<double>::infinity();
        for (LayerChoice& c : opts) {
            c.cost = optionCost(graph, layer, c, options);
            if (!std::isfinite(c.cost)) c.objective = std::numeric_limits<double>::infinity();
            if (std::isfinite(c.objective)) cheapest = std::min(cheapest, c.cost);
        }
        minimum += cheapest;
        choices.push_back(std::move(opts));
    }
    out.minimumCost = minimum;
    if (options.budget < minimum - 1e-9)
        return makeError(ErrorCode::InvalidArgument,
                         "budget " + costString(options.budget) + " " + std::string(toString(t)) +
                             (t == BudgetTarget::Latency ? " ms" : "") +
                             " is below the least the scanned settings reach (" + costString(minimum) +
                             (t == BudgetTarget::Latency
                                  ? "; at batch 1 no scanned rank runs faster than the layer as it is, or only a few do)"
                                  : "); allow more techniques or scan lower settings"));

    // One grid over [0, the float cost] (or the budget, when larger) serves the budget and the Pareto front alike.
    const double span = std::max(out.floatCost, options.budget) - fixed;
    const Knapsack k = solve(choices, span > 0 ? span : 1.0);  // milliseconds are fractions: no floor at 1
    const int budgetBucket = std::clamp(int(std::floor((options.budget - fixed) / k.step + 1e-9)), 0, kGrid);

    // Candidates: the optimum within the budget, then the best plans at the next cheaper buckets that differ.
    int bestBucket = -1;
    for (int b = 0; b <= budgetBucket; ++b)
        if (std::isfinite(k.best[size_t(b)]) && (bestBucket < 0 || k.best[size_t(b)] < k.best[size_t(bestBucket)]))
            bestBucket = b;
    if (bestBucket < 0)
        return makeError(ErrorCode::InvalidArgument, "no combination of the scanned settings fits the budget");
    std::vector<std::pair<double, int>> ranked;
    for (int b = 0; b <= budgetBucket; ++b)
        if (std::isfinite(k.best[size_t(b)])) ranked.emplace_back(k.best[size_t(b)], b);
    // Least objective first; among equal ones the costlier plan (more bits, fewer zeros), whose drop the scan's
    // resolution may have hidden.
    std::sort(ranked.begin(), ranked.end(), [](const auto& a, const auto& b) {
        return a.first < b.first || (a.first == b.first && a.second > b.second);
    });
    for (const auto& [objective, b] : ranked) {
        AllocationPlan plan = planAt(k, choices, b, fixed, sensitivity.baselineTop1, options);
        if (std::any_of(out.candidates.begin(), out.candidates.end(),
                        [&](const AllocationPlan& p) { return samePlan(p, plan); }))
            continue;
        out.candidates.push_back(std::move(plan));
        if (int(out.candidates.size()) >= std::max(1, options.candidates)) break;
    }
    // Pareto front: the best plan at every cost, keeping only points whose objective improves on cheaper ones.
    double bestSoFar = std::numeric_limits<double>::infinity();
    for (int b = 0; b <= kGrid; ++b) {
        if (!std::isfinite(k.best[size_t(b)]) || k.best[size_t(b)] >= bestSoFar - 1e-12) continue;
        bestSoFar = k.best[size_t(b)];
        out.pareto.push_back(planAt(k, choices, b, fixed, sensitivity.baselineTop1, options));
    }
    for (auto* plans : {&out.candidates, &out.pareto})
        for (AllocationPlan& plan : *plans) plan.refitPruned = options.refitPruned;
    return out;
}

Status measureCandidates(const Graph& graph, Allocation& allocation, IncrementalEvaluator& evaluator,
                         const ProgressFn& progress, const ApplyOptions& apply) {
    const size_t n = allocation.candidates.size();
    for (size_t i = 0; i < n; ++i) {
        AllocationPlan& plan = allocation.candidates[i];
        const float from = float(i) / float(n), to = float(i + 1) / float(n);
        auto compressed = applyRecipe(graph, plan.recipe(), apply);
        if (!compressed) return compressed.error();
        auto acc = evaluator.evaluate(compressed->graph, [&](float f, std::string_view stage) {
            return reportProgress(progress, from + (to - from) * f, stage);
        });
        if (!acc) return acc.error();
        plan.measuredTop1 = acc->top1;
    }
    std::stable_sort(allocation.candidates.begin(), allocation.candidates.end(),
                     [](const AllocationPlan& a, const AllocationPlan& b) {
                         return a.measuredTop1.value_or(a.predictedTop1) > b.measuredTop1.value_or(b.predictedTop1);
                     });
    return Ok{};
}

nlohmann::json allocationToJson(const Allocation& a) {
    auto planJson = [](const AllocationPlan& p) {
        nlohmann::ordered_json j;
        j["cost"] = p.cost;
        j["predicted_top1"] = std::round(p.predictedTop1 * 1e4) / 1e4;
        if (p.measuredTop1) j["subset_top1"] = std::round(*p.measuredTop1 * 1e4) / 1e4;
        nlohmann::ordered_json layers = nlohmann::ordered_json::array();
        for (const LayerChoice& c : p.layers) {
            nlohmann::ordered_json l;
            l["name"] = c.name;
            l["bits"] = c.bits;
            l["sparsity"] = c.sparsity;
            l["rank"] = c.rank;
            l["predicted_drop"] = std::round(c.predictedDrop * 1e4) / 1e4;
            layers.push_back(std::move(l));
        }
        j["layers"] = std::move(layers);
        return j;
    };
    nlohmann::ordered_json j;
    j["target"] = std::string(toString(a.target));
    j["budget"] = a.budget;
    j["float_cost"] = a.floatCost;
    j["minimum_cost"] = a.minimumCost;
    nlohmann::ordered_json candidates = nlohmann::ordered_json::array();
    for (const AllocationPlan& p : a.candidates) candidates.push_back(planJson(p));
    j["candidates"] = std::move(candidates);
    nlohmann::ordered_json pareto = nlohmann::ordered_json::array();
    for (const AllocationPlan& p : a.pareto)
        pareto.push_back({{"cost", p.cost}, {"predicted_top1", std::round(p.predictedTop1 * 1e4) / 1e4}});
    j["pareto"] = std::move(pareto);
    return nlohmann::json(j);
}

}  // namespace lathe
