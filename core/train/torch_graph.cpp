#include "core/train/torch_graph.h"

#include <set>
#include <stdexcept>

namespace lathe::train {

namespace {

// Input slots whose float constant is trained: weights, biases, BatchNorm scale and shift.
bool trainedSlot(const Node& node, size_t slot) {
    const std::string& op = node.opType;
    if (op == "Conv" || op == "Gemm") return slot <= 2;
    if (op == "MatMul") return slot <= 1;
    if (op == "BatchNormalization") return slot == 1 || slot == 2;
    return false;
}

bool operandSlot(const Node& node) {
    const std::string& op = node.opType;
    return op == "Add" || op == "Sub" || op == "Mul" || op == "Div";
}

torch::Tensor toTorch(const Tensor& t, torch::Dtype floatType) {
    if (isIntegerType(t.dtype) || t.dtype == DType::Bool) {
        std::vector<int64_t> values = t.ints;
        if (values.empty() && !t.data.empty())
            for (float v : t.data) values.push_back(int64_t(v));
        return torch::tensor(values, torch::kLong).reshape(t.shape);
    }
    return torch::from_blob(const_cast<float*>(t.data.data()), {int64_t(t.data.size())}, torch::kFloat)
        .reshape(t.shape)
        .to(floatType, /*non_blocking=*/false, /*copy=*/true);
}

}  // namespace

int TorchGraph::slotOf(const std::string& name) {
    auto [it, inserted] = m_slotIndex.try_emplace(name, int(m_constants.size()));
    if (inserted) {
        m_constants.emplace_back();
        m_effective.emplace_back();
    }
    return it->second;
}

Status TorchGraph::checkOps(const Graph& graph) {
    if (graph.inputs.size() != 1)
        return makeError(ErrorCode::UnsupportedOp, "the model has " + std::to_string(graph.inputs.size()) +
                                                       " inputs; training needs exactly one (the image batch)");
    const auto& ops = torchOps();
    for (const Node& node : graph.nodes) {
        if (ops.count(node.opType) && (node.domain.empty() || node.domain == "ai.onnx")) continue;
        std::string known;
        for (const auto& [name, fn] : ops) known += (known.empty() ? "" : ", ") + name;
        return makeError(ErrorCode::UnsupportedOp, "node " + node.name + ": op " +
                                                       (node.domain.empty() ? "" : node.domain + ".") + node.opType +
                                                       " cannot be trained; the training engine translates " + known);
    }
    return Ok{};
}

Result<TorchGraph> TorchGraph::build(const Graph& graph, torch::Dtype dtype) {
    TorchGraph g;
    g.m_opset = graph.opset;
    if (auto st = checkOps(graph); !st) return st.error();
    g.m_input = graph.inputs[0];
    if (const ValueInfo* v = graph.value(g.m_input); v && v->hasShape) g.m_inputShape = v->shape;
    const auto& ops = torchOps();
    std::set<std::string> trained, running;
    for (const Node& node : graph.nodes) {
        for (size_t i = 0; i < node.inputs.size(); ++i) {
            const Tensor* t = graph.initializer(node.inputs[i]);
            if (!t || !isFloatingType(t->dtype)) continue;
            if (trainedSlot(node, i) || (operandSlot(node) && t->numel() > 1)) trained.insert(node.inputs[i]);
            if (node.opType == "BatchNormalization" && i >= 3) running.insert(node.inputs[i]);
        }
    }
    for (const Node& node : graph.nodes) {
        const auto op = ops.find(node.opType);
        Step step{op->second, node, {}, {}};
        for (const std::string& in : node.inputs) step.inputs.push_back(in.empty() ? -1 : g.slotOf(in));
        for (const std::string& out : node.outputs) step.outputs.push_back(out.empty() ? -1 : g.slotOf(out));
        g.m_steps.push_back(std::move(step));
    }
    for (const auto& [name, tensor] : graph.initializers) {
        auto slot = g.m_slotIndex.find(name);
        if (slot == g.m_slotIndex.end()) continue;
        torch::Tensor t = toTorch(tensor, dtype);
        if (trained.count(name) && !running.count(name)) {
            t.set_requires_grad(true);
            g.m_parameters[name] = t;
        } else if (running.count(name)) {
            g.m_buffers[name] = t;
        }
        g.m_constants[size_t(slot->second)] = t;
    }
    return g;
}

std::vector<int64_t> TorchGraph::inputShape(int64_t batch) const {
    std::vector<int64_t> shape = m_inputShape;
    if (!shape.empty()) shape[0] = batch;
    return shape;
}

torch::Tensor TorchGraph::forward(const torch::Tensor& input, const std::string& output, bool training,
                                  BatchNormTraining batchNorm) {
    std::vector<torch::Tensor> values(m_constants.size());
    for (size_t s = 0; s < m_constants.size(); ++s)
        values[s] = m_effective[s] ? m_effective[s]() : m_constants[s];
    auto inputSlot = m_slotIndex.find(m_input);
    if (inputSlot != m_slotIndex.end()) values[size_t(inputSlot->second)] = input;
    std::vector<torch::Tensor> args;
    for (const Step& step : m_steps) {
        args.clear();
        for (int s : step.inputs) args.push_back(s < 0 ? torch::Tensor() : values[size_t(s)]);
        OpContext context{step.node, m_opset, training, batchNorm};
        std::vector<torch::Tensor> outs;
        try {
            outs = step.op(args, context);
        } catch (const c10::Error& e) {
            throw std::runtime_error("node " + step.node.name + " (" + step.node.opType + "): " + e.what_without_backtrace());
        }
        for (size_t i = 0; i < outs.size() && i < step.outputs.size(); ++i)
            if (step.outputs[i] >= 0) values[size_t(step.outputs[i])] = outs[i];
    }
    auto out = m_slotIndex.find(output);
    if (out == m_slotIndex.end() || !values[size_t(out->second)].defined())
        throw std::runtime_error("the graph does not compute '" + output + "'");
    return values[size_t(out->second)];
}

void TorchGraph::setEffective(const std::string& name, std::function<torch::Tensor()> effective) {
    m_effective[size_t(slotOf(name))] = std::move(effective);
}

void TorchGraph::clearEffective(const std::string& name) {
    if (auto it = m_slotIndex.find(name); it != m_slotIndex.end()) m_effective[size_t(it->second)] = {};
}

torch::Tensor TorchGraph::current(const std::string& name) {
    const size_t slot = size_t(slotOf(name));
    torch::NoGradGuard noGrad;
    return (m_effective[slot] ? m_effective[slot]() : m_constants[slot]).detach();
}

void TorchGraph::writeBack(Graph& graph) {
    auto store = [&](const std::string& name) {
        auto it = graph.initializers.find(name);
        if (it == graph.initializers.end()) return;
        const torch::Tensor t = current(name).to(torch::kFloat).contiguous();
        it->second.data.assign(t.data_ptr<float>(), t.data_ptr<float>() + t.numel());
    };
    for (const auto& [name, t] : m_parameters) store(name);
    for (const auto& [name, t] : m_buffers) store(name);
}

}  // namespace lathe::train
