#pragma once

#include <cstdint>
#include <map>
#include <nlohmann/json_fwd.hpp>
#include <optional>
#include <string>
#include <vector>

#include "core/common/result.h"
#include "core/compress/quantize/uniform_quantize.h"
#include "core/compress/recipe.h"
#include "core/model/graph.h"

namespace lathe {

// Quantization parameters of one activation tensor: unsigned asymmetric codes in [0, 2^bits - 1] (the ONNX Runtime
// default for activations), value = (code - zeroPoint) * scale.
struct ActivationRange {
    float min = 0.f;  // calibrated range, widened to include 0 so that 0 (padding, ReLU) is exact
    float max = 0.f;
    float scale = 1.f;
    int32_t zeroPoint = 0;
    std::string source;  // the tensor whose parameters these are (grid-preserving ops between); "" when its own
};

struct ActivationRanges {
    ActivationMode mode = ActivationMode::None;
    int bits = 8;
    Calibration calibration = Calibration::MinMax;
    double percentile = 99.99;
    int64_t samples = 0;                             // calibration samples used
    std::map<std::string, ActivationRange> tensors;  // static: every quantized tensor (ActivationPlan::points)
    std::vector<std::string> bounded;                // tensors ranged within the known bounds of an activation
    // Percentile/entropy only: top-1 (percent) of the fake-quantized model on the calibration samples with these
    // ranges and with min-max ranges; negative when not measured.
    double calibrationTop1 = -1;
    double minMaxTop1 = -1;
    std::vector<std::string> warnings;  // e.g. a calibration clearly worse than min-max on the calibration samples
};

// Where activations are quantized. Anchors are Conv, Gemm and MatMul nodes (default domain) with a data input computed
// at run time. Static: each anchor's data inputs and its output are quantized; the output is taken after a Relu or a
// Clip(0, max) (ReLU6) that is its only consumer (fused, as int8 runtimes do). A point reached from an anchor output
// only through grid-preserving ops (MaxPool, Relu, Flatten, Reshape, Transpose, Squeeze, Unsqueeze, Identity, Dropout) shares
// that output's parameters. Dynamic: only the anchors' data inputs, ranged per run.
struct ActivationPlan {
    std::vector<std::string> anchors;              // node names, in node order
    std::vector<std::string> points;               // quantized tensors, in node order
    std::map<std::string, std::string> shared;     // point → the anchor-output point whose parameters it shares
    std::map<std::string, std::string> fusedActivation;  // anchor node → Relu/Clip node whose output is its point
    std::vector<std::string> outputPoints;         // points that are anchor outputs: every reader sees codes

    bool isOutputPoint(const std::string& tensor) const;
    // Points with their own parameters (calibrated): points minus shared.
    std::vector<std::string> sources() const;
};

ActivationPlan planActivationQuant(const Graph& graph, ActivationMode mode);
// The op types that map quantized values onto quantized values of the same grid.
bool isGridPreservingOp(const std::string& opType);

// A Clip's bounds: its min/max attributes (before opset 11) or scalar float constant inputs (initializers or Constant
// nodes' values); an absent bound is -/+infinity. nullopt when a bound is given but is not such a constant.
std::optional<std::pair<float, float>> clipRange(const Graph& graph, const Node& clip);

// Scale and zero point of an unsigned `bits`-bit grid over [min(lo, 0), max(hi, 0)] (scale 1 when the range is
// empty); the zero point is an integer so 0 is exact.
ActivationRange activationParams(float lo, float hi, int bits);

// A copy of `graph` computing what an int8 runtime computes. Static: every source point gets QuantizeLinear →
// DequantizeLinear (with a Clip on the codes below 8 bits); anchor-output points feed every reader, other points
// only the anchors; the bias of an anchor whose weight is in `weights` (integer codes, as CompressedModel::quantized)
// is rounded to the int32 grid of x_scale·w_scale that QLinearConv and ONNX Runtime's QDQ fusion use. Dynamic:
// DynamicQuantizeLinear → DequantizeLinear in front of each anchor's data input (ranges of the whole batch tensor,
// 8-bit only). None: the graph unchanged. The copy has no sourcePath (it is not that file's graph). Errors name the
// tensor without a range or the setting the model's opset cannot express.
Result<Graph> withActivationFakeQuant(const Graph& graph, const ActivationRanges& ranges,
                                      const std::map<std::string, QuantizedTensor>& weights = {});

// {"mode", "bits", "calibration", "samples", "tensors": {name: {min, max, scale, zero_point, source?}}}.
nlohmann::json activationRangesToJson(const ActivationRanges& ranges);

}  // namespace lathe
