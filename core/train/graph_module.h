#pragma once
// The translation of a Lathe Graph into a differentiable libtorch module, seen from outside core/train (no torch
// types here).

#include <cstdint>
#include <string>
#include <vector>

#include "core/common/result.h"
#include "core/compress/recipe.h"
#include "core/model/graph.h"
#include "core/runtime/ndarray.h"

namespace lathe {

// ONNX ops (default domain) the training engine translates, sorted.
std::vector<std::string> trainableOps();
// Ok when every node translates; else UnsupportedOp naming the first node that does not and its op.
Status checkTrainable(const Graph& graph);

// Runs the translated graph on `input` (float32, the model's input shape) in inference mode and returns graph output 0.
Result<NDArray> runTranslated(const Graph& graph, const NDArray& input);

struct GradientCheck {
    // Over every checked element: |analytic − numeric| / max(|analytic| + |numeric|, 1e-3 · largest |gradient|).
    double maxRelError = 0;
    std::string worst;       // "input[3]" or "<initializer>[i]" where maxRelError was seen
    int64_t checked = 0;     // elements compared
};
// Compares autograd's gradients of sum(output · R) (R fixed random, `seed`) with respect to the input and every
// trained initializer against central finite differences (step 1e-6), all in float64, at up to `perTensor` elements
// of each. `batchNorm` Train uses batch statistics.
Result<GradientCheck> checkGradients(const Graph& graph, const NDArray& input, uint64_t seed, int perTensor = 24,
                                     BatchNormTraining batchNorm = BatchNormTraining::Frozen);

}  // namespace lathe
