#include <omp.h>

#include <QElapsedTimer>
#include <QtTest>
#include <cmath>
#include <ctime>
#include <random>

#include "compress_test_util.h"
#include "core/compress/apply_recipe.h"
#include "core/compress/layer_preview.h"
#include "core/compress/lowrank/svd_decompose.h"

using namespace lathe;
using namespace lathe::testing;

namespace {

Tensor bigWeight() {
    Tensor t;
    t.name = "big.weight";
    t.shape = {2048, 2048};  // 4,194,304 weights
    t.data.resize(size_t(t.numel()));
    std::mt19937 rng(1);
    std::normal_distribution<float> normal(0.f, 0.05f);
    for (float& v : t.data) v = normal(rng);
    return t;
}

LayerSettings settingsOf(const char* json, const Graph& g, const char* node) {
    auto r = parseRecipe(json);
    if (!r.ok()) qFatal("%s", r.error().message.c_str());
    return resolveLayerSettings(*r, g, g.nodeIndex(node));
}

const LayerReport& layer(const CompressedModel& m, const std::string& name) {
    for (const auto& l : m.layers)
        if (l.name == name) return l;
    qFatal("no report for %s", name.c_str());
}

}  // namespace

class TestLayerPreview : public QObject {
    Q_OBJECT
private slots:
    void matchesApplyRecipe_data() {
        QTest::addColumn<QString>("recipe");
        QTest::newRow("sparsity + 4-bit per-channel asymmetric") << R"({"layers": {"fc1": {"prune": {"sparsity": 0.6},
                  "quant": {"bits": 4, "granularity": "per_channel", "symmetric": false}}}})";
        QTest::newRow("threshold + 8-bit")
            << R"({"layers": {"fc1": {"prune": {"threshold": 0.1}, "quant": {"bits": 8}}}})";
        QTest::newRow("stochastic 3-bit") << R"({"layers": {"fc1": {"quant": {"bits": 3, "rounding": "stochastic",
                                                "seed": 11}}}})";
        QTest::newRow("float") << R"({"layers": {"fc1": {"prune": {"sparsity": 0.3}}}})";
    }

    void matchesApplyRecipe() {
        QFETCH(QString, recipe);
        const Graph g = makeLeNet(5);
        auto r = parseRecipe(recipe.toStdString());
        QVERIFY(r.ok());
        auto m = applyRecipe(g, *r);
        QVERIFY(m.ok());
        const LayerSettings s = resolveLayerSettings(*r, g, g.nodeIndex("fc1"));
        PreviewOptions o;
        o.channelAxis = 0;
        o.keepValues = true;
        const LayerPreview p = previewLayer(g.initializers.at("fc1.weight"), s, o);
        const LayerReport& fc1 = layer(*m, "fc1");
        QCOMPARE(p.relError, fc1.relError);
        QCOMPARE(p.sparsity, fc1.sparsity);
        QCOMPARE(p.threshold, fc1.threshold);
        QCOMPARE(p.bytes, fc1.bytes - 500 * 4);  // the preview leaves out the bias
        QCOMPARE(p.params, fc1.params - 500);
        QCOMPARE(p.values, m->graph.initializers.at("fc1.weight").data);
        if (s.quantized()) {
            QVERIFY(!p.levels.empty());
            QVERIFY(int(p.levels.size()) <= (1 << s.bits));
            QVERIFY(std::find(p.levels.begin(), p.levels.end(), 0.f) != p.levels.end());
        } else {
            QVERIFY(p.levels.empty());
        }
    }

    void globalThresholdMatchesApplyRecipe() {
        const Graph g = makeLeNet(5);
        const char* json = R"({"global_prune": {"sparsity": 0.8}})";
        auto m = applyRecipe(g, *parseRecipe(json));
        QVERIFY(m.ok());
        std::vector<std::span<const float>> weights;
        for (const char* w : {"conv1.weight", "conv2.weight", "fc1.weight", "fc2.weight"})
            weights.emplace_back(g.initializers.at(w).data);
        const double cut = globalPruneThreshold(weights, 0.8);
        QCOMPARE(cut, m->globalThreshold);
        PreviewOptions o;
        o.globalThreshold = cut;
        const LayerPreview p = previewLayer(g.initializers.at("conv2.weight"), settingsOf(json, g, "conv2"), o);
        QVERIFY(std::fabs(p.sparsity - layer(*m, "conv2").sparsity) < 1e-3);  // ties at the cut may differ
    }

    void kmeansLevelsAreTheCodebook() {
        const Graph g = makeLeNet(5);
        const LayerSettings s = settingsOf(R"({"layers": {"fc1": {"prune": {"sparsity": 0.5},
                                                  "quant": {"bits": 3, "rounding": "kmeans"}}}})",
                                           g, "fc1");
        const LayerPreview p = previewLayer(g.initializers.at("fc1.weight"), s);
        QVERIFY(p.levels.size() <= 8);
        QCOMPARE(p.levels.front(), 0.f);  // reserved for the pruned weights
        QCOMPARE(p.bytes, int64_t(400000 * 3 / 8 + 4 * int64_t(p.levels.size())));
        QVERIFY(p.sparsity >= 0.5);
    }

    void structuredAndLowRankSizes() {
        const Graph g = makeLeNet(5);
        const Tensor& conv2 = g.initializers.at("conv2.weight");
        PreviewOptions o;
        o.structured = true;
        const LayerPreview p = previewLayer(
            conv2, settingsOf(R"({"layers": {"conv2": {"prune": {"structured": {"keep": 20}}}}})", g, "conv2"), o);
        QCOMPARE(p.keptChannels, int64_t(20));
        QCOMPARE(p.params, int64_t(20 * 500));
        QVERIFY(std::fabs(p.sparsity - 0.6) < 1e-9);

        const Tensor& fc1 = g.initializers.at("fc1.weight");
        const std::vector<double> spectrum = weightSingularValues(fc1);
        PreviewOptions lo;
        lo.singularValues = spectrum;
        const LayerPreview lr =
            previewLayer(fc1, settingsOf(R"({"layers": {"fc1": {"lowrank": {"rank": 64}}}})", g, "fc1"), lo);
        QCOMPARE(lr.rank, int64_t(64));
        QCOMPARE(lr.params, int64_t(64 * 1300));
        QCOMPARE(lr.lowRankError, truncationError(spectrum, 64));
        // Decomposition alone: the layer's relative error is the truncation's, as applyRecipe reports it.
        QCOMPARE(lr.relError, lr.lowRankError);
        auto applied = applyRecipe(g, *parseRecipe(R"({"layers": {"fc1": {"lowrank": {"rank": 64}}}})"));
        QVERIFY(applied.ok());
        for (const auto& l : applied->layers)
            if (l.name == "fc1") QVERIFY(std::fabs(l.relError - lr.relError) < 1e-5);
    }

    void previewOfFourMillionWeights_data() {
        QTest::addColumn<QString>("recipe");
        QTest::newRow("sparsity 0.6 + 4-bit per-channel")
            << R"({"defaults": {"prune": {"sparsity": 0.6}, "quant": {"bits": 4, "granularity": "per_channel"}}})";
        QTest::newRow("threshold + 8-bit per-tensor")
            << R"({"defaults": {"prune": {"threshold": 0.02}, "quant": {"bits": 8}}})";
        QTest::newRow("sparsity 0.9 + stochastic 6-bit")
            << R"({"defaults": {"prune": {"sparsity": 0.9}, "quant": {"bits": 6, "rounding": "stochastic"}}})";
        QTest::newRow("k-means 4-bit") << R"({"defaults": {"quant": {"bits": 4, "rounding": "kmeans"}}})";
    }

    void previewOfFourMillionWeights() {
        QFETCH(QString, recipe);
        static const Tensor w = bigWeight();
        auto r = parseRecipe(recipe.toStdString());
        QVERIFY(r.ok());
        const LayerSettings s = resolveLayerSettings(*r, "big", "big.weight");
        // Best of five runs, wall time and CPU time over all threads, for the record (not an assertion: the
        // machine running the tests may be shared).
        double bestWall = 1e9, bestCpu = 1e9;
        for (int i = 0; i < 5; ++i) {
            QElapsedTimer t;
            t.start();
            const std::clock_t c0 = std::clock();
            const LayerPreview p = previewLayer(w, s);
            bestCpu = std::min(bestCpu, double(std::clock() - c0) * 1000.0 / CLOCKS_PER_SEC);
            bestWall = std::min(bestWall, double(t.nsecsElapsed()) / 1e6);
            QVERIFY(p.relError > 0);
        }
        qInfo("previewLayer on %lld weights (%s): %.1f ms wall, %.1f ms CPU, %d OpenMP threads",
              static_cast<long long>(w.numel()), qPrintable(QString(QTest::currentDataTag())), bestWall, bestCpu,
              omp_get_max_threads());
        QBENCHMARK {
            const LayerPreview p = previewLayer(w, s);
            QVERIFY(p.bytes > 0);
        }
    }
};

QTEST_APPLESS_MAIN(TestLayerPreview)
#include "test_layer_preview.moc"
