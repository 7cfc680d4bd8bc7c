#include <QtTest>
#include <vector>

#include "widgets/display_format.h"

using namespace lathe;

Q_DECLARE_METATYPE(std::vector<int64_t>)

class TestDisplayFormat : public QObject {
    Q_OBJECT

private slots:
    void count_data() {
        QTest::addColumn<qlonglong>("value");
        QTest::addColumn<QString>("expected");
        QTest::newRow("zero") << 0LL << "0";
        QTest::newRow("small") << 520LL << "520";
        QTest::newRow("thousands") << 431080LL << "431,080";
        QTest::newRow("millions") << 1602000LL << "1,602,000";
        QTest::newRow("negative") << -25050LL << "-25,050";
    }
    void count() {
        QFETCH(qlonglong, value);
        QFETCH(QString, expected);
        QCOMPARE(formatCount(value), expected);
    }

    void compact_data() {
        QTest::addColumn<qlonglong>("value");
        QTest::addColumn<QString>("expected");
        QTest::newRow("plain") << 999LL << "999";
        QTest::newRow("kilo") << 18444LL << "18.4 k";
        QTest::newRow("mega") << 2293000LL << "2.29 M";
        QTest::newRow("giga") << 4100000000LL << "4.10 G";
    }
    void compact() {
        QFETCH(qlonglong, value);
        QFETCH(QString, expected);
        QCOMPARE(formatCompact(value), expected);
    }

    void bytes() {
        QCOMPARE(formatBytes(592), QStringLiteral("592 B"));
        QCOMPARE(formatBytes(1724320), QStringLiteral("1.72 MB"));
    }

    void shape_data() {
        QTest::addColumn<std::vector<int64_t>>("shape");
        QTest::addColumn<QString>("expected");
        QTest::newRow("scalar") << std::vector<int64_t>{} << "scalar";
        QTest::newRow("conv") << std::vector<int64_t>{50, 20, 5, 5} << QString::fromUtf8("50×20×5×5");
        QTest::newRow("unknown dim") << std::vector<int64_t>{-1, 10} << QString::fromUtf8("?×10");
    }
    void shape() {
        QFETCH(std::vector<int64_t>, shape);
        QFETCH(QString, expected);
        QCOMPARE(formatShape(shape), expected);
    }

    void valueShapeUsesSymbols() {
        ValueInfo v;
        v.hasShape = true;
        v.shape = {-1, 1, 28, 28};
        v.dimParams = {"N", "", "", ""};
        QCOMPARE(formatValueShape(v), QString::fromUtf8("N×1×28×28"));
        v.hasShape = false;
        QVERIFY(formatValueShape(v).isEmpty());
    }

    void typedShape() {
        QCOMPARE(formatTypedShape(DType::Float, std::vector<int64_t>{50, 20, 5, 5}),
                 QStringLiteral("float32 [50, 20, 5, 5]"));
    }
};

QTEST_GUILESS_MAIN(TestDisplayFormat)
#include "test_display_format.moc"
