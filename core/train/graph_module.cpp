#include "core/train/graph_module.h"

#include <algorithm>
#include <cmath>
#include <random>

#include "core/train/torch_graph.h"

namespace lathe {

std::vector<std::string> trainableOps() {
    std::vector<std::string> names;
    for (const auto& [name, op] : train::torchOps()) names.push_back(name);
    return names;
}

Status checkTrainable(const Graph& graph) { return train::TorchGraph::checkOps(graph); }

namespace {

torch::Tensor fromNDArray(const NDArray& a, torch::Dtype dtype) {
    return torch::tensor(values(a), torch::kFloat).reshape(a.shape).to(dtype);
}

}  // namespace

Result<NDArray> runTranslated(const Graph& graph, const NDArray& input) {
    if (graph.outputs.empty()) return makeError(ErrorCode::InvalidModel, "the model has no outputs");
    auto built = train::TorchGraph::build(graph);
    if (!built) return built.error();
    try {
        torch::NoGradGuard noGrad;
        const torch::Tensor out = built->forward(fromNDArray(input, torch::kFloat), graph.outputs[0], false,
                                                 BatchNormTraining::Frozen)
                                      .to(torch::kFloat)
                                      .contiguous();
        return NDArray(out.sizes().vec(), std::vector<float>(out.data_ptr<float>(), out.data_ptr<float>() + out.numel()));
    } catch (const std::exception& e) {
        return makeError(ErrorCode::InvalidModel, e.what());
    }
}

Result<GradientCheck> checkGradients(const Graph& graph, const NDArray& input, uint64_t seed, int perTensor,
                                     BatchNormTraining batchNorm) {
    if (graph.outputs.empty()) return makeError(ErrorCode::InvalidModel, "the model has no outputs");
    auto built = train::TorchGraph::build(graph, torch::kDouble);
    if (!built) return built.error();
    train::TorchGraph& g = *built;
    try {
        torch::manual_seed(seed);
        torch::Tensor x = fromNDArray(input, torch::kDouble).set_requires_grad(true);
        const std::string& out = graph.outputs[0];
        const bool training = batchNorm == BatchNormTraining::Train;
        auto loss = [&](const torch::Tensor& r) {
            return (g.forward(x, out, training, batchNorm) * r).sum();
        };
        torch::Tensor r;
        {
            torch::NoGradGuard noGrad;
            r = torch::randn_like(g.forward(x, out, training, batchNorm));
        }
        // Running statistics must not move between the evaluations (batch statistics still normalise).
        loss(r).backward();
        std::vector<std::pair<std::string, torch::Tensor>> tensors = {{"input", x}};
        for (auto& [name, p] : g.parameters()) tensors.emplace_back(name, p);
        // Differences are relative to |analytic| + |numeric|, floored at 1e-3 of the largest gradient seen: an
        // exactly-zero gradient (a bias before a batch-statistics BatchNorm) compares against round-off, not 0.
        double largest = 0;
        for (auto& [name, t] : tensors)
            if (t.grad().defined()) largest = std::max(largest, t.grad().abs().max().item<double>());
        const double floor = std::max(1e-3 * largest, 1e-8);
        GradientCheck result;
        std::mt19937_64 rng(seed);
        constexpr double kStep = 1e-6;
        for (auto& [name, t] : tensors) {
            if (!t.grad().defined()) return makeError(ErrorCode::Internal, name + " received no gradient");
            const torch::Tensor grad = t.grad().contiguous();
            const int64_t n = t.numel();
            std::vector<int64_t> picks(static_cast<size_t>(n));
            for (int64_t i = 0; i < n; ++i) picks[size_t(i)] = i;
            std::shuffle(picks.begin(), picks.end(), rng);
            picks.resize(size_t(std::min<int64_t>(n, perTensor)));
            torch::NoGradGuard noGrad;
            double* data = t.data_ptr<double>();
            for (int64_t i : picks) {
                const double saved = data[i];
                data[i] = saved + kStep;
                const double up = loss(r).item<double>();
                data[i] = saved - kStep;
                const double down = loss(r).item<double>();
                data[i] = saved;
                const double numeric = (up - down) / (2 * kStep);
                const double analytic = grad.data_ptr<double>()[i];
                const double rel = std::fabs(analytic - numeric) / std::max(std::fabs(analytic) + std::fabs(numeric), floor);
                ++result.checked;
                if (rel > result.maxRelError) {
                    result.maxRelError = rel;
                    result.worst = name + "[" + std::to_string(i) + "]";
                }
            }
        }
        return result;
    } catch (const std::exception& e) {
        return makeError(ErrorCode::InvalidModel, e.what());
    }
}

}  // namespace lathe
