#pragma once

#include <limits>
#include <memory>
#include <vector>

#include "core/common/result.h"
#include "core/model/graph.h"
#include "core/runtime/kernel.h"
#include "core/runtime/ndarray.h"

// Conv and MatMul on 8-bit codes with integer arithmetic (igemm.h), for QLinearConv / QLinearMatMul and for
// DequantizeLinear → Conv/MatMul/Gemm (→ Relu/Clip) → QuantizeLinear chains. Inputs and outputs are codes carried as
// floats, as everywhere in the executor. For each output element:
//   acc = sum_k (x_k - xZero) * (w_k - wZero[c]) + biasCodes[c]           (exact, 32-bit)
//   y   = clamp(nearbyint(fma(float(acc), xScale * wScale[c] / yScale, biasReal[c] / yScale)) + yZero, low, high)
// where [low, high] is the code range of y's type narrowed by a fused Relu/Clip. This is ONNX Runtime's
// requantization; it may differ by one code from dequantizing, computing in float and quantizing again.
namespace lathe {

struct Int8LinearParams {
    float xScale = 1.f, xZero = 0.f;
    bool xSigned = false;
    NDArray weight;  // codes; Conv: [M, C/group, k...], MatMul: [K, N]
    std::vector<float> wScale, wZero;  // one value, or one per output channel (Conv: M; MatMul: N)
    bool wSigned = true;
    std::vector<float> biasCodes;  // int32 codes in units of xScale * wScale (QLinearConv's B); empty for none
    std::vector<float> biasReal;   // a float bias added before quantizing (a QDQ chain's float bias); empty for none
    float yScale = 1.f, yZero = 0.f;
    bool ySigned = false;
    float low = -std::numeric_limits<float>::infinity();  // a fused Relu/Clip, in real units
    float high = std::numeric_limits<float>::infinity();
};

// The int8 Conv of `node`'s attributes (group, strides, pads, dilations, auto_pad); errors name what does not fit.
Result<std::unique_ptr<Kernel>> makeInt8ConvKernel(const Node& node, Int8LinearParams params);
// The int8 MatMul of x [..., K] by the constant weight [K, N].
Result<std::unique_ptr<Kernel>> makeInt8MatMulKernel(Int8LinearParams params);

}  // namespace lathe
