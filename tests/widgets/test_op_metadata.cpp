#include <QtTest>

#include "widgets/op_metadata.h"

using namespace lathe;

class TestOpMetadata : public QObject {
    Q_OBJECT

private slots:
    void builtinCategories_data() {
        QTest::addColumn<QString>("op");
        QTest::addColumn<bool>("known");
        QTest::addColumn<QString>("category");
        QTest::newRow("Conv") << "Conv" << true << "Layer";
        QTest::newRow("Gemm") << "Gemm" << true << "Layer";
        QTest::newRow("MatMul") << "MatMul" << true << "Layer";
        QTest::newRow("Relu") << "Relu" << true << "Activation";
        QTest::newRow("Softmax") << "Softmax" << true << "Activation";
        QTest::newRow("MaxPool") << "MaxPool" << true << "Pool";
        QTest::newRow("BatchNormalization") << "BatchNormalization" << true << "Normalization";
        QTest::newRow("Reshape") << "Reshape" << true << "Tensor";
        QTest::newRow("Transpose") << "Transpose" << true << "Tensor";
        QTest::newRow("Add") << "Add" << true << "Arithmetic";
        QTest::newRow("QuantizeLinear") << "QuantizeLinear" << true << "Quantization";
        QTest::newRow("known but unlisted") << "Loop" << true << "Other";
        QTest::newRow("not in table") << "SomethingNew" << true << "Other";
        QTest::newRow("unknown op") << "FancyNorm" << false << "Custom";
        QTest::newRow("unknown op named like a known one") << "Conv" << false << "Custom";
    }
    void builtinCategories() {
        QFETCH(QString, op);
        QFETCH(bool, known);
        QFETCH(QString, category);
        QCOMPARE(OpMetadata::builtin().categoryOf(op, known).name, category);
    }

    void builtinColoursAreDistinct() {
        const auto& categories = OpMetadata::builtin().categories();
        QVERIFY(categories.size() >= 8);
        QSet<QRgb> colours;
        for (const auto& c : categories) {
            QVERIFY2(c.color.isValid(), qPrintable(c.name));
            colours.insert(c.color.rgb());
        }
        QCOMPARE(colours.size(), qsizetype(categories.size()));
    }

    void inputNames() {
        const OpMetadata& meta = OpMetadata::builtin();
        QCOMPARE(meta.inputName("Conv", 1), QStringLiteral("W"));
        QCOMPARE(meta.inputName("Conv", 2), QStringLiteral("B"));
        QCOMPARE(meta.inputName("Reshape", 1), QStringLiteral("shape"));
        QVERIFY(meta.inputName("Conv", 7).isEmpty());
        QVERIFY(meta.inputName("FancyNorm", 0).isEmpty());
    }

    void rejectsBadJson_data() {
        QTest::addColumn<QByteArray>("json");
        QTest::addColumn<QString>("mentions");
        QTest::newRow("not json") << QByteArray("{ nope") << "invalid JSON";
        QTest::newRow("no categories") << QByteArray("{\"fallback\":\"A\",\"unknown\":\"A\"}") << "categories";
        QTest::newRow("bad colour") << QByteArray(
                                           "{\"fallback\":\"A\",\"unknown\":\"A\", "
                                           "\"categories\":[{\"name\":\"A\",\"color\":\"blurple\",\"ops\":[]}]}")
                                    << "color";
        QTest::newRow("missing fallback")
            << QByteArray("{\"unknown\":\"A\", \"categories\":[{\"name\":\"A\",\"color\":\"#123456\",\"ops\":[]}]}")
            << "fallback";
        QTest::newRow("op twice") << QByteArray(
                                         "{\"fallback\":\"A\",\"unknown\":\"A\", "
                                         "\"categories\":[{\"name\":\"A\",\"color\":\"#123456\",\"ops\":[\"Conv\"]}, "
                                         "{\"name\":\"B\",\"color\":\"#654321\",\"ops\":[\"Conv\"]}]}")
                                  << "Conv";
    }
    void rejectsBadJson() {
        QFETCH(QByteArray, json);
        QFETCH(QString, mentions);
        const Result<OpMetadata> parsed = OpMetadata::fromJson(json);
        QVERIFY(!parsed.ok());
        QVERIFY2(QString::fromStdString(parsed.error().message).contains(mentions), parsed.error().message.c_str());
    }
};

QTEST_GUILESS_MAIN(TestOpMetadata)
#include "test_op_metadata.moc"
