#include "core/compress/prune/channel_groups.h"

#include <algorithm>
#include <cmath>
#include <functional>
#include <map>
#include <numeric>
#include <set>
#include <span>
#include <unordered_map>

#include "core/compress/compressible_layer.h"
#include "core/model/model_summary.h"

namespace lathe {

namespace {

// Ops whose output channel c is a function of input channel c alone.
const std::set<std::string>& passOps() {
    static const std::set<std::string> ops = {
        "Relu",    "LeakyRelu", "Sigmoid",       "Tanh",          "Clip",        "HardSigmoid",       "HardSwish",
        "Elu",     "Selu",      "Celu",          "Softplus",      "Softsign",    "Identity",          "Dropout",
        "Neg",     "Abs",       "Exp",           "Log",           "Sqrt",        "Erf",               "Gelu",
        "Mish",    "ThresholdedRelu", "Sin",     "Cos",           "Floor",       "Ceil",              "Round",
        "Sign",    "Reciprocal", "Cast",         "MaxPool",       "AveragePool", "LpPool",            "GlobalAveragePool",
        "GlobalMaxPool", "GlobalLpPool", "BatchNormalization", "InstanceNormalization", "PRelu",
    };
    return ops;
}

const std::set<std::string>& binaryOps() {
    static const std::set<std::string> ops = {"Add", "Sub", "Mul", "Div", "Pow", "Max", "Min"};
    return ops;
}

// The analysis: a union-find over every (value, channel) element the rules reach.
class Builder {
public:
    explicit Builder(const Graph& graph) : m_graph(graph) {
        for (const Node& node : graph.nodes)
            for (const auto& in : node.inputs) ++m_uses[in];
    }

    ChannelGroups run() {
        for (const auto& in : m_graph.inputs)
            if (track(in)) blockValue(in, "its channels come from the graph input '" + in + "'");
        for (const Node& node : m_graph.nodes) visit(node);
        for (const auto& out : m_graph.outputs)
            if (m_values.count(out)) blockValue(out, "its channels reach the graph output '" + out + "'");
        return collect();
    }

private:
    struct Tracked {
        int64_t base = 0;
        int64_t count = 0;
        int axis = 1;
        int order = 0;  // first seen, in graph order; also the value's index in m_names
    };

    // --- elements -------------------------------------------------------------------------------------------------
    const ValueInfo* info(const std::string& v) const {
        const ValueInfo* i = m_graph.value(v);
        return i && i->hasShape && !m_graph.initializer(v) ? i : nullptr;
    }
    int rankOf(const std::string& v) const {
        const ValueInfo* i = info(v);
        return i ? int(i->shape.size()) : -1;
    }
    // Channels tracked over the whole graph at most: far above any real network's (ViT-B/16 tracks about 1M), far
    // below what a corrupt shape (a channel dim of 2^57) would make us allocate.
    static constexpr int64_t kMaxTrackedChannels = int64_t(1) << 24;

    // Starts tracking `v` with its channel axis; false when its shape is unknown, it has no such axis or its channels
    // would pass kMaxTrackedChannels.
    bool track(const std::string& v, int axis = 1) {
        if (m_values.count(v)) return true;
        const ValueInfo* i = info(v);
        if (!i || axis < 0 || axis >= int(i->shape.size()) || i->shape[size_t(axis)] <= 0) return false;
        if (i->shape[size_t(axis)] > kMaxTrackedChannels - int64_t(m_parent.size())) return false;
        if (i->dtype != DType::Float && i->dtype != DType::Float16 && i->dtype != DType::Double) return false;
        Tracked t{int64_t(m_parent.size()), i->shape[size_t(axis)], axis, int(m_names.size())};
        for (int64_t c = 0; c < t.count; ++c) {
            m_parent.push_back(int64_t(m_parent.size()));
            m_owner.push_back({t.order, c});
        }
        m_blocker.resize(m_parent.size(), -1);
        m_params.resize(m_parent.size());
        m_values.emplace(v, t);
        m_names.push_back(v);
        return true;
    }
    const Tracked* tracked(const std::string& v) const {
        auto it = m_values.find(v);
        return it == m_values.end() ? nullptr : &it->second;
    }
    int64_t find(int64_t e) {
        while (m_parent[size_t(e)] != e) e = m_parent[size_t(e)] = m_parent[size_t(m_parent[size_t(e)])];
        return e;
    }
    void unite(int64_t a, int64_t b) {
        a = find(a);
        b = find(b);
        if (a != b) m_parent[size_t(std::max(a, b))] = std::min(a, b);
    }
    int64_t element(const std::string& v, int64_t c) const { return m_values.at(v).base + c; }
    // Builder-wide id of an initializer name (ChannelParam::tensor while building; collect() makes it per group).
    int tensorId(const std::string& name) {
        auto [it, added] = m_tensorIds.emplace(name, int(m_tensorNames.size()));
        if (added) m_tensorNames.push_back(name);
        return it->second;
    }
    // How many node inputs read `v` (a node reading it twice counts twice).
    int uses(const std::string& v) const {
        auto it = m_uses.find(v);
        return it == m_uses.end() ? 0 : it->second;
    }

    void block(int64_t e, const std::string& why) {
        if (m_blocker[size_t(e)] >= 0) return;
        m_blocker[size_t(e)] = int(m_reasons.size());
        m_reasons.push_back(why);
    }
    void blockValue(const std::string& v, const std::string& why) {
        if (const Tracked* t = tracked(v))
            for (int64_t c = 0; c < t->count; ++c) block(t->base + c, why);
    }
    // Blocks every tracked float input and output of the node (the rule for ops it cannot follow).
    void blockNode(const Node& node, const std::string& why) {
        const std::string reason = node.opType + " node '" + node.name + "' " + why;
        for (const auto& v : node.inputs) blockValue(v, reason);
        for (const auto& v : node.outputs)
            if (track(v)) blockValue(v, reason);
    }

    // A weight entry that goes with element e; a weight shared with other nodes blocks it.
    void param(int64_t e, const Node& node, const std::string& init, int axis, int64_t index, ChannelParam::Role role) {
        const Tensor* t = m_graph.initializer(init);
        const bool floats = t && (t->dtype == DType::Float || t->dtype == DType::Float16 || t->dtype == DType::Double) &&
                            t->numel() > 0 && int64_t(t->data.size()) == t->numel();
        if (!floats || axis >= int(t->shape.size()) || index >= t->shape[size_t(axis)]) {
            block(e, node.opType + " node '" + node.name + "' reads '" + init + "', which is not a per-channel constant");
            return;
        }
        if (uses(init) != 1) {
            block(e, "the constant '" + init + "' of " + node.opType + " node '" + node.name +
                         "' is shared with other nodes");
            return;
        }
        m_params[size_t(e)].push_back({tensorId(init), axis, index, role, int(&node - m_graph.nodes.data())});
    }

    bool extraOutputsUsed(const Node& node) const {
        for (size_t i = 1; i < node.outputs.size(); ++i)
            if (!node.outputs[i].empty() && uses(node.outputs[i]) > 0) return true;
        return false;
    }

    // --- rules ----------------------------------------------------------------------------------------------------
    void visit(const Node& node) {
        const std::string& op = node.opType;
        if (node.inputs.empty() || node.outputs.empty()) {
            for (const auto& v : node.outputs)
                if (track(v)) blockValue(v, op + " node '" + node.name + "' makes it from no tracked input");
            return;
        }
        const std::string& x = node.inputs[0];
        const Tracked* in = tracked(x);
        if (op == "Conv" || op == "ConvTranspose") return conv(node);
        if (op == "Gemm" || op == "MatMul") return dense(node);
        if (binaryOps().count(op)) return binary(node);
        if (op == "Concat") return concat(node);
        if (!in) {
            // A tensor the analysis does not follow (a shape, an index) or a constant: its outputs start untracked
            // channels nobody makes, which block their groups if a layer reads them.
            for (const auto& v : node.outputs)
                if (track(v)) blockValue(v, op + " node '" + node.name + "' makes these channels from no layer");
            return;
        }
        if (passOps().count(op)) {
            if (extraOutputsUsed(node)) return blockNode(node, "has a second output in use");
            return pass(node, *in, [&](int64_t e, int64_t c) {
                if (op == "BatchNormalization" || op == "InstanceNormalization") {
                    const size_t last = op == "BatchNormalization" ? 5 : 3;
                    for (size_t i = 1; i < last && i < node.inputs.size(); ++i)
                        param(e, node, node.inputs[i], 0, c,
                              i == 1 ? ChannelParam::Role::NormScale : ChannelParam::Role::Norm);
                } else if (op == "PRelu" && node.inputs.size() > 1) {
                    operand(e, node, node.inputs[1], c, in->count, rankOf(x), in->axis);
                }
            });
        }
        if (op == "Pad") {
            const Tensor* pads = node.inputs.size() > 1 ? m_graph.initializer(node.inputs[1]) : nullptr;
            std::vector<int64_t> p = pads ? pads->ints : node.attrInts("pads");
            const size_t r = size_t(std::max(rankOf(x), 0));
            if (p.size() != 2 * r || p[size_t(in->axis)] != 0 || p[r + size_t(in->axis)] != 0)
                return blockNode(node, "pads the channel axis (or its pads are not constant)");
            return pass(node, *in, {});
        }
        if (op == "Transpose") {
            const auto perm = node.attrInts("perm");
            const auto it = std::find(perm.begin(), perm.end(), int64_t(in->axis));
            if (it == perm.end()) return blockNode(node, "has no explicit perm");
            return pass(node, *in, {}, int(it - perm.begin()));
        }
        if (op == "Squeeze" || op == "Unsqueeze") return squeeze(node, *in);
        if (op == "Flatten" || op == "Reshape") return flatten(node, *in);
        blockNode(node, "has no channel rule");
    }

    // out[c] ~ in[c] on the output's channel axis `outAxis` (default: the input's); `extra` adds weight entries.
    void pass(const Node& node, const Tracked& in, const std::function<void(int64_t, int64_t)>& extra = {},
              int outAxis = -1) {
        const std::string& y = node.outputs[0];
        const std::string& x = node.inputs[0];
        const int axis = outAxis < 0 ? in.axis : outAxis;
        if (!track(y, axis) || tracked(y)->count != in.count || tracked(y)->axis != axis)
            return blockNode(node, "changes the channel count, or its output shape is not known");
        for (int64_t c = 0; c < in.count; ++c) {
            unite(element(x, c), element(y, c));
            if (extra) extra(element(y, c), c);
        }
    }

    // A constant operand of an elementwise op on a value of `valueRank` whose channel axis is `axis`: a scalar or a
    // size-1 channel dim broadcasts; a per-channel vector is cut with the channel.
    void operand(int64_t e, const Node& node, const std::string& name, int64_t c, int64_t count, int valueRank,
                 int axis) {
        const Tensor* t = m_graph.initializer(name);
        if (!t || t->numel() == 1) return;
        const int constRank = int(t->shape.size());
        const int a = axis - (valueRank - constRank);
        if (a < 0 || t->shape[size_t(a)] == 1) return;
        if (t->shape[size_t(a)] != count)
            return block(e, node.opType + " node '" + node.name + "' reads the constant '" + name +
                                "', which does not broadcast per channel");
        param(e, node, name, a, c, ChannelParam::Role::Operand);
    }

    void binary(const Node& node) {
        const std::string& y = node.outputs[0];
        const int outRank = rankOf(y);
        // The channel axis of the output is that of its first tracked full-rank input.
        int axis = -1;
        for (const auto& v : node.inputs)
            if (const Tracked* t = tracked(v); t && rankOf(v) == outRank) axis = t->axis;
        if (axis < 0) {
            bool anyTracked = false;
            for (const auto& v : node.inputs) anyTracked |= tracked(v) != nullptr;
            if (anyTracked) return blockNode(node, "broadcasts its inputs in a way the channels cannot follow");
            if (track(y)) blockValue(y, node.opType + " node '" + node.name + "' makes these channels from no layer");
            return;
        }
        if (!track(y, axis)) return blockNode(node, "has an output shape that is not known");
        const int64_t count = tracked(y)->count;
        for (const auto& v : node.inputs) {
            if (m_graph.initializer(v)) {
                for (int64_t c = 0; c < count; ++c) operand(element(y, c), node, v, c, count, outRank, axis);
                continue;
            }
            const Tracked* t = tracked(v);
            const int a = axis - (outRank - rankOf(v));
            if (!t) {
                const ValueInfo* i = info(v);
                if (i && (a < 0 || (a < int(i->shape.size()) && i->shape[size_t(a)] == 1))) continue;
                return blockNode(node, "joins these channels with '" + v + "', which the analysis cannot follow");
            }
            if (a < 0 || t->axis != a) return blockNode(node, "joins tensors whose channel axes differ");
            if (t->count == 1 && count > 1) continue;  // broadcast along the channels
            if (t->count != count) return blockNode(node, "joins tensors with different channel counts");
            for (int64_t c = 0; c < count; ++c) unite(element(v, c), element(y, c));
        }
    }

    void concat(const Node& node) {
        const std::string& y = node.outputs[0];
        const int rank = rankOf(y);
        int64_t axis = node.attrInt("axis", 1);
        if (axis < 0) axis += rank;
        int channelAxis = -1;
        for (const auto& v : node.inputs)
            if (const Tracked* t = tracked(v)) channelAxis = t->axis;
        if (channelAxis < 0) channelAxis = 1;
        if (!track(y, channelAxis)) return blockNode(node, "has an output shape that is not known");
        if (axis == channelAxis) {
            int64_t offset = 0;
            for (const auto& v : node.inputs) {
                if (!track(v, channelAxis)) return blockNode(node, "concatenates a tensor of unknown channels");
                const Tracked& t = m_values.at(v);
                if (t.axis != channelAxis) return blockNode(node, "concatenates tensors whose channel axes differ");
                if (offset + t.count > tracked(y)->count)
                    return blockNode(node, "has an output whose channel count is not the sum");
                for (int64_t c = 0; c < t.count; ++c) unite(element(v, c), element(y, offset + c));
                offset += t.count;
            }
            if (offset != tracked(y)->count) blockNode(node, "has an output whose channel count is not the sum");
            return;
        }
        for (const auto& v : node.inputs) {
            if (!track(v, channelAxis) || tracked(v)->count != tracked(y)->count || tracked(v)->axis != channelAxis)
                return blockNode(node, "concatenates tensors whose channels differ");
            for (int64_t c = 0; c < tracked(y)->count; ++c) unite(element(v, c), element(y, c));
        }
    }

    void conv(const Node& node) {
        const std::string& x = node.inputs[0];
        const std::string& y = node.outputs[0];
        const Tensor* w = node.inputs.size() > 1 ? m_graph.initializer(node.inputs[1]) : nullptr;
        const bool transpose = node.opType == "ConvTranspose";
        if (!w || w->shape.size() < 3) return blockNode(node, "has a weight that is not a constant");
        const Tracked* in = tracked(x);
        if (in && in->axis != 1) {
            // The analysis followed the input's channels on another axis (e.g. NHWC): they cannot be cut here.
            blockValue(x, node.opType + " node '" + node.name + "' reads them on axis 1, not on their channel axis");
            in = nullptr;
        }
        if (!track(y)) return blockNode(node, "has an output shape that is not known");
        const int64_t group = node.attrInt("group", 1);
        const std::string bias = node.inputs.size() > 2 ? node.inputs[2] : std::string();
        const int64_t cout = tracked(y)->count;
        const int64_t cin = in ? in->count : -1;
        if (group == 1) {
            for (int64_t c = 0; in && c < cin; ++c)
                param(element(x, c), node, node.inputs[1], transpose ? 0 : 1, c, ChannelParam::Role::Input);
            for (int64_t o = 0; o < cout; ++o) {
                param(element(y, o), node, node.inputs[1], transpose ? 1 : 0, o, ChannelParam::Role::Filter);
                if (!bias.empty()) param(element(y, o), node, bias, 0, o, ChannelParam::Role::Bias);
            }
            return;
        }
        if (!transpose && in && group == cin && w->shape[1] == 1 && cout % cin == 0) {
            // Depthwise (channel multiplier m): output channels c·m .. c·m+m−1 are input channel c's.
            const int64_t m = cout / cin;
            for (int64_t o = 0; o < cout; ++o) {
                unite(element(x, o / m), element(y, o));
                param(element(y, o), node, node.inputs[1], 0, o, ChannelParam::Role::Filter);
                if (!bias.empty()) param(element(y, o), node, bias, 0, o, ChannelParam::Role::Bias);
            }
            m_depthwise.push_back(node.name);
            return;
        }
        blockNode(node, "is a grouped convolution (group " + std::to_string(group) + ")");
    }

    // Gemm (transA 0) and MatMul with a constant 2-D weight on [batch, features].
    void dense(const Node& node) {
        const std::string& x = node.inputs[0];
        const std::string& y = node.outputs[0];
        const Tensor* w = node.inputs.size() > 1 ? m_graph.initializer(node.inputs[1]) : nullptr;
        const Tracked* in = tracked(x);
        const bool gemm = node.opType == "Gemm";
        if (!w || w->shape.size() != 2 || rankOf(x) != 2 || (gemm && node.attrInt("transA", 0) != 0))
            return blockNode(node, "is not a layer with a constant 2-D weight on [batch, features]");
        if (!track(y)) return blockNode(node, "has an output shape that is not known");
        const bool transB = gemm && node.attrInt("transB", 0) != 0;
        for (int64_t f = 0; in && f < in->count; ++f)
            param(element(x, f), node, node.inputs[1], transB ? 1 : 0, f, ChannelParam::Role::Input);
        const std::string bias = gemm && node.inputs.size() > 2 ? node.inputs[2] : std::string();
        const Tensor* c = bias.empty() ? nullptr : m_graph.initializer(bias);
        for (int64_t o = 0; o < tracked(y)->count; ++o) {
            param(element(y, o), node, node.inputs[1], transB ? 0 : 1, o, ChannelParam::Role::Filter);
            if (!bias.empty() && (!c || c->numel() != 1))
                param(element(y, o), node, bias, c ? int(c->shape.size()) - 1 : 0, o, ChannelParam::Role::Bias);
        }
    }

    void squeeze(const Node& node, const Tracked& in) {
        std::vector<int64_t> axes = node.attrInts("axes");
        if (node.inputs.size() > 1)
            if (const Tensor* t = m_graph.initializer(node.inputs[1])) axes = t->ints;
        const int rankIn = rankOf(node.inputs[0]);
        const int rankOut = rankOf(node.outputs[0]);
        if (rankIn < 0 || rankOut < 0 || axes.empty()) return blockNode(node, "has axes that are not constant");
        const bool un = node.opType == "Unsqueeze";
        int axis = in.axis;
        std::vector<int64_t> norm;
        for (int64_t a : axes) norm.push_back(a < 0 ? a + (un ? rankOut : rankIn) : a);
        std::sort(norm.begin(), norm.end());
        if (un) {
            for (int64_t a : norm)
                if (a <= axis) ++axis;
        } else {
            for (int64_t a : norm)
                if (a == in.axis) return blockNode(node, "removes the channel axis");
            axis -= int(std::count_if(norm.begin(), norm.end(), [&](int64_t a) { return a < in.axis; }));
        }
        pass(node, in, {}, axis);
    }

    // Flatten (axis 1) or a constant Reshape to [batch, features] of [N, ...] with the channels on any axis after
    // the batch (NCHW, or NHWC after a Transpose): feature f is channel (f / inner) mod C, inner being the size of
    // the axes after the channel axis.
    void flatten(const Node& node, const Tracked& in) {
        const std::string& x = node.inputs[0];
        const std::string& y = node.outputs[0];
        const ValueInfo* xi = info(x);
        const ValueInfo* yi = info(y);
        if (!xi || !yi || in.axis < 1 || yi->shape.size() != 2)
            return blockNode(node, "reshapes the channels into something other than [batch, features]");
        int64_t perChannel = 1, inner = 1;
        for (size_t a = 1; a < xi->shape.size(); ++a)
            if (int(a) != in.axis) {
                perChannel *= xi->shape[a];
                if (int(a) > in.axis) inner *= xi->shape[a];
            }
        if (perChannel <= 0) return blockNode(node, "has an input whose size is not known");
        if (node.opType == "Flatten") {
            int64_t axis = node.attrInt("axis", 1);
            if (axis < 0) axis += int64_t(xi->shape.size());
            if (axis != 1) return blockNode(node, "flattens along another axis than 1");
        } else {
            const Tensor* shape = node.inputs.size() > 1 ? m_graph.initializer(node.inputs[1]) : nullptr;
            if (!shape || shape->ints.size() != 2 || shape->ints[0] > 0 ||
                (shape->ints[1] != -1 && shape->ints[1] != in.count * perChannel))
                return blockNode(node, "has a target shape other than a constant [batch, features]");
            if (shape->ints[1] != -1) {
                if (uses(node.inputs[1]) != 1)
                    return blockNode(node, "shares its shape constant with other nodes");
                m_reshapes.push_back({node.inputs[1], x, in.axis, perChannel});
            }
        }
        const int64_t features = in.count * perChannel;
        if (!track(y) || tracked(y)->count != features)
            return blockNode(node, "has an output whose size is not channels × the other axes");
        for (int64_t f = 0; f < features; ++f) unite(element(x, (f / inner) % in.count), element(y, f));
    }

    // --- groups ---------------------------------------------------------------------------------------------------
    ChannelGroups collect() {
        // Each root is one channel of a group; a group is the roots that span the same values. Elements are bucketed
        // by root (ascending element order within a root, as a counting sort keeps it).
        const int64_t n = int64_t(m_parent.size());
        std::vector<int64_t> rootOf(static_cast<size_t>(n)), start(static_cast<size_t>(n) + 1, 0);
        for (int64_t e = 0; e < n; ++e) ++start[size_t(rootOf[size_t(e)] = find(e)) + 1];
        for (int64_t r = 0; r < n; ++r) start[size_t(r) + 1] += start[size_t(r)];
        std::vector<int64_t> byRoot(static_cast<size_t>(n));
        {
            std::vector<int64_t> next(start.begin(), start.end() - 1);
            for (int64_t e = 0; e < n; ++e) byRoot[size_t(next[size_t(rootOf[size_t(e)])]++)] = e;
        }
        auto elementsOf = [&](int64_t root) {
            return std::span<const int64_t>(byRoot.data() + start[size_t(root)],
                                            size_t(start[size_t(root) + 1] - start[size_t(root)]));
        };
        // Signature: the value indices (= graph order) a root spans, ascending.
        std::map<std::vector<int>, std::vector<int64_t>> bySignature;
        std::vector<int> sig;
        for (int64_t root = 0; root < n; ++root) {
            if (rootOf[size_t(root)] != root) continue;
            sig.clear();
            for (int64_t e : elementsOf(root)) sig.push_back(m_owner[size_t(e)].first);
            std::sort(sig.begin(), sig.end());
            sig.erase(std::unique(sig.begin(), sig.end()), sig.end());
            bySignature[sig].push_back(root);
        }
        const std::set<std::string> graphOutputs(m_graph.outputs.begin(), m_graph.outputs.end());
        std::vector<int> axisOf(m_names.size());
        for (size_t v = 0; v < m_names.size(); ++v) axisOf[v] = m_values.at(m_names[v]).axis;
        ChannelGroups out;
        for (auto& [values, roots] : bySignature) {
            ChannelGroup g;
            for (int v : values) g.members.push_back(m_names[size_t(v)]);
            const int first = values.front();
            // Channel order: the channel's lowest index in the first member.
            auto firstIndex = [&](int64_t root) {
                int64_t best = INT64_MAX;
                for (int64_t e : elementsOf(root))
                    if (m_owner[size_t(e)].first == first) best = std::min(best, m_owner[size_t(e)].second);
                return best;
            };
            std::vector<std::pair<int64_t, int64_t>> ordered;  // (first index, root)
            ordered.reserve(roots.size());
            for (int64_t root : roots) ordered.push_back({firstIndex(root), root});
            std::sort(ordered.begin(), ordered.end());
            for (int v : values)
                if (graphOutputs.count(m_names[size_t(v)])) g.atGraphOutput = true;
            // Per-group tables: builder ids (initializer ids, node indices) to the group's own indices.
            std::map<int, int> localTensor, localNode;
            // A member's position: `values` is sorted (it is the group's signature).
            auto localMember = [&values](int v) {
                return int(std::lower_bound(values.begin(), values.end(), v) - values.begin());
            };
            auto local = [](std::map<int, int>& table, int id) {
                return table.emplace(id, int(table.size())).first->second;
            };
            std::set<int> makers, readers;  // node indices: ascending is graph order
            g.params.reserve(ordered.size());
            g.elements.reserve(ordered.size());
            for (const auto& [firstChannel, root] : ordered) {
                std::vector<ChannelParam> params;
                std::vector<ChannelElement> elements;
                bool made = false;
                for (int64_t e : elementsOf(root)) {
                    if (m_blocker[size_t(e)] >= 0 && g.blocker.empty()) g.blocker = m_reasons[size_t(m_blocker[size_t(e)])];
                    for (ChannelParam p : m_params[size_t(e)]) {
                        if (p.role == ChannelParam::Role::Filter) {
                            made = true;
                            makers.insert(p.node);
                        } else {
                            readers.insert(p.node);
                        }
                        p.tensor = local(localTensor, p.tensor);
                        p.node = local(localNode, p.node);
                        params.push_back(p);
                    }
                }
                elements.reserve(elementsOf(root).size());
                for (int64_t e : elementsOf(root)) {
                    const auto& [v, c] = m_owner[size_t(e)];
                    elements.push_back({localMember(v), axisOf[size_t(v)], c});
                }
                if (!made && g.blocker.empty())
                    g.blocker = "channel " + std::to_string(g.params.size()) + " of '" + g.members.front() +
                                "' is not made by a layer with weights";
                g.params.push_back(std::move(params));
                g.elements.push_back(std::move(elements));
            }
            g.channels = int64_t(ordered.size());
            g.tensors.resize(localTensor.size());
            for (const auto& [id, i] : localTensor) g.tensors[size_t(i)] = m_tensorNames[size_t(id)];
            g.nodes.resize(localNode.size());
            for (const auto& [id, i] : localNode) g.nodes[size_t(i)] = m_graph.nodes[size_t(id)].name;
            for (int n : makers) g.makers.push_back(m_graph.nodes[size_t(n)].name);
            g.layers = g.makers;
            for (int n : readers)
                if (!makers.count(n)) g.layers.push_back(m_graph.nodes[size_t(n)].name);
            out.groups.push_back(std::move(g));
        }
        std::stable_sort(out.groups.begin(), out.groups.end(), [&](const ChannelGroup& a, const ChannelGroup& b) {
            return m_values.at(a.members.front()).order < m_values.at(b.members.front()).order;
        });
        out.depthwise = m_depthwise;
        out.reshapes = m_reshapes;
        return out;
    }

    const Graph& m_graph;
    std::unordered_map<std::string, int> m_uses;       // value → node inputs that read it
    std::unordered_map<std::string, Tracked> m_values;
    std::vector<std::string> m_names;                  // tracked values, in the order first seen (Tracked::order)
    std::vector<int64_t> m_parent;
    std::vector<std::pair<int, int64_t>> m_owner;      // element → (value index in m_names, channel)
    std::unordered_map<std::string, int> m_tensorIds;  // initializer name → id (ChannelParam::tensor while building)
    std::vector<std::string> m_tensorNames;
    std::vector<int> m_blocker;                            // element → reason index, -1: none
    std::vector<std::string> m_reasons;
    std::vector<std::vector<ChannelParam>> m_params;  // element → weight entries
    std::vector<std::string> m_depthwise;
    std::vector<ReshapeTarget> m_reshapes;
};

// Sum of |x| (L1) or x² (L2) over index `index` along `axis` of t.
double sliceNorm(const Tensor& t, int axis, int64_t index, bool l2) {
    const int64_t inner = innerSize(t.shape, axis);
    const int64_t dim = t.shape[size_t(axis)];
    const int64_t outer = dim && inner ? t.numel() / (dim * inner) : 0;
    double s = 0;
    for (int64_t o = 0; o < outer; ++o) {
        const float* p = t.data.data() + (o * dim + index) * inner;
        for (int64_t i = 0; i < inner; ++i) s += l2 ? double(p[i]) * p[i] : std::fabs(double(p[i]));
    }
    return s;
}

}  // namespace

std::vector<double> filterL1Norms(const Tensor& weight) {
    if (weight.shape.empty() || weight.shape[0] == 0) return {};
    std::vector<double> norms(size_t(weight.shape[0]));
    for (int64_t c = 0; c < weight.shape[0]; ++c) norms[size_t(c)] = sliceNorm(weight, 0, c, false);
    return norms;
}

std::vector<int64_t> strongestChannels(const std::vector<double>& importance, int64_t keep) {
    std::vector<int64_t> order(importance.size());
    std::iota(order.begin(), order.end(), int64_t(0));
    keep = std::clamp<int64_t>(keep, 0, int64_t(importance.size()));
    std::stable_sort(order.begin(), order.end(),
                     [&](int64_t a, int64_t b) { return importance[size_t(a)] > importance[size_t(b)]; });
    order.resize(size_t(keep));
    std::sort(order.begin(), order.end());
    return order;
}

int ChannelGroups::groupMadeBy(const std::string& nodeName) const {
    for (size_t g = 0; g < groups.size(); ++g)
        if (std::find(groups[g].makers.begin(), groups[g].makers.end(), nodeName) != groups[g].makers.end())
            return int(g);
    return -1;
}

LayerChannels channelsOfLayer(const Graph& graph, const ChannelGroups& groups, const std::string& nodeName) {
    LayerChannels out;
    out.group = groups.groupMadeBy(nodeName);
    if (out.group < 0) {
        const int idx = graph.nodeIndex(nodeName);
        out.refusal = nodeName + (idx >= 0 ? " (" + graph.nodes[size_t(idx)].opType + ")" : std::string()) +
                      " makes no channels that structured pruning can follow";
        return out;
    }
    const ChannelGroup& g = groups.groups[size_t(out.group)];
    out.channels = g.channels;
    out.layers.push_back(nodeName);
    for (const auto& l : g.layers)
        if (l != nodeName) out.layers.push_back(l);
    out.refusal = g.blocker;
    return out;
}

ChannelGroups findChannelGroups(const Graph& graph) { return Builder(graph).run(); }

ChannelSaving channelSaving(const Graph& graph, const ChannelGroup& group, int64_t removed) {
    ChannelSaving saving;
    if (group.params.empty() || removed <= 0) return saving;
    // Entries per channel along each (initializer, axis): every channel has the same count (channel 0's).
    std::map<std::string, std::map<int, int64_t>> perChannel;
    std::map<std::string, std::string> nodeOf;
    for (const auto& p : group.params[0]) {
        const std::string& init = group.tensors[size_t(p.tensor)];
        ++perChannel[init][p.axis];
        nodeOf[init] = group.nodes[size_t(p.node)];
    }
    for (const auto& [init, axes] : perChannel) {
        const Tensor& t = graph.initializers.at(init);
        double kept = 1;
        for (const auto& [axis, count] : axes)
            kept *= std::max(0.0, 1.0 - double(removed * count) / double(t.shape[size_t(axis)]));
        saving.params += t.numel() - std::llround(kept * double(t.numel()));
        // A layer's MACs scale with its weight (a Conv/Gemm/MatMul weight is its second input).
        const int idx = graph.nodeIndex(nodeOf.at(init));
        const Node& node = graph.nodes[size_t(idx)];
        if (node.inputs.size() > 1 && node.inputs[1] == init)
            if (auto macs = nodeMacs(graph, node)) saving.macs += *macs - std::llround(kept * double(*macs));
    }
    return saving;
}

std::vector<double> channelImportance(const Graph& graph, const ChannelGroup& group, ChannelImportance kind) {
    bool hasScale = false;
    for (const auto& ps : group.params)
        for (const auto& p : ps) hasScale |= p.role == ChannelParam::Role::NormScale;
    if (kind == ChannelImportance::BnScale && !hasScale) kind = ChannelImportance::L1;
    std::vector<double> importance(group.params.size(), 0.0);
    for (size_t c = 0; c < group.params.size(); ++c)
        for (const auto& p : group.params[c]) {
            const Tensor& t = graph.initializers.at(group.tensors[size_t(p.tensor)]);
            if (kind == ChannelImportance::BnScale && p.role == ChannelParam::Role::NormScale)
                importance[c] += std::fabs(double(t.data[size_t(p.index)]));
            else if (kind == ChannelImportance::L1 && p.role == ChannelParam::Role::Filter)
                importance[c] += sliceNorm(t, p.axis, p.index, false);
            else if (kind == ChannelImportance::L2 && p.role == ChannelParam::Role::Filter)
                importance[c] += std::sqrt(sliceNorm(t, p.axis, p.index, true));
        }
    return importance;
}

Result<ChannelPruneResult> pruneChannelGroups(Graph& graph, const ChannelGroups& groups,
                                              const std::vector<GroupCut>& cuts) {
    std::map<std::pair<std::string, int>, std::set<int64_t>> removedParams;
    std::map<std::string, std::set<int64_t>> removedChannels;  // value → indices on its channel axis
    std::map<std::string, int> axisOf;
    std::set<std::string> touched;
    ChannelPruneResult result;
    for (const GroupCut& cut : cuts) {
        if (cut.group < 0 || cut.group >= int(groups.groups.size()))
            return makeError(ErrorCode::InvalidArgument, "channel pruning: no group " + std::to_string(cut.group));
        const ChannelGroup& g = groups.groups[size_t(cut.group)];
        const std::string name = "channel group of " + (g.makers.empty() ? g.members.front() : g.makers.front());
        if (!g.blocker.empty()) return makeError(ErrorCode::Unsupported, name + " cannot be pruned: " + g.blocker);
        if (cut.kept.empty()) return makeError(ErrorCode::InvalidArgument, name + ": at least one channel must stay");
        for (size_t i = 0; i < cut.kept.size(); ++i)
            if (cut.kept[i] < 0 || cut.kept[i] >= g.channels || (i && cut.kept[i] <= cut.kept[i - 1]))
                return makeError(ErrorCode::InvalidArgument, name + ": kept channels must be ascending and in 0.." +
                                                                 std::to_string(g.channels - 1));
        std::vector<bool> keep(size_t(g.channels), false);
        for (int64_t c : cut.kept) keep[size_t(c)] = true;
        for (int64_t c = 0; c < g.channels; ++c) {
            if (keep[size_t(c)]) continue;
            ++result.removedChannels;
            for (const auto& p : g.params[size_t(c)]) {
                removedParams[{g.tensors[size_t(p.tensor)], p.axis}].insert(p.index);
                touched.insert(g.nodes[size_t(p.node)]);
            }
            for (const auto& e : g.elements[size_t(c)]) {
                const std::string& value = g.members[size_t(e.member)];
                removedChannels[value].insert(e.index);
                axisOf[value] = e.axis;
            }
        }
    }
    // Cut every weight (each (initializer, axis) once, with all its removed indices).
    for (const auto& [key, removed] : removedParams) {
        const Tensor& t = graph.initializers.at(key.first);
        std::vector<int64_t> kept;
        for (int64_t i = 0; i < t.shape[size_t(key.second)]; ++i)
            if (!removed.count(i)) kept.push_back(i);
        result.slices.push_back({key.first, key.second, kept});
    }
    for (const auto& s : result.slices) putInitializer(graph, sliceAxis(graph.initializers.at(s.initializer), s.axis, s.kept));
    for (const auto& [value, removed] : removedChannels) {
        auto it = graph.values.find(value);
        if (it == graph.values.end() || !it->second.hasShape) continue;
        const size_t axis = size_t(axisOf.at(value));
        it->second.shape[axis] -= int64_t(removed.size());
        if (it->second.dimParams.size() > axis) it->second.dimParams[axis].clear();
    }
    for (const auto& name : groups.depthwise) {
        Node& node = graph.nodes[size_t(graph.nodeIndex(name))];
        const ValueInfo* x = graph.value(node.inputs[0]);
        if (x && x->hasShape && x->shape.size() > 1 && removedChannels.count(node.inputs[0])) {
            node.attributes["group"] = intAttribute(x->shape[1]);
            touched.insert(name);
        }
    }
    for (const auto& r : groups.reshapes) {
        if (!removedChannels.count(r.input)) continue;
        Tensor& t = graph.initializers.at(r.initializer);
        const int64_t features = graph.value(r.input)->shape[size_t(r.axis)] * r.perChannel;
        t.ints[1] = features;
        if (t.data.size() > 1) t.data[1] = float(features);
    }
    result.touchedNodes.assign(touched.begin(), touched.end());
    return result;
}

}  // namespace lathe
