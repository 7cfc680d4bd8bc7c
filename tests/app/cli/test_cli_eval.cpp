// End-to-end: drives `lathe-cli eval` on the demo model and the real Fashion-MNIST test split, and on bad inputs.
#include <QFile>
#include <QJsonDocument>
#include <QJsonObject>
#include <QTemporaryDir>
#include <QtTest>

#include "cli_test_support.h"

using namespace lathe::testing;

namespace {
const QString kFashion = "idx:/usr/share/datasets/fashion-mnist";

}  // namespace

class TestCliEval : public QObject {
    Q_OBJECT
private slots:
    void jsonOnDemoModel() {
        CliRun r = runCli({"eval", LATHE_DEMO_MODEL, "--data", kFashion, "--limit", "2000", "--json"});
        QCOMPARE(r.exitCode, 0);
        QVERIFY2(r.err.isEmpty(), r.err.constData());  // stderr is not a terminal: no progress
        QJsonParseError parseError;
        QJsonObject root = QJsonDocument::fromJson(r.out, &parseError).object();
        QVERIFY2(parseError.error == QJsonParseError::NoError, qPrintable(parseError.errorString()));
        QCOMPARE(root.keys(), (QStringList{"backend", "folds", "images_per_s", "latency_ms", "macro_f1", "n", "seconds",
                                           "top1", "top5"}));
        QCOMPARE(root["n"].toInteger(), 2000);
        QCOMPARE(root["backend"].toString(), QString("builtin"));
        const double top1 = root["top1"].toDouble();
        QVERIFY2(top1 > 85.0 && top1 <= 100.0, qPrintable(QString::number(top1)));
        QVERIFY(root["top5"].toDouble() >= top1 && root["top5"].toDouble() <= 100.0);
        QVERIFY(root["macro_f1"].toDouble() > 80.0 && root["macro_f1"].toDouble() <= 100.0);
        QJsonObject folds = root["folds"].toObject();
        QCOMPARE(folds.keys(), (QStringList{"k", "mean", "std"}));
        QCOMPARE(folds["k"].toInt(), 5);
        QVERIFY(std::abs(folds["mean"].toDouble() - top1) < 1e-3);  // 5 folds of 400: mean = overall accuracy
        QVERIFY(folds["std"].toDouble() > 0.0 && folds["std"].toDouble() < 5.0);
        QVERIFY(root["seconds"].toDouble() > 0.0);
        QVERIFY(root["images_per_s"].toDouble() > 0.0);
        QVERIFY(root["latency_ms"].toDouble() > 0.0);
        // 2000 correct/incorrect counts give accuracies in steps of 0.05 points.
        QCOMPARE(std::round(top1 * 20.0) / 20.0, top1);

        CliRun opencv = runCli({"eval", LATHE_DEMO_MODEL, "--data", kFashion, "--limit", "2000", "--json", "--backend",
                                "opencv", "--folds", "4", "--batch", "64"});
        QCOMPARE(opencv.exitCode, 0);
        QJsonObject o = QJsonDocument::fromJson(opencv.out).object();
        QCOMPARE(o["backend"].toString(), QString("opencv"));
        QCOMPARE(o["folds"].toObject()["k"].toInt(), 4);
        QVERIFY(std::abs(o["top1"].toDouble() - top1) <= 0.1);
    }

    void textReport() {
        CliRun r = runCli({"eval", LATHE_DEMO_MODEL, "--data", kFashion, "--limit", "300", "--seed", "3", "--shuffle"});
        QCOMPARE(r.exitCode, 0);
        QVERIFY(r.out.contains("top-1:"));
        QVERIFY(r.out.contains("macro-F1:"));
        QVERIFY(r.out.contains("split spread: ") && r.out.contains("over 5 disjoint parts"));
        QVERIFY(r.out.contains("confusion matrix"));
        QVERIFY(r.out.contains("samples:   300"));
    }

    void badInput_data() {
        QTest::addColumn<QString>("kind");
        QTest::addColumn<QString>("expected");
        QTest::newRow("missing data dir") << "nodir"
                                          << "/nonexistent/fashion";
        QTest::newRow("missing model") << "nomodel"
                                       << "nope.onnx";
        QTest::newRow("missing idx files") << "noidx"
                                           << "missing t10k-images-idx3-ubyte[.gz]";
        QTest::newRow("corrupt gz") << "corrupt"
                                    << "corrupt gzip data";
        QTest::newRow("image size") << "size"
                                    << "but input 'input' of lenet5_fashion.onnx expects [N, 1, 28, 28]";
        QTest::newRow("channel count") << "channels"
                                       << "3x28x28 (CxHxW)";
        QTest::newRow("label count") << "count"
                                     << "has 3 labels but";
        QTest::newRow("label outside classes") << "label"
                                               << "label 12 of sample";
    }

    // One line on stderr naming the problem (and file), exit code 1, nothing on stdout.
    void badInput() {
        QFETCH(QString, kind);
        QFETCH(QString, expected);
        QTemporaryDir dir;
        const QString x = dir.filePath("x.npy"), y = dir.filePath("y.npy");
        QString model = LATHE_DEMO_MODEL, data = "npy:" + x + "," + y;
        writeNpy(x, "|u1", "(4, 28, 28)", QByteArray(4 * 784, '\x10'));
        writeNpy(y, "|u1", "(4,)", QByteArray("\x00\x01\x02\x03", 4));
        if (kind == "nodir") data = "idx:/nonexistent/fashion";
        if (kind == "nomodel") model = dir.filePath("nope.onnx");
        if (kind == "noidx") data = "idx:" + dir.path();
        if (kind == "corrupt") {
            data = "idx:" + dir.path();
            for (const char* name : {"t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz"}) {
                QFile f(dir.filePath(name));
                QVERIFY(f.open(QIODevice::WriteOnly));
                f.write(QByteArray("\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\x03", 10) + QByteArray(100, '\xee'));
            }
        }
        if (kind == "size") writeNpy(x, "|u1", "(4, 32, 32)", QByteArray(4 * 1024, '\x10'));
        if (kind == "channels") writeNpy(x, "|u1", "(4, 3, 28, 28)", QByteArray(4 * 3 * 784, '\x10'));
        if (kind == "count") writeNpy(y, "|u1", "(3,)", QByteArray("\x00\x01\x02", 3));
        if (kind == "label") writeNpy(y, "|u1", "(4,)", QByteArray("\x00\x01\x0c\x03", 4));

        CliRun r = runCli({"eval", model, "--data", data, "--json", "--folds", "2"});
        QCOMPARE(r.exitCode, 1);
        QVERIFY(r.out.isEmpty());
        QString err = QString::fromUtf8(r.err);
        QCOMPARE(err.count('\n'), 1);
        QVERIFY2(err.startsWith("error: ") && err.contains(expected), qPrintable(err));
        if (kind == "count") QVERIFY2(err.contains(x) && err.contains(y) && err.contains("4 images"), qPrintable(err));
        if (kind == "label") QVERIFY2(err.contains("y.npy[2]") && err.contains("10 outputs"), qPrintable(err));
        if (kind == "corrupt") QVERIFY2(err.contains(dir.path()), qPrintable(err));
    }

    // Fewer samples than the default 5 folds: the run goes on with one fold per sample and says so.
    void fewSamplesClampTheFolds() {
        CliRun r = runCli({"eval", LATHE_DEMO_MODEL, "--data", kFashion, "--limit", "3", "--json"});
        QCOMPARE(r.exitCode, 0);
        const QJsonObject j = QJsonDocument::fromJson(r.out).object();
        QCOMPARE(j["n"].toInt(), 3);
        QCOMPARE(j["folds"].toObject()["k"].toInt(), 3);
        QVERIFY2(r.err.contains("note: the split spread over 5 parts needs at least 5 samples") && r.err.contains("uses 3 parts"),
                 r.err.constData());
    }

    // Float images holding 0..255 read at the float default scale 1: evaluated, with a warning naming the fix; with
    // --scale given, or 8-bit data at its default 1/255, no warning.
    void floatPixelsAtScaleOneWarn() {
        QTemporaryDir dir;
        const QString x = dir.filePath("x.npy"), y = dir.filePath("y.npy"), x8 = dir.filePath("x8.npy");
        QByteArray floats, bytes;
        for (int i = 0; i < 4 * 784; ++i) {
            const float v = float(i % 256);
            floats.append(reinterpret_cast<const char*>(&v), sizeof v);
            bytes.append(char(i % 256));
        }
        writeNpy(x, "<f4", "(4, 28, 28)", floats);
        writeNpy(x8, "|u1", "(4, 28, 28)", bytes);
        writeNpy(y, "|u1", "(4,)", QByteArray("\x00\x01\x02\x03", 4));
        CliRun r = runCli({"eval", LATHE_DEMO_MODEL, "--data", "npy:" + x + "," + y, "--folds", "2", "--json"});
        QCOMPARE(r.exitCode, 0);
        QVERIFY2(r.err.contains("warning: the images hold values 0..255 and are read at scale 1") &&
                     r.err.contains("--scale 0.00392157"),
                 r.err.constData());
        CliRun scaled = runCli({"eval", LATHE_DEMO_MODEL, "--data", "npy:" + x + "," + y, "--folds", "2", "--json",
                                "--scale", "0.00392157"});
        QCOMPARE(scaled.exitCode, 0);
        QVERIFY2(!scaled.err.contains("warning"), scaled.err.constData());
        CliRun eightBit = runCli({"eval", LATHE_DEMO_MODEL, "--data", "npy:" + x8 + "," + y, "--folds", "2", "--json"});
        QCOMPARE(eightBit.exitCode, 0);
        QVERIFY2(!eightBit.err.contains("warning"), eightBit.err.constData());
    }

    void usageErrors_data() {
        QTest::addColumn<QStringList>("args");
        QTest::newRow("no model") << QStringList{"eval", "--data", kFashion};
        QTest::newRow("no data") << QStringList{"eval", LATHE_DEMO_MODEL};
        QTest::newRow("unknown option") << QStringList{"eval", LATHE_DEMO_MODEL, "--data", kFashion, "--bogus"};
        QTest::newRow("bad spec") << QStringList{"eval", LATHE_DEMO_MODEL, "--data", "csv:/tmp"};
        QTest::newRow("bad limit") << QStringList{"eval", LATHE_DEMO_MODEL, "--data", kFashion, "--limit", "ten"};
        QTest::newRow("zero folds") << QStringList{"eval", LATHE_DEMO_MODEL, "--data", kFashion, "--folds", "0"};
        QTest::newRow("bad backend") << QStringList{"eval", LATHE_DEMO_MODEL, "--data", kFashion, "--backend", "gpu"};
        QTest::newRow("bad split") << QStringList{"eval", LATHE_DEMO_MODEL, "--data", kFashion, "--split", "val"};
        QTest::newRow("missing value") << QStringList{"eval", LATHE_DEMO_MODEL, "--data", kFashion, "--batch"};
        QTest::newRow("folder flag on idx")
            << QStringList{"eval", LATHE_DEMO_MODEL, "--data", kFashion, "--crop", "24"};
        QTest::newRow("bad mean") << QStringList{"eval", LATHE_DEMO_MODEL, "--data", "folder:/tmp", "--mean", "1,2"};
    }

    void usageErrors() {
        QFETCH(QStringList, args);
        CliRun r = runCli(args);
        QCOMPARE(r.exitCode, 2);
        QVERIFY(r.out.isEmpty());
        QVERIFY2(r.err.startsWith("lathe-cli eval: "), r.err.constData());
    }

    void help() {
        CliRun r = runCli({"eval", "--help"});
        QCOMPARE(r.exitCode, 0);
        QVERIFY(r.out.contains("--backend"));
        QVERIFY(runCli({"--help"}).out.contains("eval MODEL --data SPEC"));
    }
};

QTEST_GUILESS_MAIN(TestCliEval)
#include "test_cli_eval.moc"
