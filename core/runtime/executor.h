#pragma once

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "core/common/result.h"
#include "core/model/graph.h"
#include "core/runtime/micro_batch.h"
#include "core/runtime/ndarray.h"

namespace lathe {

class ExecutionPlan;

struct ExecutorOptions {
    int threads = 0;  // OpenMP threads used by one run(); 0 means omp_get_max_threads() at compile time
    // Bytes of intermediates per value one slice of a large batch may hold (micro_batch.h); 0 never splits.
    int64_t microBatchBytes = kMicroBatchBytes;
    // False leaves constant Conv/Gemm/MatMul weights unpacked: a faster compile for a plan that runs once or only
    // learns shapes (valueShapes); runs stay correct but slower.
    bool packWeights = true;
};

// Wall time of one node during a run(), reported in execution order.
struct NodeTiming {
    std::string node;
    std::string opType;
    double milliseconds = 0;
};

// Float32 batched inference over a neutral Graph. Compiled once, run many times; run() is const and may be called
// from several threads at once. Integer tensors (shapes, indices) travel as exact floats (|v| < 2^24).
class Executor {
public:
    // Fails with ErrorCode::Unsupported naming every node whose op has no kernel (see unsupportedOps), or with the
    // node and reason when a supported op uses an unsupported attribute value.
    static Result<Executor> compile(const Graph& graph, const ExecutorOptions& options = {});
    // As compile, but the executor takes the float data of graph's initializers instead of copying it (a large
    // model's weights are not held twice, nor copied: ViT-B/16's 346 MB); until returnInitializers, graph's
    // initializers hold no values. When compiling fails they are back before this returns.
    static Result<Executor> compileBorrowing(Graph& graph, const ExecutorOptions& options = {});
    // Gives the borrowed data back to the graph it came from; the executor is spent (cannot run) afterwards.
    void returnInitializers(Graph& graph) &&;
    // "Op (node, node…)" entries for ops with no kernel; empty when the graph can run.
    static std::vector<std::string> unsupportedOps(const Graph& graph);

    // Runs one batch. `inputs` maps graph input names to arrays (any batch size); returns the graph outputs plus
    // every intermediate value named in `capture`. Other intermediates are freed after their last consumer ran.
    // When `timings` is given it receives one entry per executed step: a node, or a Conv/Gemm with the
    // BatchNormalization/Relu/Clip it absorbed ("conv1+bn1+relu1"; fusion is skipped when a capture needs the values
    // in between). A batch larger than microBatch() of a batch-separable graph runs slice by slice (same results);
    // runs with captures or timings run whole.
    Result<std::map<std::string, NDArray>> run(const std::map<std::string, NDArray>& inputs,
                                               const std::vector<std::string>& capture = {},
                                               std::vector<NodeTiming>* timings = nullptr) const;

    // Runs one batch unfused and returns the shape of every value of the graph (inputs, constants, intermediates and
    // outputs) as computed, without keeping the values. Conv, ConvTranspose, Gemm, MatMul and Einsum skip their
    // arithmetic (outputs of zeros), so only shapes that depend on the values of such outputs could differ.
    Result<std::map<std::string, std::vector<int64_t>>> valueShapes(const std::map<std::string, NDArray>& inputs) const;

    const std::vector<std::string>& inputNames() const;
    const std::vector<std::string>& outputNames() const;
    int threads() const;
    // Samples per slice of a split batch; 0 when batches are never split.
    int64_t microBatch() const { return m_microBatch; }

    Executor(Executor&&) noexcept;
    Executor& operator=(Executor&&) noexcept;
    ~Executor();

private:
    explicit Executor(std::unique_ptr<ExecutionPlan> plan, int64_t microBatch);
    std::unique_ptr<ExecutionPlan> m_plan;
    int64_t m_microBatch = 0;
};

}  // namespace lathe
