#pragma once
// Fine-tuning that keeps a recipe's compression (core/train; libtorch stays inside its .cpp files).

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/common/progress.h"
#include "core/common/result.h"
#include "core/compress/apply_recipe.h"
#include "core/compress/recipe.h"
#include "core/eval/dataset.h"
#include "core/model/graph.h"

namespace lathe {

// A layer's weights before training and now, over the same bins: `bins` equal bins spanning [lo, hi] = ±max|w| of
// the weights before training (values beyond fall in the end bins); `bins` is odd, so exact zeros sit in the middle one.
struct WeightHistogram {
    std::string layer;
    std::string tensor;  // the initializer (a decomposed layer has two)
    double lo = 0, hi = 0;
    std::vector<int64_t> before, now;
};

// One finished epoch.
struct EpochRecord {
    int epoch = 0;            // 1-based, over both phases
    std::string phase;        // "fine-tune", "l1", "distill", or "centroids" (Deep Compression's second retraining)
    double loss = 0;          // mean task loss (cross-entropy with the labels) of the epoch
    std::optional<double> distillation;  // distill mode: mean distillation term (distillation_loss.h)
    double penalty = 0;       // L1 mode: Σ λ_l·Σ|w| at the epoch's end (0 otherwise)
    double top1 = -1;         // percent on the evaluation data with the weights on their grid; -1: not measured
    int64_t evaluated = 0;    // samples behind top1
    double sparsity = 0;      // zeros / weights over the compressible layers
    std::vector<std::pair<std::string, double>> layerSparsity;  // per compressible layer, in node order
    std::vector<WeightHistogram> histograms;  // per trained weight tensor, in node order (not in historyToJson)
    double lr = 0;            // learning rate at the epoch's start
    double seconds = 0;       // wall time of the epoch, evaluation included
    double imagesPerSecond = 0;  // training images / training time
};

struct TrainData {
    std::shared_ptr<const Dataset> train;       // never the evaluation images
    std::string trainName;                      // for reports: "idx:DIR (train split)"
    std::shared_ptr<const Dataset> evaluation;  // top-1 after each epoch; null: not measured
    int64_t evalLimit = 0;                      // evaluate on the first N samples only; 0 = all
    int threads = 0;                            // libtorch intra-op and executor threads; 0 = all cores
    // Distill mode: the teacher when it is not the model being compressed (a file the caller opened, or the model
    // whose student is trained); null with teacher "baseline": the graph given to trainRecipe, before compression.
    std::shared_ptr<const Graph> teacher;
};

using EpochFn = std::function<void(const EpochRecord&)>;

struct TrainedModel {
    CompressedModel model;  // trained, then quantized onto its grid exactly as applyRecipe does
    std::vector<EpochRecord> history;
    bool cancelled = false;  // Cancel after at least one epoch: the weights of the last finished epoch
    std::vector<std::string> notes;
};

// Compresses `graph` by `recipe` and trains it with recipe.train: pruned weights stay exactly zero (masks on the
// weights and their gradients), removed channels stay removed, decomposed layers train as their two factors, uniformly
// quantized layers train with fake quantization at their bits/granularity/symmetry (straight-through gradients),
// k-means layers train their centroids (after `centroid_epochs` of float fine-tuning when set). With prune_schedule
// the unstructured sparsities ramp from `from` to their targets (cubic), masks recomputed by magnitude as they ramp.
// Mode l1 adds λ·Σ|w| with a proximal step after every update and a final magnitude cut (recipe.h, L1Settings).
// Mode distill trains on distillation_loss.h's loss against the teacher's logits (teacher_logits.h, cached); teacher and
// model must agree on input shape and class count. init random re-initialises the weights first (seeded).
// Training uses the logits (the input of a final Softmax/LogSoftmax) with cross-entropy. Fails before training,
// naming the node, when an op cannot be translated. Progress stage "<phase>, epoch N of M"; Cancel keeps the last finished epoch.
Result<TrainedModel> trainRecipe(const Graph& graph, const Recipe& recipe, const TrainData& data,
                                 const ApplyOptions& options, const ProgressFn& progress = {},
                                 const EpochFn& onEpoch = {});

// Sparsity of the cubic ramp of Zhu & Gupta (2017) at t in [0, 1]: target + (start − target)·(1 − t)³.
double cubicSparsity(double start, double target, double t);

// History as JSON: [{"epoch", "phase", "loss", "top1", "sparsity", "layers": {name: sparsity}, "lr", "seconds",
// "images_per_second"} (+ "penalty" in L1 mode, "distillation" in distill mode), …].
nlohmann::json historyToJson(const std::vector<EpochRecord>& history);

}  // namespace lathe
