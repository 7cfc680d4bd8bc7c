#pragma once

#include <cstddef>
#include <cstdint>
#include <limits>
#include <vector>

// Single-precision GEMM behind Conv, Gemm and MatMul: C += A * B with C row-major. On CPUs with AVX2 and FMA (checked
// once at run time) operands are packed into panels (A: 6 rows, B: 16 columns, per 256-deep K block; an A with unit
// column stride is read in place) and multiplied by a 6x16 register-blocked micro-kernel (two 16-column panels at once
// on AVX-512); elsewhere the product runs on Eigen (baseline SSE2 build).
namespace lathe {

// A strided matrix view: element (r, c) is data[r * rowStride + c * colStride]. A transpose swaps the strides.
struct MatrixRef {
    const float* data = nullptr;
    int64_t rows = 0;
    int64_t cols = 0;
    int64_t rowStride = 0;
    int64_t colStride = 1;

    MatrixRef transposed() const { return {data, cols, rows, colStride, rowStride}; }
};

// Whether the packed AVX2/FMA kernel is used: the CPU has AVX2 and FMA and LATHE_NO_AVX2 is not set (the variable
// exists so tests can run the Eigen path on any machine).
bool gemmUsesPackedKernel();

// Whether the CPU has AVX-512F (and AVX2, FMA) and LATHE_NO_AVX512 is not set: the GEMM then runs two 16-column panels
// per micro-kernel and depthwise_conv.cpp its direct kernel.
bool cpuUsesAvx512();

// An operand prepared once for many products (constant weights): panels for the packed kernel, or a plain row-major
// copy for the Eigen path.
class PackedMatrix {
public:
    enum class Side { Left, Right };

    PackedMatrix() = default;
    PackedMatrix(const MatrixRef& matrix, Side side);

    int64_t rows() const { return m_rows; }
    int64_t cols() const { return m_cols; }
    // The shape, and the data when the Eigen path is in use (null otherwise).
    MatrixRef plain() const { return {m_plain.empty() ? nullptr : m_plain.data(), m_rows, m_cols, m_cols, 1}; }
    // Panel data, empty when the packed kernel is not in use.
    const std::vector<float>& panels() const { return m_panels; }

private:
    int64_t m_rows = 0, m_cols = 0;
    std::vector<float> m_plain;
    std::vector<float> m_panels;
};

// Where a K x N right operand's elements live once packed into 16-column panels, for producers (im2col) that write
// panels directly: element (k, col) is at rowOffset(k) + (col / 16) * panelStride(k) + col % 16. Padding columns of
// the last panel may hold anything.
class RightPanelLayout {
public:
    static constexpr int64_t kPanelCols = 16;
    static constexpr int64_t kDepthBlock = 256;  // K rows per block: one B panel (16 KB) stays in L1

    RightPanelLayout(int64_t rows, int64_t cols)
        : m_rows(rows), m_paddedCols((cols + kPanelCols - 1) / kPanelCols * kPanelCols) {}
    int64_t size() const { return m_rows * m_paddedCols; }
    int64_t rowOffset(int64_t k) const {
        const int64_t block = k / kDepthBlock * kDepthBlock;
        return block * m_paddedCols + (k - block) * kPanelCols;
    }
    int64_t panelStride(int64_t k) const {
        const int64_t block = k / kDepthBlock * kDepthBlock;
        return kPanelCols * (m_rows - block < kDepthBlock ? m_rows - block : kDepthBlock);
    }

private:
    int64_t m_rows, m_paddedCols;
};

// One GEMM operand: pre-packed panels (a PackedMatrix, or panels written by a producer), or a plain view packed on
// the fly. `plain` always gives the shape; its data is only read when the operand is not packed.
struct GemmOperand {
    const float* panels = nullptr;
    MatrixRef plain;

    GemmOperand(const PackedMatrix& p) : panels(p.panels().empty() ? nullptr : p.panels().data()), plain(p.plain()) {}
    GemmOperand(const MatrixRef& m) : plain(m) {}
    // A right operand written in RightPanelLayout(rows, cols); only valid when gemmUsesPackedKernel().
    static GemmOperand rightPanels(const float* panels, int64_t rows, int64_t cols);
    int64_t rows() const { return plain.rows; }
    int64_t cols() const { return plain.cols; }
};

// How a convolution's GEMM writes C, applied per row (output channel) in registers as tiles are stored:
// C = clamp(scale * (bias + A * B) + shift, low, high). Null pointers mean bias 0, scale 1, shift 0. With a residual,
// then C = clamp(C + R, residualLow, residualHigh), where R's element for C's element at address p is at address
// p + residualBytes (R has C's layout).
struct RowOutput {
    const float* bias = nullptr;
    // Added to every row's columns with the bias (a linear layer's bias over N, for Gemm and MatMul), indexed from C's
    // column 0; not with GatheredColumns::outputWidth.
    const float* columnBias = nullptr;
    const float* scale = nullptr;
    const float* shift = nullptr;
    float low = -std::numeric_limits<float>::infinity();
    float high = std::numeric_limits<float>::infinity();
    bool residual = false;
    std::intptr_t residualBytes = 0;
    float residualLow = -std::numeric_limits<float>::infinity();
    float residualHigh = std::numeric_limits<float>::infinity();
};

// Floats of scratch gemmAccumulate needs to pack whatever of a (M x K) and b (K x N) is not pre-packed.
int64_t gemmScratchSize(const GemmOperand& a, const GemmOperand& b);

// A right operand that is never materialised (implicit-GEMM convolution): element (k, p) is
// data[p / width * rowStride + p % width + offsets[k]], i.e. columns are output positions read from a padded copy
// of the input rows, and row k is a (channel, kernel tap) pair. `width` must be a multiple of 8.
//
// With `outputWidth` > 0 (only when cpuUsesAvx512(); width - 8 < outputWidth <= width) the rows of `width` columns
// are output rows of `outputWidth` computed rounded up to whole 8-column halves: C's column for p is
// p / width * outputWidth + p % width, and columns with p % width >= outputWidth are not stored. C is then the
// output itself, with no scratch rows to cut.
struct GatheredColumns {
    const float* data = nullptr;
    int64_t width = 0;
    int64_t rowStride = 0;
    const int64_t* offsets = nullptr;
    int64_t rows = 0;
    int64_t cols = 0;
    int64_t outputWidth = 0;
};

// Rows of a left operand are packed in panels of this many rows; a product can be limited to a range of them.
constexpr int64_t kGemmPanelRows = 6;

// A range of a left operand's row panels: [begin, end), end < 0 meaning through the last.
struct RowPanels {
    int64_t begin = 0;
    int64_t end = -1;
};

// C (a.rows x b.cols, row stride ldc) = output(a * b) on the calling thread (C's previous contents are ignored) for
// the rows of `panels` (C, bias, scale and shift stay indexed from row 0); only when gemmUsesPackedKernel().
// `scratch` holds gemmScratchSize(a, <any b>) floats for packing a if not pre-packed.
void gemmRowsGathered(const GemmOperand& a, const GatheredColumns& b, float* c, int64_t ldc, float* scratch,
                      const RowOutput& output, RowPanels panels = {});

// As gemmRowsGathered for a right operand that is packed or plain; only when gemmUsesPackedKernel().
void gemmRows(const GemmOperand& a, const GemmOperand& b, float* c, int64_t ldc, float* scratch,
              const RowOutput& output, RowPanels panels = {});

// C (a.rows x b.cols, row stride ldc) += a * b on the calling thread. `scratch` holds gemmScratchSize floats.
void gemmAccumulate(const GemmOperand& a, const GemmOperand& b, float* c, int64_t ldc, float* scratch);

// Like gemmAccumulate but spread over `threads` OpenMP threads; `scratch` holds gemmScratchSize floats.
void gemmAccumulateParallel(const GemmOperand& a, const GemmOperand& b, float* c, int64_t ldc, float* scratch,
                            int threads);

// C = output(a * b) spread over `threads` (C's previous contents are ignored: no pass that seeds it); only when
// gemmUsesPackedKernel() and a.cols() > 0 (C is stored by the first K block). `scratch` holds gemmScratchSize floats.
void gemmParallel(const GemmOperand& a, const GemmOperand& b, float* c, int64_t ldc, float* scratch, int threads,
                  const RowOutput& output);

}  // namespace lathe
