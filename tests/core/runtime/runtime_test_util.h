#pragma once

// Helpers shared by the runtime tests: one-node graphs, seeded random arrays, tolerant comparison.
#include <QtTest>
#include <cmath>
#include <random>
#include <string>
#include <vector>

#include "core/model/graph.h"
#include "core/runtime/executor.h"

namespace lathe::test {

inline NDArray randomArray(std::vector<int64_t> shape, unsigned seed, float low = -1.f, float high = 1.f) {
    NDArray a(std::move(shape));
    std::mt19937 rng(seed);
    std::uniform_real_distribution<float> uniform(low, high);
    for (float& v : a.data) v = uniform(rng);
    return a;
}


// Builds graphs node by node; values named in `constant` become initializers, the others graph inputs.
class GraphBuilder {
public:
    explicit GraphBuilder(int64_t opset = 13) {
        m_graph.opset = opset;
        m_graph.opsetImports[""] = opset;
    }
    void input(const std::string& name) {
        m_graph.inputs.push_back(name);
        m_graph.values[name] = ValueInfo{name, DType::Float, false, {}, {}};
    }
    void constant(const std::string& name, const NDArray& value, DType dtype = DType::Float) {
        Tensor t;
        t.name = name;
        t.dtype = dtype;
        t.shape = value.shape;
        t.data.assign(value.data.begin(), value.data.end());
        if (isIntegerType(dtype)) t.ints.assign(value.data.begin(), value.data.end());
        m_graph.initializers[name] = t;
        m_graph.values[name] = ValueInfo{name, dtype, true, value.shape, {}};
    }
    void node(const std::string& op, std::vector<std::string> inputs, std::vector<std::string> outputs,
              std::map<std::string, Attribute> attributes = {}, DType outputType = DType::Float) {
        Node n;
        n.name = op + "_" + std::to_string(m_graph.nodes.size());
        n.opType = op;
        n.inputs = std::move(inputs);
        n.outputs = std::move(outputs);
        n.attributes = std::move(attributes);
        for (const std::string& out : n.outputs)
            if (!out.empty()) m_graph.values[out] = ValueInfo{out, outputType, false, {}, {}};
        m_graph.nodes.push_back(std::move(n));
    }
    void output(const std::string& name) { m_graph.outputs.push_back(name); }
    const Graph& graph() const { return m_graph; }

private:
    Graph m_graph;
};

// The exact GELU as torch exports it below opset 20, x → Div(√2) → Erf → Add(one) → Mul(x) → Mul(0.5) → y (one = 1 is
// GELU; another value makes a chain of the same shape that is not).
inline Graph decomposedGelu(float one = 1.f) {
    GraphBuilder g(13);
    g.input("x");
    g.constant("sqrt2", NDArray({}, {1.4142135623730951f}));
    g.constant("one", NDArray({}, {one}));
    g.constant("half", NDArray({}, {0.5f}));
    g.node("Div", {"x", "sqrt2"}, {"d"});
    g.node("Erf", {"d"}, {"e"});
    g.node("Add", {"e", "one"}, {"a"});
    g.node("Mul", {"x", "a"}, {"m"});
    g.node("Mul", {"m", "half"}, {"y"});
    g.output("y");
    return g.graph();
}

// Compiles and runs `graph`; fails the current test (returning an empty array) on any error.
inline NDArray runGraph(const Graph& graph, const std::map<std::string, NDArray>& inputs, int threads = 0) {
    auto executor = Executor::compile(graph, ExecutorOptions{threads});
    if (!executor) {
        QTest::qFail(executor.error().message.c_str(), __FILE__, __LINE__);
        return {};
    }
    auto outputs = executor->run(inputs);
    if (!outputs) {
        QTest::qFail(outputs.error().message.c_str(), __FILE__, __LINE__);
        return {};
    }
    return outputs->at(graph.outputs.front());
}

// Empty when every element of `got` is within atol + rtol * |want| of `want`, else a description of the first miss.
inline QString mismatch(const NDArray& got, const NDArray& want, float atol = 1e-4f, float rtol = 1e-4f) {
    if (got.shape != want.shape)
        return QString("shape %1, expected %2")
            .arg(QString::fromStdString(shapeToString(got.shape)), QString::fromStdString(shapeToString(want.shape)));
    for (size_t i = 0; i < want.data.size(); ++i)
        if (!(std::abs(got.data[i] - want.data[i]) <= atol + rtol * std::abs(want.data[i])))
            return QString("element %1: %2, expected %3").arg(i).arg(got.data[i]).arg(want.data[i]);
    return {};
}

}  // namespace lathe::test
