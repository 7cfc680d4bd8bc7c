#include "core/compress/prune/magnitude_filter_prune.h"

#include <algorithm>
#include <cmath>
#include <numeric>
#include <set>

#include "core/compress/compressible_layer.h"

namespace lathe {

namespace {

const std::set<std::string>& unaryOps() {
    static const std::set<std::string> ops = {
        "Relu",
        "LeakyRelu",
        "Sigmoid",
        "Tanh",
        "Clip",
        "HardSigmoid",
        "HardSwish",
        "Elu",
        "Selu",
        "Celu",
        "Softplus",
        "Softsign",
        "Identity",
        "Dropout",
        "Neg",
        "Abs",
        "Exp",
        "Log",
        "Sqrt",
        "Erf",
        "Gelu",
        "Mish",
        "ThresholdedRelu",
        "Sin",
        "Cos",
        "Floor",
        "Ceil",
        "Round",
        "Sign",
        "Reciprocal",
        "Cast",
        "PRelu",
    };
    return ops;
}

const std::set<std::string>& poolOps() {
    static const std::set<std::string> ops = {"MaxPool",           "AveragePool",   "LpPool",
                                              "GlobalAveragePool", "GlobalMaxPool", "GlobalLpPool"};
    return ops;
}

const std::set<std::string>& binaryOps() {
    static const std::set<std::string> ops = {"Add", "Sub", "Mul", "Div", "Pow", "Max", "Min"};
    return ops;
}

// Edits collected by the planner and applied only when the whole chain can be followed.
struct Plan {
    std::vector<FilterPruneResult::Slice> slices;
    std::vector<std::pair<std::string, int64_t>> channelDims;  // value name → new size of axis 1
    std::vector<std::pair<int, int64_t>> groups;               // node index → new group attribute
    std::vector<std::pair<std::string, int64_t>> reshapeDims;  // Reshape shape initializer → new value of dim 1
    std::set<int> visited;
    std::set<std::string> slicedInitializers;
    std::vector<std::string> touched;
};

class Planner {
public:
    Planner(const Graph& graph, std::string origin) : m_graph(graph), m_origin(std::move(origin)) {}

    Status follow(const std::string& value, const std::vector<int64_t>& kept, int64_t total, bool flat, Plan& plan) {
        for (const auto& out : m_graph.outputs)
            if (out == value)
                return refuse("its channels reach the graph output '" + value +
                              "', whose shape the model's users rely on");
        plan.channelDims.emplace_back(value, int64_t(kept.size()));
        for (int idx : m_graph.consumersOf(value)) {
            const Node& node = m_graph.nodes[size_t(idx)];
            if (!plan.visited.insert(idx).second)
                return refuse(
                    node.opType + " node '" + node.name +
                    "' receives the pruned channels along two paths; prune its inputs together or not at all");
            plan.touched.push_back(node.name);
            if (auto st = visit(idx, node, value, kept, total, flat, plan); !st) return st;
        }
        return Ok{};
    }

private:
    Status refuse(const std::string& why) const {
        return makeError(ErrorCode::Unsupported, "structured pruning of " + m_origin + ": " + why);
    }
    Status cannotFollow(const Node& node, const std::string& why) const {
        return refuse("cannot follow its channels through " + node.opType + " node '" + node.name + "' (" + why + ")");
    }

    int64_t dimOf(const std::string& value, size_t axis) const {
        if (const Tensor* t = m_graph.initializer(value)) return axis < t->shape.size() ? t->shape[axis] : -1;
        const ValueInfo* v = m_graph.value(value);
        return v && v->hasShape && axis < v->shape.size() ? v->shape[axis] : -1;
    }

    int rankOf(const std::string& value) const {
        const ValueInfo* v = m_graph.value(value);
        return v && v->hasShape ? int(v->shape.size()) : -1;
    }

    // Slices initializer `name` (read by this node only) along `axis`.
    Status slice(const Node& node, const std::string& name, int axis, std::vector<int64_t> kept, Plan& plan) {
        const Tensor* t = m_graph.initializer(name);
        if (!t) return cannotFollow(node, "'" + name + "' is not a constant");
        if (useCount(m_graph, name) != 1 || !plan.slicedInitializers.insert(name).second)
            return cannotFollow(node, "its constant '" + name + "' is shared with other nodes");
        if (axis >= int(t->shape.size())) return cannotFollow(node, "'" + name + "' has an unexpected shape");
        plan.slices.push_back({name, axis, std::move(kept)});
        return Ok{};
    }

    // A constant operand of an elementwise op: a scalar passes; a per-channel constant is sliced.
    Status sliceOperand(const Node& node, const std::string& name, const std::vector<int64_t>& kept, int64_t total,
                        int valueRank, Plan& plan) {
        const Tensor* t = m_graph.initializer(name);
        if (!t) return Ok{};
        if (t->numel() == 1) return Ok{};
        // Broadcast aligns trailing dims: the channel axis of the value (1) is axis 1 - (valueRank - constRank).
        const int constRank = int(t->shape.size());
        const int axis = 1 - (valueRank - constRank);
        if (valueRank < 0 || axis < 0 || t->shape[size_t(axis)] != total || t->numel() != total)
            return cannotFollow(node, "its constant '" + name + "' does not broadcast per channel");
        return slice(node, name, axis, kept, plan);
    }

    Status visit(int idx, const Node& node, const std::string& value, const std::vector<int64_t>& kept, int64_t total,
                 bool flat, Plan& plan) {
        const std::string& op = node.opType;
        const bool isData = !node.inputs.empty() && node.inputs[0] == value;
        auto usedOutputs = [&]() {
            int used = 0;
            for (size_t i = 1; i < node.outputs.size(); ++i)
                if (!node.outputs[i].empty() && !m_graph.consumersOf(node.outputs[i]).empty()) ++used;
            return used;
        };

        if (op == "BatchNormalization" && isData && !flat) {
            if (usedOutputs() > 0) return cannotFollow(node, "training-mode outputs are used");
            for (size_t i = 1; i < 5 && i < node.inputs.size(); ++i)
                if (auto st = slice(node, node.inputs[i], 0, kept, plan); !st) return st;
            return follow(node.outputs[0], kept, total, flat, plan);
        }
        if (unaryOps().count(op) && isData) {
            if (usedOutputs() > 0) return cannotFollow(node, "its second output is used");
            if (op == "PRelu" && node.inputs.size() > 1)
                if (auto st = sliceOperand(node, node.inputs[1], kept, total, rankOf(value), plan); !st) return st;
            return follow(node.outputs[0], kept, total, flat, plan);
        }
        if (poolOps().count(op) && isData && !flat) {
            if (usedOutputs() > 0) return cannotFollow(node, "its indices output is used");
            return follow(node.outputs[0], kept, total, flat, plan);
        }
        if (binaryOps().count(op) && node.inputs.size() == 2) {
            const std::string& other = node.inputs[0] == value ? node.inputs[1] : node.inputs[0];
            if (!m_graph.initializer(other))
                return refuse(op + " node '" + node.name + "' joins these channels with '" + other +
                              "', so both sides would have to lose the same channels; pruning such coupled groups "
                              "is not supported yet: leave " +
                              m_origin + " unpruned");
            if (auto st = sliceOperand(node, other, kept, total, rankOf(value), plan); !st) return st;
            return follow(node.outputs[0], kept, total, flat, plan);
        }
        if (op == "Conv" && isData && !flat) {
            const int64_t group = node.attrInt("group", 1);
            if (node.inputs.size() < 2 || !m_graph.initializer(node.inputs[1]))
                return cannotFollow(node, "its weight is not a constant");
            const Tensor& w = *m_graph.initializer(node.inputs[1]);
            if (group == 1) return slice(node, node.inputs[1], 1, kept, plan);
            if (group == total && w.shape.size() >= 2 && w.shape[1] == 1) {
                // Depthwise: each input channel owns `mult` output channels; those go as well.
                const int64_t mult = w.shape[0] / group;
                std::vector<int64_t> outKept;
                for (int64_t c : kept)
                    for (int64_t j = 0; j < mult; ++j) outKept.push_back(c * mult + j);
                if (auto st = slice(node, node.inputs[1], 0, outKept, plan); !st) return st;
                if (node.inputs.size() > 2 && !node.inputs[2].empty())
                    if (auto st = slice(node, node.inputs[2], 0, outKept, plan); !st) return st;
                plan.groups.emplace_back(idx, int64_t(kept.size()));
                return follow(node.outputs[0], outKept, w.shape[0], false, plan);
            }
            return cannotFollow(node, "grouped convolution with group " + std::to_string(group));
        }
        if (op == "ConvTranspose" && isData && !flat && node.attrInt("group", 1) == 1)
            return slice(node, node.inputs[1], 0, kept, plan);
        if ((op == "Flatten" || op == "Reshape") && isData && !flat) {
            const int rank = rankOf(value);
            int64_t spatial = rank >= 2 ? 1 : -1;
            for (int a = 2; a < rank && spatial > 0; ++a) {
                const int64_t d = dimOf(value, size_t(a));
                spatial = d > 0 ? spatial * d : -1;
            }
            if (spatial <= 0) return cannotFollow(node, "the shape of its input is not known");
            if (op == "Flatten") {
                int64_t axis = node.attrInt("axis", 1);
                if (axis < 0) axis += rank;
                if (axis != 1) return cannotFollow(node, "only Flatten with axis 1 keeps channels together");
            } else {
                const Tensor* shape = node.inputs.size() > 1 ? m_graph.initializer(node.inputs[1]) : nullptr;
                if (!shape || shape->ints.size() != 2 || shape->ints[0] > 0)
                    return cannotFollow(node, "only a constant reshape to [batch, features] is supported");
                if (shape->ints[1] != -1) {
                    if (shape->ints[1] != total * spatial) return cannotFollow(node, "unexpected target shape");
                    if (useCount(m_graph, node.inputs[1]) != 1)
                        return cannotFollow(node, "its shape constant is shared with other nodes");
                    plan.reshapeDims.emplace_back(node.inputs[1], int64_t(kept.size()) * spatial);
                }
            }
            std::vector<int64_t> features;
            for (int64_t c : kept)
                for (int64_t j = 0; j < spatial; ++j) features.push_back(c * spatial + j);
            return follow(node.outputs[0], features, total * spatial, true, plan);
        }
        if (op == "Gemm" && isData && rankOf(value) == 2) {
            if (node.attrInt("transA", 0) != 0) return cannotFollow(node, "transA is set");
            const int axis = node.attrInt("transB", 0) != 0 ? 1 : 0;
            return slice(node, node.inputs[1], axis, kept, plan);
        }
        if (op == "MatMul" && isData && rankOf(value) == 2 && node.inputs.size() == 2) {
            const Tensor* w = m_graph.initializer(node.inputs[1]);
            if (!w || w->shape.size() != 2) return cannotFollow(node, "its weight is not a constant matrix");
            return slice(node, node.inputs[1], 0, kept, plan);
        }
        if (op == "Concat") {
            const int rank = rankOf(value);
            int64_t axis = node.attrInt("axis", 1);
            if (axis < 0) axis += rank;
            if (axis != 1) return cannotFollow(node, "it concatenates along another axis than channels");
            std::vector<int64_t> outKept;
            int64_t offset = 0;
            for (const auto& in : node.inputs) {
                const int64_t dim = in == value ? total : dimOf(in, 1);
                if (dim < 0) return cannotFollow(node, "the channel count of '" + in + "' is not known");
                if (in == value) {
                    for (int64_t c : kept) outKept.push_back(offset + c);
                } else {
                    for (int64_t c = 0; c < dim; ++c) outKept.push_back(offset + c);
                }
                offset += dim;
            }
            return follow(node.outputs[0], outKept, offset, flat, plan);
        }
        return cannotFollow(node, "no channel rule for this op");
    }

    const Graph& m_graph;
    std::string m_origin;
};

Result<Plan> planRemoval(const Graph& graph, int nodeIndex, const std::vector<int64_t>& kept) {
    const Node& node = graph.nodes[size_t(nodeIndex)];
    const Tensor& w = graph.initializers.at(node.inputs[1]);
    Plan plan;
    plan.visited.insert(nodeIndex);
    Planner planner(graph, node.name);
    if (useCount(graph, node.inputs[1]) != 1)
        return makeError(ErrorCode::Unsupported, "structured pruning of " + node.name + ": its weight '" +
                                                     node.inputs[1] + "' is shared with other nodes");
    plan.slices.push_back({node.inputs[1], 0, kept});
    plan.slicedInitializers.insert(node.inputs[1]);
    if (node.inputs.size() > 2 && !node.inputs[2].empty()) {
        if (!graph.initializer(node.inputs[2]) || useCount(graph, node.inputs[2]) != 1)
            return makeError(ErrorCode::Unsupported, "structured pruning of " + node.name + ": its bias '" +
                                                         node.inputs[2] + "' is not a constant of its own");
        plan.slices.push_back({node.inputs[2], 0, kept});
        plan.slicedInitializers.insert(node.inputs[2]);
    }
    if (auto st = planner.follow(node.outputs[0], kept, w.shape[0], false, plan); !st) return st.error();
    return plan;
}

}  // namespace

std::vector<double> filterL1Norms(const Tensor& weight) {
    if (weight.shape.empty() || weight.shape[0] == 0) return {};
    const int64_t channels = weight.shape[0], inner = weight.numel() / channels;
    std::vector<double> norms(size_t(channels), 0.0);
    for (int64_t c = 0; c < channels; ++c)
        for (int64_t j = 0; j < inner; ++j) norms[size_t(c)] += std::fabs(double(weight.data[size_t(c * inner + j)]));
    return norms;
}

std::vector<int64_t> strongestFilters(const std::vector<double>& norms, int64_t keep) {
    std::vector<int64_t> order(norms.size());
    std::iota(order.begin(), order.end(), int64_t(0));
    keep = std::clamp<int64_t>(keep, 0, int64_t(norms.size()));
    std::stable_sort(order.begin(), order.end(),
                     [&](int64_t a, int64_t b) { return norms[size_t(a)] > norms[size_t(b)]; });
    order.resize(size_t(keep));
    std::sort(order.begin(), order.end());
    return order;
}

bool filterPruneApplies(const Graph& graph, int nodeIndex) {
    auto lw = layerWeight(graph, nodeIndex);
    return lw && lw->opType == "Conv" && graph.nodes[size_t(nodeIndex)].attrInt("group", 1) == 1;
}

Status checkFilterPrune(const Graph& graph, int nodeIndex) {
    if (!filterPruneApplies(graph, nodeIndex)) return Ok{};
    const Tensor& w = graph.initializers.at(graph.nodes[size_t(nodeIndex)].inputs[1]);
    std::vector<int64_t> kept(size_t(std::max<int64_t>(w.shape[0] - 1, 0)));
    std::iota(kept.begin(), kept.end(), int64_t(0));
    auto plan = planRemoval(graph, nodeIndex, kept);
    if (!plan) return plan.error();
    return Ok{};
}

Result<FilterPruneResult> removeFilters(Graph& graph, int nodeIndex, std::vector<int64_t> kept) {
    FilterPruneResult result;
    if (!filterPruneApplies(graph, nodeIndex)) return result;
    const Node& node = graph.nodes[size_t(nodeIndex)];
    const Tensor& w = graph.initializers.at(node.inputs[1]);
    result.channels = w.shape[0];
    result.l1Norms = filterL1Norms(w);
    for (size_t i = 0; i < kept.size(); ++i)
        if (kept[i] < 0 || kept[i] >= result.channels || (i > 0 && kept[i] <= kept[i - 1]))
            return makeError(ErrorCode::InvalidArgument, "structured pruning of " + node.name +
                                                             ": kept channels must be ascending and in 0.." +
                                                             std::to_string(result.channels - 1));
    if (kept.empty())
        return makeError(ErrorCode::InvalidArgument,
                         "structured pruning of " + node.name + ": at least one output channel must be kept");
    result.kept = kept;
    if (int64_t(kept.size()) == result.channels) return result;

    auto plan = planRemoval(graph, nodeIndex, kept);
    if (!plan) return plan.error();
    for (const auto& s : plan->slices)
        putInitializer(graph, sliceAxis(graph.initializers.at(s.initializer), s.axis, s.kept));
    for (const auto& [name, size] : plan->channelDims) {
        auto it = graph.values.find(name);
        if (it != graph.values.end() && it->second.hasShape && it->second.shape.size() > 1) {
            it->second.shape[1] = size;
            if (it->second.dimParams.size() > 1) it->second.dimParams[1].clear();
        }
    }
    for (const auto& [idx, group] : plan->groups) graph.nodes[size_t(idx)].attributes["group"] = intAttribute(group);
    for (const auto& [name, size] : plan->reshapeDims) {
        Tensor& t = graph.initializers.at(name);
        t.ints[1] = size;
        if (t.data.size() > 1) t.data[1] = float(size);
    }
    result.applied = true;
    result.slices = std::move(plan->slices);
    result.touchedNodes = std::move(plan->touched);
    return result;
}

Result<FilterPruneResult> magnitudeFilterPrune(Graph& graph, int nodeIndex, int64_t keep) {
    if (!filterPruneApplies(graph, nodeIndex)) return FilterPruneResult{};
    const Node& node = graph.nodes[size_t(nodeIndex)];
    const Tensor& w = graph.initializers.at(node.inputs[1]);
    if (keep < 1 || keep > w.shape[0])
        return makeError(ErrorCode::InvalidArgument, "prune.structured.keep: " + std::to_string(keep) +
                                                         " is outside 1.." + std::to_string(w.shape[0]) +
                                                         ", the output channels of " + node.name);
    return removeFilters(graph, nodeIndex, strongestFilters(filterL1Norms(w), keep));
}

}  // namespace lathe
