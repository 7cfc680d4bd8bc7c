// Batch tiling: which graphs keep samples apart, how many samples a slice takes, and that a split batch gives the
// results of the whole batch.
#include <QtTest>
#include <filesystem>

#include "core/model/onnx_reader.h"
#include "core/runtime/executor.h"
#include "core/runtime/micro_batch.h"
#include "runtime_test_util.h"

using namespace lathe;
using namespace lathe::test;

namespace {

Graph readGraph(const std::string& path) {
    auto graph = readOnnxModel(path);
    if (!graph) qFatal("%s", graph.error().message.c_str());
    return std::move(graph.value());
}

std::string fixture(const char* name) { return std::string(LATHE_FIXTURES_DIR) + "/" + name + ".onnx"; }

// x [N, 4] -> Gemm with a constant [4, 3] weight -> y: separable; `mix` adds a node that mixes samples.
Graph gemmGraph(const std::string& mix) {
    GraphBuilder b;
    b.input("x");
    b.constant("w", randomArray({4, 3}, 1));
    b.node("Gemm", {"x", "w"}, {"h"});
    if (mix == "reduce_batch")
        b.node("ReduceMean", {"h"}, {"y"}, {{"axes", intsAttribute({0})}});
    else if (mix == "transpose")
        b.node("Transpose", {"h"}, {"y"}, {{"perm", intsAttribute({1, 0})}});
    else if (mix == "softmax_batch")
        b.node("Softmax", {"h"}, {"y"}, {{"axis", intAttribute(0)}});
    else if (mix == "gemm_activation_weight")
        b.node("Gemm", {"h", "x"}, {"y"}, {{"transB", intAttribute(0)}});
    else
        b.node("Relu", {"h"}, {"y"});
    b.output("y");
    return b.graph();
}

}  // namespace

class TestMicroBatch : public QObject {
    Q_OBJECT

private slots:
    void separableModels() {
        // The demo LeNet: 20x24x24 floats (46,080 B) is its largest per-sample value: 64 MiB / 46,080 B = 1456.
        const Graph lenet = readGraph(LATHE_DEMO_MODEL);
        QVERIFY(isBatchSeparable(lenet));
        QCOMPARE(microBatchSize(lenet), int64_t(1456));
        QCOMPARE(microBatchSize(lenet, int64_t(6) << 20), int64_t(136));
        // The MobileNet-style net gives Clip its bounds through Constant nodes (scalars, not per sample): its largest
        // per-sample value is 32x28x28 floats (100,352 B): 64 MiB / 100,352 B = 668.
        const Graph mobilenet =
            readGraph((std::filesystem::path(LATHE_DEMO_MODEL).parent_path() / "mobilenet_fashion.onnx").string());
        QVERIFY(isBatchSeparable(mobilenet));
        QCOMPARE(microBatchSize(mobilenet), int64_t(668));
        for (const char* name : {"bn_conv", "depthwise", "residual"}) QVERIFY2(isBatchSeparable(readGraph(fixture(name))), name);
        QVERIFY(isBatchSeparable(gemmGraph("")));
    }

    void samplesMixedOrUnknown_data() {
        QTest::addColumn<QString>("mix");
        QTest::newRow("ReduceMean over axis 0") << "reduce_batch";
        QTest::newRow("Transpose moving the batch") << "transpose";
        QTest::newRow("Softmax over the batch") << "softmax_batch";
        QTest::newRow("Gemm weight from the input") << "gemm_activation_weight";
    }
    void samplesMixedOrUnknown() {
        QFETCH(QString, mix);
        QVERIFY(!isBatchSeparable(gemmGraph(mix.toStdString())));
        QCOMPARE(microBatchSize(gemmGraph(mix.toStdString())), int64_t(0));
        // Separable but without inferred shapes (built by hand): never split.
        QCOMPARE(microBatchSize(gemmGraph("")), int64_t(0));
    }

    void splitBatchGivesTheWholeBatchResults_data() {
        QTest::addColumn<QString>("model");
        QTest::newRow("demo LeNet") << QString(LATHE_DEMO_MODEL);
        QTest::newRow("bn_conv") << QString::fromStdString(fixture("bn_conv"));
        QTest::newRow("depthwise") << QString::fromStdString(fixture("depthwise"));
        QTest::newRow("residual") << QString::fromStdString(fixture("residual"));
    }
    void splitBatchGivesTheWholeBatchResults() {
        QFETCH(QString, model);
        const Graph graph = readGraph(model.toStdString());
        ExecutorOptions whole, sliced;
        whole.microBatchBytes = 0;
        sliced.microBatchBytes = 1;  // one sample per slice
        auto a = Executor::compile(graph, whole);
        auto b = Executor::compile(graph, sliced);
        QVERIFY(a && b);
        QCOMPARE(a->microBatch(), int64_t(0));
        QCOMPARE(b->microBatch(), int64_t(1));
        const std::string input = a->inputNames().front();
        std::vector<int64_t> shape = graph.value(input)->shape;
        shape[0] = 7;
        const NDArray x = randomArray(shape, 3, 0.f, 1.f);
        auto wholeOut = a->run({{input, x}});
        auto slicedOut = b->run({{input, x}});
        QVERIFY(wholeOut && slicedOut);
        for (const std::string& name : a->outputNames()) {
            const NDArray& w = wholeOut->at(name);
            QCOMPARE(w.shape.front(), int64_t(7));
            const QString miss = mismatch(slicedOut->at(name), w, 1e-6f, 1e-5f);
            QVERIFY2(miss.isEmpty(), qPrintable(miss));
        }
        // Captures run whole, and give the same values.
        auto captured = b->run({{input, x}}, {a->outputNames().front()});
        QVERIFY(captured);
        QVERIFY(mismatch(captured->at(a->outputNames().front()), wholeOut->at(a->outputNames().front()), 1e-6f, 1e-5f)
                    .isEmpty());
    }
};

QTEST_MAIN(TestMicroBatch)
#include "test_micro_batch.moc"
