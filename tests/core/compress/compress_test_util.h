#pragma once
// Small graphs built in code and a naive float evaluator for the ops they use, so the compression passes can be
// checked numerically without the runtime.

#include <cmath>
#include <map>
#include <random>
#include <stdexcept>
#include <string>
#include <vector>

#include "core/compress/compressible_layer.h"
#include "core/compress/recipe.h"
#include "core/model/graph.h"

namespace lathe::testing {

struct Array {
    std::vector<int64_t> shape;
    std::vector<float> data;
};

class GraphBuilder {
public:
    explicit GraphBuilder(uint32_t seed = 1) : m_rng(seed) {}

    Graph graph;

    std::string input(const std::string& name, std::vector<int64_t> shape) {
        graph.inputs.push_back(name);
        setValue(name, std::move(shape));
        return name;
    }

    Tensor& tensor(const std::string& name, std::vector<int64_t> shape, float scale = 0.5f) {
        Tensor t;
        t.name = name;
        t.shape = std::move(shape);
        t.data.resize(size_t(t.numel()));
        std::normal_distribution<float> normal(0.f, scale);
        for (float& v : t.data) v = normal(m_rng);
        putInitializer(graph, t);
        return graph.initializers.at(name);
    }

    std::string conv(const std::string& name, const std::string& x, int64_t cout, int64_t k, int64_t group = 1,
                     int64_t pad = 0, bool bias = true) {
        const auto& in = shapeOf(x);
        const int64_t cin = in[1];
        tensor(name + ".weight", {cout, cin / group, k, k});
        Node n = node(name, "Conv", {x, name + ".weight"});
        if (bias) {
            tensor(name + ".bias", {cout}, 0.1f);
            n.inputs.push_back(name + ".bias");
        }
        n.attributes["kernel_shape"] = intsAttribute({k, k});
        n.attributes["pads"] = intsAttribute({pad, pad, pad, pad});
        n.attributes["strides"] = intsAttribute({1, 1});
        n.attributes["group"] = intAttribute(group);
        return add(n, {in[0], cout, in[2] + 2 * pad - k + 1, in[3] + 2 * pad - k + 1});
    }

    std::string batchNorm(const std::string& name, const std::string& x) {
        const int64_t c = shapeOf(x)[1];
        Tensor& scale = tensor(name + ".weight", {c}, 0.3f);
        for (float& v : scale.data) v += 1.f;
        tensor(name + ".bias", {c}, 0.2f);
        tensor(name + ".running_mean", {c}, 0.2f);
        Tensor& var = tensor(name + ".running_var", {c}, 0.3f);
        for (float& v : var.data) v = 1.f + std::fabs(v);
        return add(node(name, "BatchNormalization",
                        {x, name + ".weight", name + ".bias", name + ".running_mean", name + ".running_var"}),
                   shapeOf(x));
    }

    std::string unary(const std::string& op, const std::string& name, const std::string& x) {
        return add(node(name, op, {x}), shapeOf(x));
    }

    std::string maxPool(const std::string& name, const std::string& x, int64_t k) {
        auto s = shapeOf(x);
        Node n = node(name, "MaxPool", {x});
        n.attributes["kernel_shape"] = intsAttribute({k, k});
        n.attributes["strides"] = intsAttribute({k, k});
        return add(n, {s[0], s[1], s[2] / k, s[3] / k});
    }

    std::string globalAveragePool(const std::string& name, const std::string& x) {
        auto s = shapeOf(x);
        return add(node(name, "GlobalAveragePool", {x}), {s[0], s[1], 1, 1});
    }

    std::string flatten(const std::string& name, const std::string& x) {
        auto s = shapeOf(x);
        int64_t features = 1;
        for (size_t i = 1; i < s.size(); ++i) features *= s[i];
        return add(node(name, "Flatten", {x}), {s[0], features});
    }

    std::string gemm(const std::string& name, const std::string& x, int64_t n, bool transB = true) {
        const int64_t k = shapeOf(x)[1];
        tensor(name + ".weight", transB ? std::vector<int64_t>{n, k} : std::vector<int64_t>{k, n}, 0.2f);
        tensor(name + ".bias", {n}, 0.1f);
        Node g = node(name, "Gemm", {x, name + ".weight", name + ".bias"});
        g.attributes["transB"] = intAttribute(transB ? 1 : 0);
        return add(g, {shapeOf(x)[0], n});
    }

    std::string matmul(const std::string& name, const std::string& x, int64_t n) {
        const int64_t k = shapeOf(x)[1];
        tensor(name + ".weight", {k, n}, 0.2f);
        return add(node(name, "MatMul", {x, name + ".weight"}), {shapeOf(x)[0], n});
    }

    std::string binary(const std::string& op, const std::string& name, const std::string& a, const std::string& b) {
        return add(node(name, op, {a, b}), shapeOf(a));
    }

    std::string concat(const std::string& name, const std::vector<std::string>& xs) {
        auto s = shapeOf(xs[0]);
        s[1] = 0;
        for (const auto& x : xs) s[1] += shapeOf(x)[1];
        Node n = node(name, "Concat", xs);
        n.attributes["axis"] = intAttribute(1);
        return add(n, s);
    }

    void output(const std::string& x) { graph.outputs.push_back(x); }

    const std::vector<int64_t>& shapeOf(const std::string& v) const { return graph.values.at(v).shape; }

    // For layers the helpers above do not make: a node named `name` whose output is "<name>_out"; add() appends it
    // with its output's shape.
    static Node node(const std::string& name, const std::string& op, std::vector<std::string> inputs) {
        Node n;
        n.name = name;
        n.opType = op;
        n.inputs = std::move(inputs);
        n.outputs = {name + "_out"};
        return n;
    }
    void setValue(const std::string& name, std::vector<int64_t> shape) {
        ValueInfo v;
        v.name = name;
        v.dtype = DType::Float;
        v.hasShape = true;
        v.shape = std::move(shape);
        v.dimParams.assign(v.shape.size(), "");
        graph.values[name] = v;
    }
    std::string add(Node n, std::vector<int64_t> shape) {
        const std::string out = n.outputs[0];
        setValue(out, std::move(shape));
        graph.nodes.push_back(std::move(n));
        return out;
    }

private:
    std::mt19937 m_rng;
};

// LeNet-5 as in resources/models/lenet5_fashion.onnx: same node, weight and value names and shapes.
inline Graph makeLeNet(uint32_t seed = 7, int64_t batch = 1) {
    GraphBuilder b(seed);
    std::string x = b.input("input", {batch, 1, 28, 28});
    x = b.conv("conv1", x, 20, 5);
    x = b.maxPool("pool1", x, 2);
    x = b.conv("conv2", x, 50, 5);
    x = b.maxPool("pool2", x, 2);
    x = b.flatten("flatten", x);
    x = b.gemm("fc1", x, 500);
    x = b.unary("Relu", "relu1", x);
    x = b.gemm("fc2", x, 10);
    b.output(x);
    return b.graph;
}

// Conv → Relu → Conv → Add(skip) → Relu → GAP → Flatten → Gemm, as tests/fixtures/residual.onnx.
inline Graph makeResidual() {
    GraphBuilder b(3);
    std::string x = b.input("input", {1, 4, 8, 8});
    std::string y = b.conv("conv1", x, 4, 3, 1, 1);
    y = b.unary("Relu", "relu1", y);
    y = b.conv("conv2", y, 4, 3, 1, 1);
    y = b.binary("Add", "add", y, x);
    y = b.unary("Relu", "relu2", y);
    y = b.globalAveragePool("pool", y);
    y = b.flatten("flatten", y);
    b.output(b.gemm("fc", y, 3));
    return b.graph;
}

inline Array randomInput(std::vector<int64_t> shape, uint32_t seed = 3) {
    Array a;
    a.shape = std::move(shape);
    a.data.resize(size_t(shapeNumel(a.shape)));
    std::mt19937 rng(seed);
    std::uniform_real_distribution<float> u(-1.f, 1.f);
    for (float& v : a.data) v = u(rng);
    return a;
}

// Naive evaluator: Conv (2-D, groups, pads, strides), BatchNormalization, Relu, MaxPool, GlobalAveragePool,
// Flatten, Gemm, MatMul (2-D), Add/Mul (same shape or constant), Concat (axis 1).
inline std::map<std::string, Array> evaluate(const Graph& g, const std::map<std::string, Array>& inputs) {
    std::map<std::string, Array> env = inputs;
    for (const auto& [name, t] : g.initializers) env[name] = Array{t.shape, {t.data.begin(), t.data.end()}};
    for (const Node& n : g.nodes) {
        const Array& x = env.at(n.inputs[0]);
        Array y;
        if (n.opType == "Conv") {
            const Array& w = env.at(n.inputs[1]);
            const int64_t group = n.attrInt("group", 1);
            auto pads = n.attrInts("pads", {0, 0, 0, 0});
            auto strides = n.attrInts("strides", {1, 1});
            const int64_t N = x.shape[0], C = x.shape[1], H = x.shape[2], W = x.shape[3];
            const int64_t M = w.shape[0], kc = w.shape[1], kh = w.shape[2], kw = w.shape[3];
            const int64_t Ho = (H + pads[0] + pads[2] - kh) / strides[0] + 1;
            const int64_t Wo = (W + pads[1] + pads[3] - kw) / strides[1] + 1;
            if (kc * group != C) throw std::runtime_error("conv channel mismatch in " + n.name);
            y.shape = {N, M, Ho, Wo};
            y.data.assign(size_t(N * M * Ho * Wo), 0.f);
            const int64_t mPerGroup = M / group;
            for (int64_t b = 0; b < N; ++b)
                for (int64_t m = 0; m < M; ++m) {
                    const int64_t gi = m / mPerGroup;
                    const float bias =
                        n.inputs.size() > 2 && !n.inputs[2].empty() ? env.at(n.inputs[2]).data[size_t(m)] : 0.f;
                    for (int64_t oh = 0; oh < Ho; ++oh)
                        for (int64_t ow = 0; ow < Wo; ++ow) {
                            double acc = bias;
                            for (int64_t c = 0; c < kc; ++c)
                                for (int64_t i = 0; i < kh; ++i)
                                    for (int64_t j = 0; j < kw; ++j) {
                                        const int64_t ih = oh * strides[0] - pads[0] + i;
                                        const int64_t iw = ow * strides[1] - pads[1] + j;
                                        if (ih < 0 || iw < 0 || ih >= H || iw >= W) continue;
                                        acc += double(x.data[size_t(((b * C + gi * kc + c) * H + ih) * W + iw)]) *
                                               w.data[size_t(((m * kc + c) * kh + i) * kw + j)];
                                    }
                            y.data[size_t(((b * M + m) * Ho + oh) * Wo + ow)] = float(acc);
                        }
                }
        } else if (n.opType == "BatchNormalization") {
            const auto& s = env.at(n.inputs[1]).data;
            const auto& bb = env.at(n.inputs[2]).data;
            const auto& mean = env.at(n.inputs[3]).data;
            const auto& var = env.at(n.inputs[4]).data;
            const float eps = n.attrFloat("epsilon", 1e-5f);
            y = x;
            const int64_t C = x.shape[1], inner = shapeNumel(x.shape) / (x.shape[0] * C);
            for (size_t i = 0; i < y.data.size(); ++i) {
                const auto c = size_t((int64_t(i) / inner) % C);
                y.data[i] = (x.data[i] - mean[c]) / std::sqrt(var[c] + eps) * s[c] + bb[c];
            }
        } else if (n.opType == "Relu") {
            y = x;
            for (float& v : y.data) v = std::max(v, 0.f);
        } else if (n.opType == "MaxPool" || n.opType == "GlobalAveragePool") {
            const bool global = n.opType == "GlobalAveragePool";
            const int64_t N = x.shape[0], C = x.shape[1], H = x.shape[2], W = x.shape[3];
            const int64_t k = global ? H : n.attrInts("kernel_shape")[0];
            const int64_t Ho = H / k, Wo = global ? 1 : W / k, kw = global ? W : k;
            y.shape = {N, C, Ho, Wo};
            y.data.assign(size_t(N * C * Ho * Wo), 0.f);
            for (int64_t b = 0; b < N * C; ++b)
                for (int64_t oh = 0; oh < Ho; ++oh)
                    for (int64_t ow = 0; ow < Wo; ++ow) {
                        double acc = global ? 0.0 : -1e30;
                        for (int64_t i = 0; i < k; ++i)
                            for (int64_t j = 0; j < kw; ++j) {
                                const double v = x.data[size_t((b * H + oh * k + i) * W + ow * kw + j)];
                                acc = global ? acc + v : std::max(acc, v);
                            }
                        y.data[size_t((b * Ho + oh) * Wo + ow)] = float(global ? acc / double(k * kw) : acc);
                    }
        } else if (n.opType == "Flatten") {
            y = x;
            y.shape = {x.shape[0], shapeNumel(x.shape) / x.shape[0]};
        } else if (n.opType == "Gemm" || n.opType == "MatMul") {
            const Array& w = env.at(n.inputs[1]);
            const bool transB = n.attrInt("transB", 0) != 0;
            const float alpha = n.attrFloat("alpha", 1.f), beta = n.attrFloat("beta", 1.f);
            const int64_t M = x.shape[0], K = x.shape[1], N = transB ? w.shape[0] : w.shape[1];
            if ((transB ? w.shape[1] : w.shape[0]) != K) throw std::runtime_error("gemm K mismatch in " + n.name);
            y.shape = {M, N};
            y.data.assign(size_t(M * N), 0.f);
            for (int64_t i = 0; i < M; ++i)
                for (int64_t j = 0; j < N; ++j) {
                    double acc = 0;
                    for (int64_t k = 0; k < K; ++k)
                        acc += double(x.data[size_t(i * K + k)]) * w.data[size_t(transB ? j * K + k : k * N + j)];
                    double c = n.inputs.size() > 2 && !n.inputs[2].empty() ? env.at(n.inputs[2]).data[size_t(j)] : 0.0;
                    y.data[size_t(i * N + j)] = float(alpha * acc + beta * c);
                }
        } else if (n.opType == "Add" || n.opType == "Mul") {
            const Array& b = env.at(n.inputs[1]);
            y = x;
            for (size_t i = 0; i < y.data.size(); ++i) {
                const float v = b.data.size() == 1 ? b.data[0] : b.data[i];
                y.data[i] = n.opType == "Add" ? x.data[i] + v : x.data[i] * v;
            }
        } else if (n.opType == "Concat") {
            y.shape = x.shape;
            y.shape[1] = 0;
            for (const auto& in : n.inputs) y.shape[1] += env.at(in).shape[1];
            const int64_t N = x.shape[0], inner = shapeNumel(x.shape) / (x.shape[0] * x.shape[1]);
            for (int64_t b = 0; b < N; ++b)
                for (const auto& in : n.inputs) {
                    const Array& a = env.at(in);
                    const int64_t block = a.shape[1] * inner;
                    y.data.insert(y.data.end(), a.data.begin() + b * block, a.data.begin() + (b + 1) * block);
                }
        } else {
            throw std::runtime_error("test evaluator: no kernel for " + n.opType);
        }
        env[n.outputs[0]] = std::move(y);
    }
    return env;
}

inline float maxAbsDiff(const Array& a, const Array& b) {
    if (a.shape != b.shape) return INFINITY;
    float m = 0;
    for (size_t i = 0; i < a.data.size(); ++i) m = std::max(m, std::fabs(a.data[i] - b.data[i]));
    return m;
}

inline float maxAbs(const Array& a) {
    float m = 0;
    for (float v : a.data) m = std::max(m, std::fabs(v));
    return m;
}

// Shapes of every edge agree with what evaluate() produces (the compressed graph's inferred shapes are right).
inline std::string checkShapes(const Graph& g, const std::map<std::string, Array>& env) {
    for (const auto& [name, a] : env) {
        const ValueInfo* v = g.value(name);
        if (!v || !v->hasShape) continue;
        if (v->shape != a.shape)
            return name + ": declared " + shapeToString(v->shape) + ", computed " + shapeToString(a.shape);
    }
    return {};
}

}  // namespace lathe::testing
