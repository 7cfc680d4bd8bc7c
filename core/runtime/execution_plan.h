#pragma once

#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "core/common/result.h"
#include "core/model/graph.h"
#include "core/runtime/executor.h"
#include "core/runtime/kernel.h"
#include "core/runtime/ndarray.h"

namespace lathe {

// One step of the plan: a node (or a node with fused epilogue nodes), its kernel, the value slots it reads and
// writes, and what dies after it.
struct PlanStep {
    int node = -1;         // index in the compiled graph's nodes (the first of a fused step's own nodes)
    std::string nodeName;  // fused steps join their nodes: "conv1+bn1+relu1"
    std::string opType;    // likewise "Conv+BatchNormalization+Relu"
    std::shared_ptr<const Kernel> kernel;
    std::vector<int> inputs;     // value ids; -1 for an omitted optional input
    std::vector<int> outputs;    // value ids; omitted optional outputs get an anonymous slot
    std::vector<char> lastRead;  // per input: this step is the only and last reader of an intermediate
    std::vector<int> release;    // intermediates dead after this step unless the run keeps them
};

// The compiled form of a Graph: nodes in dependency order with their kernels, constants folded at compile time, and
// liveness so that a run frees each intermediate after its last reader. Two step lists: the exact one (one step per
// node) and, when any fusion applies, a fused one where Conv/Gemm absorb a following BatchNormalization/Relu/Clip,
// and a Conv a residual Add of an equally shaped value computed before it (then the Relu/Clip after the Add), a
// MatMul/Gemm the Add of a constant bias row (the bias seeds the sum), and
// Sigmoid the Mul of its output with its own input (SiLU, one pass); the five steps of an exported exact GELU become
// one Gelu step. A run uses the fused list unless it captures a value that only the exact list computes. The declared
// element type of a value or initializer (Undefined when unknown).
DType declaredType(const Graph& graph, const std::string& name);
// `steps` without those whose entry in `drop` is set (the parts a rewrite rule merged into another step).
std::vector<PlanStep> withoutSteps(std::vector<PlanStep> steps, const std::vector<char>& drop);
// Whether the codes of a QuantizeLinear / DequantizeLinear are int8: the declared type of its zero point, else of its
// codes (`codes`: the DequantizeLinear input or QuantizeLinear output); uint8 when neither is declared.
bool quantizedCodesSigned(const Graph& graph, const std::string& zero, const std::string& codes);

class ExecutionPlan {
public:
    ExecutionPlan();
    ~ExecutionPlan();

    // Errors name the node (and op) that cannot be compiled.
    static Result<std::unique_ptr<ExecutionPlan>> compile(const Graph& graph, const ExecutorOptions& options);
    // As compile, but the plan takes the float data of `lender`'s initializers instead of copying it;
    // returnInitializers gives it back (also done here when compiling fails).
    static Result<std::unique_ptr<ExecutionPlan>> compileBorrowing(Graph& lender, const ExecutorOptions& options);
    void returnInitializers(Graph& lender);

    // See Executor::run. With `shapes`, runs the exact (unfused) steps in shapes-only mode (KernelIo::shapesOnly) and
    // adds the shape of every value, constants included, as it is computed.
    Result<std::map<std::string, NDArray>> run(const std::map<std::string, NDArray>& inputs,
                                               const std::vector<std::string>& capture,
                                               std::vector<NodeTiming>* timings,
                                               std::map<std::string, std::vector<int64_t>>* shapes = nullptr) const;

    const std::vector<std::string>& inputNames() const { return m_inputNames; }
    const std::vector<std::string>& outputNames() const { return m_outputNames; }
    int threads() const { return m_threads; }

private:
    struct RunState;

    // Per value id, over a list of steps: how many steps read it (-1 for graph outputs: read from outside), the
    // last step that reads it and the step that produces it (-1: none).
    struct ValueUse {
        std::vector<int> readers, reader, producer;
        // The step that alone reads `value`, or -1.
        int onlyReader(int value) const { return readers[size_t(value)] == 1 ? reader[size_t(value)] : -1; }
    };
    ValueUse valueUse(const std::vector<PlanStep>& steps) const;

    int valueId(const std::string& name);
    // Everything of compile after the initializers became constants.
    Status compileNodes(const Graph& graph, const ExecutorOptions& options);
    Status addNode(const Graph& graph, const Node& node);
    // `steps` with int8 steps in place of DequantizeLinear → Conv/MatMul/Gemm → QuantizeLinear chains
    // (qdq_fusion.cpp); marks the values they no longer compute in m_fusedAway.
    std::vector<PlanStep> fuseQuantizedChains(const Graph& graph, const std::vector<PlanStep>& steps);
    // `steps` with each per-tensor DequantizeLinear moved after its only reader when that reader only selects or
    // moves elements (MaxPool, Flatten, Reshape, Transpose, Squeeze, Unsqueeze), which then runs on the codes
    // (dq_propagation.cpp); marks the values it no longer computes in m_fusedAway.
    std::vector<PlanStep> propagateDequantize(std::vector<PlanStep> steps);
    // `steps` with one Gelu step in place of each Div → Erf → Add → Mul → Mul chain of the exact GELU
    // (gelu_fusion.cpp); marks the values it no longer computes in m_fusedAway.
    std::vector<PlanStep> fuseGeluChains(std::vector<PlanStep> steps);
    // `steps` with one step on the codes in place of each DequantizeLinear(a) + DequantizeLinear(b) (→ Relu / Clip)
    // → QuantizeLinear (qdq_add_fusion.cpp); marks the values it no longer computes in m_fusedAway.
    std::vector<PlanStep> fuseQuantizedAdds(const Graph& graph, std::vector<PlanStep> steps);
    // `steps` without the steps whose outputs nothing reads (a DequantizeLinear whose readers all became int8 steps
    // on its codes), repeated until none is left; marks their outputs in m_fusedAway.
    std::vector<PlanStep> dropUnreadSteps(std::vector<PlanStep> steps);
    // Input i of `step` when it is a one-element constant (a scale or zero point), `fallback` when it is omitted,
    // nullopt otherwise.
    std::optional<float> scalarConstant(const PlanStep& step, size_t i, float fallback) const;
    // Builds m_fusedSteps from `steps` (the exact steps, or fuseQuantizedChains'), absorbing epilogues.
    void fuseEpilogues(const Graph& graph, std::vector<PlanStep> steps);
    void planLiveness(std::vector<PlanStep>& steps) const;
    Status bindInputs(RunState& state, const std::map<std::string, NDArray>& inputs) const;
    std::unique_ptr<RunState> acquireState() const;
    void releaseState(std::unique_ptr<RunState> state) const;

    int m_threads = 1;
    bool m_packWeights = true;
    std::vector<std::string> m_valueNames;
    std::map<std::string, int> m_valueIds;
    std::vector<std::unique_ptr<NDArray>> m_constants;  // per value id; null unless known at compile time
    std::vector<char> m_isIntermediate;                 // per value id: produced by a step
    std::vector<std::string> m_inputNames;
    std::vector<std::string> m_outputNames;
    std::vector<int> m_inputIds;
    std::vector<int> m_outputIds;
    std::vector<std::vector<int64_t>> m_inputShapes;  // declared; -1 for free dimensions
    std::vector<PlanStep> m_steps;
    std::vector<PlanStep> m_fusedSteps;  // empty when nothing fused
    std::vector<char> m_fusedAway;       // per value id: not computed by the fused steps

    mutable std::mutex m_idleMutex;
    mutable std::vector<std::unique_ptr<RunState>> m_idle;  // run states (buffers) reused by later runs
};

}  // namespace lathe
