#pragma once

#include <cstdint>
#include <functional>
#include <limits>
#include <map>
#include <memory>
#include <nlohmann/json_fwd.hpp>
#include <string>
#include <vector>

#include "core/common/progress.h"
#include "core/common/result.h"
#include "core/compress/quantize/kmeans_share.h"
#include "core/compress/quantize/uniform_quantize.h"
#include "core/compress/recipe.h"
#include "core/model/graph.h"

namespace lathe {

class Dataset;

// What happened to one compressible layer of the source model. Errors and sizes cover its weight (the two factors
// when decomposed); params and bytes also count its bias (4 bytes per value).
struct LayerReport {
    std::string name;  // node name in the source model (kept when the layer became <name>_lr1/_lr2)
    std::string opType;
    std::vector<std::string> nodes;    // its node(s) in the compressed graph
    std::vector<std::string> weights;  // its weight initializer(s) in the compressed graph
    std::vector<int64_t> originalShape;
    int64_t channels = 0;  // output channels before structured pruning (0: not structurally pruned)
    int64_t keptChannels = 0;
    LowRankMethod lowRankMethod = LowRankMethod::Channel;
    int64_t rank = 0;  // 0: not decomposed (tucker2: rank of the output-channel mode)
    int64_t fullRank = 0;
    int64_t rankIn = 0;  // tucker2: rank of the input-channel mode
    int64_t fullRankIn = 0;
    std::vector<double> singularValues;  // of the unfolding truncated (descending), for the spectrum plot
    double lowRankError = 0;             // the factorisation alone: ||W − Ŵ||_F / ||W||_F
    double threshold = 0;                // magnitude cut of unstructured pruning (0: none)
    double sparsity = 0;                 // exact zeros / weight elements, after everything
    int bits = 32;                       // 32: float
    Rounding rounding = Rounding::Nearest;
    Granularity granularity = Granularity::PerTensor;
    bool symmetric = true;
    double relError = 0;  // ||W - Ŵ||_F / ||W||_F against the original weight (removed slices count as 0)
    double sqnrDb = std::numeric_limits<double>::infinity();  // 10·log10(||W||² / ||W - Ŵ||²); +inf when exact
    int64_t params = 0;                                       // stored weight + bias elements
    int64_t bytes = 0;  // bits/8 per quantized weight + scales/zero points or codebook; 4 per float
    int64_t originalParams = 0;
    int64_t originalBytes = 0;
    bool corrected = false;              // its kept weights were refit by global_prune's least-squares correction
    double prunedOutputError = 0;        // relative output error on the calibration data, pruned (last node)
    double correctedOutputError = 0;     // the same after the refit
    std::vector<std::string> notes;  // settings that did not apply and why
};

// What global_prune's correction did.
struct CorrectionReport {
    PruneCorrection method = PruneCorrection::None;
    int64_t samples = 0;  // calibration samples used
    uint64_t seed = 0;
    std::string data;     // the calibration data as ApplyOptions named it
    std::string reason;   // why none, when global_prune is set but nothing was corrected
};

// A compressible layer as a retraining step sees it: structured pruning, low-rank and unstructured pruning done,
// quantization not yet.
struct RetrainLayer {
    std::string name;                  // node name in the source model
    std::vector<std::string> nodes;    // its node(s) in the graph being compressed (two when decomposed)
    std::vector<std::string> weights;  // their weight initializers
    std::string bias;                  // bias initializer of the (last) node, "" when none
    LayerSettings settings;
    bool shared = false;  // its weight is another layer's too (trained there)
};
// Trains the graph in place between pruning and quantization. It may return k-means codebooks it trained (by weight
// name; the weight must equal codebook[indices]), which quantization then keeps instead of clustering again.
using RetrainFn = std::function<Result<std::map<std::string, CodebookTensor>>(
    Graph& graph, const std::vector<RetrainLayer>& layers, const ProgressFn& progress)>;

// Data for the passes that calibrate (global_prune's least-squares correction).
struct ApplyOptions {
    std::shared_ptr<const Dataset> calibration;  // none: corrections that need data are skipped (with a warning
                                                 // when the recipe asks for one explicitly)
    std::string calibrationName;                 // for reports: "idx:DIR (train split)"
    uint64_t seed = 0;                           // of the calibration subset
    int threads = 0;                             // executor threads; 0 = all cores
    RetrainFn retrain;                           // run between pruning and quantization when set (core/train)
};

struct CompressedModel {
    Graph graph;                      // valid, runnable graph: fake-quantized float weights, shapes updated
    std::vector<LayerReport> layers;  // compressible layers of the source model, in node order
    std::map<std::string, QuantizedTensor> quantized;  // integer codes per quantized initializer (exporters)
    std::map<std::string, CodebookTensor> codebooks;   // k-means codebook + indices per shared initializer
    double globalThreshold = 0;                        // the global_prune magnitude cut (0: none)
    CorrectionReport correction;
    int64_t params = 0;                                // all initializer elements of the compressed model
    int64_t bytes = 0;                                 // their storage, quantized weights at their bit-width
    int64_t originalParams = 0;
    int64_t originalBytes = 0;
    std::vector<std::string> warnings;
};

// Validates the recipe against the graph, then compresses a copy in the order structured prune → low-rank →
// unstructured prune (of the factors when decomposed) → quantize, and reports every layer. Settings that come
// from "defaults" and do not fit a layer are skipped with a note; a layer's own settings that cannot be applied
// fail the call naming the layer. global_prune's least-squares correction (when the recipe asks for it or leaves it
// unset and options.calibration is given) refits the kept weights right after the magnitude cut, before
// quantization; the zeros stay. Cancellable through `progress`.
Result<CompressedModel> applyRecipe(const Graph& graph, const Recipe& recipe, const ApplyOptions& options,
                                    const ProgressFn& progress = {});
// The same without calibration data.
Result<CompressedModel> applyRecipe(const Graph& graph, const Recipe& recipe, const ProgressFn& progress = {});

// Reports as JSON (sqnr_db null when exact), for the CLI and the GUI's tables.
nlohmann::json reportToJson(const CompressedModel& model);

}  // namespace lathe
