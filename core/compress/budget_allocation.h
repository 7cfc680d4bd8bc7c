#pragma once

#include <cstdint>
#include <nlohmann/json_fwd.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/common/progress.h"
#include "core/common/result.h"
#include "core/compress/apply_recipe.h"
#include "core/compress/recipe.h"
#include "core/compress/sensitivity_scan.h"
#include "core/eval/incremental_evaluator.h"
#include "core/model/graph.h"

namespace lathe {

// What a budget limits. Costs count the compressible layers' weights (biases and other constants stay float and are
// added as they are):
// bits      Σ stored weights × bits (float: 32)
// bytes     ONNX file bytes of the weights: 1 per quantized weight (int8 QDQ storage), 4 per float
// zlib      zlib bytes of the weights: estimated from the entropy of the stored values (zeros and few levels shrink)
// nonzeros  weights left after pruning (the paper's sparse count)
// macs      multiply-accumulates per sample (low rank lowers them; pruned zeros do not)
// latency   milliseconds per image (batch 1) in Lathe's executor, from the scan's latency profile: the rest of the
//           model plus each layer's measured time at its rank (pruned and quantized weights run dense in float here)
enum class BudgetTarget { Bits, Bytes, Zlib, Nonzeros, Macs, Latency };
std::string_view toString(BudgetTarget t);
std::optional<BudgetTarget> budgetTargetFromString(std::string_view text);

// Which techniques the allocation may combine per layer; unset = the target's natural choice (bits/bytes: bits,
// zlib: bits and sparsity, nonzeros: sparsity, macs and latency: rank).
struct AllocationOptions {
    BudgetTarget target = BudgetTarget::Bits;
    double budget = 0;  // in the target's unit
    std::optional<bool> useBits, useSparsity, useRank;
    Granularity granularity = Granularity::PerChannel;  // of every quantized layer (as the scan measured)
    bool symmetric = true;
    int candidates = 3;  // plans evaluated for real: the optimum of the additive model and its nearest rivals
    // Plans that prune refit the weights they keep on calibration data (the recipe's prune_correction: least
    // squares, no training); the scan's curves are of the plain cut, so the measured plans do at least as well.
    bool refitPruned = false;
    // Layer times for the latency target; allocateBudget uses the scan's own profile when this is null.
    const LatencyProfile* latency = nullptr;
};

// One layer's choice; 32 bits, 0 sparsity and rank 0 mean "left as it is".
struct LayerChoice {
    std::string name;
    int bits = 32;
    double sparsity = 0;
    int64_t rank = 0;
    double predictedDrop = 0;  // top-1 points, from the layer's curves
    double objective = 0;      // what the knapsack adds up: rise in subset cross-entropy (else the top-1 drop)
    double cost = 0;
};

struct AllocationPlan {
    std::vector<LayerChoice> layers;
    double cost = 0;            // of the whole model in the target's unit
    double predictedTop1 = 0;   // baseline − Σ predicted drops
    std::optional<double> measuredTop1;  // on the evaluator's subset, when evaluated
    Granularity granularity = Granularity::PerChannel;  // of its quantized layers
    bool symmetric = true;
    bool refitPruned = false;  // its recipe asks for prune_correction: least_squares when it prunes
    Recipe recipe() const;
};

struct Allocation {
    BudgetTarget target = BudgetTarget::Bits;
    double budget = 0;
    double floatCost = 0;    // the model as it is
    double minimumCost = 0;  // the cheapest setting the curves allow
    std::vector<AllocationPlan> candidates;  // best measured first (predicted order when not evaluated)
    std::vector<AllocationPlan> pareto;      // predicted top-1 against cost, from minimumCost to floatCost
};

// The model's cost in the target's unit with every compressible layer as it is; the latency target needs `latency`
// (0 without it).
double modelCost(const Graph& graph, BudgetTarget target, const LatencyProfile* latency = nullptr);

// Chooses per-layer settings from the sensitivity curves within the budget: a multiple-choice knapsack solved by dynamic
// programming over the cost that minimises the sum of each layer's rise in subset cross-entropy (top-1 on a few
// hundred images moves in steps and hides small drops; scans without loss curves use the top-1 drop). Predicted top-1
// is the baseline minus the layers' top-1 drops.
// Errors: a budget below what the curves can reach (naming the minimum), layers the scan did not cover, a latency
// target without a latency profile.
Result<Allocation> allocateBudget(const Graph& graph, const SensitivityResult& sensitivity,
                                  const AllocationOptions& options);
// Applies each candidate (with `apply`'s calibration data for plans that refit) and measures it on the evaluator's
// subset (measuredTop1), then orders them best first.
Status measureCandidates(const Graph& graph, Allocation& allocation, IncrementalEvaluator& evaluator,
                         const ProgressFn& progress = {}, const ApplyOptions& apply = {});
// Parses "123456", "50%" (of floatCost) or, for bits, "4bit" (that many bits per weight); errors name the text.
Result<double> parseBudget(std::string_view text, BudgetTarget target, double floatCost, int64_t weights);
// Compressible weight elements of the graph.
int64_t compressibleWeights(const Graph& graph);

nlohmann::json allocationToJson(const Allocation& allocation);

}  // namespace lathe
