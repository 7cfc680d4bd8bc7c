#include <QtTest>

#include <vector>

#include "core/model/weight_stats.h"

using namespace lathe;

class TestWeightStats : public QObject {
    Q_OBJECT
private slots:
    void statsOfHandCheckedValues() {
        // values: -2, 0, 0, 1, 6  -> mean 1, var ((9+1+1+0+25)/5)=7.2
        std::vector<float> v{1.f, 0.f, -2.f, 6.f, 0.f};
        WeightStats s = computeWeightStats(v);
        QCOMPARE(s.count, 5);
        QCOMPARE(s.min, -2.0);
        QCOMPARE(s.max, 6.0);
        QCOMPARE(s.mean, 1.0);
        QVERIFY(qAbs(s.std - std::sqrt(7.2)) < 1e-9);
        QCOMPARE(s.zeroFraction, 0.4);
        QCOMPARE(s.p50, 0.0);
        // p25 sits at sorted index 1 (0.25*4): value 0; p75 at index 3: value 1; p99 at 3.96 -> 1 + 0.96*5
        QCOMPARE(s.p25, 0.0);
        QCOMPARE(s.p75, 1.0);
        QVERIFY(qAbs(s.p99 - 5.8) < 1e-9);
    }

    void emptyInputGivesZeroCount() {
        WeightStats s = computeWeightStats({});
        QCOMPARE(s.count, 0);
    }

    void histogram_data() {
        QTest::addColumn<int>("bins");
        QTest::addColumn<QList<qint64>>("expected");
        QTest::newRow("4 bins") << 4 << QList<qint64>{2, 1, 0, 2};
        QTest::newRow("2 bins") << 2 << QList<qint64>{3, 2};
        QTest::newRow("1 bin") << 1 << QList<qint64>{5};
    }

    void histogram() {
        QFETCH(int, bins);
        QFETCH(QList<qint64>, expected);
        // range [0, 4]: 0 and 0.5 in the first quarter, 1.5 in the second, 3.9 and 4.0 (upper edge) in the last;
        // -1 and 5 are outside and dropped.
        std::vector<float> v{0.f, 0.5f, 1.5f, 3.9f, 4.f, -1.f, 5.f};
        Histogram h = computeHistogram(v, bins, 0.0, 4.0);
        QCOMPARE(int(h.counts.size()), bins);
        for (int i = 0; i < bins; ++i) QCOMPARE(h.counts[size_t(i)], expected[i]);
        QCOMPARE(h.binWidth(), 4.0 / bins);
    }
};

QTEST_APPLESS_MAIN(TestWeightStats)
#include "test_weight_stats.moc"
