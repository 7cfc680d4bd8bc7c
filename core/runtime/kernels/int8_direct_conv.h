#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <vector>

#include "core/runtime/kernel.h"
#include "core/runtime/kernels/window.h"

// A 2-D int8 convolution (one group, no dilation) without a patch matrix, on every vector path (igemm.h's
// int8DirectTile: zmm with AVX512-VNNI, ymm with AVX-VNNI, the AVX2 emulation). Each image's input bytes are
// laid out once as blocks of 4 channels, each pixel 4 adjacent bytes (one per channel), padded with the input's zero
// point and split by stride phase; with one input channel (and stride 1), each pixel's word holds it and the next 3
// pixels of its padded row instead, so one step covers 4 taps of a kernel row. Output positions are numbered across the
// padded width of the phase images, so for every tap the 16 positions of a vector read 64 adjacent bytes at a fixed
// offset: one load per (channel block, tap) feeds 8 filters' dot products. The columns past the output's width are
// computed and dropped.
namespace lathe {

class Int8DirectConv {
public:
    // The accumulators of output rows [row0, row0 + rows) and filters [filter0, filter1) of one image:
    // acc[(m - filter0) * filterStride + r * rowPitch + ow] = the sum over the window of x * w (x the input bytes,
    // padding at the zero point, w the signed weight bytes). `sums` (one row of the same layout) holds each
    // position's sum of the input bytes under the window, or is null when the kernel was made without them.
    struct Chunk {
        int64_t image, row0, rows, filter0, filter1;
        const int32_t* acc;
        int64_t filterStride, rowPitch;
        const int32_t* sums;
    };
    using ChunkSink = std::function<void(const Chunk&)>;

    // Null on the scalar path (no AVX2, or LATHE_NO_AVX2) or when the weights are not [M, C, kh, kw]. `weights` are
    // signed bytes in that order; `withSums` adds the per-position input sums.
    static std::unique_ptr<Int8DirectConv> make(const std::vector<int64_t>& weightShape,
                                                const std::vector<int8_t>& weights, bool withSums);

    // Whether this geometry runs here: 2-D, no dilation, not a 1x1 kernel with stride 1, and stride 1 for one input
    // channel.
    bool fits(const WindowGeometry& w) const;

    // Runs the convolution of `batch` images of float codes x [batch, C, H, W] (u8 codes, or s8 when `xSigned`, as
    // codesToBytes maps them); `xZero` is the zero point's byte. Calls `sink` on the OpenMP thread that computed each
    // chunk.
    void run(const WindowGeometry& w, int64_t batch, const float* x, bool xSigned, uint8_t xZero, Workspace& workspace,
             const ChunkSink& sink) const;

    Int8DirectConv(int64_t filters, int64_t channels, int64_t kernelH, int64_t kernelW, bool withSums,
                   std::vector<int8_t> packed);

private:
    int64_t m_filters, m_channels, m_kernelH, m_kernelW;
    bool m_withSums;
    bool m_tapWords;               // one input channel: words of 4 adjacent taps instead of 4 channels
    std::vector<int8_t> m_packed;  // [filter block of 8][step][8 filters][4 bytes]
};

}  // namespace lathe
