// Where activations are quantized (core/compress/calibrate/activation_quant.h) and the fake-quantized graph that
// evaluation runs.
#include <QtTest>

#include <cmath>

#include "core/runtime/executor.h"
#include "export_test_util.h"

using namespace lathe;
using namespace lathe::testing;

namespace {

ActivationRanges staticRanges(const Graph& graph, float lo, float hi) {
    ActivationRanges r;
    r.mode = ActivationMode::Static;
    const ActivationPlan plan = planActivationQuant(graph, ActivationMode::Static);
    for (const auto& p : plan.points) r.tensors[p] = activationParams(lo, hi, 8);
    return r;
}

int countOps(const Graph& g, const std::string& op) {
    return int(std::count_if(g.nodes.begin(), g.nodes.end(), [&](const Node& n) { return n.opType == op; }));
}

}  // namespace

class TestActivationQuant : public QObject {
    Q_OBJECT
private slots:
    void initTestCase() { m_graph = demoModel(); }

    // LeNet: conv1 → pool1 → conv2 → pool2 → flatten → fc1 → relu1 → fc2.
    void staticPlanOfLeNet() {
        const ActivationPlan plan = planActivationQuant(m_graph, ActivationMode::Static);
        QCOMPARE(plan.anchors, (std::vector<std::string>{"conv1", "conv2", "fc1", "fc2"}));
        QCOMPARE(plan.points, (std::vector<std::string>{"input", "conv1_out", "pool1_out", "conv2_out", "flatten_out",
                                                        "relu1_out", "logits"}));
        QCOMPARE(plan.outputPoints, (std::vector<std::string>{"conv1_out", "conv2_out", "relu1_out", "logits"}));
        QCOMPARE(plan.shared, (std::map<std::string, std::string>{{"pool1_out", "conv1_out"},
                                                                   {"flatten_out", "conv2_out"}}));
        QCOMPARE(plan.fusedActivation, (std::map<std::string, std::string>{{"fc1", "relu1"}}));
        QCOMPARE(plan.sources(),
                 (std::vector<std::string>{"input", "conv1_out", "conv2_out", "relu1_out", "logits"}));
    }

    void dynamicPlanQuantizesOnlyLayerInputs() {
        const ActivationPlan plan = planActivationQuant(m_graph, ActivationMode::Dynamic);
        QCOMPARE(plan.points, (std::vector<std::string>{"input", "pool1_out", "flatten_out", "relu1_out"}));
        QVERIFY(plan.outputPoints.empty());
        QVERIFY(planActivationQuant(m_graph, ActivationMode::None).points.empty());
    }

    void params_data() {
        QTest::addColumn<float>("lo");
        QTest::addColumn<float>("hi");
        QTest::addColumn<int>("bits");
        QTest::addColumn<float>("scale");
        QTest::addColumn<int>("zero");
        QTest::newRow("asymmetric") << -1.f << 3.f << 8 << 4.f / 255.f << 64;  // round(1 / (4/255)) = round(63.75)
        QTest::newRow("positive range includes 0") << 0.5f << 2.f << 8 << 2.f / 255.f << 0;
        QTest::newRow("negative range") << -2.f << -1.f << 8 << 2.f / 255.f << 255;
        QTest::newRow("4 bits") << -1.f << 2.f << 4 << 3.f / 15.f << 5;
        QTest::newRow("empty range") << 0.f << 0.f << 8 << 1.f << 0;
    }

    void params() {
        QFETCH(float, lo);
        QFETCH(float, hi);
        QFETCH(int, bits);
        QFETCH(float, scale);
        QFETCH(int, zero);
        const ActivationRange r = activationParams(lo, hi, bits);
        QCOMPARE(r.scale, scale);
        QCOMPARE(r.zeroPoint, zero);
        QCOMPARE(r.min, std::min(lo, 0.f));
        QCOMPARE(r.max, std::max(hi, 0.f));
    }

    // Static: Q/DQ after every source point; anchor outputs feed every reader, so the pooled values stay on the grid.
    void staticFakeQuantPutsValuesOnTheGrid() {
        CompressedModel m = compress(m_graph, R"({"defaults": {"quant": {"bits": 8, "granularity": "per_channel"}}})");
        ActivationRanges ranges = staticRanges(m.graph, -2.f, 6.f);
        auto fq = withActivationFakeQuant(m.graph, ranges, m.quantized);
        QVERIFY2(fq.ok(), fq.ok() ? "" : fq.error().message.c_str());
        QCOMPARE(countOps(*fq, "QuantizeLinear"), 5);
        QCOMPARE(countOps(*fq, "DequantizeLinear"), 5);
        QCOMPARE(fq->nodes.size(), m.graph.nodes.size() + 10);
        auto executor = Executor::compile(*fq);
        QVERIFY2(executor.ok(), executor.ok() ? "" : executor.error().message.c_str());
        auto batch = fashionTest()->batch(std::vector<int64_t>{0, 1, 2, 3});
        QVERIFY(batch.ok());
        auto out = executor->run({{"input", *batch}}, {"pool1_out", "flatten_out", "relu1_out", "conv1_out"});
        QVERIFY2(out.ok(), out.ok() ? "" : out.error().message.c_str());
        const ActivationRange& r = ranges.tensors.at("conv1_out");
        for (const char* t : {"pool1_out", "flatten_out", "relu1_out", "conv1_out"})
            for (float v : out->at(t).data) {
                const float code = v / r.scale + float(r.zeroPoint);
                QVERIFY2(std::fabs(code - std::round(code)) < 1e-3f && code > -0.5f && code < 255.5f,
                         qPrintable(QString("%1: %2 is not on the grid").arg(t).arg(v)));
            }
        // The fc1 bias lies on its int32 grid x_scale · w_scale[c].
        const Tensor& bias = fq->initializers.at("fc1.bias");
        const std::vector<float>& ws = m.quantized.at("fc1.weight").scales;
        for (size_t c = 0; c < bias.data.size(); ++c) {
            const double steps = double(bias.data[c]) / (double(ranges.tensors.at("flatten_out").scale) * ws[c]);
            QVERIFY(std::fabs(steps - std::round(steps)) < 1e-3);
        }
        QCOMPARE(m.graph.initializers.at("fc1.bias").data.size(), bias.data.size());
    }

    void dynamicFakeQuantInsertsDynamicQuantizeLinear() {
        ActivationRanges ranges;
        ranges.mode = ActivationMode::Dynamic;
        auto fq = withActivationFakeQuant(m_graph, ranges);
        QVERIFY(fq.ok());
        QCOMPARE(countOps(*fq, "DynamicQuantizeLinear"), 4);
        QCOMPARE(countOps(*fq, "DequantizeLinear"), 4);
        const Node& conv2 = fq->nodes[size_t(fq->nodeIndex("conv2"))];
        QCOMPARE(conv2.inputs[0], std::string("pool1_out_dynamic_dequantized"));
        auto executor = Executor::compile(*fq);
        QVERIFY(executor.ok());
        ranges.bits = 4;
        auto bad = withActivationFakeQuant(m_graph, ranges);
        QVERIFY(!bad.ok());
        QVERIFY2(bad.error().message.find("activations.bits") != std::string::npos, bad.error().message.c_str());
    }

    // Below 8 bits the codes are clipped to [0, 2^bits - 1].
    void fourBitActivationsClipCodes() {
        ActivationRanges ranges = staticRanges(m_graph, -1.f, 1.f);
        ranges.bits = 4;
        for (auto& [name, r] : ranges.tensors) r = activationParams(-1.f, 1.f, 4);
        auto fq = withActivationFakeQuant(m_graph, ranges);
        QVERIFY2(fq.ok(), fq.ok() ? "" : fq.error().message.c_str());
        QCOMPARE(countOps(*fq, "Clip"), 5);
        auto executor = Executor::compile(*fq);
        QVERIFY(executor.ok());
        auto batch = fashionTest()->batch(std::vector<int64_t>{0});
        auto out = executor->run({{"input", *batch}}, {"conv1_out"});
        QVERIFY(out.ok());
        for (float v : out->at("conv1_out").data) QVERIFY(v >= -1.01f && v <= 1.01f);
    }

    void missingRangeNamesTheTensor() {
        ActivationRanges ranges = staticRanges(m_graph, -1.f, 1.f);
        ranges.tensors.erase("relu1_out");
        auto fq = withActivationFakeQuant(m_graph, ranges);
        QVERIFY(!fq.ok());
        QVERIFY2(fq.error().message.find("'relu1_out'") != std::string::npos, fq.error().message.c_str());
    }

    void noneLeavesTheGraph() {
        auto fq = withActivationFakeQuant(m_graph, ActivationRanges{});
        QVERIFY(fq.ok());
        QCOMPARE(fq->nodes.size(), m_graph.nodes.size());
    }

private:
    Graph m_graph;
};

QTEST_APPLESS_MAIN(TestActivationQuant)
#include "test_activation_quant.moc"
