#include <QtTest>
#include <cmath>
#include <random>
#include <set>

#include "compress_test_util.h"
#include "core/compress/quantize/kmeans_share.h"
#include "core/compress/quantize/uniform_quantize.h"

using namespace lathe;
using namespace lathe::testing;

namespace {
std::vector<float> bimodal(size_t n, uint32_t seed) {
    std::mt19937 rng(seed);
    std::normal_distribution<float> a(-1.f, 0.05f), b(0.8f, 0.05f);
    std::vector<float> v(n);
    for (size_t i = 0; i < n; ++i) v[i] = i % 2 ? a(rng) : b(rng);
    return v;
}
}  // namespace

class TestKMeansShare : public QObject {
    Q_OBJECT
private slots:
    void lloydFindsTheObviousClusters() {
        const std::vector<float> values = {1, 2, 3, 10, 11, 12};
        int iterations = 0;
        auto c = lloyd1d(values, {}, 2, 100, &iterations);
        QCOMPARE(c, (std::vector<double>{2.0, 11.0}));
        QVERIFY(iterations >= 1);
        // Multiplicities weigh the means.
        const std::vector<float> binned = {0.f, 1.f, 5.f};
        auto w = lloyd1d(binned, std::vector<double>{1, 3, 1}, 2);
        QCOMPARE(w, (std::vector<double>{0.75, 5.0}));
    }

    void atMostTwoToTheBitsValues_data() {
        QTest::addColumn<int>("bits");
        QTest::addColumn<bool>("binned");
        for (int bits : {2, 3, 4, 5, 8})
            for (bool binned : {false, true})
                QTest::addRow("%d bits%s", bits, binned ? " binned" : "") << bits << binned;
    }

    void atMostTwoToTheBitsValues() {
        QFETCH(int, bits);
        QFETCH(bool, binned);
        std::mt19937 rng(4);
        std::normal_distribution<float> normal(0.f, 1.f);
        std::vector<float> original(100000);
        for (float& v : original) v = normal(rng);
        std::vector<float> w = original;
        CodebookTensor cb;
        KMeansStats s = shareWeights(w, bits, &cb, binned);
        std::set<float> distinct(w.begin(), w.end());
        QVERIFY(int(distinct.size()) <= (1 << bits));
        QVERIFY(int(cb.codebook.size()) <= (1 << bits));
        QVERIFY(!cb.zeroReserved);
        QVERIFY(s.iterations > 0);
        double sq = 0;
        for (size_t i = 0; i < w.size(); ++i) {
            QCOMPARE(w[i], cb.codebook[cb.indices[i]]);
            sq += double(w[i] - original[i]) * double(w[i] - original[i]);
        }
        QVERIFY(std::fabs(sq - s.sqError) <= 1e-6 * sq);
        // Each weight went to its nearest centroid.
        for (size_t i = 0; i < w.size(); i += 97)
            for (float c : cb.codebook) QVERIFY(std::fabs(original[i] - w[i]) <= std::fabs(original[i] - c) + 1e-6f);
    }

    void prunedZerosStayZero() {
        std::vector<float> w = bimodal(10000, 2);
        for (size_t i = 0; i < w.size(); i += 4) w[i] = 0.f;
        CodebookTensor cb;
        shareWeights(w, 2, &cb);
        QVERIFY(cb.zeroReserved);
        QCOMPARE(cb.codebook.front(), 0.f);
        QVERIFY(cb.codebook.size() <= 4);
        for (size_t i = 0; i < w.size(); ++i) {
            if (i % 4 == 0) {
                QCOMPARE(w[i], 0.f);
                QCOMPARE(cb.indices[i], uint8_t(0));
            } else {
                QVERIFY(w[i] != 0.f);
            }
        }
    }

    void beatsUniformOnABimodalDistribution() {
        const std::vector<float> original = bimodal(20000, 3);
        for (int bits : {2, 3, 4}) {
            std::vector<float> km = original, uni = original;
            KMeansStats k = shareWeights(km, bits);
            UniformQuantSettings u;
            u.bits = bits;
            u.symmetric = false;
            QuantStats q = fakeQuantize(uni, std::vector<int64_t>{20000}, 0, u, 0);
            QVERIFY2(k.sqError < q.sqError,
                     qPrintable(QString("%1 bits: k-means %2 vs uniform %3").arg(bits).arg(k.sqError).arg(q.sqError)));
        }
    }

    void binnedIsCloseToExact() {
        const std::vector<float> original = bimodal(200000, 5);
        std::vector<float> exact = original, binned = original;
        KMeansStats e = shareWeights(exact, 4);
        KMeansStats b = shareWeights(binned, 4, nullptr, true);
        QVERIFY(b.sqError <= e.sqError * 1.01);
    }

    void passKeepsCodebookAndIndices() {
        Graph g = makeLeNet();
        CodebookTensor cb = kmeansShare(g, g.nodeIndex("fc2"), 3);
        QCOMPARE(cb.name, std::string("fc2.weight"));
        QCOMPARE(cb.shape, (std::vector<int64_t>{10, 500}));
        QCOMPARE(cb.indices.size(), size_t(5000));
        const Tensor& w = g.initializers.at("fc2.weight");
        for (size_t i = 0; i < w.data.size(); ++i) QCOMPARE(w.data[i], cb.codebook[cb.indices[i]]);
        QVERIFY(kmeansShare(g, g.nodeIndex("relu1"), 3).indices.empty());
    }
};

QTEST_APPLESS_MAIN(TestKMeansShare)
#include "test_kmeans_share.moc"
