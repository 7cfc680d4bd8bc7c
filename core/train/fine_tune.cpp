#include "core/train/fine_tune.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <nlohmann/json.hpp>
#include <numeric>
#include <thread>

#include "core/compress/compressible_layer.h"
#include "core/compress/quantize/kmeans_share.h"
#include "core/compress/quantize/uniform_quantize.h"
#include "core/eval/evaluator.h"
#include "core/train/initialize_weights.h"
#include "core/train/teacher_logits.h"
#include "core/train/torch_graph.h"
#include "core/train/torch_losses.h"

namespace lathe {

double cubicSparsity(double start, double target, double t) {
    t = std::clamp(t, 0.0, 1.0);
    return target + (start - target) * std::pow(1.0 - t, 3.0);
}

namespace {

using Clock = std::chrono::steady_clock;

double secondsSince(Clock::time_point start) { return std::chrono::duration<double>(Clock::now() - start).count(); }

// How one compressed weight tensor trains.
struct WeightPlan {
    enum class Kind { Float, Uniform, KMeans };
    std::string name;  // initializer in the graph being compressed
    std::string layer;
    int node = -1;
    int axis = 0;
    Kind kind = Kind::Float;
    LayerSettings settings;  // of the layer as the recipe sets it (pruning included in gradual mode)
    bool gradual = false;    // its mask ramps (per-layer target, or the global cut)
    bool global = false;
    double target = 0;       // per-layer gradual target sparsity
    torch::Tensor mask;      // 0/1 like the weight; undefined: nothing masked
    bool shared = false;     // k-means phase: the weight is codebook[indices]
    torch::Tensor codebook;  // [k] parameter
    torch::Tensor indices;   // long, like the weight
    bool zeroReserved = false;
    double l1 = 0;  // λ of the L1 penalty on this weight (mode l1)
};

// Fake quantization with Lathe's grid (uniform_quantize.h): symmetric ±max|w| over ±(2^(b−1)−1) levels, zero point
// 0; asymmetric [min(w,0), max(w,0)] over 0..2^b−1 with an integer zero point. Straight-through gradients.
torch::Tensor fakeQuant(const torch::Tensor& w, const LayerSettings& s, int axis) {
    const bool perChannel = s.granularity == Granularity::PerChannel && w.dim() > 1;
    torch::Tensor lo, hi;
    {
        torch::NoGradGuard noGrad;
        if (perChannel) {
            std::vector<int64_t> dims;
            for (int64_t d = 0; d < w.dim(); ++d)
                if (d != axis) dims.push_back(d);
            lo = w.detach().amin(dims);
            hi = w.detach().amax(dims);
        } else {
            lo = w.detach().min().reshape({1});
            hi = w.detach().max().reshape({1});
        }
    }
    torch::Tensor scale, zero;
    int64_t qmin, qmax;
    if (s.symmetric) {
        qmax = (int64_t(1) << (s.bits - 1)) - 1;
        qmin = -qmax;
        scale = torch::maximum(lo.abs(), hi.abs()) / double(qmax);
        scale = torch::where(scale > 0, scale, torch::ones_like(scale));
        zero = torch::zeros(scale.sizes(), torch::kInt);
    } else {
        qmin = 0;
        qmax = (int64_t(1) << s.bits) - 1;
        lo = torch::clamp_max(lo, 0.0);
        hi = torch::clamp_min(hi, 0.0);
        scale = (hi - lo) / double(qmax);
        scale = torch::where(scale > 0, scale, torch::ones_like(scale));
        zero = torch::clamp(torch::round(-lo / scale), 0, double(qmax)).to(torch::kInt);
    }
    if (perChannel)
        return torch::fake_quantize_per_channel_affine(w, scale.to(torch::kFloat), zero, axis, qmin, qmax);
    return torch::fake_quantize_per_tensor_affine(w, scale.item<double>(), zero.item<int>(), qmin, qmax);
}

class Trainer {
public:
    Trainer(const Graph& source, const Recipe& recipe, const TrainData& data,
            std::shared_ptr<const TeacherLogits> teacher, const EpochFn& onEpoch, TrainedModel& out, bool& cancelled)
        : m_source(source), m_recipe(recipe), m_settings(*recipe.train), m_data(data), m_teacher(std::move(teacher)),
          m_onEpoch(onEpoch), m_out(out), m_cancelled(cancelled) {}

    Result<std::map<std::string, CodebookTensor>> run(Graph& g, const std::vector<RetrainLayer>& layers,
                                                       const ProgressFn& progress) {
        m_progress = progress;
        const int threads = m_data.threads > 0 ? m_data.threads : int(std::max(1u, std::thread::hardware_concurrency()));
        torch::set_num_threads(threads);
        torch::manual_seed(m_settings.seed);
        auto built = train::TorchGraph::build(g);
        if (!built) return built.error();
        m_net = std::make_unique<train::TorchGraph>(std::move(*built));
        m_logits = logitsValue(g);
        if (m_logits.empty()) return makeError(ErrorCode::InvalidModel, "the model has no outputs");
        if (auto st = plan(g, layers); !st) return st.error();
        m_histograms = initialHistograms();
        try {
            const bool twoPhases = m_settings.centroidEpochs > 0 && hasKMeans();
            if (!twoPhases) shareAll();
            const std::string first = objectiveName();
            if (auto st = phase(g, twoPhases ? first : phaseName(), m_settings.epochs, true); !st) return st.error();
            if (twoPhases && !m_cancelled) {
                shareAll();
                if (auto st = phase(g, "centroids", m_settings.centroidEpochs, false); !st) return st.error();
            }
        } catch (const std::exception& e) {
            return makeError(ErrorCode::InvalidModel, std::string("training: ") + e.what());
        }
        storeWeights(g);
        return codebooks();
    }

private:
    std::string objectiveName() const {
        return m_settings.mode == TrainObjective::L1 ? "l1" : m_settings.mode == TrainObjective::Distill ? "distill" : "fine-tune";
    }
    std::string phaseName() const { return hasKMeans() ? "centroids" : objectiveName(); }

    bool hasKMeans() const {
        return std::any_of(m_plans.begin(), m_plans.end(), [](const WeightPlan& p) { return p.kind == WeightPlan::Kind::KMeans; });
    }

    Status plan(const Graph& g, const std::vector<RetrainLayer>& layers) {
        for (const RetrainLayer& layer : layers) {
            if (layer.shared) continue;
            const int sourceNode = findLayerNode(m_source, layer.name);
            const LayerSettings own = sourceNode >= 0 ? resolveLayerSettings(m_recipe, m_source, sourceNode) : layer.settings;
            for (size_t k = 0; k < layer.nodes.size() && k < layer.weights.size(); ++k) {
                WeightPlan p;
                p.name = layer.weights[k];
                p.layer = layer.name;
                p.node = g.nodeIndex(layer.nodes[k]);
                const auto lw = p.node >= 0 ? layerWeight(g, p.node) : std::nullopt;
                p.axis = lw ? lw->channelAxis : 0;
                p.settings = own;
                p.kind = !own.quantized()                     ? WeightPlan::Kind::Float
                         : own.rounding == Rounding::KMeans ? WeightPlan::Kind::KMeans
                                                              : WeightPlan::Kind::Uniform;
                if (!m_net->parameters().count(p.name))
                    return makeError(ErrorCode::Internal, "layer " + layer.name + ": weight " + p.name + " is not trained");
                const torch::Tensor w = m_net->parameters().at(p.name).detach();
                if (m_settings.pruneSchedule && own.pruned()) {
                    p.gradual = true;
                    p.global = own.globalPrune && !own.sparsity && !own.threshold;
                    if (own.sparsity) p.target = *own.sparsity;
                    else if (own.threshold) p.target = (w.abs() < *own.threshold).to(torch::kDouble).mean().item<double>();
                    p.mask = torch::ones_like(w);
                } else if (own.pruned()) {
                    p.mask = (w != 0).to(w.scalar_type());
                }
                if (m_settings.mode == TrainObjective::L1 && p.kind != WeightPlan::Kind::KMeans) {
                    const L1Settings l1 = m_settings.l1.value_or(L1Settings{});
                    p.l1 = l1.lambda;
                    const auto sourceWeight = sourceNode >= 0 ? layerWeight(m_source, sourceNode) : std::nullopt;
                    if (auto it = l1.layers.find(layer.name); it != l1.layers.end()) p.l1 = it->second;
                    else if (sourceWeight && l1.layers.count(sourceWeight->weight)) p.l1 = l1.layers.at(sourceWeight->weight);
                }
                m_plans.push_back(std::move(p));
            }
        }
        for (WeightPlan& p : m_plans) setTrainingForm(p);
        return Ok{};
    }

    void setTrainingForm(WeightPlan& p) {
        torch::Tensor param = m_net->parameters().at(p.name);
        WeightPlan* plan = &p;
        if (p.shared) {
            const auto shape = param.sizes().vec();
            m_net->setEffective(p.name, [plan, shape] { return plan->codebook.index_select(0, plan->indices).view(shape); });
            return;
        }
        m_net->setEffective(p.name, [plan, param] {
            torch::Tensor w = plan->mask.defined() ? param * plan->mask : param;
            return plan->kind == WeightPlan::Kind::Uniform ? fakeQuant(w, plan->settings, plan->axis) : w;
        });
    }

    // The value the graph keeps: masked float weights (quantization comes after), codebook[indices] when shared.
    torch::Tensor storedForm(const WeightPlan& p) {
        torch::NoGradGuard noGrad;
        if (p.shared) return p.codebook.index_select(0, p.indices).view(m_net->parameters().at(p.name).sizes());
        const torch::Tensor& param = m_net->parameters().at(p.name);
        return (p.mask.defined() ? param * p.mask : param).detach();
    }

    // K-means sharing of the current weights (Deep Compression): each k-means layer's weight becomes codebook[indices]
    // and its centroids become the parameter.
    void shareAll() {
        for (WeightPlan& p : m_plans) {
            if (p.kind != WeightPlan::Kind::KMeans || p.shared) continue;
            torch::Tensor w = storedForm(p).to(torch::kFloat).contiguous();
            std::vector<float> values(w.data_ptr<float>(), w.data_ptr<float>() + w.numel());
            CodebookTensor c;
            shareWeights(values, p.settings.bits, &c);
            p.codebook = torch::tensor(c.codebook, torch::kFloat).set_requires_grad(true);
            std::vector<int64_t> idx(c.indices.begin(), c.indices.end());
            p.indices = torch::tensor(idx, torch::kLong);
            p.zeroReserved = c.zeroReserved;
            p.shared = true;
            setTrainingForm(p);
        }
    }

    std::vector<torch::Tensor> trainedTensors() {
        std::vector<torch::Tensor> out;
        for (auto& [name, param] : m_net->parameters()) {
            auto plan = std::find_if(m_plans.begin(), m_plans.end(), [&](const WeightPlan& p) { return p.name == name; });
            if (plan != m_plans.end() && plan->shared) continue;
            out.push_back(param);
        }
        for (WeightPlan& p : m_plans)
            if (p.shared) out.push_back(p.codebook);
        return out;
    }

    std::unique_ptr<torch::optim::Optimizer> makeOptimizer() {
        const TrainSettings& s = m_settings;
        if (s.optimizer == TrainOptimizer::Adam)
            return std::make_unique<torch::optim::Adam>(trainedTensors(),
                                                        torch::optim::AdamOptions(s.lr).weight_decay(s.weightDecay));
        return std::make_unique<torch::optim::SGD>(
            trainedTensors(), torch::optim::SGDOptions(s.lr).momentum(s.momentum).weight_decay(s.weightDecay));
    }

    void setLearningRate(torch::optim::Optimizer& optimizer, double lr) {
        for (auto& group : optimizer.param_groups()) {
            if (m_settings.optimizer == TrainOptimizer::Adam)
                static_cast<torch::optim::AdamOptions&>(group.options()).lr(lr);
            else
                static_cast<torch::optim::SGDOptions&>(group.options()).lr(lr);
        }
    }

    double learningRate(int epoch, int64_t step, int64_t totalSteps) const {
        const TrainSettings& s = m_settings;
        switch (s.schedule) {
            case LrSchedule::Step:
                return s.lr * std::pow(s.gamma, double(epoch / s.stepEpochs));
            case LrSchedule::Cosine:
                return s.lr * 0.5 * (1.0 + std::cos(M_PI * double(step) / double(std::max<int64_t>(1, totalSteps))));
            case LrSchedule::Constant:
                break;
        }
        return s.lr;
    }

    // Gradual pruning: every ramping mask recomputed by magnitude at the sparsity of the cubic schedule at t.
    void updateMasks(double t) {
        torch::NoGradGuard noGrad;
        const double from = m_settings.pruneSchedule->from;
        auto cut = [](const torch::Tensor& magnitudes, double sparsity) -> std::optional<double> {
            const int64_t k = int64_t(std::floor(sparsity * double(magnitudes.numel())));
            if (k <= 0) return std::nullopt;
            return std::get<0>(magnitudes.kthvalue(k)).item<double>();
        };
        std::vector<torch::Tensor> globalMagnitudes;
        for (WeightPlan& p : m_plans) {
            if (!p.gradual) continue;
            const torch::Tensor magnitude = (m_net->parameters().at(p.name) * p.mask).abs();
            if (p.global) {
                globalMagnitudes.push_back(magnitude.flatten());
                continue;
            }
            const auto threshold = cut(magnitude.flatten(), cubicSparsity(std::min(from, p.target), p.target, t));
            p.mask = threshold ? (magnitude > *threshold).to(magnitude.scalar_type()) : torch::ones_like(magnitude);
        }
        if (globalMagnitudes.empty()) return;
        const double target = m_recipe.globalPruneSparsity.value_or(0);
        const auto threshold = cut(torch::cat(globalMagnitudes), cubicSparsity(std::min(from, target), target, t));
        for (WeightPlan& p : m_plans) {
            if (!p.gradual || !p.global) continue;
            const torch::Tensor magnitude = (m_net->parameters().at(p.name) * p.mask).abs();
            p.mask = threshold ? (magnitude > *threshold).to(magnitude.scalar_type()) : torch::ones_like(magnitude);
        }
    }

    // Proximal step of the L1 penalty: soft-thresholding by lr·λ sets small weights exactly to zero.
    void proximalStep(double lr) {
        torch::NoGradGuard noGrad;
        for (WeightPlan& p : m_plans) {
            if (p.l1 <= 0 || p.shared) continue;
            torch::Tensor& w = m_net->parameters().at(p.name);
            w.copy_(torch::sign(w) * torch::clamp_min(w.abs() - lr * p.l1, 0.0));
        }
    }

    // The epoch at whose end L1 training cuts; the epochs after it fine-tune with the cut masked.
    int l1CutEpoch(int epochs) const {
        return epochs - 1 - (m_settings.l1 ? std::clamp(m_settings.l1->finalEpochs, 0, epochs - 1) : 0);
    }

    double penalty() {
        double sum = 0;
        for (const WeightPlan& p : m_plans)
            if (p.l1 > 0 && !p.shared) sum += p.l1 * storedForm(p).abs().sum().item<double>();
        return sum;
    }

    // The end of L1 training: a magnitude cut over the regularised weights to the target sparsity (or threshold);
    // the cut weights stay masked.
    void finalCut() {
        if (!m_settings.l1 || (!m_settings.l1->targetSparsity && !m_settings.l1->threshold)) return;
        torch::NoGradGuard noGrad;
        std::vector<torch::Tensor> magnitudes;
        for (WeightPlan& p : m_plans)
            if (p.l1 > 0 && !p.shared) magnitudes.push_back(storedForm(p).abs().flatten());
        if (magnitudes.empty()) return;
        double threshold = m_settings.l1->threshold.value_or(0);
        bool inclusive = false;  // |w| <= threshold is cut (a kth value), else |w| < threshold
        if (m_settings.l1->targetSparsity) {
            const torch::Tensor all = torch::cat(magnitudes);
            const int64_t k = int64_t(std::floor(*m_settings.l1->targetSparsity * double(all.numel())));
            if (k <= 0) return;
            threshold = std::get<0>(all.kthvalue(k)).item<double>();
            inclusive = true;
        }
        for (WeightPlan& p : m_plans) {
            if (p.l1 <= 0 || p.shared) continue;
            const torch::Tensor magnitude = storedForm(p).abs();
            const torch::Tensor keep = (inclusive ? magnitude > threshold : magnitude >= threshold).to(magnitude.scalar_type());
            p.mask = p.mask.defined() ? p.mask * keep : keep;
        }
        applyMasks();
        m_out.notes.push_back("L1: the final cut zeroed |w| " + std::string(inclusive ? "<= " : "< ") +
                              std::to_string(threshold) + " in the regularised layers");
    }

    void applyMasks() {
        torch::NoGradGuard noGrad;
        for (WeightPlan& p : m_plans) {
            if (p.shared) {
                if (p.zeroReserved) p.codebook[0].fill_(0.0);
            } else if (p.mask.defined()) {
                m_net->parameters().at(p.name).mul_(p.mask);
            }
        }
    }

    struct Snapshot {
        std::map<std::string, torch::Tensor> parameters;
        std::vector<torch::Tensor> codebooks, masks;
    };

    Snapshot snapshot() {
        torch::NoGradGuard noGrad;
        Snapshot s;
        for (auto& [name, p] : m_net->parameters()) s.parameters[name] = p.detach().clone();
        for (WeightPlan& p : m_plans) {
            s.codebooks.push_back(p.shared ? p.codebook.detach().clone() : torch::Tensor());
            s.masks.push_back(p.mask.defined() ? p.mask.clone() : torch::Tensor());
        }
        return s;
    }

    void restore(const Snapshot& s) {
        torch::NoGradGuard noGrad;
        for (auto& [name, p] : m_net->parameters()) p.copy_(s.parameters.at(name));
        for (size_t i = 0; i < m_plans.size(); ++i) {
            if (m_plans[i].shared && s.codebooks[i].defined()) m_plans[i].codebook.copy_(s.codebooks[i]);
            if (s.masks[i].defined()) m_plans[i].mask = s.masks[i];
        }
    }

    // The graph as an exported file holds it now: stored forms, uniform layers fake-quantized with Lathe's grid.
    Graph exportedForm(const Graph& g) {
        Graph copy = g;
        storeWeights(copy);
        for (const WeightPlan& p : m_plans)
            if (p.kind == WeightPlan::Kind::Uniform && p.node >= 0)
                uniformQuantize(copy, p.node, toUniformQuantSettings(p.settings));
        return copy;
    }

    void storeWeights(Graph& g) {
        m_net->writeBack(g);
        for (const WeightPlan& p : m_plans) {
            auto it = g.initializers.find(p.name);
            if (it == g.initializers.end()) continue;
            const torch::Tensor t = storedForm(p).to(torch::kFloat).contiguous();
            it->second.data.assign(t.data_ptr<float>(), t.data_ptr<float>() + t.numel());
        }
    }

    static constexpr int kHistogramBins = 61;

    static void count(const torch::Tensor& w, double lo, double hi, std::vector<int64_t>& bins) {
        bins.assign(kHistogramBins, 0);
        const torch::Tensor f = w.to(torch::kFloat).contiguous();
        const float* v = f.data_ptr<float>();
        const double width = (hi - lo) / kHistogramBins;
        for (int64_t i = 0; i < f.numel(); ++i) {
            const int b = width > 0 ? int(std::floor((double(v[i]) - lo) / width)) : kHistogramBins / 2;
            ++bins[size_t(std::clamp(b, 0, kHistogramBins - 1))];
        }
    }

    std::vector<WeightHistogram> initialHistograms() {
        std::vector<WeightHistogram> out;
        for (const WeightPlan& p : m_plans) {
            const torch::Tensor w = storedForm(p);
            WeightHistogram h;
            h.layer = p.layer;
            h.tensor = p.name;
            const double extent = std::max(1e-12, w.abs().max().item<double>());
            h.lo = -extent;
            h.hi = extent;
            count(w, h.lo, h.hi, h.before);
            out.push_back(std::move(h));
        }
        return out;
    }

    std::vector<WeightHistogram> histograms() {
        std::vector<WeightHistogram> out = m_histograms;
        for (size_t i = 0; i < out.size() && i < m_plans.size(); ++i) count(storedForm(m_plans[i]), out[i].lo, out[i].hi, out[i].now);
        return out;
    }

    double sparsity() {
        int64_t zeros = 0, count = 0;
        for (const WeightPlan& p : m_plans) {
            const torch::Tensor w = storedForm(p);
            zeros += (w == 0).sum().item<int64_t>();
            count += w.numel();
        }
        return count ? double(zeros) / double(count) : 0.0;
    }

    std::vector<std::pair<std::string, double>> layerSparsity() {
        std::vector<std::pair<std::string, double>> out;
        std::map<std::string, double> countOf;  // weights per layer so far (a decomposed layer has two tensors)
        for (const WeightPlan& p : m_plans) {
            const torch::Tensor w = storedForm(p);
            const double zeros = double((w == 0).sum().item<int64_t>()), count = double(w.numel());
            if (!out.empty() && out.back().first == p.layer) {  // a decomposed layer's second factor
                out.back().second = (out.back().second * countOf[p.layer] + zeros) / (countOf[p.layer] + count);
                countOf[p.layer] += count;
            } else {
                out.emplace_back(p.layer, count ? zeros / count : 0.0);
                countOf[p.layer] = count;
            }
        }
        return out;
    }

    std::map<std::string, CodebookTensor> codebooks() {
        std::map<std::string, CodebookTensor> out;
        for (const WeightPlan& p : m_plans) {
            if (!p.shared) continue;
            CodebookTensor c;
            c.name = p.name;
            c.shape = m_net->parameters().at(p.name).sizes().vec();
            c.bits = p.settings.bits;
            c.zeroReserved = p.zeroReserved;
            const torch::Tensor cb = p.codebook.detach().to(torch::kFloat).contiguous();
            std::vector<float> values(cb.data_ptr<float>(), cb.data_ptr<float>() + cb.numel());
            // Ascending again after training (the reserved zero stays first); indices follow their centroid.
            std::vector<size_t> order(values.size());
            std::iota(order.begin(), order.end(), 0);
            std::stable_sort(order.begin() + (p.zeroReserved ? 1 : 0), order.end(),
                             [&](size_t a, size_t b) { return values[a] < values[b]; });
            std::vector<uint8_t> remap(values.size());
            for (size_t i = 0; i < order.size(); ++i) {
                c.codebook.push_back(values[order[i]]);
                remap[order[i]] = uint8_t(i);
            }
            const torch::Tensor idx = p.indices.contiguous();
            for (int64_t i = 0; i < idx.numel(); ++i) c.indices.push_back(remap[size_t(idx.data_ptr<int64_t>()[i])]);
            out[p.name] = std::move(c);
        }
        return out;
    }

    Status phase(Graph& g, const std::string& name, int epochs, bool rampPhase) {
        const Dataset& data = *m_data.train;
        const int64_t n = data.size();
        const int64_t batch = std::min<int64_t>(m_settings.batch, n);
        const int64_t steps = (n + batch - 1) / batch;
        const int64_t totalSteps = steps * epochs;
        const bool ramp = rampPhase && m_settings.pruneSchedule &&
                          std::any_of(m_plans.begin(), m_plans.end(), [](const WeightPlan& p) { return p.gradual; });
        const int64_t rampSteps = ramp ? steps * m_settings.pruneSchedule->epochs : 0;
        const int64_t updateEvery = std::max<int64_t>(1, steps / 10);
        if (ramp) updateMasks(0.0);
        applyMasks();
        auto optimizer = makeOptimizer();
        Snapshot last = snapshot();
        const int epochBase = int(m_out.history.size());
        int64_t step = 0;
        for (int epoch = 0; epoch < epochs; ++epoch) {
            const auto start = Clock::now();
            const double epochLr = learningRate(epoch, step, totalSteps);
            const std::vector<int64_t> order = shuffledIndices(n, m_settings.seed * 1000003ull + uint64_t(epochBase + epoch));
            double lossSum = 0, distillSum = 0;
            int64_t seen = 0;
            const std::string stage = name + ", epoch " + std::to_string(epochBase + epoch + 1) + " of " +
                                      std::to_string(m_settings.epochs + m_settings.centroidEpochs);
            for (int64_t b = 0; b < steps; ++b, ++step) {
                const float fraction = float(epochBase + epoch) + float(b) / float(steps);
                if (!reportProgress(m_progress, fraction / float(m_settings.epochs + m_settings.centroidEpochs), stage))
                    return cancel(last);
                if (ramp && step <= rampSteps && (step % updateEvery == 0 || step == rampSteps)) {
                    updateMasks(double(step) / double(std::max<int64_t>(1, rampSteps)));
                    applyMasks();
                }
                const int64_t first = b * batch, count = std::min(batch, n - first);
                std::span<const int64_t> indices(order.data() + first, size_t(count));
                auto images = data.batch(indices);
                if (!images) return images.error();
                std::vector<int64_t> shape = m_net->inputShape(count);
                if (shape.empty() || shapeNumel(shape) != images->numel()) shape = images->shape;
                const torch::Tensor x = torch::from_blob(images->data.data(), images->shape, torch::kFloat).reshape(shape);
                std::vector<int64_t> labels(static_cast<size_t>(count));
                for (int64_t i = 0; i < count; ++i) labels[size_t(i)] = data.label(indices[size_t(i)]);
                const torch::Tensor y = torch::tensor(labels, torch::kLong);
                setLearningRate(*optimizer, learningRate(epoch, step, totalSteps));
                optimizer->zero_grad();
                torch::Tensor out = m_net->forward(x, m_logits, true, m_settings.batchNorm);
                if (out.dim() > 2) out = out.flatten(1);
                torch::Tensor loss, labelLoss;
                if (m_teacher) {
                    if (out.dim() != 2 || out.size(1) != m_teacher->classes)
                        return makeError(ErrorCode::InvalidArgument,
                                         "the model's logits '" + m_logits + "' have " +
                                             std::to_string(out.dim() == 2 ? out.size(1) : out.numel() / std::max<int64_t>(count, 1)) +
                                             " values per sample, the teacher's " + std::to_string(m_teacher->classes) +
                                             "; teacher and student must have the same classes");
                    std::vector<float> rows;
                    rows.reserve(size_t(count * m_teacher->classes));
                    for (int64_t i : indices) rows.insert(rows.end(), m_teacher->row(i), m_teacher->row(i) + m_teacher->classes);
                    const torch::Tensor t = torch::from_blob(rows.data(), {count, m_teacher->classes}, torch::kFloat);
                    const train::LossTerms terms =
                        train::distillationLoss(out, t, y, m_settings.distill.value_or(DistillSettings{}));
                    loss = terms.total;
                    labelLoss = terms.labels;
                    distillSum += terms.distillation.item<double>() * double(count);
                } else {
                    loss = labelLoss = torch::cross_entropy_loss(out, y);
                }
                if (!std::isfinite(loss.item<double>()))
                    return makeError(ErrorCode::InvalidArgument,
                                     "training diverged: the loss is " + std::to_string(loss.item<double>()) + " at " +
                                         stage + ", batch " + std::to_string(b + 1) + " of " + std::to_string(steps) +
                                         " (lr " + std::to_string(learningRate(epoch, step, totalSteps)) +
                                         "); lower train.lr" +
                                         (m_teacher ? " (distillation's T²-scaled term asks for a smaller lr than "
                                                      "training on labels)"
                                                    : ""));
                loss.backward();
                for (WeightPlan& p : m_plans)
                    if (p.shared && p.zeroReserved && p.codebook.grad().defined()) p.codebook.grad()[0].fill_(0.0);
                optimizer->step();
                applyMasks();
                if (m_settings.mode == TrainObjective::L1 && !(rampPhase && epoch > l1CutEpoch(epochs)))
                    proximalStep(learningRate(epoch, step, totalSteps));
                lossSum += labelLoss.item<double>() * double(count);
                seen += count;
            }
            if (m_settings.mode == TrainObjective::L1 && epoch == l1CutEpoch(epochs) && rampPhase) finalCut();
            const double trainSeconds = secondsSince(start);
            EpochRecord record;
            record.epoch = epochBase + epoch + 1;
            record.phase = name;
            record.loss = seen ? lossSum / double(seen) : 0;
            record.lr = epochLr;
            record.sparsity = sparsity();
            record.layerSparsity = layerSparsity();
            record.histograms = histograms();
            if (m_settings.mode == TrainObjective::L1 && !(rampPhase && epoch > l1CutEpoch(epochs))) record.penalty = penalty();
            if (m_teacher && seen) record.distillation = distillSum / double(seen);
            record.imagesPerSecond = trainSeconds > 0 ? double(seen) / trainSeconds : 0;
            if (m_data.evaluation) {
                EvalOptions options;
                options.backend = BackendKind::Builtin;
                options.limit = m_data.evalLimit;
                options.latencySamples = 0;
                options.folds = 1;
                options.threads = m_data.threads;
                auto report = evaluate(exportedForm(g), *m_data.evaluation, options);
                if (!report) return report.error();
                record.top1 = report->top1;
                record.evaluated = report->n;
            }
            record.seconds = secondsSince(start);
            m_out.history.push_back(record);
            if (m_onEpoch) m_onEpoch(record);
            last = snapshot();
        }
        return Ok{};
    }

    Status cancel(const Snapshot& last) {
        if (m_out.history.empty())
            return makeError(ErrorCode::Cancelled, "training cancelled before its first epoch finished");
        restore(last);
        m_cancelled = true;
        m_out.cancelled = true;
        m_out.notes.push_back("training cancelled; the weights are those of epoch " +
                              std::to_string(m_out.history.back().epoch));
        return Ok{};
    }

    const Graph& m_source;
    const Recipe& m_recipe;
    const TrainSettings& m_settings;
    const TrainData& m_data;
    std::shared_ptr<const TeacherLogits> m_teacher;  // distill mode
    const EpochFn& m_onEpoch;
    TrainedModel& m_out;
    bool& m_cancelled;
    ProgressFn m_progress;
    std::unique_ptr<train::TorchGraph> m_net;
    std::string m_logits;
    std::vector<WeightPlan> m_plans;
    std::vector<WeightHistogram> m_histograms;  // bins and counts before training
};

// The recipe without unstructured pruning: gradual pruning reaches those sparsities while training.
Recipe withoutUnstructuredPruning(Recipe recipe) {
    auto strip = [](LayerEntry& e) {
        if (!e.prune) return;
        e.prune->sparsity.reset();
        e.prune->threshold.reset();
    };
    strip(recipe.defaults);
    for (auto& [name, e] : recipe.layers) strip(e);
    recipe.globalPruneSparsity.reset();
    recipe.globalPruneCorrection.reset();
    recipe.globalPruneSamples.reset();
    return recipe;
}

// "[N,1,28,28]" of a graph's first input, "unknown" when it is not declared.
std::string inputShapeText(const Graph& g) {
    const ValueInfo* v = g.inputs.empty() ? nullptr : g.value(g.inputs.front());
    return v && v->hasShape ? shapeToString(v->shape) : std::string("unknown");
}

// Teacher and student take the same samples: their declared input shapes agree past the batch dimension where both
// are known.
Status checkSameInput(const Graph& teacher, const Graph& student, const std::string& teacherName) {
    const ValueInfo* t = teacher.inputs.empty() ? nullptr : teacher.value(teacher.inputs.front());
    const ValueInfo* s = student.inputs.empty() ? nullptr : student.value(student.inputs.front());
    if (!t || !s || !t->hasShape || !s->hasShape) return Ok{};
    bool same = t->shape.size() == s->shape.size();
    for (size_t d = 1; same && d < t->shape.size(); ++d)
        same = t->shape[d] < 0 || s->shape[d] < 0 || t->shape[d] == s->shape[d];
    if (same) return Ok{};
    return makeError(ErrorCode::InvalidArgument, "teacher and student inputs differ: " + teacherName + " takes '" +
                                                     teacher.inputs.front() + "' " + inputShapeText(teacher) +
                                                     ", the student '" + student.inputs.front() + "' " +
                                                     inputShapeText(student));
}

}  // namespace

Result<TrainedModel> trainRecipe(const Graph& graph, const Recipe& recipe, const TrainData& data,
                                 const ApplyOptions& options, const ProgressFn& progress, const EpochFn& onEpoch) {
    if (!recipe.train) return makeError(ErrorCode::InvalidArgument, "the recipe has no \"train\" section");
    if (!data.train || data.train->size() == 0)
        return makeError(ErrorCode::InvalidArgument, "training needs training data (an IDX train split or --train-data)");
    if (data.evaluation && data.evaluation.get() == data.train.get())
        return makeError(ErrorCode::InvalidArgument,
                         "the training data is the evaluation data; train on other images (the IDX train split or "
                         "--train-data)");
    if (auto st = validateRecipe(recipe, graph); !st) return st.error();
    if (auto st = checkCompatibility(graph, *data.train); !st)
        return makeError(st.error().code, "training data " + data.trainName + ": " + st.error().message);
    if (auto st = train::TorchGraph::checkOps(graph); !st) return st.error();
    const TrainSettings& settings = *recipe.train;
    const bool gradual = settings.pruneSchedule.has_value();
    if (gradual && settings.centroidEpochs == 0) {
        for (const auto& lw : compressibleLayers(graph)) {
            const LayerSettings s = resolveLayerSettings(recipe, graph, lw.node);
            if (s.rounding == Rounding::KMeans && s.quantized() && s.pruned())
                return makeError(ErrorCode::InvalidArgument,
                                 "train.prune_schedule: layer " + lw.nodeName +
                                     " is pruned and k-means shared; set train.centroid_epochs so the centroids "
                                     "train after the sparsity has ramped");
        }
    }
    TrainData subset = data;
    if (settings.samples > 0 && settings.samples < data.train->size())
        subset.train = calibrationSubset(data.train, settings.samples, settings.seed);
    TrainedModel out;
    std::shared_ptr<const TeacherLogits> teacherLogitsOfData;
    if (settings.mode == TrainObjective::Distill) {
        const DistillSettings distill = settings.distill.value_or(DistillSettings{});
        if (!data.teacher && distill.teacher != "baseline")
            return makeError(ErrorCode::InvalidArgument, "train.distill.teacher: '" + distill.teacher +
                                                             "' is a file; open it and pass it as the teacher");
        const Graph& teacher = data.teacher ? *data.teacher : graph;
        const std::string teacherName =
            data.teacher ? "teacher " + (teacher.sourcePath.empty() ? std::string("model") : teacher.sourcePath)
                         : std::string("the baseline (teacher)");
        if (auto st = checkSameInput(teacher, graph, teacherName); !st) return st.error();
        auto logits = teacherLogits(teacher, *subset.train, data.threads, progress);
        if (!logits) return logits.error();
        teacherLogitsOfData = *logits;
        out.notes.push_back(std::string(distill.hard ? "hard" : "soft") + " distillation from " + teacherName +
                            " (T " + std::to_string(distill.temperature) + ", alpha " + std::to_string(distill.alpha) +
                            "); its logits of the " + std::to_string(subset.train->size()) +
                            " training images come from Lathe's executor, cached by teacher and data content");
    }
    Graph initialized;
    if (settings.init == WeightInit::Random) {
        initialized = graph;
        const auto tensors = initializeWeights(initialized, settings.seed);
        out.notes.push_back("re-initialised " + std::to_string(tensors.size()) +
                            " weight tensors (PyTorch's defaults, seed " + std::to_string(settings.seed) + ")");
    }
    const Graph& start = settings.init == WeightInit::Random ? initialized : graph;
    bool cancelled = false;
    Trainer trainer(start, recipe, subset, teacherLogitsOfData, onEpoch, out, cancelled);
    ApplyOptions applyOptions = options;
    applyOptions.retrain = [&](Graph& g, const std::vector<RetrainLayer>& layers, const ProgressFn& p) {
        return trainer.run(g, layers, p);
    };
    // After a Cancel that keeps an epoch, quantization still runs to the end.
    const ProgressFn outer = [&](float fraction, std::string_view stage) {
        return cancelled || reportProgress(progress, fraction, stage);
    };
    auto compressed = applyRecipe(start, gradual ? withoutUnstructuredPruning(recipe) : recipe, applyOptions, outer);
    if (!compressed) return compressed.error();
    out.model = std::move(*compressed);
    if (gradual)
        out.notes.push_back("unstructured sparsities ramped from " +
                            std::to_string(int(std::lround(100 * settings.pruneSchedule->from))) +
                            " % to their targets over " + std::to_string(settings.pruneSchedule->epochs) +
                            " epoch(s) (cubic schedule), masks recomputed by magnitude");
    return out;
}

}  // namespace lathe
