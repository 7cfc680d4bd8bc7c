// Activation range calibration (core/compress/calibrate/calibrate_activations.h): min-max against the ranges seen by
// running the executor by hand, percentile and entropy on hand-made histograms.
#include <QtTest>

#include <cmath>
#include <limits>
#include <numeric>

#include "core/runtime/executor.h"
#include "export_test_util.h"

using namespace lathe;
using namespace lathe::testing;

namespace {

ActivationSettings settings(Calibration c, int64_t samples) {
    ActivationSettings s;
    s.mode = ActivationMode::Static;
    s.calibration = c;
    s.samples = samples;
    return s;
}

}  // namespace

class TestCalibrateActivations : public QObject {
    Q_OBJECT
private slots:
    void initTestCase() {
        m_graph = demoModel();
        m_test = fashionTest();
    }

    // Min-max ranges are the extremes of the captured tensors over exactly the calibration subset.
    void minMaxMatchesCapturedExtremes() {
        auto ranges = calibrateActivations(m_graph, m_test, settings(Calibration::MinMax, 100),
                                           CalibrationOptions{32, 3, 0});
        QVERIFY2(ranges.ok(), ranges.ok() ? "" : ranges.error().message.c_str());
        QCOMPARE(ranges->samples, int64_t(100));
        QCOMPARE(ranges->tensors.size(), size_t(7));
        auto subset = calibrationSubset(m_test, 100, 3);
        std::vector<int64_t> all(100);
        std::iota(all.begin(), all.end(), 0);
        auto batch = subset->batch(all);
        QVERIFY(batch.ok());
        auto executor = Executor::compile(m_graph);
        QVERIFY(executor.ok());
        auto out = executor->run({{"input", *batch}}, {"conv1_out", "conv2_out", "relu1_out"});
        QVERIFY(out.ok());
        (*out)["input"] = *batch;
        for (const char* t : {"input", "conv1_out", "conv2_out", "relu1_out", "logits"}) {
            const auto& v = out->at(t).data;
            const float lo = std::min(0.f, *std::min_element(v.begin(), v.end()));
            const float hi = std::max(0.f, *std::max_element(v.begin(), v.end()));
            const ActivationRange& r = ranges->tensors.at(t);
            QCOMPARE(r.min, lo);
            QCOMPARE(r.max, hi);
            QCOMPARE(r.scale, activationParams(lo, hi, 8).scale);
            QVERIFY(r.source.empty());
        }
        QCOMPARE(ranges->tensors.at("input").max, 1.f);
        QCOMPARE(ranges->tensors.at("relu1_out").zeroPoint, 0);
        QCOMPARE(ranges->tensors.at("pool1_out").source, std::string("conv1_out"));
        QCOMPARE(ranges->tensors.at("pool1_out").scale, ranges->tensors.at("conv1_out").scale);
        QCOMPARE(ranges->tensors.at("flatten_out").source, std::string("conv2_out"));
    }

    // Percentile and entropy clip the wide ReLU output that min-max keeps whole; all stay inside min-max.
    void percentileAndEntropyNarrowTheRange() {
        auto minmax = calibrateActivations(m_graph, m_test, settings(Calibration::MinMax, 256));
        auto percentile = calibrateActivations(m_graph, m_test, settings(Calibration::Percentile, 256));
        auto entropy = calibrateActivations(m_graph, m_test, settings(Calibration::Entropy, 256));
        QVERIFY(minmax.ok() && percentile.ok() && entropy.ok());
        QCOMPARE(percentile->percentile, 99.99);
        for (const auto& [name, r] : minmax->tensors) {
            for (const ActivationRanges* other : {&percentile.value(), &entropy.value()}) {
                const ActivationRange& o = other->tensors.at(name);
                QVERIFY2(o.min >= r.min && o.max <= r.max * 1.0001f, name.c_str());
            }
        }
        QVERIFY(entropy->tensors.at("relu1_out").max < minmax->tensors.at("relu1_out").max);
        QVERIFY(percentile->tensors.at("relu1_out").max < minmax->tensors.at("relu1_out").max);
    }

    void percentileOfAHistogram() {
        Histogram h(0.f, 10.f, 10);
        h.add(std::vector<float>{0.5f, 9.5f});
        h.add(std::vector<float>(9998, 5.5f));
        const auto [lo, hi] = percentileRange(h, 99.9);  // tails of 5 samples drop the single outliers
        QCOMPARE(lo, 5.f);
        QCOMPARE(hi, 6.f);
        const auto [lo2, hi2] = percentileRange(h, 99.999);  // tails of 0.05 samples keep them
        QCOMPARE(lo2, 0.f);
        QCOMPARE(hi2, 10.f);
        const auto [lo3, hi3] = percentileRange(h, 100.0);
        QCOMPARE(lo3, 0.f);
        QCOMPARE(hi3, 10.f);
    }

    // A flat distribution needs its whole range; a peaked one with a far outlier is clipped well below it.
    void entropyThresholds() {
        std::vector<double> flat(2048, 10.0);
        QCOMPARE(entropyThreshold(flat, 0.01f, 128), 2048 * 0.01f);
        std::vector<double> peaked(2048, 0.0);
        for (int i = 0; i < 2048; ++i) peaked[size_t(i)] = std::floor(1e6 * std::exp(-double(i) / 40.0));
        peaked[2047] = 1;
        const float t = entropyThreshold(peaked, 1.f, 128);
        QVERIFY2(t >= 128.f && t < 1024.f, qPrintable(QString::number(t)));
        // Fewer bins than levels: nothing to choose.
        QCOMPARE(entropyThreshold(std::vector<double>(64, 1.0), 0.5f, 128), 32.f);
    }

    // A Clip (as Relu6) after conv1: the tensors it bounds keep their observed range inside [0, 1] whatever the
    // calibration, so entropy cannot cut them below what the Clip lets through.
    // Clip bounds given by Constant nodes (as PyTorch exports ReLU6) bound the range as initializers do; a Clip with
    // only a lower bound of 0 is a Relu: it fuses into the layer but bounds nothing.
    void clipBoundsFromConstantNodes() {
        Graph g = m_graph;
        const int conv1 = g.nodeIndex("conv1");
        const int pool1 = g.nodeIndex("pool1");
        QVERIFY(conv1 >= 0 && pool1 >= 0);
        std::vector<Node> added;
        for (auto [name, value] : {std::pair{"clip_lo", 0.f}, std::pair{"clip_hi", 6.f}}) {
            Node constant;
            constant.name = std::string(name) + "_constant";
            constant.opType = "Constant";
            constant.outputs = {name};
            Attribute a;
            a.kind = Attribute::Kind::Tensor;
            a.tensor = std::make_shared<Tensor>();
            a.tensor->name = name;
            a.tensor->data = {value};
            constant.attributes["value"] = a;
            added.push_back(constant);
        }
        Node clip;
        clip.name = "relu6";
        clip.opType = "Clip";
        clip.inputs = {"conv1_out", "clip_lo", "clip_hi"};
        clip.outputs = {"clip_out"};
        added.push_back(clip);
        g.nodes[size_t(pool1)].inputs[0] = "clip_out";
        g.nodes.insert(g.nodes.begin() + conv1 + 1, added.begin(), added.end());
        QCOMPARE(clipRange(g, clip), std::optional(std::pair(0.f, 6.f)));
        QCOMPARE(knownActivationBounds(g, "pool1_out"), std::optional(std::pair(0.f, 6.f)));
        QCOMPARE(planActivationQuant(g, ActivationMode::Static).fusedActivation.at("conv1"), std::string("relu6"));

        Node& bounded = g.nodes[size_t(g.nodeIndex("relu6"))];
        bounded.inputs.pop_back();  // Clip(x, 0): no upper bound
        QCOMPARE(clipRange(g, bounded), std::optional(std::pair(0.f, std::numeric_limits<float>::infinity())));
        QCOMPARE(knownActivationBounds(g, "pool1_out"), std::nullopt);
        QCOMPARE(planActivationQuant(g, ActivationMode::Static).fusedActivation.at("conv1"), std::string("relu6"));

        bounded.inputs.push_back(g.inputs.front());  // a bound known only at run time: neither bounds nor fuses
        QCOMPARE(clipRange(g, bounded), std::nullopt);
        QVERIFY(!planActivationQuant(g, ActivationMode::Static).fusedActivation.count("conv1"));
    }

    void clipBoundsTheRange_data() {
        QTest::addColumn<int>("calibration");
        QTest::newRow("minmax") << int(Calibration::MinMax);
        QTest::newRow("entropy") << int(Calibration::Entropy);
        QTest::newRow("percentile") << int(Calibration::Percentile);
    }
    void clipBoundsTheRange() {
        QFETCH(int, calibration);
        Graph g = m_graph;
        const int conv1 = g.nodeIndex("conv1");
        const int pool1 = g.nodeIndex("pool1");
        QVERIFY(conv1 >= 0 && pool1 >= 0);
        for (auto [name, value] : {std::pair{"clip_lo", 0.f}, std::pair{"clip_hi", 1.f}}) {
            Tensor t;
            t.name = name;
            t.data = {value};
            g.initializers[name] = t;
        }
        Node clip;
        clip.name = "relu6";
        clip.opType = "Clip";
        clip.inputs = {"conv1_out", "clip_lo", "clip_hi"};
        clip.outputs = {"clip_out"};
        g.nodes[size_t(pool1)].inputs[0] = "clip_out";
        g.nodes.insert(g.nodes.begin() + conv1 + 1, clip);
        QCOMPARE(knownActivationBounds(g, "conv1_out"), std::optional(std::pair(0.f, 1.f)));
        QCOMPARE(knownActivationBounds(g, "pool1_out"), std::optional(std::pair(0.f, 1.f)));  // through MaxPool
        QCOMPARE(knownActivationBounds(g, "conv2_out"), std::nullopt);

        auto ranges = calibrateActivations(g, m_test, settings(Calibration(calibration), 200));
        QVERIFY2(ranges.ok(), ranges.ok() ? "" : ranges.error().message.c_str());
        // The Clip (0 <= 1) fuses into conv1 as int8 kernels run it: its output is conv1's quantized point, and
        // pool1's output shares its grid.
        QCOMPARE(planActivationQuant(g, ActivationMode::Static).fusedActivation.at("conv1"), std::string("relu6"));
        QCOMPARE(ranges->bounded, (std::vector<std::string>{"clip_out"}));
        QCOMPARE(ranges->tensors.at("pool1_out").source, std::string("clip_out"));
        // The observed extremes of conv1's output over the same 200 samples, clamped to the bounds.
        auto subset = calibrationSubset(m_test, 200, 0);
        std::vector<int64_t> all(200);
        std::iota(all.begin(), all.end(), 0);
        auto batch = subset->batch(all);
        QVERIFY(batch.ok());
        auto executor = Executor::compile(g);
        QVERIFY(executor.ok());
        auto out = executor->run({{"input", *batch}}, {"conv1_out"});
        QVERIFY(out.ok());
        const auto& v = out->at("conv1_out").data;
        const float observedMax = *std::max_element(v.begin(), v.end());
        QVERIFY2(observedMax > 1.f, qPrintable(QString::number(observedMax)));  // the bound does cut
        for (const char* t : {"clip_out", "pool1_out"}) {
            QCOMPARE(ranges->tensors.at(t).min, 0.f);
            QCOMPARE(ranges->tensors.at(t).max, 1.f);
        }
    }

    // A calibration that clips far too much (the 50th percentile) is measured against min-max on the calibration
    // samples and reported; entropy on the demo model is measured and passes.
    void clearlyWorseCalibrationWarns() {
        ActivationSettings half = settings(Calibration::Percentile, 300);
        half.percentile = 50.0;
        auto bad = calibrateActivations(m_graph, m_test, half);
        QVERIFY(bad.ok());
        QVERIFY2(bad->calibrationTop1 + 1.0 < bad->minMaxTop1,
                 qPrintable(QString("%1 vs %2").arg(bad->calibrationTop1).arg(bad->minMaxTop1)));
        QVERIFY(bad->minMaxTop1 > 80.0);
        QCOMPARE(bad->warnings.size(), size_t(1));
        const QString w = QString::fromStdString(bad->warnings[0]);
        QVERIFY2(w.startsWith("percentile calibration gives") && w.contains("300 calibration samples") &&
                     w.contains("min-max") && w.contains("it clips '"),
                 qPrintable(w));

        auto entropy = calibrateActivations(m_graph, m_test, settings(Calibration::Entropy, 300));
        QVERIFY(entropy.ok());
        QVERIFY(entropy->calibrationTop1 > 80.0 && entropy->minMaxTop1 > 80.0);
        QVERIFY2(entropy->warnings.empty(), entropy->warnings.empty() ? "" : entropy->warnings[0].c_str());

        auto minmax = calibrateActivations(m_graph, m_test, settings(Calibration::MinMax, 300));
        QVERIFY(minmax.ok());
        QCOMPARE(minmax->calibrationTop1, -1.0);  // nothing to compare with
    }

    void noneAndDynamicNeedNoData() {
        ActivationSettings s;
        s.mode = ActivationMode::Dynamic;
        auto r = calibrateActivations(m_graph, nullptr, s);
        QVERIFY(r.ok());
        QVERIFY(r->tensors.empty());
        QVERIFY(r->mode == ActivationMode::Dynamic);
        s.mode = ActivationMode::Static;
        auto missing = calibrateActivations(m_graph, nullptr, s);
        QVERIFY(!missing.ok());
    }

    void cancellable() {
        auto r = calibrateActivations(m_graph, m_test, settings(Calibration::MinMax, 64), {},
                                      [](float, std::string_view) { return false; });
        QVERIFY(!r.ok());
        QCOMPARE(r.error().code, ErrorCode::Cancelled);
    }

private:
    Graph m_graph;
    std::shared_ptr<const Dataset> m_test;
};

QTEST_APPLESS_MAIN(TestCalibrateActivations)
#include "test_calibrate_activations.moc"
