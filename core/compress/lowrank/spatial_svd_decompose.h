#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "core/common/result.h"
#include "core/compress/lowrank/svd_decompose.h"
#include "core/model/graph.h"

namespace lathe {

struct SpatialSvdResult {
    bool applied = false;
    int64_t rank = 0;
    int64_t fullRank = 0;                // min(Cin·kh, Cout·kw)
    std::vector<double> singularValues;  // of W as [Cin·kh, Cout·kw], descending
    double relError = 0;                 // sqrt(sum_{i>rank} s_i^2) / ||W||_F
    std::vector<std::string> nodes;      // <name>_sp1 (kh×1), <name>_sp2 (1×kw, bias)
    std::vector<std::string> weights;    // [r, Cin, kh, 1], [Cout, r, 1, kw]
};

// Pass: applicable to 2-D Conv with group 1, a constant weight, kh > 1 or kw > 1, and explicit pads (no auto_pad
// other than NOTSET/VALID).
bool spatialSvdApplies(const Graph& graph, int nodeIndex);
// min(Cin·kh, Cout·kw); 0 when not applicable.
int64_t spatialSvdFullRank(const Graph& graph, int nodeIndex);
// Spatial SVD (Jaderberg et al. 2014): W as the matrix [Cin·kh, Cout·kw] (rows (cin, y), columns (cout, x)) cut to
// rank r becomes a kh×1 conv Cin→r (the height's stride, pads and dilation) and a 1×kw conv r→Cout (the width's,
// with the bias; keeps the output name). Not applicable: a no-op. Errors: rank outside 1..full rank, energy
// outside (0, 1].
Result<SpatialSvdResult> spatialSvdDecompose(Graph& graph, int nodeIndex, const LowRankSettings& settings);
// W [Cout, Cin, kh, kw] from the vertical [r, Cin, kh, 1] and horizontal [Cout, r, 1, kw] weights.
Tensor recomposeSpatial(const Tensor& vertical, const Tensor& horizontal);

}  // namespace lathe
