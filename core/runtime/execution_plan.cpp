#include "core/runtime/execution_plan.h"

#include <omp.h>

#include <algorithm>
#include <chrono>
#include <new>
#include <set>
#include <stdexcept>

#include "core/runtime/op_registry.h"

namespace lathe {

namespace {

// Sets the calling thread's OpenMP team size (which Eigen follows too) for the lifetime of the object.
class OmpThreadsScope {
public:
    explicit OmpThreadsScope(int threads) : m_saved(omp_get_max_threads()) { omp_set_num_threads(threads); }
    ~OmpThreadsScope() { omp_set_num_threads(m_saved); }
    OmpThreadsScope(const OmpThreadsScope&) = delete;
    OmpThreadsScope& operator=(const OmpThreadsScope&) = delete;

private:
    int m_saved;
};

Error nodeError(const Node& node, const Error& error) {
    return makeError(error.code, "node '" + node.name + "' (" + node.opType + "): " + error.message);
}

// Runs a kernel, turning a refused allocation (a tensor too large, or memory exhausted) into an error.
Status guardedForward(const Kernel& kernel, KernelIo& io) {
    try {
        return kernel.forward(io);
    } catch (const std::length_error& e) {
        return makeError(ErrorCode::InvalidArgument, e.what());
    } catch (const std::bad_alloc&) {
        return makeError(ErrorCode::InvalidArgument, "not enough memory for its outputs");
    }
}

bool isDefaultDomain(const std::string& domain) { return domain.empty() || domain == "ai.onnx"; }

// Node indices in an order where every node comes after the producers of its inputs (file order when it already is).
Result<std::vector<int>> dependencyOrder(const Graph& graph) {
    std::set<std::string> available(graph.inputs.begin(), graph.inputs.end());
    for (const auto& [name, tensor] : graph.initializers) available.insert(name);
    std::vector<int> order;
    std::vector<char> placed(graph.nodes.size(), 0);
    while (order.size() < graph.nodes.size()) {
        const size_t before = order.size();
        for (size_t i = 0; i < graph.nodes.size(); ++i) {
            if (placed[i]) continue;
            const Node& node = graph.nodes[i];
            const bool ready = std::all_of(node.inputs.begin(), node.inputs.end(),
                                           [&](const std::string& in) { return in.empty() || available.count(in); });
            if (!ready) continue;
            placed[i] = 1;
            order.push_back(int(i));
            available.insert(node.outputs.begin(), node.outputs.end());
        }
        if (order.size() == before) {
            for (size_t i = 0; i < graph.nodes.size(); ++i) {
                if (placed[i]) continue;
                for (const std::string& in : graph.nodes[i].inputs)
                    if (!in.empty() && !available.count(in))
                        return makeError(ErrorCode::InvalidModel,
                                         "node '" + graph.nodes[i].name + "' (" + graph.nodes[i].opType + ") reads '" +
                                             in +
                                             "', which is neither a graph input, an initializer nor produced by a node "
                                             "(or the graph has a cycle)");
            }
        }
    }
    return order;
}

}  // namespace

struct ExecutionPlan::RunState {
    RunState(size_t values, int threads) : owned(values), view(values, nullptr), keep(values, 0), workspace(threads) {}

    std::vector<NDArray> owned;        // intermediates computed by this run
    std::vector<const NDArray*> view;  // where each value lives: owned, a constant or the caller's input
    std::vector<char> keep;            // graph outputs and captured values survive their last reader
    BufferPool pool;
    Workspace workspace;
};

std::vector<PlanStep> withoutSteps(std::vector<PlanStep> steps, const std::vector<char>& drop) {
    std::vector<PlanStep> kept;
    kept.reserve(steps.size());
    for (size_t s = 0; s < steps.size(); ++s)
        if (!drop[s]) kept.push_back(std::move(steps[s]));
    return kept;
}

DType declaredType(const Graph& graph, const std::string& name) {
    if (name.empty()) return DType::Undefined;
    if (const ValueInfo* info = graph.value(name); info && info->dtype != DType::Undefined) return info->dtype;
    const Tensor* initializer = graph.initializer(name);
    return initializer ? initializer->dtype : DType::Undefined;
}

ExecutionPlan::ExecutionPlan() = default;
ExecutionPlan::~ExecutionPlan() = default;

int ExecutionPlan::valueId(const std::string& name) {
    auto [it, inserted] = m_valueIds.emplace(name, int(m_valueNames.size()));
    if (inserted) {
        m_valueNames.push_back(name);
        m_constants.emplace_back();
        m_isIntermediate.push_back(0);
    }
    return it->second;
}

Result<std::unique_ptr<ExecutionPlan>> ExecutionPlan::compile(const Graph& graph, const ExecutorOptions& options) {
    auto plan = std::make_unique<ExecutionPlan>();
    for (const auto& [name, tensor] : graph.initializers)
        plan->m_constants[size_t(plan->valueId(name))] = std::make_unique<NDArray>(tensor.shape, tensor.data);
    if (auto status = plan->compileNodes(graph, options); !status) return status.error();
    return plan;
}

Result<std::unique_ptr<ExecutionPlan>> ExecutionPlan::compileBorrowing(Graph& lender, const ExecutorOptions& options) {
    auto plan = std::make_unique<ExecutionPlan>();
    for (auto& [name, tensor] : lender.initializers)
        plan->m_constants[size_t(plan->valueId(name))] =
            std::make_unique<NDArray>(tensor.shape, std::move(tensor.data));
    if (auto status = plan->compileNodes(lender, options); !status) {
        plan->returnInitializers(lender);
        return status.error();
    }
    return plan;
}

void ExecutionPlan::returnInitializers(Graph& lender) {
    for (auto& [name, tensor] : lender.initializers) {
        const auto it = m_valueIds.find(name);
        if (it == m_valueIds.end() || !m_constants[size_t(it->second)] || !tensor.data.empty()) continue;
        tensor.data = std::move(m_constants[size_t(it->second)]->data);
        m_constants[size_t(it->second)].reset();
    }
}

Status ExecutionPlan::compileNodes(const Graph& graph, const ExecutorOptions& options) {
    m_threads = std::max(1, options.threads > 0 ? options.threads : omp_get_max_threads());
    m_packWeights = options.packWeights;
    for (const std::string& name : graph.inputs) {
        m_inputNames.push_back(name);
        m_inputIds.push_back(valueId(name));
        const ValueInfo* info = graph.value(name);
        m_inputShapes.push_back(info && info->hasShape ? info->shape : std::vector<int64_t>{});
    }
    auto order = dependencyOrder(graph);
    if (!order) return order.error();
    OmpThreadsScope threads(m_threads);
    for (int index : order.value())
        if (auto status = addNode(graph, graph.nodes[size_t(index)]); !status) return status.error();
    for (const std::string& name : graph.outputs) {
        auto it = m_valueIds.find(name);
        if (it == m_valueIds.end())
            return makeError(ErrorCode::InvalidModel,
                             "graph output '" + name + "' is not produced by any node and is not a graph input");
        m_outputNames.push_back(name);
        m_outputIds.push_back(it->second);
    }
    m_fusedAway.assign(m_valueNames.size(), 0);
    fuseEpilogues(graph, fuseGeluChains(dropUnreadSteps(
                             fuseQuantizedAdds(graph, fuseQuantizedChains(graph, propagateDequantize(m_steps))))));
    planLiveness(m_steps);
    planLiveness(m_fusedSteps);
    return Ok{};
}

Status ExecutionPlan::addNode(const Graph& graph, const Node& node) {
    const KernelFactory factory = isDefaultDomain(node.domain) ? findKernelFactory(node.opType) : nullptr;
    if (!factory)
        return makeError(ErrorCode::UnsupportedOp, "node '" + node.name + "' uses op '" + node.opType +
                                                       "', which the built-in runtime does not implement");
    KernelContext context{node, graph.opset, {}, {}, {}, m_packWeights};
    if (auto it = graph.opsetImports.find(node.domain); it != graph.opsetImports.end()) context.opset = it->second;
    std::vector<int> inputIds;
    bool allConstant = true;
    for (const std::string& in : node.inputs) {
        const int id = in.empty() ? -1 : valueId(in);
        inputIds.push_back(id);
        const NDArray* constant = id < 0 ? nullptr : m_constants[size_t(id)].get();
        context.constants.push_back(constant);
        context.inputTypes.push_back(declaredType(graph, in));
        allConstant = allConstant && (id < 0 || constant);
    }
    for (const std::string& out : node.outputs) context.outputTypes.push_back(declaredType(graph, out));
    auto kernel = factory(context);
    if (!kernel) return nodeError(node, kernel.error());

    std::vector<int> outputIds;
    for (size_t i = 0; i < node.outputs.size(); ++i) {
        const std::string& out = node.outputs[i];
        outputIds.push_back(valueId(out.empty() ? "\x01" + node.name + ":" + std::to_string(i) : out));
    }
    if (allConstant) {
        std::vector<const NDArray*> inputs(context.constants.begin(), context.constants.end());
        std::vector<NDArray*> stealable(inputs.size(), nullptr);
        std::vector<NDArray> results(outputIds.size());
        std::vector<NDArray*> outputs;
        for (NDArray& r : results) outputs.push_back(&r);
        BufferPool pool;
        Workspace workspace(m_threads);
        KernelIo io(inputs, stealable, outputs, pool, workspace);
        if (auto status = guardedForward(*kernel.value(), io); !status) return nodeError(node, status.error());
        for (size_t i = 0; i < outputIds.size(); ++i)
            m_constants[size_t(outputIds[i])] = std::make_unique<NDArray>(std::move(results[i]));
        return Ok{};
    }
    for (int id : outputIds) m_isIntermediate[size_t(id)] = 1;
    PlanStep step;
    step.node = int(&node - graph.nodes.data());
    step.nodeName = node.name;
    step.opType = node.opType;
    step.kernel = std::move(kernel.value());
    step.inputs = std::move(inputIds);
    step.outputs = std::move(outputIds);
    m_steps.push_back(std::move(step));
    return Ok{};
}

ExecutionPlan::ValueUse ExecutionPlan::valueUse(const std::vector<PlanStep>& steps) const {
    ValueUse use{std::vector<int>(m_valueNames.size(), 0), std::vector<int>(m_valueNames.size(), -1),
                 std::vector<int>(m_valueNames.size(), -1)};
    for (size_t s = 0; s < steps.size(); ++s) {
        for (int id : steps[s].inputs)
            if (id >= 0) {
                ++use.readers[size_t(id)];
                use.reader[size_t(id)] = int(s);
            }
        for (int id : steps[s].outputs) use.producer[size_t(id)] = int(s);
    }
    for (int id : m_outputIds) use.readers[size_t(id)] = -1;
    return use;
}

std::vector<PlanStep> ExecutionPlan::dropUnreadSteps(std::vector<PlanStep> steps) {
    for (bool dropped = true; dropped;) {
        dropped = false;
        const ValueUse use = valueUse(steps);
        std::vector<char> unread(steps.size(), 0);
        for (size_t s = 0; s < steps.size(); ++s) {
            const std::vector<int>& outputs = steps[s].outputs;
            unread[s] = !outputs.empty() && std::all_of(outputs.begin(), outputs.end(),
                                                        [&](int id) { return use.readers[size_t(id)] == 0; });
            if (!unread[s]) continue;
            for (int id : outputs) m_fusedAway[size_t(id)] = 1;
            dropped = true;
        }
        steps = withoutSteps(std::move(steps), unread);
    }
    return steps;
}

void ExecutionPlan::fuseEpilogues(const Graph& graph, std::vector<PlanStep> steps) {
    // Shapes the reader's shape inference declared, complete but for the batch; equal ones can be added unbroadcast.
    auto sameDeclaredShape = [&](int a, int b) {
        const ValueInfo* x = graph.value(m_valueNames[size_t(a)]);
        const ValueInfo* y = graph.value(m_valueNames[size_t(b)]);
        if (!x || !y || !x->hasShape || !y->hasShape || x->shape != y->shape || x->shape.empty()) return false;
        return std::all_of(x->shape.begin() + 1, x->shape.end(), [](int64_t d) { return d > 0; });
    };
    // A constant whose only dimension above 1 is its last, and that cannot raise the rank of `value`: adding it
    // broadcasts one row over value's last axis.
    auto isRowOver = [&](const NDArray& c, int value) {
        if (c.rank() == 0 || c.numel() != c.shape.back()) return false;
        if (c.rank() == 1) return true;
        const ValueInfo* v = graph.value(m_valueNames[size_t(value)]);
        return v && v->hasShape && int(v->shape.size()) >= c.rank();
    };
    bool any = std::find(m_fusedAway.begin(), m_fusedAway.end(), 1) != m_fusedAway.end();  // int8 chains
    // Passes until one merges nothing: a merge can leave a value with a single reader that the next pass fuses
    // (Sigmoid and Mul become one SiLU step, which the Conv before them then takes as its epilogue).
    for (bool mergedAny = true; mergedAny;) {
        mergedAny = false;
        const ValueUse use = valueUse(steps);
        std::vector<char> absorbed(steps.size(), 0);
        std::vector<PlanStep> fused;
        for (size_t s = 0; s < steps.size(); ++s) {
            if (absorbed[s]) continue;
            PlanStep step = steps[s];
            while (step.outputs.size() == 1 && use.onlyReader(step.outputs[0]) >= 0) {
                const int value = step.outputs[0];
                const PlanStep& next = steps[size_t(use.reader[size_t(value)])];
                const bool onlyRuntimeInput = std::all_of(next.inputs.begin(), next.inputs.end(), [&](int id) {
                    return id == value || id < 0 || m_constants[size_t(id)];
                });
                std::optional<Epilogue> epilogue =
                    next.outputs.size() == 1 && onlyRuntimeInput ? next.kernel->asEpilogue() : std::nullopt;
                std::unique_ptr<Kernel> merged = epilogue ? step.kernel->withEpilogue(*epilogue) : nullptr;
                if (!merged && next.opType == "Add" && next.inputs.size() == 2 && next.outputs.size() == 1) {
                    // A constant bias row over the last axis (MatMul + Add: a linear layer as torch exports it).
                    const int other = next.inputs[0] == value ? next.inputs[1] : next.inputs[0];
                    const NDArray* bias = other >= 0 && other != value ? m_constants[size_t(other)].get() : nullptr;
                    if (bias && isRowOver(*bias, value)) merged = step.kernel->withRowBias(bias->data);
                }
                if (!merged && next.opType == "Add" && next.inputs.size() == 2 && next.outputs.size() == 1) {
                    // A residual Add: its other operand must exist before this step runs (a graph input, or produced
                    // by an earlier step).
                    const int other = next.inputs[0] == value ? next.inputs[1] : next.inputs[0];
                    const bool earlier = other >= 0 && other != value && !m_constants[size_t(other)] &&
                                         use.producer[size_t(other)] < int(s) && sameDeclaredShape(value, other);
                    if (earlier && (merged = step.kernel->withResidual(int(step.inputs.size()))))
                        step.inputs.push_back(other);
                }
                if (!merged && next.opType == "Mul" && next.inputs.size() == 2 && next.outputs.size() == 1 &&
                    step.inputs.size() == 1) {
                    // Mul(x, f(x)) of a pointwise f (SiLU: x · sigmoid(x)): one pass over x.
                    const int other = next.inputs[0] == value ? next.inputs[1] : next.inputs[0];
                    if (other == step.inputs[0] && other != value) merged = step.kernel->withTimesInput();
                }
                if (!merged) break;
                step.kernel = std::move(merged);
                step.nodeName += "+" + next.nodeName;
                step.opType += "+" + next.opType;
                step.outputs = next.outputs;
                m_fusedAway[size_t(value)] = 1;
                absorbed[size_t(use.reader[size_t(value)])] = 1;
                mergedAny = any = true;
            }
            fused.push_back(std::move(step));
        }
        steps = std::move(fused);
    }
    if (any) m_fusedSteps = std::move(steps);
}

void ExecutionPlan::planLiveness(std::vector<PlanStep>& steps) const {
    const ValueUse use = valueUse(steps);
    const std::vector<int>& lastReader = use.reader;
    const std::vector<int>& producer = use.producer;
    std::vector<char> isOutput(m_valueNames.size(), 0);
    for (int id : m_outputIds) isOutput[size_t(id)] = 1;
    for (size_t v = 0; v < m_valueNames.size(); ++v) {
        if (!m_isIntermediate[v] || isOutput[v] || producer[v] < 0) continue;
        const int dies = lastReader[v] >= 0 ? lastReader[v] : producer[v];
        steps[size_t(dies)].release.push_back(int(v));
    }
    for (size_t s = 0; s < steps.size(); ++s) {
        PlanStep& step = steps[s];
        step.lastRead.assign(step.inputs.size(), 0);
        for (size_t i = 0; i < step.inputs.size(); ++i) {
            const int id = step.inputs[i];
            if (id < 0 || !m_isIntermediate[size_t(id)] || isOutput[size_t(id)] || lastReader[size_t(id)] != int(s))
                continue;
            step.lastRead[i] = std::count(step.inputs.begin(), step.inputs.end(), id) == 1;
        }
    }
}

std::unique_ptr<ExecutionPlan::RunState> ExecutionPlan::acquireState() const {
    {
        std::lock_guard lock(m_idleMutex);
        if (!m_idle.empty()) {
            auto state = std::move(m_idle.back());
            m_idle.pop_back();
            return state;
        }
    }
    auto state = std::make_unique<RunState>(m_valueNames.size(), m_threads);
    for (size_t v = 0; v < m_constants.size(); ++v) state->view[v] = m_constants[v].get();
    return state;
}

void ExecutionPlan::releaseState(std::unique_ptr<RunState> state) const {
    for (size_t v = 0; v < state->owned.size(); ++v) {
        state->pool.give(std::move(state->owned[v].data));
        state->owned[v] = NDArray();
        state->view[v] = m_constants[v].get();
        state->keep[v] = 0;
    }
    std::lock_guard lock(m_idleMutex);
    m_idle.push_back(std::move(state));
}

Status ExecutionPlan::bindInputs(RunState& state, const std::map<std::string, NDArray>& inputs) const {
    for (const auto& [name, array] : inputs)
        if (std::find(m_inputNames.begin(), m_inputNames.end(), name) == m_inputNames.end()) {
            std::string known;
            for (const std::string& n : m_inputNames) known += (known.empty() ? "'" : ", '") + n + "'";
            return makeError(ErrorCode::InvalidArgument,
                             "'" + name + "' is not an input of the model; its inputs are " + known);
        }
    for (size_t i = 0; i < m_inputNames.size(); ++i) {
        const std::string& name = m_inputNames[i];
        auto it = inputs.find(name);
        if (it == inputs.end())
            return makeError(ErrorCode::InvalidArgument, "no array given for model input '" + name + "'");
        const NDArray& array = it->second;
        if (array.data.size() != size_t(array.numel()))
            return makeError(ErrorCode::InvalidArgument, "input '" + name + "' has shape " +
                                                             shapeToString(array.shape) + " (" +
                                                             std::to_string(array.numel()) + " values) but holds " +
                                                             std::to_string(array.data.size()) + " values");
        const std::vector<int64_t>& declared = m_inputShapes[i];
        bool matches = declared.empty() || declared.size() == array.shape.size();
        for (size_t d = 1; matches && d < declared.size(); ++d)
            matches = declared[d] < 0 || declared[d] == array.shape[d];
        if (!matches)
            return makeError(ErrorCode::InvalidArgument, "input '" + name + "' has shape " +
                                                             shapeToString(array.shape) + " but the model expects " +
                                                             shapeToString(declared) +
                                                             " (only the batch dimension may differ)");
        state.view[size_t(m_inputIds[i])] = &array;
    }
    return Ok{};
}

Result<std::map<std::string, NDArray>> ExecutionPlan::run(const std::map<std::string, NDArray>& inputs,
                                                          const std::vector<std::string>& capture,
                                                          std::vector<NodeTiming>* timings,
                                                          std::map<std::string, std::vector<int64_t>>* shapes) const {
    OmpThreadsScope threads(m_threads);
    std::unique_ptr<RunState> state = acquireState();
    auto fail = [&](Error error) -> Error {
        releaseState(std::move(state));
        return error;
    };
    if (auto status = bindInputs(*state, inputs); !status) return fail(status.error());
    std::vector<int> resultIds = m_outputIds;
    bool exact = m_fusedSteps.empty() || shapes;
    if (shapes) {
        for (size_t v = 0; v < m_constants.size(); ++v)
            if (m_constants[v]) (*shapes)[m_valueNames[v]] = m_constants[v]->shape;
        for (size_t i = 0; i < m_inputIds.size(); ++i)
            (*shapes)[m_inputNames[i]] = state->view[size_t(m_inputIds[i])]->shape;
    }
    for (const std::string& name : capture) {
        auto it = m_valueIds.find(name);
        if (it == m_valueIds.end() || name.empty() || name.front() == '\x01')
            return fail(
                makeError(ErrorCode::InvalidArgument, "cannot capture '" + name + "': the model has no such value"));
        resultIds.push_back(it->second);
        exact = exact || m_fusedAway[size_t(it->second)];
    }
    const std::vector<PlanStep>& steps = exact ? m_steps : m_fusedSteps;
    for (int id : resultIds) state->keep[size_t(id)] = 1;
    if (timings) timings->clear();

    std::vector<const NDArray*> in;
    std::vector<NDArray*> stealable;
    std::vector<NDArray*> out;
    for (const PlanStep& step : steps) {
        in.clear();
        stealable.clear();
        out.clear();
        for (size_t i = 0; i < step.inputs.size(); ++i) {
            const int id = step.inputs[i];
            in.push_back(id < 0 ? nullptr : state->view[size_t(id)]);
            stealable.push_back(step.lastRead[i] && !state->keep[size_t(id)] ? &state->owned[size_t(id)] : nullptr);
        }
        for (int id : step.outputs) out.push_back(&state->owned[size_t(id)]);
        KernelIo io(in, stealable, out, state->pool, state->workspace, shapes != nullptr);
        const auto start = std::chrono::steady_clock::now();
        if (auto status = guardedForward(*step.kernel, io); !status)
            return fail(makeError(status.error().code,
                                  "node '" + step.nodeName + "' (" + step.opType + "): " + status.error().message));
        if (timings)
            timings->push_back(NodeTiming{
                step.nodeName, step.opType,
                std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count()});
        for (int id : step.outputs) state->view[size_t(id)] = &state->owned[size_t(id)];
        if (shapes)
            for (int id : step.outputs)
                if (m_valueNames[size_t(id)].front() != '\x01')
                    (*shapes)[m_valueNames[size_t(id)]] = state->owned[size_t(id)].shape;
        for (int id : step.release) {
            if (state->keep[size_t(id)]) continue;
            state->pool.give(std::move(state->owned[size_t(id)].data));
            state->owned[size_t(id)] = NDArray();
            state->view[size_t(id)] = nullptr;
        }
    }

    std::map<std::string, NDArray> results;
    for (int id : resultIds) {
        const std::string& name = m_valueNames[size_t(id)];
        if (results.count(name)) continue;
        NDArray& owned = state->owned[size_t(id)];
        if (state->view[size_t(id)] == &owned && owned.data.capacity() > 2 * owned.data.size() + (size_t(1) << 14)) {
            // A pooled buffer far larger than the result (the pool hands out its best fit, which can be an
            // activation buffer of a larger batch): it stays in the pool and the caller gets an exact copy, or the
            // next run would allocate and page-fault that large buffer again.
            results[name] = NDArray(owned.shape, FloatBuffer(owned.data.begin(), owned.data.end()));
            state->pool.give(std::move(owned.data));
            owned = NDArray();
        } else if (state->view[size_t(id)] == &owned) {
            results[name] = std::move(owned);
        } else
            results[name] = *state->view[size_t(id)];
    }
    releaseState(std::move(state));
    return results;
}

}  // namespace lathe
