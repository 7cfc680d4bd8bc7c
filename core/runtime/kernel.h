#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <memory>
#include <optional>
#include <span>
#include <vector>

#include "core/common/result.h"
#include "core/model/graph.h"
#include "core/runtime/kernels/vector_math.h"
#include "core/runtime/ndarray.h"

namespace lathe {

// Float buffers released by dead intermediates, recycled for later outputs of the same and of later runs.
class BufferPool {
public:
    // A buffer of `count` floats (the best-fitting free one, grown if none is big enough); contents unspecified.
    FloatBuffer take(size_t count);
    // Returns a buffer for reuse; empty buffers are dropped.
    void give(FloatBuffer&& buffer);

private:
    std::vector<FloatBuffer> m_free;
};

// Scratch memory (im2col columns, packed panels) kept across runs: one buffer per OpenMP thread plus one for work
// done outside parallel regions.
class Workspace {
public:
    explicit Workspace(int threads) : m_buffers(size_t(threads)) {}
    int threads() const { return int(m_buffers.size()); }
    // At least `count` floats owned by OpenMP thread `thread` until it asks again; contents unspecified.
    float* scratch(int thread, size_t count);
    // At least `count` floats for the calling (non-parallel) code until it asks again; contents unspecified.
    float* shared(size_t count);
    // At least `count` indices for the calling (non-parallel) code until it asks again; contents unspecified.
    int64_t* sharedIndices(size_t count);

private:
    std::vector<std::vector<float>> m_buffers;
    std::vector<float> m_shared;
    std::vector<int64_t> m_indices;
};

// The largest tensor a kernel may make (8 GB of floats).
inline constexpr int64_t kMaxTensorElements = int64_t(1) << 31;

// A kernel's view of one execution of its node: inputs, output slots, recycled storage and scratch memory.
class KernelIo {
public:
    // `stealable[i]` is non-null when this node is the last reader of input i, so its buffer may be taken over.
    // `shapesOnly`: the run only learns shapes (shapes by execution), so multiply-accumulate kernels may leave their
    // outputs zero instead of computing them; every other kernel computes as usual.
    KernelIo(std::span<const NDArray* const> inputs, std::span<NDArray* const> stealable,
             std::span<NDArray* const> outputs, BufferPool& pool, Workspace& workspace, bool shapesOnly = false)
        : m_inputs(inputs),
          m_stealable(stealable),
          m_outputs(outputs),
          m_pool(pool),
          m_workspace(workspace),
          m_shapesOnly(shapesOnly) {}

    size_t inputCount() const { return m_inputs.size(); }
    // False for an omitted optional input and for indices past the node's inputs.
    bool hasInput(size_t i) const { return i < m_inputs.size() && m_inputs[i] != nullptr; }
    const NDArray& input(size_t i) const { return *m_inputs[i]; }
    size_t outputCount() const { return m_outputs.size(); }
    // Output i resized to `shape` on recycled storage; the kernel must write every element. Throws
    // std::length_error for a shape that is negative or beyond kMaxTensorElements (a hostile or broken model), which
    // ExecutionPlan turns into an error naming the node.
    NDArray& output(size_t i, std::vector<int64_t> shape);
    // Output i holding input `in`'s values viewed as `shape` (same element count): takes over the input's buffer when
    // this node is its last reader, copies otherwise. In-place kernels then transform the output.
    NDArray& outputFrom(size_t i, size_t in, std::vector<int64_t> shape);
    int threads() const { return m_workspace.threads(); }
    Workspace& workspace() { return m_workspace; }
    // The run's recycled buffers, for temporaries a kernel returns to it before it ends.
    BufferPool& pool() { return m_pool; }
    bool shapesOnly() const { return m_shapesOnly; }

private:
    std::span<const NDArray* const> m_inputs;
    std::span<NDArray* const> m_stealable;
    std::span<NDArray* const> m_outputs;
    BufferPool& m_pool;
    Workspace& m_workspace;
    bool m_shapesOnly = false;
};

// A per-channel affine map and clamp that a producer (Conv, Gemm) applies to its output while it is still in cache,
// standing in for a following BatchNormalization, Relu or Clip: y = clamp(scale[c] * x + shift[c], low, high); then,
// with `silu`, y · sigmoid(y) (a following SiLU, Mul(y, Sigmoid(y)), with the values of its fused kernel).
struct Epilogue {
    std::vector<float> scale;  // per channel; empty for the identity
    std::vector<float> shift;  // per channel; empty for zero
    float low = -std::numeric_limits<float>::infinity();
    float high = std::numeric_limits<float>::infinity();
    bool silu = false;  // producers that do not apply it must not take such an epilogue

    bool hasAffine() const { return !scale.empty(); }
    bool hasClamp() const {
        return low > -std::numeric_limits<float>::infinity() || high < std::numeric_limits<float>::infinity();
    }
    // This epilogue followed by `next`; nullopt when that is not one epilogue (an affine map after a clamp).
    std::optional<Epilogue> then(const Epilogue& next) const;
    // Applies the map of `channel` to count contiguous values.
    void apply(float* data, int64_t count, int64_t channel) const {
        const float a = hasAffine() ? scale[size_t(channel)] : 1.f, b = hasAffine() ? shift[size_t(channel)] : 0.f;
        for (int64_t i = 0; i < count; ++i) data[i] = std::min(std::max(a * data[i] + b, low), high);
        if (silu) siluRange(data, count);
    }
    // Applies channel j's map to row[j] for j < count (channels along a row, as in a Gemm output).
    void applyAcross(float* row, int64_t count) const {
        for (int64_t j = 0; j < count; ++j) {
            const float v = hasAffine() ? scale[size_t(j)] * row[j] + shift[size_t(j)] : row[j];
            row[j] = std::min(std::max(v, low), high);
        }
        if (silu) siluRange(row, count);
    }
};

// One node's computation. Kernels hold only what compile time fixed (attributes, pre-packed constant weights) and
// resolve shapes from the actual inputs, so the batch may change between runs and runs may overlap.
// Gradients: a `backward(io, outputGrads, inputGrads)` belongs beside forward(). forward() keeps no hidden state, so
// backward needs only the node's inputs and outputs, which the plan keeps when they are captured.
class Kernel {
public:
    virtual ~Kernel() = default;
    // Fills every output of the node from its inputs; errors say what is wrong without naming the node.
    virtual Status forward(KernelIo& io) const = 0;
    // What this node does to its only run-time input, when that is a per-channel epilogue (BatchNormalization with
    // constant parameters, Relu, Clip with constant bounds); nullopt otherwise.
    virtual std::optional<Epilogue> asEpilogue() const { return std::nullopt; }
    // This kernel with `epilogue` applied to its output, or nullptr when it cannot absorb it.
    virtual std::unique_ptr<Kernel> withEpilogue(const Epilogue& epilogue) const { return nullptr; }
    // This kernel followed by Add(output, input `input`) of an equally shaped run-time value (a residual
    // connection; later epilogues apply after the sum), or nullptr when it cannot absorb it. The kernel fails at run
    // time when the shapes differ.
    virtual std::unique_ptr<Kernel> withResidual(int input) const { return nullptr; }
    // This kernel followed by Add(output, bias) of a constant row `bias` broadcast over its output's last axis (a
    // linear layer's bias after MatMul), or nullptr when it cannot absorb it. Later epilogues apply after the sum.
    virtual std::unique_ptr<Kernel> withRowBias(const FloatBuffer& bias) const { return nullptr; }
    // For a pointwise f of one input: the kernel computing Mul(x, f(x)) in one pass with the same values as the two
    // nodes (SiLU / Swish, x · sigmoid(x); a NaN's payload may differ), or nullptr when it has none.
    virtual std::unique_ptr<Kernel> withTimesInput() const { return nullptr; }
};

// What a kernel factory sees of its node at compile time.
struct KernelContext {
    const Node& node;
    int64_t opset = 0;
    std::vector<const NDArray*> constants;  // per input: the value when known at compile time, else nullptr
    std::vector<DType> inputTypes;          // declared element types (Undefined when unknown)
    std::vector<DType> outputTypes;
    bool packWeights = true;  // false: leave constant GEMM operands unpacked (ExecutorOptions::packWeights)

    bool hasInput(size_t i) const { return i < node.inputs.size() && !node.inputs[i].empty(); }
    const NDArray* constant(size_t i) const { return i < constants.size() ? constants[i] : nullptr; }
};

using KernelFactory = Result<std::unique_ptr<Kernel>> (*)(const KernelContext& context);

}  // namespace lathe
