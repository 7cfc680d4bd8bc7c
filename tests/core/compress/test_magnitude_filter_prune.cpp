#include <QtTest>
#include <filesystem>

#include "compress_test_util.h"
#include "core/compress/prune/magnitude_filter_prune.h"
#include "core/model/onnx_reader.h"

using namespace lathe;
using namespace lathe::testing;

namespace {

std::string fixture(const char* name) { return std::string(LATHE_FIXTURES_DIR) + "/" + name; }

// Zeroes the slices of `tensor` along `axis` whose index is not in `kept` (kept indices in the original tensor).
void zeroRemoved(Graph& g, const std::string& tensor, int axis, const std::vector<int64_t>& kept) {
    Tensor& t = g.initializers.at(tensor);
    const int64_t inner = innerSize(t.shape, axis), dim = t.shape[size_t(axis)];
    std::vector<bool> keep(size_t(dim), false);
    for (int64_t k : kept) keep[size_t(k)] = true;
    for (size_t i = 0; i < t.data.size(); ++i)
        if (!keep[size_t((int64_t(i) / inner) % dim)]) t.data[i] = 0.f;
}

std::vector<int64_t> spread(const std::vector<int64_t>& channels, int64_t width) {
    std::vector<int64_t> out;
    for (int64_t c : channels)
        for (int64_t j = 0; j < width; ++j) out.push_back(c * width + j);
    return out;
}

// The pruned graph must compute what the original computes once the consumers ignore the removed channels.
void expectSameFunction(const Graph& pruned, const Graph& reference, const std::map<std::string, Array>& inputs) {
    auto env = evaluate(pruned, inputs);
    QCOMPARE(QString::fromStdString(checkShapes(pruned, env)), QString());
    auto expected = evaluate(reference, inputs);
    for (const auto& out : pruned.outputs) {
        const float tol = 1e-4f * std::max(1.f, maxAbs(expected.at(out)));
        QVERIFY2(maxAbsDiff(env.at(out), expected.at(out)) < tol,
                 qPrintable(QString("%1 differs by %2")
                                .arg(QString::fromStdString(out))
                                .arg(maxAbsDiff(env.at(out), expected.at(out)))));
    }
}

Graph makeBnConv() {
    GraphBuilder b(11);
    std::string x = b.input("input", {2, 3, 8, 8});
    x = b.conv("conv", x, 8, 3, 1, 1);
    x = b.batchNorm("bn", x);
    x = b.unary("Relu", "relu", x);
    x = b.globalAveragePool("pool", x);
    x = b.flatten("flatten", x);
    b.output(b.gemm("fc", x, 4));
    return b.graph;
}

}  // namespace

class TestMagnitudeFilterPrune : public QObject {
    Q_OBJECT
private slots:
    void ranksFiltersByL1Norm() {
        Tensor w;
        w.shape = {4, 1, 1, 2};
        w.data = {1, -1, 0.5f, 0.5f, -3, 0, 2, 0};  // norms 2, 1, 3, 2
        QCOMPARE(filterL1Norms(w), (std::vector<double>{2, 1, 3, 2}));
        QCOMPARE(strongestFilters(filterL1Norms(w), 2), (std::vector<int64_t>{0, 2}));  // tie 0/3: lower index
        QCOMPARE(strongestFilters(filterL1Norms(w), 3), (std::vector<int64_t>{0, 2, 3}));
    }

    void lenetConv2IntoFlattenAndGemm() {
        Graph g = makeLeNet(7, 2);
        const Graph original = g;
        const auto norms = filterL1Norms(g.initializers.at("conv2.weight"));
        auto r = magnitudeFilterPrune(g, g.nodeIndex("conv2"), 25);
        QVERIFY2(r.ok(), r.ok() ? "" : r.error().message.c_str());
        QVERIFY(r->applied);
        QCOMPARE(r->channels, int64_t(50));
        QCOMPARE(r->kept, strongestFilters(norms, 25));
        QCOMPARE(g.initializers.at("conv2.weight").shape, (std::vector<int64_t>{25, 20, 5, 5}));
        QCOMPARE(g.initializers.at("conv2.bias").shape, (std::vector<int64_t>{25}));
        QCOMPARE(g.initializers.at("fc1.weight").shape, (std::vector<int64_t>{500, 400}));  // 25 × 4 × 4 columns
        QCOMPARE(g.value("conv2.weight")->shape, (std::vector<int64_t>{25, 20, 5, 5}));
        QCOMPARE(g.value("conv2_out")->shape, (std::vector<int64_t>{2, 25, 8, 8}));
        QCOMPARE(g.value("pool2_out")->shape, (std::vector<int64_t>{2, 25, 4, 4}));
        QCOMPARE(g.value("flatten_out")->shape, (std::vector<int64_t>{2, 400}));
        QCOMPARE(g.initializers.at("conv1.weight").shape, (std::vector<int64_t>{20, 1, 5, 5}));
        // Kept filters are copied unchanged.
        const Tensor& w0 = original.initializers.at("conv2.weight");
        const Tensor& w1 = g.initializers.at("conv2.weight");
        for (size_t i = 0; i < r->kept.size(); ++i)
            for (int64_t j = 0; j < 500; ++j)
                QCOMPARE(w1.data[i * 500 + size_t(j)], w0.data[size_t(r->kept[i] * 500 + j)]);

        Graph reference = original;
        zeroRemoved(reference, "fc1.weight", 1, spread(r->kept, 16));
        expectSameFunction(g, reference, {{"input", randomInput({2, 1, 28, 28})}});
    }

    void lenetConv1IntoConv2() {
        Graph g = makeLeNet(7, 1);
        const Graph original = g;
        auto r = magnitudeFilterPrune(g, g.nodeIndex("conv1"), 12);
        QVERIFY(r.ok());
        QCOMPARE(g.initializers.at("conv1.weight").shape, (std::vector<int64_t>{12, 1, 5, 5}));
        QCOMPARE(g.initializers.at("conv2.weight").shape, (std::vector<int64_t>{50, 12, 5, 5}));
        QCOMPARE(g.initializers.at("fc1.weight").shape, (std::vector<int64_t>{500, 800}));
        QCOMPARE(r->touchedNodes, (std::vector<std::string>{"pool1", "conv2"}));
        Graph reference = original;
        zeroRemoved(reference, "conv2.weight", 1, r->kept);
        expectSameFunction(g, reference, {{"input", randomInput({1, 1, 28, 28})}});
    }

    void followsBatchNormalization() {
        Graph g = makeBnConv();
        const Graph original = g;
        auto r = magnitudeFilterPrune(g, 0, 5);
        QVERIFY2(r.ok(), r.ok() ? "" : r.error().message.c_str());
        for (const char* bn : {"bn.weight", "bn.bias", "bn.running_mean", "bn.running_var"})
            QCOMPARE(g.initializers.at(bn).shape, (std::vector<int64_t>{5}));
        QCOMPARE(g.initializers.at("fc.weight").shape, (std::vector<int64_t>{4, 5}));
        QCOMPARE(g.value("pool_out")->shape, (std::vector<int64_t>{2, 5, 1, 1}));
        Graph reference = original;
        zeroRemoved(reference, "fc.weight", 1, r->kept);
        expectSameFunction(g, reference, {{"input", randomInput({2, 3, 8, 8})}});
    }

    void followsDepthwiseConvolutions() {
        GraphBuilder b(12);
        std::string x = b.input("x", {1, 3, 9, 9});
        x = b.conv("stem", x, 8, 3, 1, 1);
        x = b.unary("Relu", "relu", x);
        x = b.conv("dw", x, 8, 3, 8, 1);  // depthwise
        x = b.conv("pw", x, 6, 1);
        b.output(b.globalAveragePool("pool", x));
        Graph g = b.graph;
        const Graph original = g;
        auto r = magnitudeFilterPrune(g, 0, 3);
        QVERIFY2(r.ok(), r.ok() ? "" : r.error().message.c_str());
        QCOMPARE(g.initializers.at("dw.weight").shape, (std::vector<int64_t>{3, 1, 3, 3}));
        QCOMPARE(g.initializers.at("dw.bias").shape, (std::vector<int64_t>{3}));
        QCOMPARE(g.nodes[size_t(g.nodeIndex("dw"))].attrInt("group", 0), int64_t(3));
        QCOMPARE(g.initializers.at("pw.weight").shape, (std::vector<int64_t>{6, 3, 1, 1}));
        QCOMPARE(g.value("dw_out")->shape, (std::vector<int64_t>{1, 3, 9, 9}));
        Graph reference = original;
        zeroRemoved(reference, "pw.weight", 1, r->kept);
        expectSameFunction(g, reference, {{"x", randomInput({1, 3, 9, 9})}});
        // The depthwise conv itself is not a target (its channels belong to its input).
        QVERIFY(!filterPruneApplies(g, g.nodeIndex("dw")));
    }

    void offsetsChannelsThroughConcat() {
        GraphBuilder b(13);
        std::string x = b.input("x", {1, 2, 6, 6});
        std::string a = b.conv("a", x, 4, 3, 1, 1);
        std::string c = b.conv("b", x, 6, 3, 1, 1);
        std::string y = b.concat("cat", {c, a});  // a's channels sit at offset 6
        y = b.conv("head", y, 5, 1);
        b.output(y);
        Graph g = b.graph;
        const Graph original = g;
        auto r = magnitudeFilterPrune(g, g.nodeIndex("a"), 2);
        QVERIFY2(r.ok(), r.ok() ? "" : r.error().message.c_str());
        QCOMPARE(g.initializers.at("head.weight").shape, (std::vector<int64_t>{5, 8, 1, 1}));
        QCOMPARE(g.value("cat_out")->shape, (std::vector<int64_t>{1, 8, 6, 6}));
        std::vector<int64_t> kept = {0, 1, 2, 3, 4, 5};
        for (int64_t k : r->kept) kept.push_back(6 + k);
        Graph reference = original;
        zeroRemoved(reference, "head.weight", 1, kept);
        expectSameFunction(g, reference, {{"x", randomInput({1, 2, 6, 6})}});
    }

    void refusesChannelsJoinedByAdd() {
        GraphBuilder b(3);
        std::string x = b.input("input", {1, 4, 8, 8});
        std::string y = b.conv("conv1", x, 4, 3, 1, 1);
        y = b.unary("Relu", "relu1", y);
        y = b.conv("conv2", y, 4, 3, 1, 1);
        y = b.binary("Add", "skip_add", y, x);
        b.output(b.unary("Relu", "relu2", y));
        Graph g = b.graph;
        const Graph original = g;
        auto r = magnitudeFilterPrune(g, g.nodeIndex("conv2"), 2);
        QVERIFY(!r.ok());
        QVERIFY2(r.error().message.find("Add node 'skip_add'") != std::string::npos, r.error().message.c_str());
        QVERIFY(!checkFilterPrune(g, g.nodeIndex("conv2")).ok());
        for (const auto& [name, t] : original.initializers) QCOMPARE(g.initializers.at(name).shape, t.shape);
        // conv1 feeds conv2 only: that one can go.
        QVERIFY(magnitudeFilterPrune(g, g.nodeIndex("conv1"), 2).ok());
        QCOMPARE(g.initializers.at("conv2.weight").shape, (std::vector<int64_t>{4, 2, 3, 3}));
    }

    void refusesGraphOutputs() {
        GraphBuilder b;
        std::string x = b.input("x", {1, 2, 5, 5});
        x = b.conv("conv", x, 4, 3);
        b.output(b.unary("Relu", "relu", x));
        Graph g = b.graph;
        auto r = magnitudeFilterPrune(g, 0, 2);
        QVERIFY(!r.ok());
        QVERIFY2(r.error().message.find("graph output 'relu_out'") != std::string::npos, r.error().message.c_str());
        QCOMPARE(g.initializers.at("conv.weight").shape, (std::vector<int64_t>{4, 2, 3, 3}));
    }

    void keepingEverythingIsANoOp() {
        Graph g = makeLeNet();
        auto r = magnitudeFilterPrune(g, g.nodeIndex("conv2"), 50);
        QVERIFY(r.ok());
        QVERIFY(!r->applied);
        QVERIFY(!magnitudeFilterPrune(g, g.nodeIndex("conv2"), 51).ok());
        auto gemm = magnitudeFilterPrune(g, g.nodeIndex("fc1"), 10);  // not applicable
        QVERIFY(gemm.ok());
        QVERIFY(!gemm->applied);
    }

    void fixtures() {
        if (std::filesystem::exists(fixture("bn_conv.onnx"))) {
            auto g = readOnnxModel(fixture("bn_conv.onnx"));
            QVERIFY2(g.ok(), g.ok() ? "" : g.error().message.c_str());
            int conv = -1;
            for (int i = 0; i < int(g->nodes.size()); ++i)
                if (g->nodes[size_t(i)].opType == "Conv") conv = i;
            auto r = magnitudeFilterPrune(*g, conv, 5);
            QVERIFY2(r.ok(), r.ok() ? "" : r.error().message.c_str());
            for (const auto& n : g->nodes) {
                if (n.opType == "BatchNormalization")
                    for (size_t i = 1; i < 5; ++i) QCOMPARE(g->initializers.at(n.inputs[i]).shape[0], int64_t(5));
                if (n.opType == "Gemm") QCOMPARE(g->initializers.at(n.inputs[1]).shape, (std::vector<int64_t>{4, 5}));
            }
        } else {
            qWarning("tests/fixtures/bn_conv.onnx not generated yet; skipped");
        }
        if (std::filesystem::exists(fixture("residual.onnx"))) {
            auto g = readOnnxModel(fixture("residual.onnx"));
            QVERIFY(g.ok());
            int add = -1;
            for (int i = 0; i < int(g->nodes.size()); ++i)
                if (g->nodes[size_t(i)].opType == "Add") add = i;
            QVERIFY(add >= 0);
            const std::string addName = g->nodes[size_t(add)].name;
            int feeding = -1;
            for (const auto& in : g->nodes[size_t(add)].inputs) {
                const int p = g->producerOf(in);
                if (p >= 0 && g->nodes[size_t(p)].opType == "Conv") feeding = p;
            }
            QVERIFY(feeding >= 0);
            auto r = magnitudeFilterPrune(*g, feeding, 2);
            QVERIFY(!r.ok());
            QVERIFY2(r.error().message.find("Add node '" + addName + "'") != std::string::npos,
                     r.error().message.c_str());
        } else {
            qWarning("tests/fixtures/residual.onnx not generated yet; skipped");
        }
        if (std::filesystem::exists(LATHE_DEMO_MODEL)) {
            auto g = readOnnxModel(LATHE_DEMO_MODEL);
            QVERIFY(g.ok());
            auto r = magnitudeFilterPrune(*g, g->nodeIndex("conv2"), 25);
            QVERIFY2(r.ok(), r.ok() ? "" : r.error().message.c_str());
            QCOMPARE(g->initializers.at("conv2.weight").shape, (std::vector<int64_t>{25, 20, 5, 5}));
            QCOMPARE(g->initializers.at("fc1.weight").shape, (std::vector<int64_t>{500, 400}));
            const ValueInfo* flat = g->value(g->nodes[size_t(g->nodeIndex("flatten"))].outputs[0]);
            QCOMPARE(flat->shape[1], int64_t(400));
        } else {
            qWarning("%s not generated yet; skipped", LATHE_DEMO_MODEL);
        }
    }
};

QTEST_APPLESS_MAIN(TestMagnitudeFilterPrune)
#include "test_magnitude_filter_prune.moc"
