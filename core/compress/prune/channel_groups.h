#pragma once
// The channel-dependency graph of a model: tensors whose channels must stay aligned form a group, and removing a
// channel of a group removes it from every member (Torch-Pruning's dependency graph, over ONNX).

#include <cstdint>
#include <string>
#include <vector>

#include "core/common/result.h"
#include "core/model/graph.h"

namespace lathe {

// One cut of a weight: index `index` along `axis` of the initializer ChannelGroup::tensors[tensor].
struct ChannelParam {
    enum class Role {
        Filter,    // an output filter of the layer that makes the channel (Conv/Gemm/MatMul row or column)
        Bias,      // that layer's bias entry
        Norm,      // BatchNormalization/InstanceNormalization scale, B, mean or var entry
        NormScale, // the scale (γ) entry of a normalization: Network Slimming's importance
        Operand,   // a per-channel constant of an elementwise op
        Input,     // an input column of a layer that reads the channel
    };
    int tensor = 0;  // index into ChannelGroup::tensors
    int axis = 0;
    int64_t index = 0;
    Role role = Role::Filter;
    int node = 0;  // index into ChannelGroup::nodes: the node that reads the initializer
};

// One channel (or flattened feature) of a tensor: index `index` along `axis` of ChannelGroup::members[member].
struct ChannelElement {
    int member = 0;
    int axis = 1;
    int64_t index = 0;
};

// Channels of tensors that are pruned together. Channel i of the group is the i-th channel of its first member.
struct ChannelGroup {
    std::vector<std::string> members;  // values whose channels (or features) the group holds, in graph order
    std::vector<std::string> layers;   // nodes whose weights are cut: makers of the channels first, then readers
    std::vector<std::string> makers;   // nodes whose output channels are the group's (Conv, Gemm, MatMul)
    int64_t channels = 0;
    std::string blocker;  // empty when the group can be pruned; else why not, naming the node or tensor
    bool atGraphOutput = false;  // a member is a graph output (a classifier's logits: never prunable)
    // Per channel, its entries; they name tensors and nodes by index into these tables (a network has up to millions
    // of entries: names in each would make finding the groups allocation-bound).
    std::vector<std::string> tensors;  // initializers the entries cut
    std::vector<std::string> nodes;    // nodes that read them
    std::vector<std::vector<ChannelParam>> params;      // [channel] → every weight entry that goes with it
    std::vector<std::vector<ChannelElement>> elements;  // [channel] → every tensor entry it is (in the order met)
};

// A constant Reshape target [batch, features] whose feature count follows the channels of `input`.
struct ReshapeTarget {
    std::string initializer;
    std::string input;
    int axis = 1;            // the channel axis of `input`
    int64_t perChannel = 0;  // features per channel (the product of the other non-batch axes)
};

struct ChannelGroups {
    std::vector<ChannelGroup> groups;  // ordered by their first member in graph order
    std::vector<std::string> depthwise;     // Conv nodes whose group attribute is their input's channel count
    std::vector<ReshapeTarget> reshapes;
    // The group whose channels node `nodeName` makes (its output channels); -1 when none.
    int groupMadeBy(const std::string& nodeName) const;
};

// How channels are ranked: the L1 or L2 norm of the filters that make them (summed over the group's makers), or
// |γ| of the normalizations that scale them (Network Slimming; L1 where a group has none).
// What structured pruning of one layer would touch: the group it makes channels for, or why it cannot.
struct LayerChannels {
    int group = -1;
    int64_t channels = 0;
    std::vector<std::string> layers;  // every layer that loses the channels with it (itself first)
    std::string refusal;              // empty when its channels can be removed
};
LayerChannels channelsOfLayer(const Graph& graph, const ChannelGroups& groups, const std::string& nodeName);

// What removing `removed` channels of a group takes away (per sample): multiply-accumulates of its layers and weight
// elements of every weight it cuts. Computed from shapes, without cutting anything.
struct ChannelSaving {
    int64_t macs = 0;
    int64_t params = 0;
};
ChannelSaving channelSaving(const Graph& graph, const ChannelGroup& group, int64_t removed);

enum class ChannelImportance { L1, L2, BnScale };
// L1 norm of each output filter (axis 0) of a weight.
std::vector<double> filterL1Norms(const Tensor& weight);
// Indices of the `keep` largest importances (ties: lower index first), ascending.
std::vector<int64_t> strongestChannels(const std::vector<double>& importance, int64_t keep);

// Follows every float tensor's channel axis through the graph: BatchNormalization, elementwise activations, pools,
// Add/Sub/Mul/Div/Min/Max of two tensors (coupled) or with a per-channel constant, Concat (by slices), depthwise
// Conv (its input and output channels are one), Transpose, Squeeze/Unsqueeze, Flatten/Reshape to [batch, features]
// into Gemm/MatMul, GlobalAveragePool, Pad. Tensors reached by any other op, graph inputs and outputs, and weights
// shared between nodes block the groups they touch (ChannelGroup::blocker says which node).
ChannelGroups findChannelGroups(const Graph& graph);

// Per channel of the group: the sum over its makers' filters of their L1 or L2 norm, or Σ|γ| of its normalizations
// (falls back to L1 when the group has none).
std::vector<double> channelImportance(const Graph& graph, const ChannelGroup& group, ChannelImportance kind);

struct GroupCut {
    int group = 0;
    std::vector<int64_t> kept;  // channels of the group that stay, ascending
};

struct ChannelPruneResult {
    struct Slice {
        std::string initializer;
        int axis = 0;
        std::vector<int64_t> kept;  // ascending indices along axis, in the tensor as it was before the pass
    };
    std::vector<Slice> slices;
    std::vector<std::string> touchedNodes;
    int64_t removedChannels = 0;
};

// Removes the channels not kept from every member of each group: cuts every weight entry listed for them, updates
// depthwise convolutions' group attribute, constant Reshape targets and the inferred shapes. Fails, leaving the
// graph unchanged, when a group is blocked (with its reason), a kept list is out of range, or keeps no channel.
Result<ChannelPruneResult> pruneChannelGroups(Graph& graph, const ChannelGroups& groups,
                                              const std::vector<GroupCut>& cuts);

}  // namespace lathe
