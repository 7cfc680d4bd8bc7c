// The translation of Lathe graphs into libtorch: every op family's gradients against finite differences, the demo
// model's outputs against Lathe's own executor, and ops it cannot train refused by node.
#include <QtTest>
#include <functional>

#include "core/model/onnx_reader.h"
#include "core/runtime/executor.h"
#include "core/train/graph_module.h"
#include "tests/core/compress/compress_test_util.h"

using namespace lathe;
using lathe::testing::GraphBuilder;

Q_DECLARE_METATYPE(std::function<lathe::Graph()>)

namespace {

using Build = std::function<Graph()>;

Node& last(GraphBuilder& b) { return b.graph.nodes.back(); }

Tensor scalar(const std::string& name, float v) {
    Tensor t;
    t.name = name;
    t.data = {v};
    return t;
}

Graph finish(GraphBuilder& b, const std::string& out) {
    b.output(out);
    b.graph.opset = 13;
    return b.graph;
}

Graph unaryGraph(const std::string& op, std::function<void(Node&)> configure = {}) {
    GraphBuilder b(5);
    std::string x = b.input("x", {2, 3, 5, 5});
    x = b.conv("conv", x, 4, 3, 1, 1);
    x = b.unary(op, "act", x);
    if (configure) configure(last(b));
    return finish(b, x);
}

Tensor int64s(const std::string& name, std::vector<int64_t> values, std::vector<int64_t> shape) {
    Tensor t;
    t.name = name;
    t.dtype = DType::Int64;
    t.shape = std::move(shape);
    t.ints = values;
    t.data.assign(values.begin(), values.end());
    return t;
}

// A node reading `inputs`, output `name`_out (shapes are not needed by the translation).
std::string nodeOf(GraphBuilder& b, const std::string& op, const std::string& name, std::vector<std::string> inputs) {
    Node n;
    n.name = name;
    n.opType = op;
    n.inputs = std::move(inputs);
    n.outputs = {name + "_out"};
    b.graph.nodes.push_back(n);
    return n.outputs[0];
}

NDArray randomArray(std::vector<int64_t> shape, uint32_t seed) {
    auto a = lathe::testing::randomInput(std::move(shape), seed);
    return NDArray(a.shape, a.data);
}

}  // namespace

class TestGraphModule : public QObject {
    Q_OBJECT

private slots:
    void gradientsMatchFiniteDifferences_data() {
        QTest::addColumn<Build>("build");
        QTest::addColumn<int>("batchNormTrain");
        auto row = [](const char* name, Build build, bool bnTrain = false) {
            QTest::newRow(name) << build << int(bnTrain);
        };
        row("Conv", [] {
            GraphBuilder b(1);
            return finish(b, b.conv("conv", b.input("x", {2, 3, 6, 6}), 4, 3, 1, 1));
        });
        row("Conv grouped, strided, asymmetric pads", [] {
            GraphBuilder b(2);
            std::string x = b.conv("conv", b.input("x", {2, 4, 7, 7}), 6, 3, 2, 0);
            last(b).attributes["strides"] = intsAttribute({2, 2});
            last(b).attributes["pads"] = intsAttribute({0, 1, 1, 0});
            return finish(b, x);
        });
        row("Conv depthwise", [] {
            GraphBuilder b(3);
            return finish(b, b.conv("dw", b.input("x", {2, 4, 6, 6}), 4, 3, 4, 1));
        });
        row("Gemm transB", [] {
            GraphBuilder b(4);
            return finish(b, b.gemm("fc", b.input("x", {3, 5}), 4, true));
        });
        row("Gemm alpha beta", [] {
            GraphBuilder b(5);
            std::string y = b.gemm("fc", b.input("x", {3, 5}), 4, false);
            last(b).attributes["alpha"] = floatAttribute(0.5f);
            last(b).attributes["beta"] = floatAttribute(2.f);
            return finish(b, y);
        });
        row("MatMul", [] {
            GraphBuilder b(6);
            return finish(b, b.matmul("mm", b.input("x", {3, 5}), 4));
        });
        row("BatchNormalization frozen", [] {
            GraphBuilder b(7);
            return finish(b, b.batchNorm("bn", b.conv("conv", b.input("x", {4, 3, 5, 5}), 3, 3, 1, 1)));
        });
        row("BatchNormalization batch statistics", [] {
            GraphBuilder b(8);
            return finish(b, b.batchNorm("bn", b.conv("conv", b.input("x", {4, 3, 5, 5}), 3, 3, 1, 1)));
        }, true);
        for (const char* op : {"Relu", "Sigmoid", "Tanh", "HardSwish", "HardSigmoid", "Elu"})
            row(op, [op] { return unaryGraph(op); });
        row("LeakyRelu", [] { return unaryGraph("LeakyRelu", [](Node& n) { n.attributes["alpha"] = floatAttribute(0.2f); }); });
        row("Clip (ReLU6 bounds as inputs)", [] {
            GraphBuilder b(9);
            std::string x = b.conv("conv", b.input("x", {2, 3, 5, 5}), 4, 3, 1, 1);
            putInitializer(b.graph, scalar("lo", -0.3f));
            putInitializer(b.graph, scalar("hi", 0.4f));
            x = b.unary("Clip", "clip", x);
            last(b).inputs = {last(b).inputs[0], "lo", "hi"};
            return finish(b, x);
        });
        row("MaxPool", [] {
            GraphBuilder b(10);
            return finish(b, b.maxPool("pool", b.conv("conv", b.input("x", {2, 3, 6, 6}), 4, 3, 1, 1), 2));
        });
        row("AveragePool padded", [] {
            GraphBuilder b(11);
            std::string x = b.unary("AveragePool", "pool", b.conv("conv", b.input("x", {2, 3, 6, 6}), 4, 3, 1, 1));
            last(b).attributes["kernel_shape"] = intsAttribute({3, 3});
            last(b).attributes["strides"] = intsAttribute({2, 2});
            last(b).attributes["pads"] = intsAttribute({1, 1, 1, 1});
            return finish(b, x);
        });
        row("GlobalAveragePool + Flatten + Gemm", [] {
            GraphBuilder b(12);
            std::string x = b.globalAveragePool("gap", b.conv("conv", b.input("x", {2, 3, 6, 6}), 4, 3, 1, 1));
            return finish(b, b.gemm("fc", b.flatten("flat", x), 3));
        });
        row("GlobalMaxPool", [] { return unaryGraph("GlobalMaxPool"); });
        for (const char* op : {"Add", "Sub", "Mul"})
            row(op, [op] {
                GraphBuilder b(13);
                std::string x = b.input("x", {2, 3, 5, 5});
                std::string a = b.conv("a", x, 4, 3, 1, 1), c = b.conv("c", x, 4, 1, 1, 0);
                c = b.conv("c2", c, 4, 3, 1, 1);
                return finish(b, b.binary(op, "join", a, c));
            });
        row("Div by a trained constant", [] {
            GraphBuilder b(14);
            std::string x = b.conv("conv", b.input("x", {2, 3, 5, 5}), 4, 3, 1, 1);
            Tensor& d = b.tensor("divisor", {1, 4, 1, 1});
            for (float& v : d.data) v = 1.5f + std::fabs(v);
            return finish(b, b.binary("Div", "div", x, "divisor"));
        });
        row("Reshape + Concat + Transpose", [] {
            GraphBuilder b(15);
            std::string x = b.input("x", {2, 3, 4, 4});
            std::string a = b.conv("a", x, 2, 3, 1, 1), c = b.conv("c", x, 3, 1, 1, 0);
            std::string cat = b.concat("cat", {a, c});
            Tensor shape;
            shape.name = "shape";
            shape.dtype = DType::Int64;
            shape.shape = {3};
            shape.ints = {0, 5, -1};
            shape.data = {0, 5, -1};
            putInitializer(b.graph, shape);
            std::string r = b.binary("Reshape", "reshape", cat, "shape");
            std::string t = b.unary("Transpose", "transpose", r);
            last(b).attributes["perm"] = intsAttribute({0, 2, 1});
            return finish(b, t);
        });
        row("Pad + ReduceMean", [] {
            GraphBuilder b(18);
            std::string x = b.conv("conv", b.input("x", {2, 3, 5, 5}), 4, 3, 1, 1);
            putInitializer(b.graph, int64s("pads", {0, 0, 1, 2, 0, 0, 2, 1}, {8}));
            x = nodeOf(b, "Pad", "pad", {x, "pads"});
            x = nodeOf(b, "ReduceMean", "mean", {x});
            b.graph.nodes.back().attributes["axes"] = intsAttribute({2, 3});
            b.graph.nodes.back().attributes["keepdims"] = intAttribute(0);
            return finish(b, x);
        });
        row("Shape, Gather, Unsqueeze, Concat, Reshape (an exporter's flatten)", [] {
            GraphBuilder b(19);
            std::string x = b.conv("conv", b.input("x", {2, 3, 4, 4}), 4, 3, 1, 1);
            putInitializer(b.graph, int64s("zero", {0}, {}));
            putInitializer(b.graph, int64s("axes0", {0}, {1}));
            putInitializer(b.graph, int64s("minus1", {-1}, {1}));
            std::string shape = nodeOf(b, "Shape", "shape", {x});
            std::string batch = nodeOf(b, "Gather", "gather", {shape, "zero"});
            std::string dim = nodeOf(b, "Unsqueeze", "unsqueeze", {batch, "axes0"});
            std::string target = nodeOf(b, "Concat", "target", {dim, "minus1"});
            b.graph.nodes.back().attributes["axis"] = intAttribute(0);
            std::string flat = nodeOf(b, "Reshape", "reshape", {x, target});
            b.graph.values[flat].shape = {2, 64};
            return finish(b, b.gemm("fc", flat, 3));
        });
        row("Squeeze + Identity + Dropout", [] {
            GraphBuilder b(20);
            std::string x = b.globalAveragePool("gap", b.conv("conv", b.input("x", {2, 3, 4, 4}), 4, 3, 1, 1));
            putInitializer(b.graph, int64s("axes23", {2, 3}, {2}));
            x = nodeOf(b, "Squeeze", "squeeze", {x, "axes23"});
            x = nodeOf(b, "Identity", "identity", {x});
            x = nodeOf(b, "Dropout", "dropout", {x});
            b.graph.values[x].shape = {2, 4};
            return finish(b, b.gemm("fc", x, 3));
        });
        row("Softmax", [] {
            GraphBuilder b(16);
            return finish(b, b.unary("Softmax", "softmax", b.gemm("fc", b.input("x", {3, 6}), 5)));
        });
        row("LogSoftmax", [] {
            GraphBuilder b(17);
            return finish(b, b.unary("LogSoftmax", "logsoftmax", b.gemm("fc", b.input("x", {3, 6}), 5)));
        });
    }

    void gradientsMatchFiniteDifferences() {
        QFETCH(Build, build);
        QFETCH(int, batchNormTrain);
        const Graph g = build();
        const auto& shape = g.values.at(g.inputs[0]).shape;
        auto check = checkGradients(g, randomArray(shape, 21), 3, 24,
                                    batchNormTrain ? BatchNormTraining::Train : BatchNormTraining::Frozen);
        QVERIFY2(check, check ? "" : check.error().message.c_str());
        QVERIFY(check->checked >= 24);
        QVERIFY2(check->maxRelError < 1e-5, (std::to_string(check->maxRelError) + " at " + check->worst).c_str());
    }

    // The translated demo model computes what Lathe's executor computes.
    void demoModelMatchesExecutor() {
        auto graph = readOnnxModel(LATHE_DEMO_MODEL);
        QVERIFY(graph);
        const NDArray input = randomArray({8, 1, 28, 28}, 4);
        auto translated = runTranslated(*graph, input);
        QVERIFY2(translated, translated ? "" : translated.error().message.c_str());
        auto executor = Executor::compile(*graph);
        QVERIFY(executor);
        auto out = executor->run({{graph->inputs[0], input}});
        QVERIFY(out);
        const NDArray& expected = out->at(graph->outputs[0]);
        QCOMPARE(translated->shape, expected.shape);
        float maxDiff = 0;
        for (size_t i = 0; i < expected.data.size(); ++i)
            maxDiff = std::max(maxDiff, std::fabs(expected.data[i] - translated->data[i]));
        QVERIFY2(maxDiff < 1e-4f, std::to_string(maxDiff).c_str());
    }

    void untrainableOpIsRefusedByNode() {
        GraphBuilder b(3);
        std::string x = b.unary("Erf", "erf_7", b.conv("conv", b.input("x", {1, 1, 4, 4}), 2, 3));
        Graph g = finish(b, x);
        auto st = checkTrainable(g);
        QVERIFY(!st);
        QCOMPARE(st.error().code, ErrorCode::UnsupportedOp);
        QVERIFY(QString::fromStdString(st.error().message).contains("node erf_7: op Erf cannot be trained"));
        QVERIFY(QString::fromStdString(st.error().message).contains("Conv"));  // lists what it can train
        QVERIFY(checkTrainable(makeLeNetFromFile()));
    }

private:
    static Graph makeLeNetFromFile() { return *readOnnxModel(LATHE_DEMO_MODEL); }
};

QTEST_GUILESS_MAIN(TestGraphModule)
#include "test_graph_module.moc"
