#pragma once

#include <string>
#include <vector>

#include "core/model/graph.h"

namespace lathe {

struct FoldedBatchNorm {
    std::string batchNorm;  // the BatchNormalization node removed
    std::string layer;      // the Conv or Gemm node whose weight and bias now include it
};

// Folds each inference-mode BatchNormalization whose input is the only use of a Conv's or Gemm's output into that
// layer: w[c] *= a[c], b[c] = (b[c] - mean[c]) * a[c] + beta[c] with a = gamma / sqrt(var + epsilon) (computed in
// double), the layer then writes the BatchNormalization's output. This is what int8 runtimes need before weights are
// quantized (ONNX Runtime's quantizer, AIMET and NNCF fold first): a Conv whose output is normalised cannot run as
// one integer kernel. Skipped, with the graph unchanged there, when a parameter is not a constant float of one value
// per channel or the layer's weight or bias is shared. Gemm's alpha and beta are folded in (both 1 afterwards).
std::vector<FoldedBatchNorm> foldBatchNorms(Graph& graph);

}  // namespace lathe
