// Gemm (alpha, beta, transA, transB, broadcast C) and MatMul (numpy semantics: 1-D promotion, batch broadcasting) on
// the packed GEMM of sgemm.h. Constant B operands are packed once at compile time.
#include <omp.h>

#include <algorithm>
#include <memory>
#include <optional>

#include "core/runtime/kernel.h"
#include "core/runtime/kernels/kernel_util.h"
#include "core/runtime/kernels/sgemm.h"

namespace lathe {

namespace {

// The GEMMs accumulate into their output: zeros, or each row of `n` values set to a fused bias.
void seedRows(NDArray& y, int64_t n, const FloatBuffer* bias) {
    if (!bias) {
        std::fill(y.data.begin(), y.data.end(), 0.f);
        return;
    }
    for (float* row = y.data.data(); row < y.data.data() + y.data.size(); row += n)
        std::copy(bias->begin(), bias->end(), row);
}

// How the packed GEMM stores a product of depth `depth` whose sum starts from `bias` (a row over N, or none) and, when
// `epilogue` is a clamp (Relu, Clip), clamps it as it stores: no pass seeding the output, none applying the clamp.
// nullopt when the epilogue is more (a per-column affine map), the depth is 0 (no K block stores the output), or the
// CPU has no packed GEMM.
std::optional<RowOutput> storedOutput(int64_t depth, const FloatBuffer* bias, const std::optional<Epilogue>& epilogue) {
    if (!gemmUsesPackedKernel() || depth == 0 || (epilogue && (epilogue->hasAffine() || epilogue->silu)))
        return std::nullopt;
    RowOutput output;
    output.columnBias = bias ? bias->data() : nullptr;
    if (epilogue) {
        output.low = epilogue->low;
        output.high = epilogue->high;
    }
    return output;
}

// `current` then `next` over the N columns of a packed constant right operand: nullopt when there is no such operand,
// an affine map's channels are not those columns, the two do not chain (an affine map after a clamp), or `next` is a
// SiLU (the Gemm's epilogue is a pass over its output of its own: taking SiLU in would save nothing).
std::optional<Epilogue> chainColumnEpilogue(const PackedMatrix* packedB, const std::optional<Epilogue>& current,
                                            const Epilogue& next) {
    if (!packedB || next.silu || (next.hasAffine() && int64_t(next.scale.size()) != packedB->cols()))
        return std::nullopt;
    return current ? current->then(next) : std::optional<Epilogue>(next);
}

MatrixRef matrixOf(const NDArray& m, bool transposed) {
    const MatrixRef plain{m.data.data(), m.shape[0], m.shape[1], m.shape[1], 1};
    return transposed ? plain.transposed() : plain;
}

class GemmKernel final : public Kernel {
public:
    GemmKernel(float alpha, float beta, bool transA, bool transB, std::shared_ptr<const PackedMatrix> packedB,
               std::optional<NDArray> scaledC)
        : m_alpha(alpha),
          m_beta(beta),
          m_transA(transA),
          m_transB(transB),
          m_packedB(std::move(packedB)),
          m_scaledC(std::move(scaledC)) {}

    std::unique_ptr<Kernel> withEpilogue(const Epilogue& epilogue) const override {
        std::optional<Epilogue> combined = chainColumnEpilogue(m_packedB.get(), m_epilogue, epilogue);
        if (!combined) return nullptr;
        auto fused = std::make_unique<GemmKernel>(*this);
        fused->m_epilogue = std::move(combined);
        return fused;
    }

    std::unique_ptr<Kernel> withRowBias(const FloatBuffer& bias) const override {
        // The bias seeds the sum, so it must come before alpha scaling and any epilogue.
        if (!m_packedB || m_epilogue || m_rowBias || m_alpha != 1.f || int64_t(bias.size()) != m_packedB->cols())
            return nullptr;
        auto fused = std::make_unique<GemmKernel>(*this);
        fused->m_rowBias = std::make_shared<const FloatBuffer>(bias);
        return fused;
    }

    Status forward(KernelIo& io) const override {
        const NDArray& a = io.input(0);
        if (a.rank() != 2) return invalidInput("A must be 2-D, got " + shapeToString(a.shape));
        if (!m_packedB && io.input(1).rank() != 2)
            return invalidInput("B must be 2-D, got " + shapeToString(io.input(1).shape));
        const GemmOperand left(matrixOf(a, m_transA));
        const GemmOperand right = m_packedB ? GemmOperand(*m_packedB) : GemmOperand(matrixOf(io.input(1), m_transB));
        const int64_t m = left.rows(), k = left.cols(), n = right.cols();
        if (right.rows() != k)
            return invalidInput("inner dimensions differ: op(A) is " + std::to_string(m) + "x" + std::to_string(k) +
                                ", op(B) is " + std::to_string(right.rows()) + "x" + std::to_string(n));
        std::optional<NDArray> runtimeC;
        if (!m_scaledC && io.hasInput(2) && m_beta != 0.f) {
            runtimeC = io.input(2);
            for (float& v : runtimeC->data) v *= m_beta;
        }
        const NDArray* c = m_scaledC ? &*m_scaledC : (runtimeC ? &*runtimeC : nullptr);
        if (c) {
            const int64_t cRows = c->rank() == 2 ? c->shape[0] : 1;
            const int64_t cCols = c->rank() >= 1 ? c->shape[size_t(c->rank() - 1)] : 1;
            if (c->rank() > 2 || (cRows != 1 && cRows != m) || (cCols != 1 && cCols != n))
                return invalidInput("C of shape " + shapeToString(c->shape) + " does not broadcast to [" +
                                    std::to_string(m) + ", " + std::to_string(n) + "]");
        }
        NDArray& y = io.output(0, {m, n});
        float* scratch = io.workspace().shared(size_t(gemmScratchSize(left, right)));
        // A constant C that is one row over N (a Linear layer's bias, beta folded in) starts the sum as a bias would.
        const bool rowC =
            m_scaledC && !m_rowBias && c->numel() == n && (c->rank() == 1 || (c->rank() == 2 && c->shape[0] == 1));
        const std::optional<RowOutput> stored = storedOutput(k, rowC ? &c->data : m_rowBias.get(), m_epilogue);
        if (stored && (!c || rowC) && m_alpha == 1.f && !io.shapesOnly()) {
            gemmParallel(left, right, y.data.data(), n, scratch, io.threads(), *stored);
            return Ok{};
        }
        seedRows(y, n, m_rowBias.get());
        if (io.shapesOnly()) return Ok{};
        gemmAccumulateParallel(left, right, y.data.data(), n, scratch, io.threads());
        if (m_alpha != 1.f)
            for (float& v : y.data) v *= m_alpha;
        if (c) addBias(*c, y);
        if (m_epilogue)
            for (int64_t i = 0; i < m; ++i) m_epilogue->applyAcross(y.data.data() + i * n, n);
        return Ok{};
    }

private:
    // y += C broadcast to y's M x N (C validated to be a scalar, [N], [1, N], [M, 1] or [M, N]).
    static void addBias(const NDArray& c, NDArray& y) {
        const int64_t m = y.shape[0], n = y.shape[1];
        const int64_t cRows = c.rank() == 2 ? c.shape[0] : 1;
        const int64_t cCols = c.rank() >= 1 ? c.shape[size_t(c.rank() - 1)] : 1;
        for (int64_t i = 0; i < m; ++i) {
            float* row = y.data.data() + i * n;
            const float* bias = c.data.data() + (cRows == 1 ? 0 : i * cCols);
            if (cCols == 1) {
                for (int64_t j = 0; j < n; ++j) row[j] += bias[0];
            } else {
                for (int64_t j = 0; j < n; ++j) row[j] += bias[j];
            }
        }
    }

    float m_alpha, m_beta;
    bool m_transA, m_transB;
    std::shared_ptr<const PackedMatrix> m_packedB;  // op(B) as K x N when B is constant
    std::optional<NDArray> m_scaledC;               // beta * C when C is constant
    std::optional<Epilogue> m_epilogue;             // fused BatchNormalization / Relu / Clip over the N outputs
    std::shared_ptr<const FloatBuffer> m_rowBias;   // a fused Add of a constant [N] row, seeding the sum
};

class MatMulKernel final : public Kernel {
public:
    explicit MatMulKernel(std::shared_ptr<const PackedMatrix> packedB) : m_packedB(std::move(packedB)) {}

    std::unique_ptr<Kernel> withRowBias(const FloatBuffer& bias) const override {
        if (!m_packedB || m_rowBias || int64_t(bias.size()) != m_packedB->cols()) return nullptr;
        auto fused = std::make_unique<MatMulKernel>(*this);
        fused->m_rowBias = std::make_shared<const FloatBuffer>(bias);
        return fused;
    }

    std::unique_ptr<Kernel> withEpilogue(const Epilogue& epilogue) const override {
        std::optional<Epilogue> combined = chainColumnEpilogue(m_packedB.get(), m_epilogue, epilogue);
        if (!combined) return nullptr;
        auto fused = std::make_unique<MatMulKernel>(*this);
        fused->m_epilogue = std::move(combined);
        return fused;
    }

    Status forward(KernelIo& io) const override {
        std::vector<int64_t> aShape = io.input(0).shape;
        std::vector<int64_t> bShape =
            m_packedB ? std::vector<int64_t>{m_packedB->rows(), m_packedB->cols()} : io.input(1).shape;
        if (aShape.empty() || bShape.empty()) return invalidInput("MatMul does not take scalars");
        const bool aVector = aShape.size() == 1, bVector = bShape.size() == 1;
        if (aVector) aShape.insert(aShape.begin(), 1);
        if (bVector) bShape.push_back(1);
        const int64_t m = aShape[aShape.size() - 2], k = aShape.back();
        const int64_t n = bShape.back();
        if (bShape[bShape.size() - 2] != k)
            return invalidInput("inner dimensions differ: " + shapeToString(io.input(0).shape) + " x " +
                                shapeToString(bShape));
        const std::vector<int64_t> aBatch(aShape.begin(), aShape.end() - 2), bBatch(bShape.begin(), bShape.end() - 2);
        auto batchShape = broadcastShapes(aBatch, bBatch);
        if (!batchShape) return batchShape.error();
        std::vector<int64_t> outShape = batchShape.value();
        if (!aVector) outShape.push_back(m);
        if (!bVector) outShape.push_back(n);
        NDArray& y = io.output(0, outShape);
        const float* a = io.input(0).data.data();
        float* out = y.data.data();
        const int64_t batches = shapeNumel(batchShape.value());
        Workspace& workspace = io.workspace();
        // Every batch of A meets the same B: one (batches*M) x K by K x N product.
        const bool oneProduct = shapeNumel(bBatch) == 1 && shapeNumel(aBatch) == batches;
        const std::optional<RowOutput> stored = storedOutput(k, m_rowBias.get(), m_epilogue);
        if (!oneProduct || !stored || io.shapesOnly()) seedRows(y, n, m_rowBias.get());
        if (io.shapesOnly()) return Ok{};
        if (oneProduct) {
            const GemmOperand left(MatrixRef{a, batches * m, k, k, 1});
            const GemmOperand right =
                m_packedB ? GemmOperand(*m_packedB) : GemmOperand(MatrixRef{io.input(1).data.data(), k, n, n, 1});
            float* scratch = workspace.shared(size_t(gemmScratchSize(left, right)));
            if (stored) {
                gemmParallel(left, right, out, n, scratch, io.threads(), *stored);
                return Ok{};
            }
            gemmAccumulateParallel(left, right, out, n, scratch, io.threads());
            applyEpilogue(y, n);
            return Ok{};
        }
        const float* b = io.input(1).data.data();
        const std::vector<int64_t> aOffsets = batchOffsets(aBatch, batchShape.value(), m * k);
        const std::vector<int64_t> bOffsets = batchOffsets(bBatch, batchShape.value(), k * n);
        const size_t scratchSize =
            size_t(gemmScratchSize(GemmOperand(MatrixRef{a, m, k, k, 1}), GemmOperand(MatrixRef{b, k, n, n, 1})));
#pragma omp parallel for num_threads(io.threads()) if (worthParallel(batches * m * n * k))
        for (int64_t i = 0; i < batches; ++i) {
            float* scratch = workspace.scratch(omp_get_thread_num(), scratchSize);
            gemmAccumulate(GemmOperand(MatrixRef{a + aOffsets[size_t(i)], m, k, k, 1}),
                           GemmOperand(MatrixRef{b + bOffsets[size_t(i)], k, n, n, 1}), out + i * m * n, n, scratch);
        }
        applyEpilogue(y, n);
        return Ok{};
    }

private:
    // Element offset of each output batch's matrix inside an operand whose batch shape broadcasts to `full`.
    static std::vector<int64_t> batchOffsets(const std::vector<int64_t>& batch, const std::vector<int64_t>& full,
                                             int64_t matrixSize) {
        std::vector<int64_t> padded(full.size() - batch.size(), 1);
        padded.insert(padded.end(), batch.begin(), batch.end());
        const std::vector<int64_t> strides = rowMajorStrides(padded);
        std::vector<int64_t> offsets(size_t(shapeNumel(full)));
        for (size_t i = 0; i < offsets.size(); ++i) {
            int64_t rest = int64_t(i), offset = 0;
            for (size_t d = full.size(); d-- > 0;) {
                const int64_t index = rest % full[d];
                rest /= full[d];
                if (padded[d] != 1) offset += index * strides[d];
            }
            offsets[i] = offset * matrixSize;
        }
        return offsets;
    }

    void applyEpilogue(NDArray& y, int64_t n) const {
        if (!m_epilogue || n == 0) return;
        for (float* row = y.data.data(); row < y.data.data() + y.data.size(); row += n) m_epilogue->applyAcross(row, n);
    }

    std::shared_ptr<const PackedMatrix> m_packedB;  // K x N when B is a constant matrix
    std::shared_ptr<const FloatBuffer> m_rowBias;   // a fused Add of a constant [N] row, seeding the sum
    std::optional<Epilogue> m_epilogue;             // a fused Relu / Clip (or per-column affine map) over the N outputs
};

}  // namespace

Result<std::unique_ptr<Kernel>> makeGemmKernel(const KernelContext& context) {
    const Node& node = context.node;
    const float alpha = node.attrFloat("alpha", 1.f), beta = node.attrFloat("beta", 1.f);
    const bool transA = node.attrInt("transA", 0) != 0, transB = node.attrInt("transB", 0) != 0;
    std::shared_ptr<const PackedMatrix> packedB;
    if (const NDArray* b = context.packWeights ? context.constant(1) : nullptr) {
        if (b->rank() != 2) return invalidInput("B must be 2-D, got " + shapeToString(b->shape));
        packedB = std::make_shared<const PackedMatrix>(matrixOf(*b, transB), PackedMatrix::Side::Right);
    }
    std::optional<NDArray> scaledC;
    if (const NDArray* c = context.constant(2); c && beta != 0.f) {
        scaledC = *c;
        for (float& v : scaledC->data) v *= beta;
    }
    return std::unique_ptr<Kernel>(
        std::make_unique<GemmKernel>(alpha, beta, transA, transB, std::move(packedB), std::move(scaledC)));
}

Result<std::unique_ptr<Kernel>> makeMatMulKernel(const KernelContext& context) {
    std::shared_ptr<const PackedMatrix> packedB;
    if (const NDArray* b = context.constant(1); b && b->rank() == 2 && context.packWeights)
        packedB = std::make_shared<const PackedMatrix>(matrixOf(*b, false), PackedMatrix::Side::Right);
    return std::unique_ptr<Kernel>(std::make_unique<MatMulKernel>(std::move(packedB)));
}

}  // namespace lathe
