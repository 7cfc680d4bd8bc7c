#include <QtTest>
#include <cmath>
#include <vector>

#include "core/eval/metrics.h"

using namespace lathe;

namespace {
bool near(double a, double b) { return std::abs(a - b) < 1e-12; }

// rows = true class, columns = predicted:
//          pred 0  pred 1  pred 2   support
// true 0      5       1       0        6
// true 1      2       3       1        6
// true 2      0       1       4        5
// predicted   7       5       5       17
ConfusionMatrix handMatrix() {
    const int counts[3][3] = {{5, 1, 0}, {2, 3, 1}, {0, 1, 4}};
    ConfusionMatrix m(3);
    for (int t = 0; t < 3; ++t)
        for (int p = 0; p < 3; ++p)
            for (int i = 0; i < counts[t][p]; ++i) m.add(t, p);
    return m;
}
}  // namespace

class TestMetrics : public QObject {
    Q_OBJECT
private slots:
    void confusionCounts() {
        ConfusionMatrix m = handMatrix();
        QCOMPARE(m.numClasses(), 3);
        QCOMPARE(m.total(), 17);
        QCOMPARE(m.correct(), 12);  // 5 + 3 + 4
        QCOMPARE(m.count(1, 0), 2);
        QCOMPARE(m.count(0, 2), 0);
        QVERIFY(near(accuracy(m), 12.0 / 17.0));
    }

    void precisionRecallF1() {
        // class 0: tp 5, predicted 7, support 6 -> P 5/7, R 5/6, F1 = 2PR/(P+R) = 2tp/(pred+support) = 10/13
        // class 1: tp 3, predicted 5, support 6 -> P 3/5, R 1/2, F1 = 6/11
        // class 2: tp 4, predicted 5, support 5 -> P 4/5, R 4/5, F1 = 4/5
        std::vector<ClassMetrics> m = perClassMetrics(handMatrix());
        QCOMPARE(int(m.size()), 3);
        QVERIFY(near(m[0].precision, 5.0 / 7.0));
        QVERIFY(near(m[0].recall, 5.0 / 6.0));
        QVERIFY(near(m[0].f1, 10.0 / 13.0));
        QCOMPARE(m[0].support, 6);
        QCOMPARE(m[0].predicted, 7);
        QVERIFY(near(m[1].precision, 3.0 / 5.0));
        QVERIFY(near(m[1].recall, 0.5));
        QVERIFY(near(m[1].f1, 6.0 / 11.0));
        QVERIFY(near(m[2].precision, 0.8));
        QVERIFY(near(m[2].recall, 0.8));
        QVERIFY(near(m[2].f1, 0.8));
    }

    void macroF1OfHandMatrix() {
        // (10/13 + 6/11 + 4/5) / 3 = (0.769231 + 0.545455 + 0.8) / 3 = 0.704895
        double expected = (10.0 / 13.0 + 6.0 / 11.0 + 4.0 / 5.0) / 3.0;
        QVERIFY(near(macroF1(handMatrix()), expected));
        QVERIFY(std::abs(expected - 0.704895) < 1e-6);
    }

    // A class that is neither a true label nor a prediction does not count towards macro-F1; a class only predicted
    // counts with F1 0.
    void macroF1SkipsAbsentClasses() {
        ConfusionMatrix m(4);
        m.add(0, 0);
        m.add(1, 1);
        m.add(1, 2);  // class 2: predicted once, never true -> P 0, R 0, F1 0; class 3 absent
        // class 0: F1 1; class 1: P 1, R 1/2 -> F1 2/3; mean over classes 0, 1, 2 = (1 + 2/3 + 0) / 3
        QVERIFY(near(macroF1(m), (1.0 + 2.0 / 3.0) / 3.0));
        QCOMPARE(perClassMetrics(m)[3].f1, 0.0);
    }

    void topK_data() {
        QTest::addColumn<int>("label");
        QTest::addColumn<int>("k");
        QTest::addColumn<bool>("expected");
        // scores by index: 0:0.1 1:0.5 2:0.3 3:0.5 4:0.2 5:0.0 6:0.4
        // ranking (ties by lower index, like argmax): 1, 3, 6, 2, 4, 0, 5
        QTest::newRow("argmax is top-1") << 1 << 1 << true;
        QTest::newRow("tie loser not top-1") << 3 << 1 << false;
        QTest::newRow("tie loser top-2") << 3 << 2 << true;
        QTest::newRow("5th best in top-5") << 4 << 5 << true;
        QTest::newRow("6th best not top-5") << 0 << 5 << false;
        QTest::newRow("worst not top-5") << 5 << 5 << false;
        QTest::newRow("k beyond classes") << 5 << 10 << true;
    }

    void topK() {
        QFETCH(int, label);
        QFETCH(int, k);
        QFETCH(bool, expected);
        const std::vector<float> scores{0.1f, 0.5f, 0.3f, 0.5f, 0.2f, 0.0f, 0.4f};
        QCOMPARE(argmax(scores), 1);
        QCOMPARE(inTopK(scores, label, k), expected);
    }

    // Leave-one-out (k = n): every fold is one sample, so the folds do not depend on the shuffle.
    // 7 of 10 right: mean 0.7; squared deviations 7 * 0.3^2 + 3 * 0.7^2 = 0.63 + 1.47 = 2.1; std = sqrt(2.1 / 9).
    void kFoldLeaveOneOut() {
        std::vector<uint8_t> correct{1, 1, 0, 1, 1, 0, 1, 1, 0, 1};
        auto folds = kFoldAccuracy(correct, 10, 7);
        QVERIFY(folds.ok());
        QCOMPARE(folds->k, 10);
        QVERIFY(near(folds->mean, 0.7));
        QVERIFY(near(folds->stddev, std::sqrt(2.1 / 9.0)));
    }

    // 6 samples, one wrong, 3 folds of 2: whatever the shuffle, one fold scores 1/2 and two score 1.
    // mean 5/6; deviations 1/6, 1/6, -1/3 -> squares 1/36 + 1/36 + 4/36 = 1/6; std = sqrt((1/6) / 2) = 0.288675.
    void kFoldThreeFolds() {
        std::vector<uint8_t> correct{1, 1, 1, 1, 1, 0};
        auto folds = kFoldAccuracy(correct, 3, 123);
        QVERIFY(folds.ok());
        std::vector<double> sorted = folds->accuracies;
        std::sort(sorted.begin(), sorted.end());
        QCOMPARE(sorted, (std::vector<double>{0.5, 1.0, 1.0}));
        QVERIFY(near(folds->mean, 5.0 / 6.0));
        QVERIFY(near(folds->stddev, std::sqrt(1.0 / 12.0)));
        QVERIFY(std::abs(folds->stddev - 0.288675) < 1e-6);
    }

    void kFoldSeededAndOneFold() {
        std::vector<uint8_t> correct{1, 0, 0, 1, 1, 0, 1, 0, 1, 1, 1};
        auto a = kFoldAccuracy(correct, 4, 99), b = kFoldAccuracy(correct, 4, 99);
        QCOMPARE(a->accuracies, b->accuracies);
        auto one = kFoldAccuracy(correct, 1, 0);
        QVERIFY(near(one->mean, 7.0 / 11.0));
        QCOMPARE(one->stddev, 0.0);
    }

    void kFoldBadK() {
        std::vector<uint8_t> correct{1, 0, 1};
        QCOMPARE(kFoldAccuracy(correct, 0, 0).error().code, ErrorCode::InvalidArgument);
        auto tooMany = kFoldAccuracy(correct, 4, 0);
        QVERIFY(!tooMany.ok());
        QVERIFY(QString::fromStdString(tooMany.error().message).contains("k = 4"));
    }

    void medianValues() {
        QCOMPARE(median({3.0, 1.0, 2.0}), 2.0);
        QCOMPARE(median({4.0, 1.0, 3.0, 2.0}), 2.5);
        QCOMPARE(median({}), 0.0);
    }
};

QTEST_APPLESS_MAIN(TestMetrics)
#include "test_metrics.moc"
