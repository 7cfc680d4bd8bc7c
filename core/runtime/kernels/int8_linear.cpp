// Int8 Conv and MatMul (int8_linear.h): codes turned into bytes once per run, the constant weights packed at compile
// time, an integer GEMM per tile (igemm.h) and the requantization applied to each tile while it is in cache.
// Convolutions run per (image, group, chunk of output positions) with the chunk's patch matrix written straight into
// the GEMM's byte panels; depthwise convolutions (one input and one output channel per group) run a direct kernel on
// 16-bit zero-point-free values.
#include "core/runtime/kernels/int8_linear.h"

#include <emmintrin.h>
#include <omp.h>

#include <algorithm>
#include <cmath>
#include <cstring>

#include "core/runtime/kernels/depthwise_conv.h"
#include "core/runtime/kernels/igemm.h"
#include "core/runtime/kernels/int8_direct_conv.h"
#include "core/runtime/kernels/kernel_util.h"
#include "core/runtime/kernels/window.h"

namespace lathe {

namespace {

// What the requantization of each output channel needs, derived once from the parameters.
struct ChannelQuantization {
    int64_t channels = 0;
    int32_t xZero = 0;                           // of the bytes (s8 inputs are shifted by 128 into 0..255)
    std::vector<int32_t> wZero;                  // of the signed weight bytes, per channel
    bool anyWeightZero = false;                  // some wZero != 0: the GEMM needs per-position input sums
    std::vector<int32_t> biasCodes;              // per channel
    std::vector<float> multiplier;               // xScale * wScale / yScale
    std::vector<float> offset;                   // biasReal / yScale
    float yZero = 0.f, low = 0.f, high = 255.f;  // output code bounds, narrowed by a fused Relu/Clip

    Requantization channel(int64_t c) const {
        return {&multiplier[size_t(c)], &offset[size_t(c)], 0, yZero, low, high};
    }
    Requantization across() const { return {multiplier.data(), offset.data(), 1, yZero, low, high}; }
};

bool isWholeCode(float v, float lo, float hi) { return v == std::nearbyint(v) && v >= lo && v <= hi; }

Result<ChannelQuantization> channelQuantization(const Int8LinearParams& p, int64_t channels) {
    auto perChannel = [&](const std::vector<float>& v, const char* what) -> Status {
        if (v.size() != 1 && int64_t(v.size()) != channels)
            return invalidInput(std::string(what) + " has " + std::to_string(v.size()) + " values for " +
                                std::to_string(channels) + " output channels");
        return Ok{};
    };
    if (auto s = perChannel(p.wScale, "the weight scale"); !s) return s.error();
    if (p.wZero.size() != p.wScale.size()) return invalidInput("the weight scale and zero point differ in size");
    if (!p.biasCodes.empty() && int64_t(p.biasCodes.size()) != channels)
        return invalidInput("the bias has " + std::to_string(p.biasCodes.size()) + " values for " +
                            std::to_string(channels) + " output channels");
    if (!p.biasReal.empty() && int64_t(p.biasReal.size()) != channels)
        return invalidInput("the bias has " + std::to_string(p.biasReal.size()) + " values for " +
                            std::to_string(channels) + " output channels");
    const float xLo = p.xSigned ? -128.f : 0.f, xHi = p.xSigned ? 127.f : 255.f;
    const float wLo = p.wSigned ? -128.f : 0.f, wHi = p.wSigned ? 127.f : 255.f;
    const float yLo = p.ySigned ? -128.f : 0.f, yHi = p.ySigned ? 127.f : 255.f;
    if (!isWholeCode(p.xZero, xLo, xHi) || !isWholeCode(p.yZero, yLo, yHi))
        return invalidInput("a zero point is outside its type's codes");
    for (float s : {p.xScale, p.yScale})
        if (!(s > 0.f) || !std::isfinite(s)) return invalidInput("scales must be positive and finite");
    ChannelQuantization q;
    q.channels = channels;
    q.xZero = int32_t(p.xZero) + (p.xSigned ? 128 : 0);
    q.yZero = p.yZero;
    q.low = yLo;
    q.high = yHi;
    if (std::isfinite(p.low)) q.low = std::max(q.low, std::nearbyint(p.low / p.yScale) + p.yZero);
    if (std::isfinite(p.high)) q.high = std::min(q.high, std::nearbyint(p.high / p.yScale) + p.yZero);
    for (int64_t c = 0; c < channels; ++c) {
        const size_t i = p.wScale.size() == 1 ? 0 : size_t(c);
        if (!(p.wScale[i] > 0.f) || !std::isfinite(p.wScale[i]))
            return invalidInput("weight scales must be positive and finite");
        if (!isWholeCode(p.wZero[i], wLo, wHi)) return invalidInput("a weight zero point is outside its type's codes");
        q.wZero.push_back(int32_t(p.wZero[i]) - (p.wSigned ? 0 : 128));
        q.anyWeightZero = q.anyWeightZero || q.wZero.back() != 0;
        const float b = p.biasCodes.empty() ? 0.f : p.biasCodes[size_t(c)];
        if (!isWholeCode(b, -2147483648.f, 2147483520.f)) return invalidInput("bias codes must be 32-bit integers");
        q.biasCodes.push_back(int32_t(b));
        q.multiplier.push_back(p.xScale * p.wScale[i] / p.yScale);
        q.offset.push_back(p.biasReal.empty() ? 0.f : p.biasReal[size_t(c)] / p.yScale);
    }
    return q;
}

// Weight codes as signed bytes (u8 weights shifted by -128).
Result<std::vector<int8_t>> weightBytes(const Int8LinearParams& p) {
    const float lo = p.wSigned ? -128.f : 0.f, hi = p.wSigned ? 127.f : 255.f;
    std::vector<int8_t> bytes(p.weight.data.size());
    for (size_t i = 0; i < bytes.size(); ++i) {
        if (!isWholeCode(p.weight.data[i], lo, hi))
            return invalidInput("weight code " + std::to_string(p.weight.data[i]) + " is outside its type's codes");
        bytes[i] = int8_t(int32_t(p.weight.data[i]) - (p.wSigned ? 0 : 128));
    }
    return bytes;
}

int64_t chunkColumns(int64_t depth) {
    const int64_t cols = (int64_t(1) << 17) / std::max<int64_t>(Int8Packing::paddedDepth(depth), 4);
    return std::clamp<int64_t>(cols / Int8Packing::kPanelCols * Int8Packing::kPanelCols, 16, 1024);
}

class Int8MatMulKernel final : public Kernel {
public:
    Int8MatMulKernel(int64_t depth, int64_t cols, bool xSigned, ChannelQuantization q, const std::vector<int8_t>& w)
        : m_depth(depth), m_cols(cols), m_xSigned(xSigned), m_q(std::move(q)) {
        m_packed.assign(size_t(Int8Packing::rightBytes(cols, depth)), 0);
        m_colAdd.resize(size_t(cols));
        for (int64_t c = 0; c < cols; ++c) {
            int32_t sum = 0;
            for (int64_t k = 0; k < depth; ++k) {
                const int8_t v = w[size_t(k * cols + c)];
                m_packed[size_t(Int8Packing::rightOffset(k, c, depth))] = uint8_t(v);
                sum += v;
            }
            m_colAdd[size_t(c)] =
                m_q.biasCodes[size_t(c)] - m_q.xZero * sum + int32_t(depth) * m_q.xZero * m_q.wZero[size_t(c)];
        }
    }

    Status forward(KernelIo& io) const override {
        const NDArray& x = io.input(0);
        if (x.rank() < 1 || x.shape.back() != m_depth)
            return invalidInput("input " + shapeToString(x.shape) + " does not end in the weight's " +
                                std::to_string(m_depth) + " rows");
        std::vector<int64_t> outShape = x.shape;
        outShape.back() = m_cols;
        NDArray& y = io.output(0, std::move(outShape));
        if (io.shapesOnly()) {
            std::fill(y.data.begin(), y.data.end(), 0.f);
            return Ok{};
        }
        multiply(x.data.data(), x.numel() / m_depth, y.data.data(), io.workspace());
        return Ok{};
    }

    // y [rows, N] = the requantized product of the codes x [rows, K] and the weight.
    void multiply(const float* x, int64_t rows, float* y, Workspace& workspace) const {
        // Blocks of at most maxRows x 256, as even as the count allows: the static schedule deals out tasks by count
        // (64 rows in blocks of 20 gave one thread 40 rows and the other 24).
        const int64_t maxRows = std::clamp<int64_t>((int64_t(1) << 14) / std::max<int64_t>(m_depth, 1) / 4 * 4, 4, 64);
        const int64_t rowBlocks = (rows + maxRows - 1) / maxRows, colBlocks = (m_cols + 255) / 256;
        const int64_t blockRows = ((rows + rowBlocks - 1) / rowBlocks + 3) / 4 * 4;
        const int64_t blockCols = ((m_cols + colBlocks - 1) / colBlocks + 15) / 16 * 16, tasks = rowBlocks * colBlocks;
        const int64_t padded = Int8Packing::paddedDepth(m_depth);
        const size_t scratchFloats =
            size_t(blockRows * padded / 4 + padded / 4 + 1 + blockRows * (blockCols + 1) + blockCols);
        const bool parallel = tasks > 1 && rows * m_depth * m_cols >= (int64_t(1) << 20);
#pragma omp parallel for num_threads(workspace.threads()) schedule(static) if (parallel)
        for (int64_t t = 0; t < tasks; ++t) {
            const int64_t row0 = t / colBlocks * blockRows, col0 = t % colBlocks * blockCols;
            const int64_t count = std::min(blockRows, rows - row0), cols = std::min(blockCols, m_cols - col0);
            float* scratch = workspace.scratch(omp_get_thread_num(), scratchFloats);
            auto* acc = reinterpret_cast<int32_t*>(scratch);
            int32_t* sums = acc + blockRows * blockCols;
            int32_t* add = sums + blockRows;
            auto* line = reinterpret_cast<uint8_t*>(add + blockCols);
            uint8_t* left = line + padded;
            std::fill(left, left + Int8Packing::leftBytes(count, m_depth), uint8_t(0));
            for (int64_t r = 0; r < count; ++r) {
                codesToBytes(x + (row0 + r) * m_depth, m_depth, m_xSigned, line);
                int32_t sum = 0;
                for (int64_t k = 0; k < m_depth; ++k) {
                    left[Int8Packing::leftOffset(r, k, m_depth)] = line[k];
                    sum += line[k];
                }
                sums[r] = sum;
            }
            const uint8_t* right = m_packed.data() + col0 * padded;
            int8Gemm(left, right, count, cols, m_depth, false, acc, blockCols);
            const Requantization across{
                m_q.multiplier.data() + col0, m_q.offset.data() + col0, 1, m_q.yZero, m_q.low, m_q.high};
            for (int64_t r = 0; r < count; ++r) {
                for (int64_t j = 0; j < cols; ++j)
                    add[j] = m_colAdd[size_t(col0 + j)] - m_q.wZero[size_t(col0 + j)] * sums[r];
                requantize(acc + r * blockCols, add, 0, cols, across, y + (row0 + r) * m_cols + col0);
            }
        }
    }

private:
    int64_t m_depth, m_cols;
    bool m_xSigned;
    ChannelQuantization m_q;
    std::vector<uint8_t> m_packed;  // the GEMM's right operand, [K, N] in 16-column panels
    std::vector<int32_t> m_colAdd;  // per column: bias - xZero * sum(w) + depth * xZero * wZero
};

class Int8ConvKernel final : public Kernel {
public:
    Int8ConvKernel(const Node& node, WindowAttributes window, int64_t groups, std::vector<int64_t> weightShape,
                   bool xSigned, ChannelQuantization q, std::vector<int8_t> weights)
        : m_window(std::move(window)),
          m_groups(groups),
          m_weightShape(std::move(weightShape)),
          m_xSigned(xSigned),
          m_q(std::move(q)),
          m_weights(std::move(weights)) {
        const int64_t filters = m_weightShape[0], groupFilters = filters / m_groups;
        const int64_t depth = dimProduct(m_weightShape, 1, m_weightShape.size());
        const int64_t groupBytes = Int8Packing::leftBytes(groupFilters, depth);
        m_packed.assign(size_t(groupBytes * m_groups), 0);
        m_rowAdd.resize(size_t(filters));
        for (int64_t m = 0; m < filters; ++m) {
            const int64_t g = m / groupFilters, r = m % groupFilters;
            int32_t sum = 0;
            for (int64_t k = 0; k < depth; ++k) {
                const int8_t w = m_weights[size_t(m * depth + k)];
                m_packed[size_t(g * groupBytes + Int8Packing::leftOffset(r, k, depth))] = uint8_t(w);
                sum += w;
            }
            m_rowAdd[size_t(m)] =
                m_q.biasCodes[size_t(m)] - m_q.xZero * sum + int32_t(depth) * m_q.xZero * m_q.wZero[size_t(m)];
        }
        if (m_groups == 1) {
            std::vector<int8_t> transposed(m_weights.size());
            for (int64_t m = 0; m < filters; ++m)
                for (int64_t k = 0; k < depth; ++k)
                    transposed[size_t(k * filters + m)] = m_weights[size_t(m * depth + k)];
            m_dense = std::make_shared<Int8MatMulKernel>(depth, filters, m_xSigned, m_q, transposed);
            m_direct = Int8DirectConv::make(m_weightShape, m_weights, m_q.anyWeightZero);
        }
        if (m_weightShape[1] == 1 && groupFilters == 1 && m_groups > 1 && depth <= 258 && m_weightShape.size() <= 4)
            for (size_t i = 0; i < m_weights.size(); ++i)
                m_centred.push_back(float(m_weights[i] - m_q.wZero[i / size_t(depth)]));
    }

    Status forward(KernelIo& io) const override {
        const NDArray& x = io.input(0);
        if (x.rank() != int64_t(m_weightShape.size()))
            return invalidInput("input " + shapeToString(x.shape) + " and weights " + shapeToString(m_weightShape) +
                                " must have equal ranks");
        const int64_t batch = x.shape[0], channels = x.shape[1];
        if (channels != m_weightShape[1] * m_groups)
            return invalidInput("input has " + std::to_string(channels) + " channels but weights " +
                                shapeToString(m_weightShape) + " with group=" + std::to_string(m_groups) + " expect " +
                                std::to_string(m_weightShape[1] * m_groups));
        auto resolved = resolveWindow(m_window, std::span(x.shape).subspan(2));
        if (!resolved) return resolved.error();
        const WindowGeometry& w = resolved.value();
        std::vector<int64_t> outShape{batch, m_weightShape[0]};
        for (int64_t d : w.outShape(size_t(x.rank() - 2))) outShape.push_back(d);
        NDArray& y = io.output(0, std::move(outShape));
        if (io.shapesOnly()) {
            std::fill(y.data.begin(), y.data.end(), 0.f);
            return Ok{};
        }
        if (!m_centred.empty()) return depthwise(io, x, y, w);
        if (m_dense && coversInput(w)) {  // one output position per image: a matrix product with images as rows
            m_dense->multiply(x.data.data(), batch, y.data.data(), io.workspace());
            return Ok{};
        }
        if (m_direct && m_direct->fits(w)) {
            direct(w, batch, x.data.data(), y.data.data(), io.workspace());
            return Ok{};
        }
        const int64_t n = x.numel();
        auto* bytes = reinterpret_cast<uint8_t*>(io.workspace().shared(size_t(n + 3) / 4));
        const int threads = io.threads();
        const int64_t convertChunk = 1 << 14;
#pragma omp parallel for num_threads(threads) if (worthParallel(n))
        for (int64_t i = 0; i < n; i += convertChunk)
            codesToBytes(x.data.data() + i, std::min(convertChunk, n - i), m_xSigned, bytes + i);
        gemm(w, batch, bytes, y.data.data(), io.workspace());
        return Ok{};
    }

private:
    // The window covers the whole input once, without padding or dilation: an image's codes in order are its only
    // patch (a Gemm exported as a Conv on 1x1 images, or a Conv whose kernel is its input's size).
    static bool coversInput(const WindowGeometry& w) {
        return w.kernel == w.in && w.dilation == std::array<int64_t, 3>{1, 1, 1} &&
               w.padBegin == std::array<int64_t, 3>{0, 0, 0} && w.outSize() == 1;
    }

    // Row k of the patch matrix for output positions [begin, begin + cols) of one image's group: the input byte
    // under tap k for each position, xZero where the tap falls in the padding.
    void patchRow(const WindowGeometry& w, const uint8_t* x, int64_t k, int64_t begin, int64_t cols,
                  uint8_t* row) const {
        const int64_t taps = w.kernelSize(), c = k / taps, tap = k % taps;
        const int64_t kd = tap / (w.kernel[1] * w.kernel[2]), kh = tap / w.kernel[2] % w.kernel[1],
                      kw = tap % w.kernel[2];
        const uint8_t* src = x + c * w.inSize();
        const uint8_t pad = uint8_t(m_q.xZero);
        const int64_t shift = kw * w.dilation[2] - w.padBegin[2], stride = w.stride[2];
        // Output columns whose input column lies inside the row: first <= ow < last.
        const int64_t first = std::clamp<int64_t>(shift >= 0 ? 0 : (-shift + stride - 1) / stride, 0, w.out[2]);
        const int64_t last =
            std::clamp<int64_t>(w.in[2] - shift <= 0 ? 0 : (w.in[2] - shift + stride - 1) / stride, first, w.out[2]);
        for (int64_t p = begin, j = 0; j < cols;) {
            const int64_t ow = p % w.out[2], oh = p / w.out[2] % w.out[1], od = p / (w.out[1] * w.out[2]);
            const int64_t run = std::min(w.out[2] - ow, cols - j);
            const int64_t id = od * w.stride[0] - w.padBegin[0] + kd * w.dilation[0];
            const int64_t ih = oh * w.stride[1] - w.padBegin[1] + kh * w.dilation[1];
            uint8_t* dst = row + j;
            if (id < 0 || id >= w.in[0] || ih < 0 || ih >= w.in[1]) {
                std::memset(dst, pad, size_t(run));
            } else {
                const uint8_t* line = src + (id * w.in[1] + ih) * w.in[2] + shift;
                const int64_t lo = std::clamp(first, ow, ow + run), hi = std::clamp(last, lo, ow + run);
                std::memset(dst, pad, size_t(lo - ow));
                if (stride == 1)
                    std::memcpy(dst + (lo - ow), line + lo, size_t(hi - lo));
                else
                    for (int64_t o = lo; o < hi; ++o) dst[o - ow] = line[o * stride];
                std::memset(dst + (hi - ow), pad, size_t(ow + run - hi));
            }
            p += run;
            j += run;
        }
    }

    // Patch matrix of output positions [begin, begin + cols) of one image's group, written row by row into `rows`
    // (row stride `stride`, a multiple of 16) and then interleaved four rows at a time into the GEMM's panels; the
    // per-position sums of its bytes when a weight zero point needs them.
    void patches(const WindowGeometry& w, const uint8_t* x, int64_t begin, int64_t cols, uint8_t* rows, int64_t stride,
                 uint8_t* panel, int32_t* sums) const {
        const int64_t depth = m_weightShape[1] * w.kernelSize(), padded = Int8Packing::paddedDepth(depth);
        const bool pointwise = w.kernelSize() == 1 && w.stride == std::array<int64_t, 3>{1, 1, 1} &&
                               w.padBegin == std::array<int64_t, 3>{0, 0, 0} && w.in == w.out;
        for (int64_t k = 0; k < depth; ++k) {
            uint8_t* row = rows + k * stride;
            if (pointwise)
                std::memcpy(row, x + k * w.inSize() + begin, size_t(cols));
            else
                patchRow(w, x, k, begin, cols, row);
        }
        std::memset(rows + depth * stride, 0, size_t((padded - depth) * stride));
        if (sums) {
            std::fill(sums, sums + cols, 0);
            for (int64_t k = 0; k < depth; ++k)
                for (int64_t j = 0; j < cols; ++j) sums[j] += rows[k * stride + j];
        }
        for (int64_t g = 0; g < padded / 4; ++g) {
            const uint8_t* r = rows + 4 * g * stride;
            for (int64_t block = 0; block < stride / 16; ++block) {
                const auto load = [&](int64_t i) {
                    return _mm_loadu_si128(reinterpret_cast<const __m128i*>(r + i * stride + block * 16));
                };
                const __m128i a = load(0), b = load(1), c = load(2), d = load(3);
                const __m128i abLo = _mm_unpacklo_epi8(a, b), abHi = _mm_unpackhi_epi8(a, b);
                const __m128i cdLo = _mm_unpacklo_epi8(c, d), cdHi = _mm_unpackhi_epi8(c, d);
                auto* dst = reinterpret_cast<__m128i*>(panel + block * 16 * padded + g * 64);
                _mm_storeu_si128(dst, _mm_unpacklo_epi16(abLo, cdLo));
                _mm_storeu_si128(dst + 1, _mm_unpackhi_epi16(abLo, cdLo));
                _mm_storeu_si128(dst + 2, _mm_unpacklo_epi16(abHi, cdHi));
                _mm_storeu_si128(dst + 3, _mm_unpackhi_epi16(abHi, cdHi));
            }
        }
    }

    void gemm(const WindowGeometry& w, int64_t batch, const uint8_t* x, float* y, Workspace& workspace) const {
        const int64_t groupChannels = m_weightShape[1], filters = m_weightShape[0];
        const int64_t groupFilters = filters / m_groups, depth = groupChannels * w.kernelSize();
        const int64_t positions = w.outSize(), chunk = chunkColumns(depth);
        const int64_t chunks = (positions + chunk - 1) / chunk, tasks = batch * m_groups * chunks;
        const int64_t groupBytes = Int8Packing::leftBytes(groupFilters, depth);
        const int64_t panelBytes = Int8Packing::rightBytes(chunk, depth);
        const int64_t rowBytes = Int8Packing::paddedDepth(depth) * chunk;
        const size_t scratchFloats = size_t((panelBytes + rowBytes) / 4 + 1 + chunk * (groupFilters + 2));
        const bool parallel = tasks > 1 && groupFilters * depth * positions * batch >= (int64_t(1) << 20);
        // Static: each thread takes the images it took in the layers before (which also split by image), so it reads
        // codes from its own cache. Dynamic scheduling sent half the images to the other core's cache lines.
#pragma omp parallel for num_threads(workspace.threads()) schedule(static) if (parallel)
        for (int64_t t = 0; t < tasks; ++t) {
            const int64_t image = t / (m_groups * chunks), g = t / chunks % m_groups, begin = t % chunks * chunk;
            const int64_t cols = std::min(chunk, positions - begin);
            float* scratch = workspace.scratch(omp_get_thread_num(), scratchFloats);
            auto* acc = reinterpret_cast<int32_t*>(scratch);
            int32_t* sums = acc + chunk * groupFilters;
            int32_t* add = sums + chunk;
            auto* panel = reinterpret_cast<uint8_t*>(add + chunk);
            patches(w, x + (image * m_groups + g) * groupChannels * w.inSize(), begin, cols, panel + panelBytes,
                    (cols + 15) / 16 * 16, panel, m_q.anyWeightZero ? sums : nullptr);
            int8Gemm(m_packed.data() + g * groupBytes, panel, groupFilters, cols, depth, true, acc, chunk);
            for (int64_t r = 0; r < groupFilters; ++r) {
                const int64_t m = g * groupFilters + r;
                if (m_q.anyWeightZero)
                    for (int64_t j = 0; j < cols; ++j) add[j] = -m_q.wZero[size_t(m)] * sums[j];
                requantize(acc + r * chunk, m_q.anyWeightZero ? add : nullptr, m_rowAdd[size_t(m)], cols,
                           m_q.channel(m), y + (image * filters + m) * positions + begin);
            }
        }
    }

    // The direct convolution (int8_direct_conv.h), each chunk of accumulators requantized in cache.
    void direct(const WindowGeometry& w, int64_t batch, const float* x, float* y, Workspace& workspace) const {
        const int64_t filters = m_weightShape[0], width = w.out[2], positions = w.outSize();
        m_direct->run(w, batch, x, m_xSigned, uint8_t(m_q.xZero), workspace, [&](const Int8DirectConv::Chunk& c) {
            // Rows without columns past the width (1x1 kernels) are one run.
            const bool contiguous = c.rowPitch == width;
            const int64_t rows = contiguous ? 1 : c.rows, count = contiguous ? c.rows * width : width;
            for (int64_t m = c.filter0; m < c.filter1; ++m)
                requantizeRows(c.acc + (m - c.filter0) * c.filterStride, c.sums, -m_q.wZero[size_t(m)], c.rowPitch,
                               rows, count, m_rowAdd[size_t(m)], m_q.channel(m),
                               y + (c.image * filters + m) * positions + c.row0 * width);
        });
    }

    // One input and one output channel per group: the float depthwise kernel on the codes with weights w - wZero
    // writes sum over the taps inside the input of x * (w - wZero) into y; subtracting xZero times the sum of those
    // taps' weights gives the exact sum of (x - xZero)(w - wZero) with padding at xZero. Every partial sum is an
    // integer below 2^24 (at most 258 taps of |255 * 255|), so float arithmetic gives it exactly, in any order.
    // Each plane is requantized as soon as it is computed, in place while it is in cache.
    Status depthwise(KernelIo& io, const NDArray& x, NDArray& y, const WindowGeometry& w) const {
        const int64_t channels = m_groups, positions = w.outSize();
        const int32_t zero = m_q.xZero - (m_xSigned ? 128 : 0);
        const std::vector<int32_t> corrections = zero != 0 ? paddingCorrections(w, zero) : std::vector<int32_t>();
        convDepthwise(DepthwiseShape{x.shape[0], channels, channels, w}, x.data.data(), m_centred.data(), nullptr,
                      nullptr, y.data.data(), io.workspace(), [&](int64_t plane, float* values) {
                          const int64_t c = plane % channels;
                          requantizeRows(values, corrections.empty() ? nullptr : corrections.data() + c * positions, 1,
                                         positions, 1, positions, m_q.biasCodes[size_t(c)], m_q.channel(c), values);
                      });
        return Ok{};
    }

    // Per channel and output position: -zero times the sum of the (w - wZero) taps that fall inside the input, the
    // term that puts the padding at the zero point.
    std::vector<int32_t> paddingCorrections(const WindowGeometry& w, int32_t zero) const {
        const int64_t channels = m_groups, kh = w.kernel[1], kw = w.kernel[2], taps = kh * kw;
        const int64_t width = w.out[2], positions = w.outSize();
        std::vector<int32_t> corrections(size_t(channels * positions));
        std::vector<int32_t> columnSums(static_cast<size_t>(kw));
        for (int64_t c = 0; c < channels; ++c) {
            const float* tapWeights = m_centred.data() + c * taps;
            for (int64_t oh = 0; oh < w.out[1]; ++oh) {
                const auto [ky0, ky1] = validTaps(oh * w.stride[1] - w.padBegin[1], w.dilation[1], kh, w.in[1]);
                for (int64_t j = 0; j < kw; ++j) {
                    columnSums[size_t(j)] = 0;
                    for (int64_t i = ky0; i < ky1; ++i) columnSums[size_t(j)] += int32_t(tapWeights[i * kw + j]);
                }
                int32_t* row = corrections.data() + c * positions + oh * width;
                for (int64_t ow = 0; ow < width; ++ow) {
                    const auto [kx0, kx1] = validTaps(ow * w.stride[2] - w.padBegin[2], w.dilation[2], kw, w.in[2]);
                    int32_t sum = 0;
                    for (int64_t j = kx0; j < kx1; ++j) sum += columnSums[size_t(j)];
                    row[ow] = -zero * sum;
                }
            }
        }
        return corrections;
    }

    WindowAttributes m_window;
    int64_t m_groups;
    std::vector<int64_t> m_weightShape;
    bool m_xSigned;
    ChannelQuantization m_q;
    std::vector<int8_t> m_weights;  // [M, C/group, k...] signed bytes
    std::vector<uint8_t> m_packed;  // per group, the GEMM's left operand
    std::vector<int32_t> m_rowAdd;  // per filter: bias - xZero * sum(w) + depth * xZero * wZero
    std::vector<float> m_centred;   // w - wZero, for depthwise convolutions (the float depthwise kernel's taps)
    std::shared_ptr<const Int8MatMulKernel> m_dense;  // the same weights as [K, M], for windows covering the input
    std::unique_ptr<const Int8DirectConv> m_direct;   // one group, 2-D: without a patch matrix
};

}  // namespace

Result<std::unique_ptr<Kernel>> makeInt8ConvKernel(const Node& node, Int8LinearParams params) {
    const NDArray& w = params.weight;
    if (w.rank() < 3 || w.rank() > 5) return invalidInput("weights must have rank 3-5, got " + shapeToString(w.shape));
    const int64_t groups = node.attrInt("group", 1);
    if (groups < 1 || w.shape[0] % groups != 0)
        return invalidInput("group " + std::to_string(groups) + " does not divide the " + std::to_string(w.shape[0]) +
                            " filters");
    auto window =
        readWindowAttributes(node, size_t(w.rank() - 2), std::vector<int64_t>(w.shape.begin() + 2, w.shape.end()));
    if (!window) return window.error();
    if (window.value().kernel != std::vector<int64_t>(w.shape.begin() + 2, w.shape.end()))
        return invalidInput("kernel_shape " + shapeToString(window.value().kernel) + " differs from the weights " +
                            shapeToString(w.shape));
    auto q = channelQuantization(params, w.shape[0]);
    if (!q) return q.error();
    auto bytes = weightBytes(params);
    if (!bytes) return bytes.error();
    return std::unique_ptr<Kernel>(std::make_unique<Int8ConvKernel>(node, std::move(window.value()), groups, w.shape,
                                                                    params.xSigned, std::move(q.value()),
                                                                    std::move(bytes.value())));
}

Result<std::unique_ptr<Kernel>> makeInt8MatMulKernel(Int8LinearParams params) {
    const NDArray& w = params.weight;
    if (w.rank() != 2) return invalidInput("the weight must be 2-D, got " + shapeToString(w.shape));
    auto q = channelQuantization(params, w.shape[1]);
    if (!q) return q.error();
    auto bytes = weightBytes(params);
    if (!bytes) return bytes.error();
    return std::unique_ptr<Kernel>(std::make_unique<Int8MatMulKernel>(w.shape[0], w.shape[1], params.xSigned,
                                                                      std::move(q.value()), bytes.value()));
}

}  // namespace lathe
