#pragma once

#include <cstdint>
#include <map>
#include <nlohmann/json_fwd.hpp>
#include <optional>
#include <string>
#include <string_view>

#include "core/common/result.h"
#include "core/compress/prune/channel_groups.h"
#include "core/model/graph.h"

namespace lathe {

enum class Granularity { PerTensor, PerChannel };
enum class Rounding { Nearest, Stochastic, KMeans };
enum class ActivationMode { None, Dynamic, Static };
enum class Calibration { MinMax, Percentile, Entropy };
// What global_prune does to the weights it keeps: nothing, or a least-squares refit on calibration data.
enum class PruneCorrection { None, LeastSquares };
enum class TrainOptimizer { Sgd, Adam };
enum class LrSchedule { Constant, Step, Cosine };
// BatchNormalization while training: frozen (running statistics, affine parameters train) or train (batch statistics,
// running statistics updated).
enum class BatchNormTraining { Frozen, Train };
// What training optimises: the task loss (fine-tuning), the task loss + λ·Σ|w| with a proximal step (L1), or the
// knowledge-distillation loss against a teacher's logits (distill).
enum class TrainObjective { FineTune, L1, Distill };
// Where training starts: the model's own weights, or a seeded re-initialisation (PyTorch's defaults: Conv/Gemm/MatMul
// weights and biases uniform in ±1/sqrt(fan_in), BatchNorm scale 1, shift 0, running mean 0, variance 1).
enum class WeightInit { Model, Random };
// How channels are ranked for structured pruning (ChannelImportance: L1/L2 of the group's filters, or BN scale).
using StructuredImportance = ChannelImportance;
// How a layer is factored: the channel SVD (Gemm/MatMul, or a k×k Conv with r filters + 1×1), Tucker-2 (1×1 →
// k×k core → 1×1, Kim et al. 2016) or spatial SVD (k×1 then 1×k, Jaderberg et al. 2014).
enum class LowRankMethod { Channel, Tucker2, Spatial };

// One recipe entry ("defaults" or "layers.<name>"): every field optional, an unset field inherits.
struct PruneEntry {
    std::optional<double> sparsity;      // unstructured: fraction of weights set to zero, [0, 1)
    std::optional<double> threshold;     // unstructured: |w| < threshold becomes 0
    std::optional<int64_t> keep;         // structured ("structured": {"keep": n}): output channels kept
    std::optional<double> keepFraction;  // structured ("structured": {"keep_fraction": f}), (0, 1]
    std::optional<StructuredImportance> importance;  // structured ("structured": {"importance": "l1"}); l1 when unset
};

struct LowRankEntry {
    std::optional<int64_t> rank;          // channel and spatial
    std::optional<double> energy;         // fraction of spectral energy kept, (0, 1] (per mode for tucker2)
    std::optional<LowRankMethod> method;  // channel when unset
    std::optional<int64_t> rankOut;       // tucker2: output-channel mode ("rank_out")
    std::optional<int64_t> rankIn;        // tucker2: input-channel mode ("rank_in")

    bool requested() const { return rank || rankOut || rankIn || energy; }
};

struct QuantEntry {
    std::optional<int> bits;  // 2..8, or 32 for float
    std::optional<Granularity> granularity;
    std::optional<bool> symmetric;
    std::optional<Rounding> rounding;
    std::optional<uint64_t> seed;
};

struct LayerEntry {
    std::optional<PruneEntry> prune;
    std::optional<LowRankEntry> lowrank;
    std::optional<QuantEntry> quant;
};

struct ActivationSettings {
    ActivationMode mode = ActivationMode::None;
    int bits = 8;
    Calibration calibration = Calibration::MinMax;
    int64_t samples = 512;
    std::optional<double> percentile;  // for Calibration::Percentile, (0, 100]; 99.99 when unset
};

// "prune_schedule": the recipe's unstructured sparsities ramp from `from` to their set values over `epochs` epochs
// (cubic schedule of Zhu & Gupta 2017), masks recomputed by magnitude as they ramp.
struct PruneSchedule {
    double from = 0;
    int epochs = 1;
};

// "l1": L1 sparsification. Loss = task loss + Σ_layers λ_l·Σ|w|; after every update the weights are soft-thresholded
// by lr·λ_l (proximal step), so they reach exact zeros; at the end a magnitude cut reaches `targetSparsity` over the
// regularised layers (or zeroes |w| < threshold), followed by `finalEpochs` of fine-tuning with the cut weights masked.
struct L1Settings {
    double lambda = 1e-4;                  // every compressible layer
    std::map<std::string, double> layers;  // per layer (node or weight name), overrides lambda
    std::optional<double> targetSparsity;
    std::optional<double> threshold;
    int finalEpochs = 0;  // of the train section's epochs, the last ones: after the cut, without the penalty
};

// "distill": knowledge distillation from a teacher's logits (Hinton et al. 2015). Soft: loss = α·T²·KL(softmax(t/T) ‖
// softmax(s/T)) + (1−α)·CE(s, labels). Hard: loss = α·CE(s, argmax t) + (1−α)·CE(s, labels).
struct DistillSettings {
    std::string teacher = "baseline";  // "baseline": the model before compression; else the path of an ONNX file
    double temperature = 4;
    double alpha = 0.7;
    bool hard = false;
};

// The "train" section: fine-tuning that keeps the recipe's compression (see core/train/fine_tune.h).
struct TrainSettings {
    TrainObjective mode = TrainObjective::FineTune;
    std::optional<L1Settings> l1;  // mode l1
    std::optional<DistillSettings> distill;  // mode distill (defaults when unset)
    WeightInit init = WeightInit::Model;
    int epochs = 1;
    double lr = 0.01;
    TrainOptimizer optimizer = TrainOptimizer::Sgd;
    double momentum = 0.9;     // SGD only
    double weightDecay = 0;
    int batch = 64;
    LrSchedule schedule = LrSchedule::Constant;
    int stepEpochs = 1;        // step schedule: lr *= gamma every stepEpochs epochs
    double gamma = 0.1;
    uint64_t seed = 0;
    int64_t samples = 0;  // train on this many images of the training data (seeded choice); 0 = all
    BatchNormTraining batchNorm = BatchNormTraining::Frozen;
    std::optional<PruneSchedule> pruneSchedule;
    // Deep Compression's second retraining: with k-means layers, `epochs` fine-tune the pruned float weights first,
    // then the weights are shared and `centroidEpochs` train the centroids. 0: centroids train from the start.
    int centroidEpochs = 0;
};

// "evaluation": {"cross_validation": {"folds": 5, "epochs": 1, "seed": 0}}: stratified k-fold cross-validation of the
// variant on its training data (core/train/cross_validation.h); epochs unset: the train section's (else 1).
struct CrossValidationSettings {
    int folds = 5;
    std::optional<int> epochs;
    uint64_t seed = 0;
};

struct RecipeEvaluation {
    std::optional<CrossValidationSettings> crossValidation;
};

struct Recipe {
    LayerEntry defaults;
    std::map<std::string, LayerEntry> layers;   // key: ONNX node name or weight initializer name
    std::optional<double> globalPruneSparsity;  // "global_prune": {"sparsity": s}
    // "global_prune": {"correction": "least_squares" | "none"}; unset: least_squares when applyRecipe is given
    // calibration data, none otherwise. The mask is the magnitude cut either way.
    std::optional<PruneCorrection> globalPruneCorrection;
    std::optional<int64_t> globalPruneSamples;  // "global_prune": {"samples": n}, calibration samples (default 512)
    // "prune_correction": {"method": "least_squares" | "none", "samples": n}: the same refit for the layers pruned by
    // their own (or the defaults') sparsity or threshold; unset: none. Needs calibration data.
    std::optional<PruneCorrection> layerPruneCorrection;
    std::optional<int64_t> layerPruneSamples;
    // "global_structured": {"keep_fraction": f, "importance": ...}: channels of every prunable channel group ranked
    // together (importance over the group's mean), the weakest removed until f of them stay; groups whose layers
    // have their own structured setting keep it.
    std::optional<double> globalStructuredKeep;
    std::optional<StructuredImportance> globalStructuredImportance;
    std::optional<ActivationSettings> activations;
    std::optional<TrainSettings> train;
    std::optional<RecipeEvaluation> evaluation;
};

// Effective settings of one layer: defaults overridden by its entry. Unstructured pruning picks one criterion:
// a layer's sparsity/threshold replaces the default one; layers without their own join global_prune when set.
struct LayerSettings {
    std::optional<double> sparsity;
    std::optional<double> threshold;
    bool globalPrune = false;
    std::optional<int64_t> keep;
    std::optional<double> keepFraction;
    StructuredImportance importance = StructuredImportance::L1;
    bool globalStructured = false;  // joins global_structured (no structured setting of its own)
    LowRankMethod lowRankMethod = LowRankMethod::Channel;
    std::optional<int64_t> rank;
    std::optional<int64_t> rankOut;
    std::optional<int64_t> rankIn;
    std::optional<double> energy;
    int bits = 32;
    Granularity granularity = Granularity::PerTensor;
    bool symmetric = true;
    Rounding rounding = Rounding::Nearest;
    uint64_t seed = 0;
    // Which of the above came from the layer's own entry (explicit requests fail loudly; defaults skip quietly).
    bool explicitStructured = false;
    bool explicitLowRank = false;

    bool quantized() const { return bits != 32; }
    bool decomposed() const { return rank || rankOut || rankIn || energy; }
    bool pruned() const { return globalPrune || sparsity.value_or(0) > 0 || threshold.value_or(0) > 0; }
};

// Parses recipe JSON; errors name the field path ("layers.fc1.quant.bits: ...") and list every problem found.
// Duplicate keys, numbers beyond double range and counts beyond sane bounds (samples <= 1,000,000) are refused.
Result<Recipe> parseRecipe(std::string_view json);
// The same checks on a document parsed already (a project file's "recipe"); never throws.
Result<Recipe> recipeFromJson(const nlohmann::json& json);
// Parses JSON refusing duplicate keys, numbers that do not fit a double and nesting deeper than 64; never throws.
// Errors start with `document` and name the field path ("variants[2].recipe.layers: duplicate key \"fc1\"").
Result<nlohmann::json> parseStrictJson(std::string_view text, const std::string& document);
// Only the fields that are set, in the schema parseRecipe reads.
nlohmann::json recipeToJson(const Recipe& recipe);
std::string writeRecipe(const Recipe& recipe);

// Checks value ranges and the recipe against the model: layer names, ranks against full ranks, channel counts,
// structured pruning that the graph cannot follow. Every problem is listed, one per line.
Status validateRecipe(const Recipe& recipe, const Graph& graph);
// Settings of the compressible layer at `nodeIndex` (its entry found by node name or weight name).
LayerSettings resolveLayerSettings(const Recipe& recipe, const Graph& graph, int nodeIndex);
LayerSettings resolveLayerSettings(const Recipe& recipe, const std::string& nodeName, const std::string& weightName);

std::string_view toString(Granularity g);
std::string_view toString(Rounding r);
std::string_view toString(ActivationMode m);
std::string_view toString(Calibration c);
std::string_view toString(PruneCorrection c);
// Whether applying the recipe refits pruned weights on calibration data when it is given: global_prune with a sparsity
// above 0 and a correction other than none, or prune_correction least_squares.
bool recipeRefitsPruning(const Recipe& recipe);
std::string_view toString(TrainOptimizer o);
std::string_view toString(LrSchedule s);
std::string_view toString(BatchNormTraining b);
std::string_view toString(TrainObjective m);
std::string_view toString(WeightInit w);
std::string_view toString(LowRankMethod m);
std::string_view toString(StructuredImportance i);

}  // namespace lathe
