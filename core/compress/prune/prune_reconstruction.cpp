#include "core/compress/prune/prune_reconstruction.h"

#include <Eigen/Dense>
#include <algorithm>
#include <cmath>
#include <numeric>
#include <optional>
#include <set>

#include "core/compress/compressible_layer.h"
#include "core/eval/evaluator.h"
#include "core/runtime/executor.h"
#include "core/runtime/kernels/window.h"

namespace lathe {

namespace {

constexpr int64_t kMaxFanIn = 8192;
constexpr int64_t kChunkElements = int64_t(1) << 22;  // floats of A built at once

using MatrixF = Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;

// How one applicable node maps onto rows of A and T.
struct LayerGeometry {
    bool conv = false;
    std::string input, output, weight, biasName;
    int64_t outputs = 0, groups = 1, fanIn = 0;
    bool refitBias = false;
    std::vector<float> fixedBias;  // a per-output bias that is not refit (shared with another node): out of T
    float inputScale = 1.f;        // Gemm alpha
    float biasScale = 1.f;         // Gemm beta
    WeightLayout layout;
    int64_t inChannelsPerGroup = 0;  // Conv
    WindowAttributes window;         // Conv
};

// The geometry, or the reason the pass does not apply (as the error message).
Result<LayerGeometry> layerGeometry(const Graph& graph, int nodeIndex) {
    auto notApplicable = [](std::string why) { return makeError(ErrorCode::Unsupported, std::move(why)); };
    auto lw = layerWeight(graph, nodeIndex);
    if (!lw) return notApplicable("no compressible weight");
    const Node& node = graph.nodes[size_t(nodeIndex)];
    const Tensor& w = graph.initializers.at(lw->weight);
    LayerGeometry geo;
    geo.input = node.inputs[0];
    geo.output = node.outputs[0];
    geo.weight = lw->weight;
    std::vector<float> bias;
    if (node.opType == "Conv") {
        if (w.shape.size() < 3 || w.shape.size() > 5) return notApplicable("Conv weight of rank " +
                                                                          std::to_string(w.shape.size()));
        geo.conv = true;
        geo.outputs = w.shape[0];
        geo.groups = node.attrInt("group", 1);
        if (geo.groups < 1 || geo.outputs % geo.groups != 0) return notApplicable("Conv group does not divide outputs");
        geo.inChannelsPerGroup = w.shape[1];
        geo.fanIn = w.numel() / geo.outputs;
        geo.layout = {geo.fanIn, 1};
        auto window = readWindowAttributes(node, w.shape.size() - 2, {w.shape.begin() + 2, w.shape.end()});
        if (!window) return notApplicable(window.error().message);
        geo.window = *window;
        if (node.inputs.size() > 2 && !node.inputs[2].empty()) geo.biasName = node.inputs[2];
    } else if (node.opType == "Gemm") {
        if (node.attrInt("transA", 0) != 0) return notApplicable("Gemm with transA = 1");
        const bool transB = node.attrInt("transB", 0) != 0;
        geo.outputs = transB ? w.shape[0] : w.shape[1];
        geo.fanIn = transB ? w.shape[1] : w.shape[0];
        geo.layout = transB ? WeightLayout{geo.fanIn, 1} : WeightLayout{1, geo.outputs};
        geo.inputScale = node.attrFloat("alpha", 1.f);
        geo.biasScale = node.attrFloat("beta", 1.f);
        if (node.inputs.size() > 2 && !node.inputs[2].empty() && geo.biasScale != 0.f) {
            const Tensor* c = graph.initializer(node.inputs[2]);
            if (!c || c->numel() != geo.outputs || (c->shape.size() == 2 && c->shape[0] != 1))
                return notApplicable("Gemm bias C is not a constant per-output vector");
            geo.biasName = node.inputs[2];
        }
    } else if (node.opType == "MatMul") {
        geo.outputs = w.shape[1];
        geo.fanIn = w.shape[0];
        geo.layout = {1, geo.outputs};
    } else {
        return notApplicable(node.opType + " is not refit (Conv, Gemm and MatMul are)");
    }
    if (geo.fanIn > kMaxFanIn) return notApplicable("fan-in " + std::to_string(geo.fanIn) + " above 8192");
    if (!geo.biasName.empty()) {
        const Tensor* b = graph.initializer(geo.biasName);
        if (!b || b->numel() != geo.outputs) return notApplicable("bias is not a constant per-output vector");
        if (useCount(graph, geo.biasName) == 1) {
            geo.refitBias = true;
        } else {
            geo.fixedBias.resize(size_t(geo.outputs));
            for (int64_t o = 0; o < geo.outputs; ++o) geo.fixedBias[size_t(o)] = geo.biasScale * b->data[size_t(o)];
        }
    }
    return geo;
}

LayerNormalEquations emptyEquations(const LayerGeometry& geo) {
    LayerNormalEquations eq;
    eq.fanIn = geo.fanIn;
    eq.outputs = geo.outputs;
    eq.groups = geo.groups;
    eq.bias = geo.refitBias;
    const auto width = size_t(eq.width());
    eq.h.assign(size_t(eq.groups) * width * width, 0.0);
    eq.g.assign(size_t(eq.outputs) * width, 0.0);
    eq.tt.assign(size_t(eq.outputs), 0.0);
    return eq;
}

// Adds A_chunkᵀ A_chunk (a symmetric rank update, in float per chunk) and A_chunkᵀ T_chunk of one group.
void addChunk(LayerNormalEquations& eq, int64_t group, const MatrixF& a, const MatrixF& t) {
    const int64_t width = eq.width(), perGroup = eq.outputs / eq.groups;
    Eigen::MatrixXf ata = Eigen::MatrixXf::Zero(width, width);
    ata.selfadjointView<Eigen::Lower>().rankUpdate(a.transpose());
    const MatrixF att = a.transpose() * t;  // width × perGroup
    double* h = eq.h.data() + size_t(group * width * width);
    for (int64_t c = 0; c < width; ++c)
        for (int64_t r = c; r < width; ++r) {
            const double v = double(ata(r, c));
            h[r * width + c] += v;
            if (r != c) h[c * width + r] += v;
        }
    for (int64_t o = 0; o < perGroup; ++o) {
        double* g = eq.g.data() + size_t((group * perGroup + o) * width);
        for (int64_t j = 0; j < width; ++j) g[j] += double(att(j, o));
        eq.tt[size_t(group * perGroup + o)] += double(t.col(o).cast<double>().squaredNorm());
    }
}

// `graph` cut down to the nodes `value` depends on, with `value` as its only output: a forward pass that stops there.
Graph truncatedTo(const Graph& graph, const std::string& value) {
    Graph g;
    g.name = graph.name;
    g.irVersion = graph.irVersion;
    g.opset = graph.opset;
    g.opsetImports = graph.opsetImports;
    g.inputs = graph.inputs;
    g.outputs = {value};
    std::set<std::string> needed = {value};
    std::vector<const Node*> kept;
    for (auto it = graph.nodes.rbegin(); it != graph.nodes.rend(); ++it) {
        const bool feeds = std::any_of(it->outputs.begin(), it->outputs.end(),
                                       [&](const std::string& o) { return needed.count(o) > 0; });
        if (!feeds) continue;
        kept.push_back(&*it);
        needed.insert(it->inputs.begin(), it->inputs.end());
        needed.insert(it->outputs.begin(), it->outputs.end());
    }
    for (auto it = kept.rbegin(); it != kept.rend(); ++it) g.nodes.push_back(**it);
    for (const auto& name : needed) {
        if (auto v = graph.values.find(name); v != graph.values.end()) g.values.insert(*v);
        if (auto t = graph.initializers.find(name); t != graph.initializers.end()) g.initializers.insert(*t);
    }
    for (const auto& in : graph.inputs)
        if (auto v = graph.values.find(in); v != graph.values.end()) g.values.insert(*v);
    return g;
}

// Rows of one batch: `input` is what the node reads, `target` what the reference node writes.
Status accumulate(const LayerGeometry& geo, const NDArray& input, const NDArray& target, LayerNormalEquations& eq) {
    auto mismatch = [&](const std::string& what) {
        return makeError(ErrorCode::Internal, "least-squares correction: unexpected " + what + " of " + geo.output);
    };
    const int64_t width = eq.width(), perGroup = geo.outputs / geo.groups;
    if (!geo.conv) {
        if (input.shape.empty() || target.shape.empty() || input.shape.back() != geo.fanIn ||
            target.shape.back() != geo.outputs)
            return mismatch("shape");
        const int64_t rows = input.numel() / geo.fanIn;
        if (target.numel() / geo.outputs != rows) return mismatch("row count");
        const int64_t chunk = std::max<int64_t>(1, kChunkElements / width);
        for (int64_t r0 = 0; r0 < rows; r0 += chunk) {
            const int64_t n = std::min(chunk, rows - r0);
            MatrixF a(n, width), t(n, geo.outputs);
            for (int64_t r = 0; r < n; ++r) {
                const float* x = input.data.data() + (r0 + r) * geo.fanIn;
                for (int64_t j = 0; j < geo.fanIn; ++j) a(r, j) = geo.inputScale * x[j];
                if (eq.bias) a(r, geo.fanIn) = geo.biasScale;
                const float* y = target.data.data() + (r0 + r) * geo.outputs;
                for (int64_t o = 0; o < geo.outputs; ++o)
                    t(r, o) = y[o] - (geo.fixedBias.empty() ? 0.f : geo.fixedBias[size_t(o)]);
            }
            addChunk(eq, 0, a, t);
        }
        eq.rows += rows;
        return Ok{};
    }
    const size_t rank = geo.window.kernel.size();
    if (input.shape.size() != rank + 2 || target.shape.size() != rank + 2) return mismatch("rank");
    const int64_t batch = input.shape[0], channels = input.shape[1];
    if (channels != geo.inChannelsPerGroup * geo.groups || target.shape[0] != batch ||
        target.shape[1] != geo.outputs)
        return mismatch("channels");
    auto window = resolveWindow(geo.window, std::span<const int64_t>(input.shape).subspan(2));
    if (!window) return mismatch("window");
    const WindowGeometry& wg = *window;
    for (size_t d = 0; d < rank; ++d)
        if (target.shape[2 + d] != wg.out[3 - rank + d]) return mismatch("output size");
    const int64_t positions = wg.outSize(), inSize = wg.inSize(), taps = wg.kernelSize();
    const int64_t rows = batch * positions;
    const int64_t chunk = std::max<int64_t>(1, kChunkElements / width);
    for (int64_t gi = 0; gi < geo.groups; ++gi) {
        for (int64_t r0 = 0; r0 < rows; r0 += chunk) {
            const int64_t n = std::min(chunk, rows - r0);
            MatrixF a = MatrixF::Zero(n, width), t(n, perGroup);
            for (int64_t r = 0; r < n; ++r) {
                const int64_t sample = (r0 + r) / positions, pos = (r0 + r) % positions;
                const int64_t o0 = pos / (wg.out[1] * wg.out[2]), o1 = pos / wg.out[2] % wg.out[1],
                              o2 = pos % wg.out[2];
                for (int64_t c = 0; c < geo.inChannelsPerGroup; ++c) {
                    const float* x =
                        input.data.data() + (sample * channels + gi * geo.inChannelsPerGroup + c) * inSize;
                    float* row = &a(r, c * taps);
                    for (int64_t k0 = 0; k0 < wg.kernel[0]; ++k0) {
                        const int64_t i0 = o0 * wg.stride[0] - wg.padBegin[0] + k0 * wg.dilation[0];
                        if (i0 < 0 || i0 >= wg.in[0]) continue;
                        for (int64_t k1 = 0; k1 < wg.kernel[1]; ++k1) {
                            const int64_t i1 = o1 * wg.stride[1] - wg.padBegin[1] + k1 * wg.dilation[1];
                            if (i1 < 0 || i1 >= wg.in[1]) continue;
                            for (int64_t k2 = 0; k2 < wg.kernel[2]; ++k2) {
                                const int64_t i2 = o2 * wg.stride[2] - wg.padBegin[2] + k2 * wg.dilation[2];
                                if (i2 < 0 || i2 >= wg.in[2]) continue;
                                row[(k0 * wg.kernel[1] + k1) * wg.kernel[2] + k2] =
                                    x[(i0 * wg.in[1] + i1) * wg.in[2] + i2];
                            }
                        }
                    }
                }
                if (eq.bias) a(r, geo.fanIn) = 1.f;
                for (int64_t o = 0; o < perGroup; ++o) {
                    const int64_t out = gi * perGroup + o;
                    t(r, o) = target.data[size_t((sample * geo.outputs + out) * positions + pos)] -
                              (geo.fixedBias.empty() ? 0.f : geo.fixedBias[size_t(out)]);
                }
            }
            addChunk(eq, gi, a, t);
        }
    }
    eq.rows += rows;
    return Ok{};
}

}  // namespace

RefitResult refitKeptWeights(const LayerNormalEquations& eq, std::span<float> weight, WeightLayout layout,
                             std::span<float> bias, double damping) {
    const int64_t width = eq.width(), perGroup = eq.outputs / std::max<int64_t>(eq.groups, 1);
    std::vector<double> before(size_t(eq.outputs), 0.0), after(size_t(eq.outputs), 0.0);
#pragma omp parallel for schedule(dynamic, 4)
    for (int64_t o = 0; o < eq.outputs; ++o) {
        const int64_t group = o / perGroup;
        const Eigen::Map<const Eigen::Matrix<double, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>> h(
            eq.h.data() + size_t(group * width * width), width, width);
        const double* g = eq.g.data() + size_t(o * width);
        auto at = [&](int64_t j) -> float& {
            return j < eq.fanIn ? weight[size_t(o * layout.outStride + j * layout.inStride)] : bias[size_t(o)];
        };
        std::vector<int64_t> kept;
        for (int64_t j = 0; j < eq.fanIn; ++j)
            if (at(j) != 0.f) kept.push_back(j);
        if (eq.bias) kept.push_back(eq.fanIn);
        const auto k = Eigen::Index(kept.size());
        Eigen::VectorXd x0(k), rhs(k);
        Eigen::MatrixXd m(k, k);
        for (Eigen::Index a = 0; a < k; ++a) {
            x0[a] = double(at(kept[size_t(a)]));
            rhs[a] = g[kept[size_t(a)]];
            for (Eigen::Index b = 0; b < k; ++b) m(a, b) = h(kept[size_t(a)], kept[size_t(b)]);
        }
        // ||A x - T||² = xᵀ H x - 2 xᵀ G + TᵀT over the kept coordinates (the others are zero).
        auto error = [&](const Eigen::VectorXd& x) {
            return std::max(0.0, x.dot(m * x) - 2.0 * x.dot(rhs) + eq.tt[size_t(o)]);
        };
        before[size_t(o)] = error(x0);
        after[size_t(o)] = before[size_t(o)];
        const double lambda = damping * h.diagonal().mean();
        if (k == 0 || !(lambda >= 0) || !std::isfinite(lambda)) continue;
        Eigen::MatrixXd damped = m;
        damped.diagonal().array() += lambda;
        Eigen::LLT<Eigen::MatrixXd> llt(damped);
        if (llt.info() != Eigen::Success) continue;
        const Eigen::VectorXd x = llt.solve(rhs + lambda * x0);
        if (!x.allFinite()) continue;
        const double e = error(x);
        if (!(e <= before[size_t(o)])) continue;
        after[size_t(o)] = e;
        for (Eigen::Index a = 0; a < k; ++a) at(kept[size_t(a)]) = float(x[a]);
    }
    RefitResult r;
    r.errorBefore = std::accumulate(before.begin(), before.end(), 0.0);
    r.errorAfter = std::accumulate(after.begin(), after.end(), 0.0);
    r.targetEnergy = std::accumulate(eq.tt.begin(), eq.tt.end(), 0.0);
    return r;
}

bool reconstructionApplies(const Graph& graph, int nodeIndex) { return layerGeometry(graph, nodeIndex).ok(); }

Result<ReconstructionReport> reconstructPrunedLayers(Graph& pruned, const Graph& reference,
                                                     std::span<const std::string> nodes,
                                                     std::shared_ptr<const Dataset> dataset,
                                                     const ReconstructionOptions& options,
                                                     const ProgressFn& progress) {
    if (!dataset) return makeError(ErrorCode::InvalidArgument, "least-squares correction needs a calibration data set");
    if (auto st = checkCompatibility(pruned, *dataset); !st) return st.error();
    std::vector<int> order;
    for (const auto& name : nodes) {
        const int idx = pruned.nodeIndex(name);
        if (idx < 0 || reference.nodeIndex(name) < 0)
            return makeError(ErrorCode::InvalidArgument, "least-squares correction: no node named '" + name + "'");
        order.push_back(idx);
    }
    std::sort(order.begin(), order.end());
    order.erase(std::unique(order.begin(), order.end()), order.end());

    ExecutorOptions executorOptions;
    executorOptions.threads = options.threads;
    auto subset = calibrationSubset(dataset, std::max<int64_t>(1, options.samples), options.seed);
    const int64_t n = subset->size();
    const int64_t batchSize = std::max(1, options.batchSize);
    const std::string& graphInput = pruned.inputs.front();
    const ValueInfo* inputInfo = pruned.value(graphInput);
    const bool flat = inputInfo && inputInfo->hasShape && inputInfo->shape.size() == 2;

    ReconstructionReport report;
    report.samples = n;
    for (size_t li = 0; li < order.size(); ++li) {
        const Node& node = pruned.nodes[size_t(order[li])];
        LayerReconstruction layer;
        layer.node = node.name;
        auto geo = layerGeometry(pruned, order[li]);
        if (!geo) {
            layer.note = "least-squares correction skipped: " + geo.error().message;
            report.layers.push_back(std::move(layer));
            continue;
        }
        // The reference up to the node's output; the pruned graph, as corrected so far, up to its input.
        auto referenceExecutor = Executor::compile(truncatedTo(reference, geo->output), executorOptions);
        if (!referenceExecutor) return referenceExecutor.error();
        std::optional<Executor> executor;
        if (geo->input != graphInput) {
            auto compiled = Executor::compile(truncatedTo(pruned, geo->input), executorOptions);
            if (!compiled) return compiled.error();
            executor = std::move(*compiled);
        }
        LayerNormalEquations eq = emptyEquations(*geo);
        for (int64_t begin = 0; begin < n; begin += batchSize) {
            const float fraction = (float(li) + float(begin) / float(n)) / float(order.size());
            if (!reportProgress(progress, fraction, "least-squares correction"))
                return makeError(ErrorCode::Cancelled, "least-squares correction cancelled");
            std::vector<int64_t> indices(size_t(std::min(batchSize, n - begin)));
            std::iota(indices.begin(), indices.end(), begin);
            auto batch = subset->batch(indices);
            if (!batch) return batch.error();
            if (flat) batch->shape = {batch->shape[0], batch->numel() / std::max<int64_t>(batch->shape[0], 1)};
            const std::map<std::string, NDArray> feed = {{graphInput, *batch}};
            auto target = referenceExecutor->run(feed);
            if (!target) return target.error();
            if (geo->input == graphInput) {
                if (auto st = accumulate(*geo, *batch, target->at(geo->output), eq); !st) return st.error();
            } else {
                auto current = executor->run(feed);
                if (!current) return current.error();
                if (auto st = accumulate(*geo, current->at(geo->input), target->at(geo->output), eq); !st)
                    return st.error();
            }
        }
        std::span<float> weight = pruned.initializers.at(geo->weight).data;
        std::span<float> bias;
        if (geo->refitBias) bias = pruned.initializers.at(geo->biasName).data;
        const RefitResult r = refitKeptWeights(eq, weight, geo->layout, bias, options.damping);
        layer.applied = true;
        if (r.targetEnergy > 0) {
            layer.relErrorBefore = std::sqrt(r.errorBefore / r.targetEnergy);
            layer.relErrorAfter = std::sqrt(r.errorAfter / r.targetEnergy);
        }
        report.layers.push_back(std::move(layer));
    }
    reportProgress(progress, 1.f, "least-squares correction");
    return report;
}

}  // namespace lathe
