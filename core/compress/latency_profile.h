#pragma once

#include <cstdint>
#include <map>
#include <nlohmann/json_fwd.hpp>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "core/common/progress.h"
#include "core/common/result.h"
#include "core/model/graph.h"

namespace lathe {

// Batch-1 time of one compressible layer in Lathe's executor: as it is and at each channel-SVD rank measured. Pruned
// and quantized weights run dense in float here, so only the rank changes a layer's time.
struct LayerLatency {
    std::string name;
    double floatMs = 0;
    std::vector<std::pair<int64_t, double>> rankMs;  // (rank, the layer's factor nodes together)
};

// What the latency budget target adds up: the rest of the model's steps (otherMs) plus each layer's chosen setting.
struct LatencyProfile {
    double totalMs = 0;  // the float model, the sum of every step's median
    double otherMs = 0;  // the steps that are not a compressible layer
    std::vector<LayerLatency> layers;
    int runs = 0;  // batch-1 runs per model whose per-step medians these are
    int threads = 0;
    // The layer's time at `rank` (0: as it is); nullopt when the profile did not measure that setting.
    std::optional<double> layerMs(const std::string& name, int64_t rank) const;
};

struct LatencyProfileOptions {
    int runs = 15;         // per model; the median per step is kept
    int threads = 0;       // executor threads; 0: as evaluation uses
    double maxSeconds = 60;  // stops measuring further ranks after this long (the layers measured keep theirs)
};

// Runs the float model, then the model with each layer alone at each of `ranks[layer]` (channel SVD, as the scan's rank
// curve), on a zero batch-1 input of the model's input shape, and times every step (median over runs). A decomposed
// layer's time is that of the steps its factor nodes run in. Errors name the layer that could not be decomposed or a
// model that cannot run.
Result<LatencyProfile> profileLayerLatency(const Graph& graph, const std::map<std::string, std::vector<int64_t>>& ranks,
                                           const LatencyProfileOptions& options = {}, const ProgressFn& progress = {});

// The model's batch-1 time in Lathe's executor: the sum of every step's median over `options.runs` runs (the unit of
// LatencyProfile::totalMs, so a plan's predicted and measured latency compare).
Result<double> measureLatencyMs(const Graph& graph, const LatencyProfileOptions& options = {});

nlohmann::json latencyProfileToJson(const LatencyProfile& profile);
// Errors name the field ("latency.layers[2].rank_ms: ...").
Result<LatencyProfile> latencyProfileFromJson(const nlohmann::json& j);

}  // namespace lathe
