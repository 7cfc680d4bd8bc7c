#pragma once

#include <cstdint>
#include <nlohmann/json_fwd.hpp>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "core/common/progress.h"
#include "core/common/result.h"
#include "core/compress/latency_profile.h"
#include "core/compress/recipe.h"
#include "core/eval/incremental_evaluator.h"
#include "core/model/graph.h"

namespace lathe {

// What a scan sweeps: each setting is applied to one layer at a time (the others stay float).
struct SensitivityOptions {
    std::vector<double> sparsities = {0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 0.95};
    std::vector<int> bits = {8, 7, 6, 5, 4, 3, 2};
    std::vector<double> rankFractions = {0.75, 0.5, 0.25, 0.125, 0.0625};  // of the layer's full rank
    Granularity granularity = Granularity::PerChannel;  // of the quantization sweep
    bool symmetric = true;
    std::vector<std::string> layers;  // node names; empty = every compressible layer
    // Also time each layer at each scanned rank in Lathe's executor (batch 1), for the latency budget target.
    bool measureLatency = true;
    LatencyProfileOptions latency;
};

// One layer's curves: (setting, top-1 %) pairs, the float model's top-1 at sparsity 0.
struct LayerSensitivity {
    std::string name;
    std::string opType;
    int64_t params = 0;  // weight elements
    int64_t fullRank = 0;  // 0: the channel SVD does not apply
    std::vector<std::pair<double, double>> sparsity;  // (fraction of weights zeroed, top-1)
    std::vector<std::pair<double, double>> bits;      // (bits, top-1)
    std::vector<std::pair<double, double>> rank;      // (rank, top-1)
    // The same points' mean cross-entropy on the subset: smoother than top-1 on a few hundred images, so the budget
    // allocation ranks settings by it (the float model's loss at sparsity 0).
    std::vector<std::pair<double, double>> sparsityLoss, bitsLoss, rankLoss;
    std::vector<std::string> notes;                   // settings that did not apply and why

    // Largest drop from the baseline over the sparsity curve up to 50 % and bits down to 4: a single number that
    // ranks layers (higher = more sensitive).
    double score(double baselineTop1) const;
};

struct SensitivityResult {
    double baselineTop1 = 0;
    double baselineLoss = 0;  // mean cross-entropy of the float model on the subset
    int64_t samples = 0;  // evaluation subset size
    uint64_t seed = 0;    // of the subset
    std::vector<LayerSensitivity> layers;  // in node order
    double seconds = 0;
    int64_t nodesRun = 0;    // nodes executed over all settings (incremental evaluation)
    int64_t nodesTotal = 0;  // nodes a full run of every setting would have executed
    // Batch-1 time per layer and rank in Lathe's executor (the latency budget target); absent until measured.
    std::optional<LatencyProfile> latency;
    std::string latencyNote;  // why the latency profile is absent when timing failed (not when it was not asked for)
};

// The ranks of each layer's rank curve: what profileLayerLatency times for the latency target.
std::map<std::string, std::vector<int64_t>> scannedRanks(const SensitivityResult& result);

// Sweeps every requested layer's sparsity, bits and rank, each applied alone through applyRecipe (so a setting
// scores exactly what a variant with it would), and measures top-1 on the evaluator's subset, running only the
// layers after the changed one. Progress per setting; cancellable.
Result<SensitivityResult> scanSensitivity(const Graph& graph, IncrementalEvaluator& evaluator,
                                          const SensitivityOptions& options = {}, const ProgressFn& progress = {});

// {"baseline_top1", "baseline_loss", "samples", "seed", "layers": [{"name", "op", "params", "full_rank",
// "sparsity": [[s, top1], …], "bits": [[b, top1], …], "rank": [[r, top1], …], "sparsity_loss": [[s, loss], …],
// "bits_loss", "rank_loss", "notes"}]}
nlohmann::json sensitivityToJson(const SensitivityResult& result);
// The inverse, for projects; errors name the field.
Result<SensitivityResult> sensitivityFromJson(const nlohmann::json& json);

}  // namespace lathe
