#include <QtTest>
#include <cmath>

#include "compress_test_util.h"
#include "core/compress/lowrank/svd_decompose.h"

using namespace lathe;
using namespace lathe::testing;

namespace {
double relativeDifference(const Tensor& a, const Tensor& b) {
    double err = 0, norm = 0;
    for (size_t i = 0; i < a.data.size(); ++i) {
        err += double(a.data[i] - b.data[i]) * double(a.data[i] - b.data[i]);
        norm += double(a.data[i]) * double(a.data[i]);
    }
    return std::sqrt(err / norm);
}

double tailFormula(const std::vector<double>& s, int64_t r, const Tensor& w) {
    double tail = 0, norm = 0;
    for (size_t i = size_t(r); i < s.size(); ++i) tail += s[i] * s[i];
    for (float v : w.data) norm += double(v) * v;
    return std::sqrt(tail / norm);
}

// x → fcT (Gemm transB=1) → fcN (Gemm transB=0) → mm (MatMul)
Graph makeDense() {
    GraphBuilder b(5);
    std::string x = b.input("x", {3, 80});
    x = b.gemm("fcT", x, 50, true);
    x = b.gemm("fcN", x, 40, false);
    x = b.matmul("mm", x, 30);
    b.output(x);
    return b.graph;
}

Graph makeConvNet() {
    GraphBuilder b(6);
    std::string x = b.input("x", {2, 8, 10, 10});
    x = b.conv("conv", x, 16, 3, 1, 1);
    x = b.unary("Relu", "relu", x);
    b.output(x);
    return b.graph;
}
}  // namespace

class TestSvdDecompose : public QObject {
    Q_OBJECT
private slots:
    void energyPicksTheSmallestRank() {
        const std::vector<double> s = {3, 2, 1};  // energies 9, 4, 1 of 14
        QCOMPARE(rankForEnergy(s, 0.5), int64_t(1));
        QCOMPARE(rankForEnergy(s, 9.0 / 14.0), int64_t(1));
        QCOMPARE(rankForEnergy(s, 0.9), int64_t(2));
        QCOMPARE(rankForEnergy(s, 13.0 / 14.0), int64_t(2));
        QCOMPARE(rankForEnergy(s, 0.95), int64_t(3));
        QCOMPARE(rankForEnergy(s, 1.0), int64_t(3));
        QCOMPARE(truncationError(s, 1), std::sqrt(5.0 / 14.0));
        QCOMPARE(truncationError(s, 3), 0.0);
    }

    void gemmFactorsHaveTheRightShapesAndError_data() {
        QTest::addColumn<QString>("node");
        QTest::addColumn<int>("rank");
        QTest::addColumn<QList<qlonglong>>("first");
        QTest::addColumn<QList<qlonglong>>("second");
        QTest::newRow("Gemm transB=1") << "fcT" << 10 << QList<qlonglong>{10, 80} << QList<qlonglong>{50, 10};
        QTest::newRow("Gemm transB=0") << "fcN" << 7 << QList<qlonglong>{50, 7} << QList<qlonglong>{7, 40};
        QTest::newRow("MatMul") << "mm" << 12 << QList<qlonglong>{40, 12} << QList<qlonglong>{12, 30};
    }

    void gemmFactorsHaveTheRightShapesAndError() {
        QFETCH(QString, node);
        QFETCH(int, rank);
        QFETCH(QList<qlonglong>, first);
        QFETCH(QList<qlonglong>, second);
        Graph g = makeDense();
        const std::string name = node.toStdString();
        const Tensor original = g.initializers.at(name + ".weight");
        const auto inputs = std::map<std::string, Array>{{"x", randomInput({3, 80})}};
        auto r = svdDecompose(g, g.nodeIndex(name), {rank, std::nullopt});
        QVERIFY2(r.ok(), r.ok() ? "" : r.error().message.c_str());
        QVERIFY(r->applied);
        QCOMPARE(r->rank, int64_t(rank));
        QCOMPARE(r->firstNode, name + "_lr1");
        QCOMPARE(r->secondNode, name + "_lr2");
        QCOMPARE(r->firstWeight, name + ".weight_lr1");
        const Tensor& f1 = g.initializers.at(r->firstWeight);
        const Tensor& f2 = g.initializers.at(r->secondWeight);
        QCOMPARE(f1.shape, (std::vector<int64_t>(first.begin(), first.end())));
        QCOMPARE(f2.shape, (std::vector<int64_t>(second.begin(), second.end())));
        QVERIFY(!g.initializer(name + ".weight"));  // replaced
        QVERIFY(!g.value(name + ".weight"));
        QCOMPARE(g.nodeIndex(name), -1);
        QCOMPARE(g.nodeIndex(r->firstNode) + 1, g.nodeIndex(r->secondNode));
        // The reported error is the singular-value tail, and it is the error of the product of the factors.
        QCOMPARE(r->singularValues.size(), size_t(std::min(original.shape[0], original.shape[1])));
        const double formula = tailFormula(r->singularValues, rank, original);
        QVERIFY(std::fabs(r->relError - formula) < 1e-9);
        const Tensor product = recomposeFactors(f1, f2, r->outMajor, original.shape);
        QVERIFY2(std::fabs(relativeDifference(original, product) - formula) < 1e-5,
                 qPrintable(QString("%1 vs %2").arg(relativeDifference(original, product)).arg(formula)));
        // The graph still runs and keeps its output name and shapes.
        auto env = evaluate(g, inputs);
        QCOMPARE(QString::fromStdString(checkShapes(g, env)), QString());
        QCOMPARE(env.at(g.outputs[0]).shape, (std::vector<int64_t>{3, 30}));
        QVERIFY(!g.nodes[size_t(g.nodeIndex(r->firstNode))].inputs.empty());
        QCOMPARE(g.nodes[size_t(g.nodeIndex(r->firstNode))].inputs.size(), size_t(2));  // no bias in the first
    }

    void fullRankReproducesTheLayer() {
        Graph g = makeDense();
        const Graph original = g;
        const auto inputs = std::map<std::string, Array>{{"x", randomInput({3, 80})}};
        const Array expected = evaluate(original, inputs).at(g.outputs[0]);
        for (const char* name : {"fcT", "fcN", "mm"}) {
            const int idx = g.nodeIndex(name);
            const int64_t full = decompositionFullRank(g, idx);
            auto r = svdDecompose(g, idx, {full, std::nullopt});
            QVERIFY(r.ok());
            QVERIFY(r->relError < 1e-12);
            const Tensor product =
                recomposeFactors(g.initializers.at(r->firstWeight), g.initializers.at(r->secondWeight), r->outMajor,
                                 original.initializers.at(std::string(name) + ".weight").shape);
            QVERIFY(relativeDifference(original.initializers.at(std::string(name) + ".weight"), product) < 1e-5);
        }
        const Array got = evaluate(g, inputs).at(g.outputs[0]);
        QVERIFY(maxAbsDiff(got, expected) < 1e-4f * std::max(1.f, maxAbs(expected)));
    }

    void convBecomesKxKThenOneByOne() {
        Graph g = makeConvNet();
        const Graph original = g;
        const Tensor w = g.initializers.at("conv.weight");  // [16, 8, 3, 3] → full rank min(16, 72) = 16
        QCOMPARE(decompositionFullRank(g, 0), int64_t(16));
        auto r = svdDecompose(g, 0, {std::nullopt, 0.8});
        QVERIFY(r.ok());
        QCOMPARE(r->rank, rankForEnergy(r->singularValues, 0.8));
        QVERIFY(r->rank < 16);
        const Node& first = g.nodes[0];
        const Node& second = g.nodes[1];
        QCOMPARE(first.name, std::string("conv_lr1"));
        QCOMPARE(g.initializers.at(first.inputs[1]).shape, (std::vector<int64_t>{r->rank, 8, 3, 3}));
        QCOMPARE(first.attrInts("pads"), (std::vector<int64_t>{1, 1, 1, 1}));
        QCOMPARE(first.attrInts("kernel_shape"), (std::vector<int64_t>{3, 3}));
        QCOMPARE(second.name, std::string("conv_lr2"));
        QCOMPARE(g.initializers.at(second.inputs[1]).shape, (std::vector<int64_t>{16, r->rank, 1, 1}));
        QCOMPARE(second.inputs[2], std::string("conv.bias"));
        QCOMPARE(second.attrInts("kernel_shape"), (std::vector<int64_t>{1, 1}));
        QVERIFY(second.attrInts("pads").empty());
        QCOMPARE(g.value(first.outputs[0])->shape, (std::vector<int64_t>{2, r->rank, 10, 10}));
        QCOMPARE(second.outputs[0], original.nodes[0].outputs[0]);
        const Tensor product =
            recomposeFactors(g.initializers.at(first.inputs[1]), g.initializers.at(second.inputs[1]), true, w.shape);
        QVERIFY(std::fabs(relativeDifference(w, product) - tailFormula(r->singularValues, r->rank, w)) < 1e-5);

        // Full rank: the decomposed network computes the same function.
        Graph full = original;
        QVERIFY(svdDecompose(full, 0, {16, std::nullopt}).ok());
        const auto inputs = std::map<std::string, Array>{{"x", randomInput({2, 8, 10, 10})}};
        const Array expected = evaluate(original, inputs).at("relu_out");
        auto env = evaluate(full, inputs);
        QCOMPARE(QString::fromStdString(checkShapes(full, env)), QString());
        QVERIFY(maxAbsDiff(env.at("relu_out"), expected) < 1e-4f * std::max(1.f, maxAbs(expected)));
    }

    void oldOpsetGemmGetsAZeroBias() {
        Graph g = makeDense();
        g.opset = 9;  // Gemm's C is required before opset 11
        const auto inputs = std::map<std::string, Array>{{"x", randomInput({3, 80})}};
        const Array expected = evaluate(g, inputs).at(g.outputs[0]);
        auto r = svdDecompose(g, g.nodeIndex("fcT"), {50, std::nullopt});
        QVERIFY(r.ok());
        const Node& first = g.nodes[size_t(g.nodeIndex(r->firstNode))];
        QCOMPARE(first.inputs.size(), size_t(3));
        QCOMPARE(g.initializers.at(first.inputs[2]).data, std::vector<float>(50, 0.f));
        QVERIFY(maxAbsDiff(evaluate(g, inputs).at(g.outputs[0]), expected) < 1e-4f * std::max(1.f, maxAbs(expected)));
    }

    void rejectsRanksOutsideTheLayer() {
        Graph g = makeDense();
        auto r = svdDecompose(g, g.nodeIndex("fcT"), {51, std::nullopt});
        QVERIFY(!r.ok());
        QVERIFY2(r.error().message.find("full rank of fcT") != std::string::npos, r.error().message.c_str());
        QVERIFY(!svdDecompose(g, g.nodeIndex("fcT"), {0, std::nullopt}).ok());
        QVERIFY(!svdDecompose(g, g.nodeIndex("fcT"), {std::nullopt, 1.5}).ok());
        QVERIFY(g.initializer("fcT.weight"));  // unchanged on error
    }

    void notApplicableIsANoOp() {
        GraphBuilder b;
        std::string x = b.input("x", {1, 4, 6, 6});
        x = b.conv("dw", x, 4, 3, 4);
        b.output(x);
        Graph g = b.graph;
        QVERIFY(!svdDecomposeApplies(g, 0));
        auto r = svdDecompose(g, 0, {2, std::nullopt});
        QVERIFY(r.ok());
        QVERIFY(!r->applied);
        QCOMPARE(g.nodes.size(), size_t(1));
    }

    void spectrumOfAWeight() {
        Tensor w;
        w.shape = {2, 2};
        w.data = {3, 0, 0, -4};
        QCOMPARE(weightSingularValues(w), (std::vector<double>{4, 3}));
    }
};

QTEST_APPLESS_MAIN(TestSvdDecompose)
#include "test_svd_decompose.moc"
