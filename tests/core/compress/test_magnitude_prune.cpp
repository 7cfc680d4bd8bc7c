#include <QtTest>
#include <algorithm>
#include <cmath>
#include <random>

#include "compress_test_util.h"
#include "core/compress/prune/magnitude_prune.h"

using namespace lathe;
using namespace lathe::testing;

namespace {
std::vector<float> randomVector(size_t n, float scale, uint32_t seed) {
    std::mt19937 rng(seed);
    std::normal_distribution<float> normal(0.f, scale);
    std::vector<float> v(n);
    for (float& x : v) x = normal(rng);
    return v;
}
}  // namespace

class TestMagnitudePrune : public QObject {
    Q_OBJECT
private slots:
    void thresholdZeroesExactlyTheSmallMagnitudes() {
        std::vector<float> w = {0.5f, -0.02f, 0.01f, -0.3f, 0.0099f, 0.2f, -0.01f, 0.011f};
        PruneStats s = pruneByThreshold(w, 0.0101);
        // |w| < 0.0101: -0.02 no, 0.01 yes, 0.0099 yes, -0.01 yes, 0.011 no.
        QCOMPARE(w, (std::vector<float>{0.5f, -0.02f, 0.f, -0.3f, 0.f, 0.2f, 0.f, 0.011f}));
        QCOMPARE(s.zeros, int64_t(3));
        QCOMPARE(s.count, int64_t(8));
        QCOMPARE(s.threshold, 0.0101);
    }

    void sparsityPrunesExactlyKWithTiesByIndex() {
        std::vector<float> w = {0.1f, -0.1f, 0.3f, 0.1f, -0.05f, 0.2f};
        PruneStats s = pruneToSparsity(w, 0.5);  // k = 3: -0.05, then the first two of the three 0.1 ties
        QCOMPARE(w, (std::vector<float>{0.f, 0.f, 0.3f, 0.1f, 0.f, 0.2f}));
        QCOMPARE(s.zeros, int64_t(3));
        QCOMPARE(s.threshold, double(0.1f));
    }

    void sparsityCountIsExact_data() {
        QTest::addColumn<int>("n");
        QTest::addColumn<double>("sparsity");
        QTest::newRow("small") << 7 << 0.5;  // round(3.5) = 4
        QTest::newRow("odd") << 10007 << 0.3;
        QTest::newRow("large") << 300000 << 0.9;
        QTest::newRow("none") << 1000 << 0.0;
        QTest::newRow("tiny fraction") << 1000 << 0.0004;  // round(0.4) = 0
        QTest::newRow("almost all") << 1000 << 0.999;
    }

    void sparsityCountIsExact() {
        QFETCH(int, n);
        QFETCH(double, sparsity);
        const std::vector<float> original = randomVector(size_t(n), 1.f, 11);
        std::vector<float> w = original;
        PruneStats s = pruneToSparsity(w, sparsity);
        const auto k = int64_t(std::llround(sparsity * n));
        QCOMPARE(s.zeros, k);
        QCOMPARE(countZeros(w), k);
        // Every pruned magnitude is <= every kept magnitude; kept values are untouched.
        float maxPruned = 0, minKept = INFINITY;
        for (size_t i = 0; i < w.size(); ++i) {
            if (w[i] == 0.f)
                maxPruned = std::max(maxPruned, std::fabs(original[i]));
            else {
                QCOMPARE(w[i], original[i]);
                minKept = std::min(minKept, std::fabs(original[i]));
            }
        }
        QVERIFY(maxPruned <= minKept);
        if (k > 0) QCOMPARE(float(s.threshold), maxPruned);
    }

    void periodicWeightsStillGetTheExactCut() {
        // Every third weight large: an evenly spaced sample sees only those, the exact fallback must take over.
        std::vector<float> w = randomVector(3 * 32768, 0.01f, 5);
        for (size_t i = 0; i < w.size(); i += 3) w[i] = 10.f + float(i % 7);
        const std::vector<float> original = w;
        PruneStats s = pruneToSparsity(w, 0.5);
        QCOMPARE(s.zeros, int64_t(3 * 32768 / 2));
        float maxPruned = 0, minKept = INFINITY;
        for (size_t i = 0; i < w.size(); ++i)
            (w[i] == 0.f ? maxPruned : minKept) =
                w[i] == 0.f ? std::max(maxPruned, std::fabs(original[i])) : std::min(minKept, std::fabs(original[i]));
        QVERIFY(maxPruned <= minKept);
    }

    void existingZerosCountTowardsTheTarget() {
        std::vector<float> w = {0.f, 0.f, 0.f, 0.4f, -0.2f, 0.1f, 0.3f, 0.5f};
        pruneToSparsity(w, 0.5);  // k = 4: the three zeros and 0.1
        QCOMPARE(w, (std::vector<float>{0.f, 0.f, 0.f, 0.4f, -0.2f, 0.f, 0.3f, 0.5f}));
        std::vector<float> all(5, 0.f);
        QCOMPARE(pruneToSparsity(all, 0.4).zeros, int64_t(5));
    }

    void globalThresholdAcrossTwoLayers() {
        std::vector<float> a = {0.1f, 0.5f, -0.9f};
        std::vector<float> b = {0.2f, -0.3f, 0.05f, 1.0f};
        std::vector<std::span<float>> layers = {a, b};
        // 7 weights, sparsity 3/7 → the 3 smallest over both: 0.05, 0.1, 0.2.
        auto stats = pruneGlobal(layers, 3.0 / 7.0);
        QCOMPARE(a, (std::vector<float>{0.f, 0.5f, -0.9f}));
        QCOMPARE(b, (std::vector<float>{0.f, -0.3f, 0.f, 1.0f}));
        QCOMPARE(stats[0].threshold, double(0.2f));
        QCOMPARE(stats[1].threshold, double(0.2f));
        QCOMPARE(stats[0].zeros, int64_t(1));
        QCOMPARE(stats[1].zeros, int64_t(2));
    }

    void globalPrunesSmallScaleLayersHarder() {
        std::vector<float> small = randomVector(20000, 0.01f, 1), large = randomVector(20000, 1.f, 2);
        std::vector<std::span<float>> layers = {small, large};
        auto stats = pruneGlobal(layers, 0.5);
        QCOMPARE(stats[0].zeros + stats[1].zeros, int64_t(20000));
        QVERIFY(stats[0].sparsity() > 0.95);
        QVERIFY(stats[1].sparsity() < 0.05);
        // One cut for both: no kept weight is smaller than it, no pruned one larger.
        const std::vector<std::span<const float>> views = {small, large};
        for (auto v : views)
            for (float x : v) QVERIFY(x == 0.f || std::fabs(x) >= float(stats[0].threshold));
    }

    void passPrunesWeightsNotBiases() {
        Graph g = makeLeNet();
        const Tensor bias = g.initializers.at("fc1.bias");
        QVERIFY(magnitudePruneApplies(g, g.nodeIndex("fc1")));
        PruneStats s = magnitudePrune(g, g.nodeIndex("fc1"), {0.6, std::nullopt});
        QCOMPARE(s.zeros, int64_t(std::llround(0.6 * 400000)));
        QCOMPARE(countZeros(g.initializers.at("fc1.weight").data), s.zeros);
        QCOMPARE(g.initializers.at("fc1.bias").data, bias.data);
    }

    void passIsANoOpWhereItDoesNotApply() {
        Graph g = makeLeNet();
        const Graph before = g;
        for (const char* name : {"relu1", "pool1", "flatten"}) {
            QVERIFY(!magnitudePruneApplies(g, g.nodeIndex(name)));
            PruneStats s = magnitudePrune(g, g.nodeIndex(name), {0.9, std::nullopt});
            QCOMPARE(s.count, int64_t(0));
        }
        for (const auto& [name, t] : before.initializers) QCOMPARE(g.initializers.at(name).data, t.data);
    }
};

QTEST_APPLESS_MAIN(TestMagnitudePrune)
#include "test_magnitude_prune.moc"
