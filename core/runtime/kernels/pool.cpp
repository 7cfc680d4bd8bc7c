// Pooling: MaxPool and AveragePool over 1-3 spatial dimensions, GlobalAveragePool and GlobalMaxPool.
#include <immintrin.h>
#include <omp.h>

#include <algorithm>
#include <cmath>
#include <memory>

#include "core/runtime/kernel.h"
#include "core/runtime/kernels/kernel_util.h"
#include "core/runtime/kernels/sgemm.h"
#include "core/runtime/kernels/window.h"

namespace lathe {

namespace {

// Per output index along one spatial axis: where its window starts and which taps land inside the input.
struct AxisWindows {
    std::vector<int64_t> start;        // first input coordinate (may be negative: padding)
    std::vector<int64_t> first, last;  // valid taps [first, last)
    std::vector<int64_t> divisor;      // taps counted by AveragePool along this axis
};

AxisWindows axisWindows(const WindowGeometry& g, size_t d, bool countIncludePad) {
    AxisWindows a;
    for (int64_t o = 0; o < g.out[d]; ++o) {
        const int64_t start = o * g.stride[d] - g.padBegin[d];
        const auto [first, last] = validTaps(start, g.dilation[d], g.kernel[d], g.in[d]);
        const auto [padFirst, padLast] =
            validTaps(start + g.padBegin[d], g.dilation[d], g.kernel[d], g.in[d] + g.padBegin[d] + g.padEnd[d]);
        a.start.push_back(start);
        a.first.push_back(first);
        a.last.push_back(last);
        a.divisor.push_back(countIncludePad ? padLast - padFirst : last - first);
    }
    return a;
}

// The first n (clamped to [0, 16]) lanes of a 16-lane mask.
inline __mmask16 firstLanes(int64_t n) { return __mmask16(lowBits(std::min<int64_t>(n, 16))); }

// dst[j] = the max over taps k of src[2 j + k], j < count, in the scalar loop's order (maxps(x, acc) is
// std::max(acc, x)): the windows of a stride-2 max pool along a row that lie inside it.
__attribute__((target("avx512f"))) void maxStride2RowAvx512(const float* src, int64_t taps, int64_t count, float* dst) {
    const __mmask16 every = 0xFFFF;
    const __m512i even = _mm512_setr_epi32(0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30);
    for (int64_t j = 0; j < count; j += 16) {
        const int64_t n = std::min<int64_t>(16, count - j), reads = 2 * n - 1;  // inputs 0 .. 2(n-1) of each tap
        const __mmask16 first = firstLanes(reads), second = firstLanes(reads - 16);
        __m512 acc = _mm512_set1_ps(-INFINITY);
        for (int64_t k = 0; k < taps; ++k) {
            const float* from = src + 2 * j + k;
            const __m512 x = _mm512_permutex2var_ps(_mm512_maskz_loadu_ps(first, from), even,
                                                    _mm512_maskz_loadu_ps(second, from + 16));
            acc = _mm512_mask_max_ps(acc, every, x, acc);
        }
        _mm512_mask_storeu_ps(dst + j, firstLanes(n), acc);
    }
}

// Pools one axis of a plane: `src` has dims `dims`, `dst` gets dims[axis] replaced by the output size. Max pooling
// and AveragePool's sum (its divisor is a product of per-axis counts) are separable, so a window pools axis by axis.
template <bool isMax>
void poolAxis(const WindowGeometry& g, const AxisWindows& windows, size_t axis, const std::array<int64_t, 3>& dims,
              const float* src, float* dst) {
    const int64_t outer = axis == 0 ? 1 : (axis == 1 ? dims[0] : dims[0] * dims[1]);
    const int64_t inner = axis == 2 ? 1 : (axis == 1 ? dims[2] : dims[1] * dims[2]);
    const int64_t dilation = g.dilation[axis];
    if (inner == 1) {
        // Max pools with stride 2 run the outputs whose window lies inside the row in 16 lanes.
        int64_t inside0 = g.out[axis], inside1 = g.out[axis];
        if (isMax && dilation == 1 && g.stride[axis] == 2 && cpuUsesAvx512())
            for (int64_t out = 0; out < g.out[axis]; ++out)
                if (windows.first[size_t(out)] == 0 && windows.last[size_t(out)] == g.kernel[axis]) {
                    inside0 = std::min(inside0, out);
                    inside1 = out + 1;
                }
        for (int64_t o = 0; o < outer; ++o, src += dims[axis])
            for (int64_t out = 0; out < g.out[axis]; ++out) {
                if (out == inside0) {
                    maxStride2RowAvx512(src + windows.start[size_t(out)], g.kernel[axis], inside1 - inside0, dst);
                    dst += inside1 - inside0;
                    out = inside1 - 1;
                    continue;
                }
                const float* from = src + windows.start[size_t(out)];
                float acc = isMax ? -INFINITY : 0.f;
                for (int64_t k = windows.first[size_t(out)]; k < windows.last[size_t(out)]; ++k) {
                    if constexpr (isMax)
                        acc = std::max(acc, from[k * dilation]);
                    else
                        acc += from[k * dilation];
                }
                *dst++ = acc;
            }
        return;
    }
    for (int64_t o = 0; o < outer; ++o)
        for (int64_t out = 0; out < g.out[axis]; ++out) {
            float* row = dst + (o * g.out[axis] + out) * inner;
            std::fill(row, row + inner, isMax ? -INFINITY : 0.f);
            for (int64_t k = windows.first[size_t(out)]; k < windows.last[size_t(out)]; ++k) {
                const float* from = src + (o * dims[axis] + windows.start[size_t(out)] + k * dilation) * inner;
                for (int64_t i = 0; i < inner; ++i) {
                    if constexpr (isMax)
                        row[i] = std::max(row[i], from[i]);
                    else
                        row[i] += from[i];
                }
            }
        }
}

// Pools a [D, H, W] plane into y through the axes that change it, ping-ponging between two scratch planes.
template <bool isMax>
void poolPlane(const WindowGeometry& g, const std::array<AxisWindows, 3>& windows, const float* x, float* y,
               float* scratch) {
    std::array<size_t, 3> active{};
    size_t count = 0;
    for (size_t axis = 0; axis < 3; ++axis)
        if (g.kernel[axis] != 1 || g.stride[axis] != 1 || g.in[axis] != g.out[axis]) active[count++] = axis;
    if (count == 0) {
        std::copy(x, x + g.inSize(), y);
        return;
    }
    std::array<int64_t, 3> dims = g.in;
    const float* src = x;
    float* buffers[2] = {scratch, scratch + g.inSize()};
    for (size_t i = 0; i < count; ++i) {
        const size_t axis = active[i];
        float* dst = i + 1 == count ? y : buffers[i % 2];
        poolAxis<isMax>(g, windows[axis], axis, dims, src, dst);
        dims[axis] = g.out[axis];
        src = dst;
    }
    if constexpr (!isMax) {
        for (int64_t od = 0; od < g.out[0]; ++od)
            for (int64_t oh = 0; oh < g.out[1]; ++oh) {
                const int64_t rowDivisor = windows[0].divisor[size_t(od)] * windows[1].divisor[size_t(oh)];
                float* row = y + (od * g.out[1] + oh) * g.out[2];
                for (int64_t ow = 0; ow < g.out[2]; ++ow)
                    row[ow] /= float(std::max<int64_t>(rowDivisor * windows[2].divisor[size_t(ow)], 1));
            }
    }
}

// MaxPool with a 2x2 window, stride 2, no padding or dilation, every window inside the input (LeNet-5, VGG-style
// nets): one pass over each pair of input rows instead of the separable passes.
bool isMaxPool2x2(const WindowGeometry& g) {
    return g.in[0] == 1 && g.kernel == std::array<int64_t, 3>{1, 2, 2} && g.stride == std::array<int64_t, 3>{1, 2, 2} &&
           g.dilation == std::array<int64_t, 3>{1, 1, 1} && g.padBegin == std::array<int64_t, 3>{0, 0, 0} &&
           2 * g.out[1] <= g.in[1] && 2 * g.out[2] <= g.in[2];
}

// max(max(-inf, r0[i]), r1[i]) for the lanes of `mask` (others -inf).
__attribute__((target("avx512f"))) inline __m512 maxDown(const float* r0, const float* r1, __mmask16 mask) {
    const __mmask16 every = 0xFFFF;
    const __m512 lowest = _mm512_set1_ps(-INFINITY);
    const __m512 top = _mm512_mask_max_ps(lowest, every, _mm512_maskz_loadu_ps(mask, r0), lowest);
    return _mm512_mask_max_ps(top, every, _mm512_maskz_loadu_ps(mask, r1), top);
}

// One output row from input rows r0 and r1, with poolPlane's operations in its order: max(max(-inf, r0), r1) down
// each column, then max(max(-inf, even), odd) across. maxps(x, acc) is std::max(acc, x), NaN included.
__attribute__((target("avx512f"))) void maxPool2x2RowAvx512(const float* r0, const float* r1, int64_t outW,
                                                            float* out) {
    const __mmask16 every = 0xFFFF;
    const __m512 lowest = _mm512_set1_ps(-INFINITY);
    const __m512i even = _mm512_setr_epi32(0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30);
    const __m512i odd = _mm512_setr_epi32(1, 3, 5, 7, 9, 11, 13, 15, 17, 19, 21, 23, 25, 27, 29, 31);
    for (int64_t o = 0; o < outW; o += 16) {
        const int64_t n = std::min<int64_t>(16, outW - o);
        const __mmask16 first = firstLanes(2 * n), second = firstLanes(2 * n - 16);
        const __m512 a = maxDown(r0 + 2 * o, r1 + 2 * o, first), b = maxDown(r0 + 2 * o + 16, r1 + 2 * o + 16, second);
        const __m512 left = _mm512_permutex2var_ps(a, even, b), right = _mm512_permutex2var_ps(a, odd, b);
        const __m512 across = _mm512_mask_max_ps(lowest, every, left, lowest);
        _mm512_mask_storeu_ps(out + o, firstLanes(n), _mm512_mask_max_ps(across, every, right, across));
    }
}

class PoolKernel final : public Kernel {
public:
    PoolKernel(WindowAttributes window, bool isMax, bool countIncludePad)
        : m_window(std::move(window)), m_max(isMax), m_countIncludePad(countIncludePad) {}

    Status forward(KernelIo& io) const override {
        const NDArray& x = io.input(0);
        const size_t rank = m_window.kernel.size();
        if (x.shape.size() != rank + 2)
            return invalidInput("expects an input of rank " + std::to_string(rank + 2) + " (N, C and " +
                                std::to_string(rank) + " spatial dimensions), got " + shapeToString(x.shape));
        auto geometry = resolveWindow(m_window, std::span(x.shape).subspan(2));
        if (!geometry) return geometry.error();
        const WindowGeometry& g = geometry.value();
        std::vector<int64_t> outShape{x.shape[0], x.shape[1]};
        for (int64_t d : g.outShape(rank)) outShape.push_back(d);
        NDArray& y = io.output(0, std::move(outShape));
        const std::array<AxisWindows, 3> axes{axisWindows(g, 0, m_countIncludePad),
                                              axisWindows(g, 1, m_countIncludePad),
                                              axisWindows(g, 2, m_countIncludePad)};
        const int64_t planes = x.shape[0] * x.shape[1];
        const float* src = x.data.data();
        float* dst = y.data.data();
        const bool isMax = m_max;
        Workspace& workspace = io.workspace();
        if (isMax && isMaxPool2x2(g) && cpuUsesAvx512()) {
#pragma omp parallel for num_threads(io.threads()) if (worthParallel(y.numel() * 4))
            for (int64_t p = 0; p < planes; ++p)
                for (int64_t oh = 0; oh < g.out[1]; ++oh) {
                    const float* r0 = src + p * g.inSize() + 2 * oh * g.in[2];
                    maxPool2x2RowAvx512(r0, r0 + g.in[2], g.out[2], dst + p * g.outSize() + oh * g.out[2]);
                }
            return Ok{};
        }
#pragma omp parallel for num_threads(io.threads()) if (worthParallel(y.numel() * g.kernelSize()))
        for (int64_t p = 0; p < planes; ++p) {
            float* scratch = workspace.scratch(omp_get_thread_num(), size_t(2 * g.inSize()));
            if (isMax)
                poolPlane<true>(g, axes, src + p * g.inSize(), dst + p * g.outSize(), scratch);
            else
                poolPlane<false>(g, axes, src + p * g.inSize(), dst + p * g.outSize(), scratch);
        }
        return Ok{};
    }

private:
    WindowAttributes m_window;
    bool m_max;
    bool m_countIncludePad;
};

class GlobalPoolKernel final : public Kernel {
public:
    explicit GlobalPoolKernel(bool isMax) : m_max(isMax) {}

    Status forward(KernelIo& io) const override {
        const NDArray& x = io.input(0);
        if (x.shape.size() < 3)
            return invalidInput("expects an input of shape [N, C, spatial...], got " + shapeToString(x.shape));
        std::vector<int64_t> outShape(x.shape.size(), 1);
        outShape[0] = x.shape[0];
        outShape[1] = x.shape[1];
        NDArray& y = io.output(0, std::move(outShape));
        const int64_t planes = x.shape[0] * x.shape[1];
        const int64_t size = dimProduct(x.shape, 2, x.shape.size());
        const float* src = x.data.data();
        float* dst = y.data.data();
        const bool isMax = m_max;
#pragma omp parallel for num_threads(io.threads()) if (worthParallel(x.numel()))
        for (int64_t p = 0; p < planes; ++p) {
            const float* plane = src + p * size;
            if (isMax) {
                float m = -INFINITY;
                for (int64_t i = 0; i < size; ++i) m = std::max(m, plane[i]);
                dst[p] = m;
            } else {
                // Eight independent partial sums: vectorisable without reassociating one float sum.
                float partial[8] = {};
                int64_t i = 0;
                for (; i + 8 <= size; i += 8)
                    for (int64_t lane = 0; lane < 8; ++lane) partial[lane] += plane[i + lane];
                float sum = 0.f;
                for (; i < size; ++i) sum += plane[i];
                for (float v : partial) sum += v;
                dst[p] = sum / float(std::max<int64_t>(size, 1));
            }
        }
        return Ok{};
    }

private:
    bool m_max;
};

}  // namespace

Result<std::unique_ptr<Kernel>> makePoolKernel(const KernelContext& context) {
    const Node& node = context.node;
    const bool isMax = node.opType == "MaxPool";
    if (isMax && node.outputs.size() > 1 && !node.outputs[1].empty())
        return unsupportedAttribute("the Indices output of MaxPool is not implemented");
    const std::vector<int64_t> kernel = node.attrInts("kernel_shape");
    if (kernel.empty()) return invalidInput("kernel_shape is required");
    auto window = readWindowAttributes(node, kernel.size(), kernel);
    if (!window) return window.error();
    const bool countIncludePad = node.attrInt("count_include_pad", 0) != 0;
    return std::unique_ptr<Kernel>(std::make_unique<PoolKernel>(std::move(window.value()), isMax, countIncludePad));
}

Result<std::unique_ptr<Kernel>> makeGlobalPoolKernel(const KernelContext& context) {
    return std::unique_ptr<Kernel>(std::make_unique<GlobalPoolKernel>(context.node.opType == "GlobalMaxPool"));
}

}  // namespace lathe
