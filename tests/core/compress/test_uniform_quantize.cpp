#include <QtTest>
#include <cmath>
#include <random>
#include <set>

#include "compress_test_util.h"
#include "core/compress/quantize/uniform_quantize.h"

using namespace lathe;
using namespace lathe::testing;

namespace {
std::vector<float> randomVector(size_t n, uint32_t seed, float mean = 0.f) {
    std::mt19937 rng(seed);
    std::normal_distribution<float> normal(mean, 0.7f);
    std::vector<float> v(n);
    for (float& x : v) x = normal(rng);
    return v;
}

UniformQuantSettings settings(int bits, bool symmetric, bool perChannel, bool stochastic = false, uint64_t seed = 0) {
    UniformQuantSettings s;
    s.bits = bits;
    s.symmetric = symmetric;
    s.perChannel = perChannel;
    s.stochastic = stochastic;
    s.seed = seed;
    return s;
}
}  // namespace

class TestUniformQuantize : public QObject {
    Q_OBJECT
private slots:
    void nearestErrorIsAtMostHalfAStep_data() {
        QTest::addColumn<int>("bits");
        QTest::addColumn<bool>("symmetric");
        QTest::addColumn<bool>("perChannel");
        QTest::addColumn<int>("axis");
        for (int bits : {2, 3, 4, 6, 8})
            for (bool symmetric : {true, false})
                for (bool perChannel : {false, true})
                    for (int axis : {0, 1})
                        QTest::addRow("%d bits %s %s axis %d", bits, symmetric ? "sym" : "asym",
                                      perChannel ? "per-channel" : "per-tensor", axis)
                            << bits << symmetric << perChannel << axis;
    }

    void nearestErrorIsAtMostHalfAStep() {
        QFETCH(int, bits);
        QFETCH(bool, symmetric);
        QFETCH(bool, perChannel);
        QFETCH(int, axis);
        const std::vector<int64_t> shape = {37, 53};
        const std::vector<float> original = randomVector(37 * 53, 5, symmetric ? 0.f : 0.4f);
        std::vector<float> w = original;
        QuantizedTensor q;
        QuantStats s = fakeQuantize(w, shape, axis, settings(bits, symmetric, perChannel), 1, &q);
        const int64_t channels = perChannel ? shape[size_t(axis)] : 1;
        QCOMPARE(int64_t(q.scales.size()), channels);
        QCOMPARE(q.axis, perChannel ? axis : -1);
        double sq = 0;
        std::vector<std::set<float>> distinct(static_cast<size_t>(channels));
        for (int64_t i = 0; i < int64_t(w.size()); ++i) {
            const int64_t c = !perChannel ? 0 : axis == 0 ? i / shape[1] : i % shape[1];
            const float scale = q.scales[size_t(c)];
            const double err = std::fabs(double(original[size_t(i)]) - double(w[size_t(i)]));
            QVERIFY2(err <= scale / 2 * (1 + 1e-5) + 1e-7,
                     qPrintable(QString("element %1: error %2 > scale/2 = %3").arg(i).arg(err).arg(scale / 2)));
            // The stored codes reproduce the fake-quantized value exactly.
            QCOMPARE(w[size_t(i)], float(q.codes[size_t(i)] - q.zeroPoints[size_t(c)]) * scale);
            if (symmetric)
                QVERIFY(std::abs(q.codes[size_t(i)]) <= (1 << (bits - 1)) - 1);
            else
                QVERIFY(q.codes[size_t(i)] >= 0 && q.codes[size_t(i)] <= (1 << bits) - 1);
            distinct[size_t(c)].insert(w[size_t(i)]);
            sq += err * err;
        }
        for (const auto& d : distinct) QVERIFY(int(d.size()) <= (1 << bits));
        QVERIFY(std::fabs(s.sqError - sq) <= 1e-6 * std::max(1.0, sq));
    }

    void zeroStaysExactlyZero_data() {
        QTest::addColumn<bool>("symmetric");
        QTest::addColumn<bool>("stochastic");
        QTest::newRow("symmetric") << true << false;
        QTest::newRow("asymmetric") << false << false;
        QTest::newRow("asymmetric stochastic") << false << true;
        QTest::newRow("symmetric stochastic") << true << true;
    }

    void zeroStaysExactlyZero() {
        QFETCH(bool, symmetric);
        QFETCH(bool, stochastic);
        std::vector<float> w = randomVector(4000, 9, 0.9f);  // mostly positive: an off-centre asymmetric range
        for (size_t i = 0; i < w.size(); i += 3) w[i] = 0.f;
        for (int bits : {2, 3, 5, 8}) {
            std::vector<float> q = w;
            fakeQuantize(q, std::vector<int64_t>{40, 100}, 0, settings(bits, symmetric, true, stochastic, 3), 0);
            for (size_t i = 0; i < w.size(); i += 3) QCOMPARE(q[i], 0.f);
        }
    }

    void perChannelScalesOnAHandTensor() {
        // Symmetric 8-bit, axis 0: scale = max|row| / 127.
        std::vector<float> w = {1.f, -2.f, 0.5f, 0.25f, -0.125f, 0.f};
        QuantizedTensor q;
        fakeQuantize(w, std::vector<int64_t>{2, 3}, 0, settings(8, true, true), 0, &q);
        QCOMPARE(q.scales, (std::vector<float>{2.f / 127.f, 0.25f / 127.f}));
        QCOMPARE(q.zeroPoints, (std::vector<int32_t>{0, 0}));
        QCOMPARE(q.codes, (std::vector<int32_t>{64, -127, 32, 127, -64, 0}));  // 63.5 rounds to even: 64

        // Asymmetric 2-bit, one row [-1, 3]: scale 4/3, zero point round(0.75) = 1, levels -4/3, 0, 4/3, 8/3.
        std::vector<float> a = {-1.f, 3.f, 0.f, 1.f};
        QuantizedTensor qa;
        fakeQuantize(a, std::vector<int64_t>{1, 4}, 0, settings(2, false, true), 0, &qa);
        QCOMPARE(qa.scales[0], 4.f / 3.f);
        QCOMPARE(qa.zeroPoints[0], 1);
        QCOMPARE(qa.codes, (std::vector<int32_t>{0, 3, 1, 2}));
        QCOMPARE(a[0], -4.f / 3.f);
        QCOMPARE(a[2], 0.f);
        QCOMPARE(quantizationLevels(2, false, 4.f / 3.f, 1),
                 (std::vector<float>{-4.f / 3.f, 0.f, 4.f / 3.f, 8.f / 3.f}));

        // Axis 1 ([K, N] weights): one scale per column.
        std::vector<float> m = {1.f, -4.f, -0.5f, 2.f, 0.25f, 1.f};  // [3, 2]
        QuantizedTensor qm;
        fakeQuantize(m, std::vector<int64_t>{3, 2}, 1, settings(4, true, true), 0, &qm);
        QCOMPARE(qm.scales, (std::vector<float>{1.f / 7.f, 4.f / 7.f}));
    }

    void passUsesTheLayersChannelAxis() {
        GraphBuilder b;
        std::string x = b.input("x", {2, 6});
        x = b.gemm("fcT", x, 4, true);   // weight [4, 6]: axis 0
        x = b.gemm("fcN", x, 3, false);  // weight [4, 3]: axis 1
        x = b.matmul("mm", x, 5);        // weight [3, 5]: axis 1
        Graph g = b.graph;
        auto s = settings(8, true, true);
        QCOMPARE(uniformQuantize(g, g.nodeIndex("fcT"), s).scales.size(), size_t(4));
        QCOMPARE(uniformQuantize(g, g.nodeIndex("fcN"), s).scales.size(), size_t(3));
        QuantizedTensor mm = uniformQuantize(g, g.nodeIndex("mm"), s);
        QCOMPARE(mm.scales.size(), size_t(5));
        QCOMPARE(mm.axis, 1);
        QCOMPARE(mm.name, std::string("mm.weight"));
        QVERIFY(uniformQuantize(g, -1, s).codes.empty());  // not applicable: no-op
    }

    void stochasticRoundingIsUnbiased() {
        // 2-bit symmetric, range fixed to ±1 by the first element: 0.3 rounds to 1 with probability 0.3.
        const int n = 10000;
        std::vector<float> w(n + 1, 0.3f);
        w[0] = 1.f;
        QuantStats s = fakeQuantize(w, std::vector<int64_t>{n + 1}, 0, settings(2, true, false, true, 42), 0);
        QCOMPARE(s.maxScale, 1.0);
        double sum = 0;
        for (int i = 1; i <= n; ++i) {
            QVERIFY(w[size_t(i)] == 0.f || w[size_t(i)] == 1.f);
            sum += w[size_t(i)];
        }
        const double mean = sum / n, sigma = std::sqrt(0.3 * 0.7);
        QVERIFY2(std::fabs(mean - 0.3) < 3 * sigma / std::sqrt(double(n)), qPrintable(QString::number(mean)));
    }

    void stochasticErrorStaysWithinOneStepAndIsUnbiasedOnRandomData() {
        const std::vector<float> original = randomVector(50000, 21);
        std::vector<float> w = original;
        QuantStats s = fakeQuantize(w, std::vector<int64_t>{50000}, 0, settings(4, true, false, true, 5), 0);
        double bias = 0;
        for (size_t i = 0; i < w.size(); ++i) {
            QVERIFY(std::fabs(w[i] - original[i]) <= s.maxScale * (1 + 1e-5));
            bias += double(w[i]) - double(original[i]);
        }
        // Per element the rounding error has variance <= scale²/4.
        QVERIFY(std::fabs(bias / double(w.size())) < 3 * (s.maxScale / 2) / std::sqrt(double(w.size())));
    }

    void stochasticIsReproducibleFromTheSeed() {
        const std::vector<float> original = randomVector(5000, 8);
        auto run = [&](uint64_t seed, uint64_t key) {
            std::vector<float> w = original;
            fakeQuantize(w, std::vector<int64_t>{50, 100}, 0, settings(3, false, true, true, seed), key);
            return w;
        };
        QCOMPARE(run(7, 1), run(7, 1));
        QVERIFY(run(7, 1) != run(8, 1));
        QVERIFY(run(7, 1) != run(7, 2));  // another tensor gets another stream
    }

    void bytesCountCodesAndScales() {
        QCOMPARE(quantizedBytes(1000, 4, 10, true), int64_t(500 + 40));
        QCOMPARE(quantizedBytes(1001, 3, 1, false), int64_t(376 + 5));
    }
};

QTEST_APPLESS_MAIN(TestUniformQuantize)
#include "test_uniform_quantize.moc"
