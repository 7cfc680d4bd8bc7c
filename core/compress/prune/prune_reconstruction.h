#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "core/common/progress.h"
#include "core/common/result.h"
#include "core/eval/dataset.h"
#include "core/model/graph.h"

namespace lathe {

// Least-squares reconstruction after unstructured pruning, no retraining (the one-shot correction of OBS, SparseGPT,
// AdaPrune): the pruning mask stays as it is and the surviving weights (and the bias) of each layer are refit so that
// the layer, fed the activations of the already corrected model, reproduces the outputs of the unpruned model on
// calibration data.

// Normal equations of one layer over calibration rows: A holds the values the weight multiplies (Conv: the im2col
// patch of one output position of one group, in the weight's [C/group, k...] order; Gemm/MatMul: one input row),
// with a trailing 1 when the layer has a bias; T holds the reference outputs of the same rows.
struct LayerNormalEquations {
    int64_t fanIn = 0;        // weights per output (per group for Conv)
    int64_t outputs = 0;      // output channels over all groups
    int64_t groups = 1;       // output o belongs to group o / (outputs / groups)
    bool bias = false;        // a trailing column of ones in A, solved as the bias
    int64_t rows = 0;         // calibration rows accumulated (per group)
    std::vector<double> h;    // per group: AᵀA, (fanIn + bias)² row-major
    std::vector<double> g;    // per output o: Aᵀ T_o of its group, fanIn + bias values
    std::vector<double> tt;   // per output: T_oᵀ T_o
    int64_t width() const { return fanIn + (bias ? 1 : 0); }
};

// Where output o's weights live in a weight tensor: element j of output o at o * outStride + j * inStride.
struct WeightLayout {
    int64_t outStride = 0;
    int64_t inStride = 1;
};

struct RefitResult {
    double errorBefore = 0;  // sum over outputs of ||A w_o - T_o||² with the pruned weights and bias
    double errorAfter = 0;   // the same with the refit ones
    double targetEnergy = 0; // sum of T_oᵀ T_o
};

// For every output o, the weights still nonzero in `weight` (and the bias when eq.bias) become the x minimising
// ||A x - T_o||² + λ ||x - x_pruned||², λ = damping · mean(diag AᵀA) of the group: ridge towards the pruned weights,
// so the error on the calibration rows never grows. Zeros stay exactly zero. `bias` is empty unless eq.bias.
RefitResult refitKeptWeights(const LayerNormalEquations& eq, std::span<float> weight, WeightLayout layout,
                             std::span<float> bias, double damping);

// Applicable: Conv (any group, 1-3 spatial dims), Gemm with transA = 0 and a per-output (or no) bias, MatMul with a
// constant 2-D weight; the fan-in per output at most 8192 (AᵀA is fan-in² doubles).
bool reconstructionApplies(const Graph& graph, int nodeIndex);

struct ReconstructionOptions {
    int64_t samples = 512;  // calibration samples, the first of a seeded shuffle of the data set
    uint64_t seed = 0;
    double damping = 0.01;
    int batchSize = 64;
    int threads = 0;  // executor threads; 0 = all cores
};

struct LayerReconstruction {
    std::string node;
    bool applied = false;
    std::string note;         // why not, when not applied
    double relErrorBefore = 0; // sqrt(errorBefore / targetEnergy): the pruned layer's output error on calibration
    double relErrorAfter = 0;  // after the refit
};

struct ReconstructionReport {
    int64_t samples = 0;
    std::vector<LayerReconstruction> layers;  // in node order
};

// Refits the kept weights of `nodes` (names in `pruned`, whose weights carry the pruning zeros) in node order.
// `reference` is the same graph before pruning (same node and value names): its outputs are the targets; the inputs
// come from `pruned` as corrected so far. Nodes the pass does not apply to are reported with a note and left alone.
// Errors: the model and data set do not fit, the graph cannot run, a node is missing, cancelled.
Result<ReconstructionReport> reconstructPrunedLayers(Graph& pruned, const Graph& reference,
                                                     std::span<const std::string> nodes,
                                                     std::shared_ptr<const Dataset> dataset,
                                                     const ReconstructionOptions& options = {},
                                                     const ProgressFn& progress = {});

}  // namespace lathe
