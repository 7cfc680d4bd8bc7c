#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "core/common/result.h"
#include "core/model/graph.h"

namespace lathe {

// Ranks of the output-channel (mode 0) and input-channel (mode 1) factors: both explicit, else by energy per mode.
struct Tucker2Settings {
    std::optional<int64_t> rankOut;
    std::optional<int64_t> rankIn;
    std::optional<double> energy;  // per mode: the smallest rank keeping this fraction of the mode's energy
};

struct Tucker2Result {
    bool applied = false;
    int64_t rankOut = 0, rankIn = 0;
    int64_t fullRankOut = 0, fullRankIn = 0;
    std::vector<double> singularValuesOut;  // of the mode-0 unfolding [Cout, Cin·kh·kw], descending
    std::vector<double> singularValuesIn;   // of the mode-1 unfolding [Cin, Cout·kh·kw], descending
    double relError = 0;  // sqrt(||W||² − ||G||²) / ||W|| (exact: the factors are orthonormal)
    std::vector<std::string> nodes;    // <name>_tk1 (1×1), <name>_tk2 (core), <name>_tk3 (1×1, bias)
    std::vector<std::string> weights;  // U_inᵀ [r_in, Cin, 1, 1], G [r_out, r_in, kh, kw], U_out [Cout, r_out, 1, 1]
};

// Pass: applicable to Conv with group 1 and a constant weight (as the channel decomposition).
bool tucker2Applies(const Graph& graph, int nodeIndex);
// {min(Cout, Cin·kh·kw), min(Cin, Cout·kh·kw)}: the largest ranks of the two modes; {0, 0} when not applicable.
std::pair<int64_t, int64_t> tucker2FullRanks(const Graph& graph, int nodeIndex);
// Tucker-2 by HOSVD (Kim et al. 2016): the conv becomes a 1×1 conv Cin→r_in, a kh×kw (any spatial rank) conv r_in→r_out with the
// node's strides, pads and dilations, and a 1×1 conv r_out→Cout carrying the bias (keeps the output name).
// Not applicable: a no-op with applied == false. Errors: a rank outside 1..its mode's full rank, only one of the two
// ranks, energy outside (0, 1].
Result<Tucker2Result> tucker2Decompose(Graph& graph, int nodeIndex, const Tucker2Settings& settings);
// W ≈ G ×0 U_out ×1 U_in from the three weights, shaped [Cout, Cin, kh, kw].
Tensor recomposeTucker2(const Tensor& inFactor, const Tensor& core, const Tensor& outFactor);

}  // namespace lathe
