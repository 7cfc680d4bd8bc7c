// End-to-end: drives the lathe-cli executable on the real demo model and on bad inputs.
#include <QtTest>

#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>

#include "cli_test_support.h"

using namespace lathe::testing;

namespace {
QString fixture(const char* name) { return QString(LATHE_FIXTURES_DIR) + "/" + name; }
}  // namespace

class TestCliInfo : public QObject {
    Q_OBJECT
private slots:
    void jsonOnDemoModel() {
        CliRun r = runCli({"info", LATHE_DEMO_MODEL, "--json"});
        QCOMPARE(r.exitCode, 0);
        QVERIFY2(r.err.isEmpty(), r.err.constData());
        QJsonParseError parseError;
        QJsonDocument doc = QJsonDocument::fromJson(r.out, &parseError);
        QVERIFY2(parseError.error == QJsonParseError::NoError, qPrintable(parseError.errorString()));
        QJsonObject root = doc.object();
        QCOMPARE(root["model"].toString(), QString("lenet5_fashion.onnx"));
        QCOMPARE(root["opset"].toInt(), 13);
        QVERIFY(root["producer"].toString().startsWith("pytorch"));
        QJsonArray layers = root["layers"].toArray();
        QCOMPARE(layers.size(), 4);
        QJsonObject conv2 = layers[1].toObject();
        QCOMPARE(conv2["name"].toString(), QString("conv2"));
        QCOMPARE(conv2["op"].toString(), QString("Conv"));
        QCOMPARE(conv2["params"].toInteger(), 25050);
        QCOMPARE(conv2["bytes"].toInteger(), 100200);
        QCOMPARE(conv2["macs"].toInteger(), 1600000);
        QJsonObject weight = conv2["weights"].toArray()[0].toObject();
        QCOMPARE(weight["name"].toString(), QString("conv2.weight"));
        QCOMPARE(weight["dtype"].toString(), QString("float32"));
        QCOMPARE(weight["shape"].toArray(), (QJsonArray{50, 20, 5, 5}));
        QJsonObject totals = root["totals"].toObject();
        QCOMPARE(totals["params"].toInteger(), 431080);
        QCOMPARE(totals["bytes"].toInteger(), 1724320);
        QCOMPARE(totals["macs"].toInteger(), 2293000);
    }

    void tableOnDemoModel() {
        CliRun r = runCli({"info", LATHE_DEMO_MODEL});
        QCOMPARE(r.exitCode, 0);
        QVERIFY(r.out.contains("fc1"));
        QVERIFY(r.out.contains("431,080"));
        QVERIFY(r.out.contains("2,293,000"));
    }

    void badInput_data() {
        QTest::addColumn<QString>("file");
        QTest::addColumn<QString>("expected");
        QTest::newRow("empty") << fixture("empty.onnx") << "empty";
        QTest::newRow("truncated") << fixture("truncated.onnx") << "truncated or corrupt";
        QTest::newRow("not onnx") << fixture("not_onnx.onnx") << "not";
        QTest::newRow("missing external") << fixture("missing_external.onnx") << "missing_external.bin";
        QTest::newRow("missing file") << fixture("nope.onnx") << "not found";
    }

    // One line on stderr naming the file and the problem, non-zero exit, nothing on stdout.
    void badInput() {
        QFETCH(QString, file);
        QFETCH(QString, expected);
        CliRun r = runCli({"info", file});
        QCOMPARE(r.exitCode, 1);
        QVERIFY(r.out.isEmpty());
        QString err = QString::fromUtf8(r.err);
        QCOMPARE(err.count('\n'), 1);
        QVERIFY2(err.contains(file), qPrintable(err));
        QVERIFY2(err.contains(expected), qPrintable(err));
    }

    // The report still prints; the unknown op is named on stderr and the exit code says it cannot run.
    void unknownOp() {
        CliRun r = runCli({"info", fixture("unknown_op.onnx"), "--json"});
        QCOMPARE(r.exitCode, 3);
        QVERIFY(QJsonDocument::fromJson(r.out).isObject());
        QString err = QString::fromUtf8(r.err);
        QCOMPARE(err.count('\n'), 1);
        QVERIFY2(err.contains("FancyNorm") && err.contains("unknown_op.onnx"), qPrintable(err));
    }

    void usageErrors() {
        QCOMPARE(runCli({}).exitCode, 2);
        QCOMPARE(runCli({"frobnicate"}).exitCode, 2);
        QCOMPARE(runCli({"info"}).exitCode, 2);
        QCOMPARE(runCli({"info", LATHE_DEMO_MODEL, "--bogus"}).exitCode, 2);
    }
};

QTEST_GUILESS_MAIN(TestCliInfo)
#include "test_cli_info.moc"
