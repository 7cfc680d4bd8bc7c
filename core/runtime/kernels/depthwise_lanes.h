// Depthwise convolution with the channels in the vector lanes (AVX-512), for small planes: 16 planes of one image are
// transposed into a zero-padded [row][column][16 channels] copy, every output position is then one FMA per tap with
// all 16 lanes busy, and the outputs are transposed back into the NCHW planes. On 7 x 7 planes the plane-per-vector
// kernel leaves most lanes of a 16-wide vector empty; ONNX Runtime's NCHWc layout has the
// channels in the lanes throughout.
#pragma once

#include <cstdint>
#include <vector>

#include "core/runtime/kernels/direct_conv.h"
#include "core/runtime/kernels/window.h"

namespace lathe {

class DepthwiseLanes {
public:
    static constexpr int64_t kLanes = 16;

    // Whether the kernel takes this geometry: AVX-512, 2-D, square 3 x 3 or 5 x 5 windows, stride 1 or 2 on both
    // axes, no dilation, output rows of at most 8 (the plane kernel leaves half of its 16 lanes empty there; on 14-wide
    // rows it was as fast at batch 64 and 30 % faster at batch 1) and input planes of at most 4096 values (the padded
    // copy of 16 planes stays in L2).
    static bool fits(const WindowGeometry& g);

    // w: filters x taps (the Conv's weights), packed here as per 16-filter group, per tap, 16 lanes.
    DepthwiseLanes(const WindowGeometry& g, const float* w, int64_t filters);

    // Floats of scratch run() needs.
    int64_t scratchFloats() const { return m_inVectors * kLanes + m_outVectors * kLanes; }

    // Output planes [first, first + count) of one image (count <= 16, first a multiple of 16): src[l] is the input
    // plane of filter first + l (entries past count are read and their results dropped), dst the output plane of
    // filter `first`, the others following at outSize() apart. Each output is clamp(scale * (bias + sum) + shift,
    // low, high) (output.residual must be null), the sum over the taps in weight order as the other depthwise kernels
    // add, so the values have the same bits. With `zeroed`, scratch holds an earlier run() of this object (its
    // padding is already zero).
    void run(const float* const (&src)[kLanes], int64_t first, int64_t count, const DirectConvOutput& output,
             float* dst, float* scratch, bool zeroed) const;

private:
    WindowGeometry m_g;
    int64_t m_paddedW = 0, m_inVectors = 0, m_outVectors = 0;
    std::vector<int32_t> m_inSlot;   // per input position: its vector in the padded copy
    std::vector<int32_t> m_outBase;  // per output position (padded to a block): its window's first vector
    std::vector<float> m_taps;       // [filter group][tap][16]
};

}  // namespace lathe
