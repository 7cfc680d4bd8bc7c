// Direct convolution with the output channels in the vector lanes (AVX-512): each step broadcasts one input value
// per output position and multiplies it by 16 filters' weights at once, so no patch matrix is built, output rows of
// any width are computed without padding columns, and the filter count only has to fill 16-lane vectors (the GEMM
// path pads filters to its 6-row panels and rows to 8 columns). The tile's outputs are transposed in registers into
// the NCHW planes.
#pragma once

#include <cstdint>
#include <limits>
#include <vector>

namespace lathe {

// Filters x patch weights (a Conv group's matrix) as 16-filter vectors: per vector, `patch` rows of 16 floats
// (filters past the end are zero).
class DirectConvWeights {
public:
    static constexpr int64_t kLanes = 16;

    DirectConvWeights() = default;
    DirectConvWeights(const float* w, int64_t filters, int64_t patch);
    int64_t filters() const { return m_filters; }
    int64_t patch() const { return m_patch; }
    const float* vector(int64_t v) const { return m_data.data() + v * m_patch * kLanes; }

private:
    int64_t m_filters = 0, m_patch = 0;
    std::vector<float> m_data;
};

// What is applied to each output, in this order (the GEMM's RowOutput order, so the values have the same bits):
// v = clamp(scale * (bias + sum) + shift, low, high), then v = clamp(v + residual, residualLow, residualHigh).
// Null pointers mean bias 0, scale 1, shift 0, no residual (residual: shaped as the output).
struct DirectConvOutput {
    const float* bias = nullptr;
    const float* scale = nullptr;
    const float* shift = nullptr;
    float low = -std::numeric_limits<float>::infinity(), high = std::numeric_limits<float>::infinity();
    const float* residual = nullptr;
    float residualLow = -std::numeric_limits<float>::infinity();
    float residualHigh = std::numeric_limits<float>::infinity();
};

struct Epilogue;
// The output of a Conv with `bias` and a fused `epilogue` (either may be null; a SiLU in it is applied elsewhere), with
// no residual.
DirectConvOutput directConvOutput(const float* bias, const Epilogue* epilogue);

// One output row segment of every filter: output position j < positions reads, for weight row k,
// input[j * strideW + offsets[k]] (a zero-padded copy of the input rows). Filter f's output j goes to
// out[f * plane + j] (and its residual at residual[f * plane + j], the residual pointer already at this segment).
// Only when cpuUsesAvx512(); strideW is 1 or 2.
struct DirectConvRow {
    const float* input = nullptr;
    int64_t strideW = 1;
    const int64_t* offsets = nullptr;
    int64_t positions = 0;
    float* out = nullptr;
    int64_t plane = 0;
};
void directConvRow(const DirectConvWeights& w, const DirectConvRow& row, const DirectConvOutput& output);

// A tile of output rows with the output positions in the lanes, for convolutions with few filters (one 16-filter
// vector would make directConvRow broadcast once per multiply-add): positions are numbered across the padded input
// width, p = row * width + column, so every weight row k reads input[p + offsets[k]] for 16 consecutive positions in
// one load (W stride 1); the columns past outW are computed and not stored. Filter f's output for (row, column)
// goes to out[f * plane + row * outW + column], its residual at the same offset from output.residual. `weights` are
// the filters x patch matrix, row-major; `input` needs 48 readable floats past the last position's reach.
struct DirectConvPlane {
    const float* input = nullptr;
    const int64_t* offsets = nullptr;
    int64_t width = 0;
    int64_t rows = 0;
    int64_t outW = 0;
    float* out = nullptr;
    int64_t plane = 0;
};
void directConvPlane(const float* weights, int64_t filters, int64_t patch, const DirectConvPlane& tile,
                     const DirectConvOutput& output);

// Floats directConvPlane may read past a tile's last position.
constexpr int64_t kDirectConvPlaneSlack = 48;

// Output positions per tile, at most (a row is cut into near-equal segments of at most this many).
constexpr int64_t kDirectConvPositions = 14;

}  // namespace lathe
