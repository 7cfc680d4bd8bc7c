#pragma once
// Internal to core/train: with torch_losses.h the only headers with torch types; included by core/train's .cpp files alone.

#include <torch/torch.h>

#include <functional>
#include <map>
#include <string>
#include <vector>

#include "core/common/result.h"
#include "core/compress/recipe.h"
#include "core/model/graph.h"

namespace lathe::train {

// What an op sees besides its inputs.
struct OpContext {
    const Node& node;
    int64_t opset = 0;
    bool training = false;            // BatchNormalization uses batch statistics when also batchNorm == Train
    BatchNormTraining batchNorm = BatchNormTraining::Frozen;
};

// One op family: outputs from inputs (an undefined tensor marks an omitted optional input). Errors that depend on
// the data (a shape that does not fit) throw std::runtime_error naming the node; TorchGraph turns them into Errors.
using TorchOp = std::vector<torch::Tensor> (*)(const std::vector<torch::Tensor>& inputs, const OpContext& context);

// The op table (torch_ops.cpp): one line per ONNX op of the default domain.
const std::map<std::string, TorchOp>& torchOps();

// A Lathe Graph as a differentiable function. Float initializers that a layer reads as weight, bias, BatchNorm scale
// or shift (or a constant operand of Add/Sub/Mul/Div with more than one element) become parameters; BatchNorm running
// statistics are buffers; everything else is a constant. A weight may be given an effective value (mask,
// fake-quantization, codebook) that the forward pass uses instead of the raw parameter.
class TorchGraph {
public:
    // Ok when the graph has one input and every node's op translates; else UnsupportedOp naming the first node that
    // does not. Copies nothing.
    static Status checkOps(const Graph& graph);
    // Fails naming the first node whose op cannot be translated.
    static Result<TorchGraph> build(const Graph& graph, torch::Dtype dtype = torch::kFloat);

    // Runs the graph on `input` (batch first) and returns the value `output` (a graph output, or any value such as
    // the logits before a final Softmax). Throws std::runtime_error naming the node on a data-dependent failure.
    torch::Tensor forward(const torch::Tensor& input, const std::string& output, bool training,
                          BatchNormTraining batchNorm);

    // Parameters by initializer name (leaf tensors; requires_grad set).
    std::map<std::string, torch::Tensor>& parameters() { return m_parameters; }
    // Replaces what the forward pass reads for initializer `name` (e.g. masked or fake-quantized weight).
    void setEffective(const std::string& name, std::function<torch::Tensor()> effective);
    void clearEffective(const std::string& name);
    // The value the forward pass reads for `name` now (effective value when set), detached.
    torch::Tensor current(const std::string& name);
    // Writes parameters (their effective values) and BatchNorm running statistics back into `graph`'s initializers.
    void writeBack(Graph& graph);
    // Values of the model input's shape with batch size `batch` (flat inputs stay flat).
    std::vector<int64_t> inputShape(int64_t batch) const;
    const std::string& inputName() const { return m_input; }

private:
    struct Step {
        TorchOp op = nullptr;
        Node node;
        std::vector<int> inputs;  // slot per input, -1 for an omitted one
        std::vector<int> outputs;
    };

    int slotOf(const std::string& name);

    int64_t m_opset = 0;
    std::string m_input;
    std::vector<int64_t> m_inputShape;  // as declared; batch dim replaced at run time
    std::vector<Step> m_steps;
    std::map<std::string, int> m_slotIndex;
    std::vector<torch::Tensor> m_constants;  // slot → constant/parameter/buffer tensor (undefined for activations)
    std::vector<std::function<torch::Tensor()>> m_effective;  // slot → effective value (empty when none)
    std::map<std::string, torch::Tensor> m_parameters;
    std::map<std::string, torch::Tensor> m_buffers;  // BatchNorm running mean/var
};

}  // namespace lathe::train
