#include <QElapsedTimer>
#include <QFile>
#include <QFileInfo>
#include <QTemporaryDir>
#include <QtTest>
#include <cstring>
#include <limits>

#include "core/eval/dataset.h"
#include "core/eval/npy_dataset.h"
#include "core/eval/npy_reader.h"

using namespace lathe;

namespace {
// A version 1.0 .npy file: magic, header dict padded with spaces to a 64-byte boundary, raw data.
void writeNpy(const QString& path, const QString& descr, const QString& shape, const QByteArray& data,
              const QString& fortran = "False") {
    QByteArray header =
        QString("{'descr': '%1', 'fortran_order': %2, 'shape': %3, }").arg(descr, fortran, shape).toLatin1();
    while ((10 + header.size() + 1) % 64) header += ' ';
    header += '\n';
    QByteArray out("\x93NUMPY\x01\x00", 8);
    out += char(header.size() & 0xff);
    out += char(header.size() >> 8);
    out += header + data;
    QFile f(path);
    QVERIFY(f.open(QIODevice::WriteOnly));
    f.write(out);
}

template <class T>
QByteArray bytesOf(const std::vector<T>& values) {
    return QByteArray(reinterpret_cast<const char*>(values.data()), qsizetype(values.size() * sizeof(T)));
}

QString errorOf(const Result<std::shared_ptr<const Dataset>>& r) {
    return r.ok() ? QString() : QString::fromStdString(r.error().message);
}
}  // namespace

class TestNpyDataset : public QObject {
    Q_OBJECT
private slots:
    void readerParsesHeader() {
        QTemporaryDir dir;
        writeNpy(dir.filePath("a.npy"), "<i4", "(2, 3)", bytesOf(std::vector<int32_t>{1, 2, 3, 4, 5, 6}));
        auto a = readNpy(dir.filePath("a.npy").toStdString());
        QVERIFY(a.ok());
        QCOMPARE(a->dtype, DType::Int32);
        QCOMPARE(a->shape, (std::vector<int64_t>{2, 3}));
        QCOMPARE(a->bytes.size(), size_t(24));
        writeNpy(dir.filePath("b.npy"), "|u1", "(4,)", QByteArray("abcd"));
        auto b = readNpy(dir.filePath("b.npy").toStdString());
        QVERIFY(b.ok());
        QCOMPARE(b->shape, std::vector<int64_t>{4});
    }

    // (N,H,W) uint8 images scale by 1/255 into 1-channel samples; int64 labels.
    void uint8Images() {
        QTemporaryDir dir;
        std::vector<uint8_t> pixels(3 * 2 * 2);
        for (size_t i = 0; i < pixels.size(); ++i) pixels[i] = uint8_t(i * 20);
        writeNpy(dir.filePath("x.npy"), "|u1", "(3, 2, 2)", bytesOf(pixels));
        writeNpy(dir.filePath("y.npy"), "<i8", "(3,)", bytesOf(std::vector<int64_t>{4, 0, 2}));
        auto spec = parseDatasetSpec(("npy:" + dir.filePath("x.npy") + "," + dir.filePath("y.npy")).toStdString());
        auto ds = openDataset(*spec, {});
        QVERIFY2(ds.ok(), qPrintable(errorOf(ds)));
        QCOMPARE((*ds)->size(), 3);
        QCOMPARE((*ds)->numClasses(), 5);
        QCOMPARE((*ds)->sampleShape(), (SampleShape{1, 2, 2}));
        QCOMPARE((*ds)->label(0), 4);
        std::vector<int64_t> second{1};
        QCOMPARE((*ds)->batch(second)->data,
                 (std::vector<float>{80.f / 255.f, 100.f / 255.f, 120.f / 255.f, 140.f / 255.f}));
    }

    // (N,C,H,W) float32 images are used as stored; per-channel mean/std still apply. int32 and uint8 labels.
    void floatImagesPerChannel() {
        QTemporaryDir dir;
        std::vector<float> pixels{1.f, 2.f, 3.f, 4.f, 5.f, 6.f};  // one 3x1x2 sample
        writeNpy(dir.filePath("x.npy"), "<f4", "(1, 3, 1, 2)", bytesOf(pixels));
        writeNpy(dir.filePath("y32.npy"), "<i4", "(1,)", bytesOf(std::vector<int32_t>{1}));
        writeNpy(dir.filePath("y8.npy"), "|u1", "(1, 1)", QByteArray("\x01", 1));
        Preprocessing p;
        p.mean = {1.f, 2.f, 3.f};
        p.stddev = {1.f, 2.f, 0.5f};
        for (const char* labels : {"y32.npy", "y8.npy"}) {
            auto ds = openNpyDataset(dir.filePath("x.npy").toStdString(), dir.filePath(labels).toStdString(), p);
            QVERIFY2(ds.ok(), qPrintable(errorOf(ds)));
            QCOMPARE((*ds)->sampleShape(), (SampleShape{3, 1, 2}));
            QCOMPARE((*ds)->label(0), 1);
            std::vector<int64_t> first{0};
            QCOMPARE((*ds)->batch(first)->data, (std::vector<float>{0.f, 1.f, 0.5f, 1.f, 4.f, 6.f}));
        }
        p.mean = {1.f, 2.f};
        auto wrongMeans = openNpyDataset(dir.filePath("x.npy").toStdString(), dir.filePath("y8.npy").toStdString(), p);
        QVERIFY2(errorOf(wrongMeans).contains("2 mean values for 3-channel"), qPrintable(errorOf(wrongMeans)));
    }

    // Issue 9: a header claiming more data than the file holds fails before anything is allocated (a 143-byte file
    // claiming 19 GB used to reserve them), and a shape whose product overflows int64 is named.
    void headerClaimingTooMuchFailsFast_data() {
        QTest::addColumn<QString>("shape");
        QTest::addColumn<QString>("expected");
        QTest::newRow("19 GB claim") << "(100000, 190000)"
                                     << "needs 19000000000 data bytes, the file has 15";
        QTest::newRow("int64 overflow") << "(4294967296, 4294967296, 4)"
                                        << "holds more values than a 64-bit size can count";
    }

    void headerClaimingTooMuchFailsFast() {
        QFETCH(QString, shape);
        QFETCH(QString, expected);
        QTemporaryDir dir;
        const QString x = dir.filePath("x.npy");
        writeNpy(x, "|u1", shape, QByteArray(15, '\x01'));
        QVERIFY(QFileInfo(x).size() < 200);
        QElapsedTimer timer;
        timer.start();
        auto a = readNpy(x.toStdString());
        QVERIFY(!a.ok());
        const QString message = QString::fromStdString(a.error().message);
        QVERIFY2(message.contains(x) && message.contains(expected), qPrintable(message));
        QVERIFY2(timer.elapsed() < 2000, "the reader allocated what the header claims");
    }

    // Issue 9: labels beyond int range were clamped to 2147483647; they are refused with their real value.
    void labelOutsideIntRangeNamesRealValue_data() {
        QTest::addColumn<qint64>("label");
        QTest::newRow("2^40") << (qint64(1) << 40);
        QTest::newRow("int max") << qint64(2147483647);
        QTest::newRow("int64 min") << std::numeric_limits<qint64>::min();
    }

    void labelOutsideIntRangeNamesRealValue() {
        QFETCH(qint64, label);
        QTemporaryDir dir;
        const QString x = dir.filePath("x.npy"), y = dir.filePath("y.npy");
        writeNpy(x, "|u1", "(3, 2, 2)", QByteArray(12, '\x01'));
        writeNpy(y, "<i8", "(3,)", bytesOf(std::vector<int64_t>{0, label, 2}));
        auto ds = openNpyDataset(x.toStdString(), y.toStdString(), {});
        QVERIFY(!ds.ok());
        const QString message = errorOf(ds);
        QVERIFY2(message.contains(y) && message.contains(QString("label %1 at index 1").arg(label)),
                 qPrintable(message));
    }

    void imagesWithoutSamplesAreRefused_data() {
        QTest::addColumn<QString>("shape");
        QTest::addColumn<QString>("expected");
        QTest::newRow("no images") << "(0, 2, 2)" << "holds no images";
        QTest::newRow("zero channels") << "(1, 0, 1099511627776, 1)" << "holds no images";
        QTest::newRow("channels last") << "(1, 8192, 2, 2)" << "8192 channels";
    }

    void imagesWithoutSamplesAreRefused() {
        QFETCH(QString, shape);
        QFETCH(QString, expected);
        QTemporaryDir dir;
        const QString x = dir.filePath("x.npy"), y = dir.filePath("y.npy");
        writeNpy(x, "|u1", shape, QByteArray(shape.contains("8192") ? 4 * 8192 : 0, '\x01'));
        writeNpy(y, "<i8", shape.startsWith("(0") ? "(0,)" : "(1,)",
                 shape.startsWith("(0") ? QByteArray() : bytesOf(std::vector<int64_t>{0}));
        auto ds = openNpyDataset(x.toStdString(), y.toStdString(), {});
        QVERIFY(!ds.ok());
        QVERIFY2(errorOf(ds).contains(x) && errorOf(ds).contains(expected), qPrintable(errorOf(ds)));
    }

    // Issue 9: float images holding 0..255 are read at scale 1; the data set tells callers the raw range.
    void exposesRawValueRange() {
        QTemporaryDir dir;
        const QString x = dir.filePath("x.npy"), y = dir.filePath("y.npy");
        const float nan = std::numeric_limits<float>::quiet_NaN();
        writeNpy(x, "<f4", "(2, 1, 1, 2)", bytesOf(std::vector<float>{0.f, 255.f, 17.5f, nan}));
        writeNpy(y, "<i8", "(2,)", bytesOf(std::vector<int64_t>{0, 1}));
        auto ds = openNpyDataset(x.toStdString(), y.toStdString(), {});
        QVERIFY2(ds.ok(), qPrintable(errorOf(ds)));
        auto range = (*ds)->valueRange();
        QVERIFY(range.has_value());
        QCOMPARE(range->min, 0.0);
        QCOMPARE(range->max, 255.0);

        writeNpy(x, "|u1", "(2, 2, 2)", QByteArray("\x03\x04\x05\x06\x07\x08\x09\x0a", 8));
        auto bytes = openNpyDataset(x.toStdString(), y.toStdString(), {});
        QVERIFY2(bytes.ok(), qPrintable(errorOf(bytes)));
        QCOMPARE((*bytes)->valueRange()->min, 3.0);
        QCOMPARE((*bytes)->valueRange()->max, 10.0);
        QCOMPARE((*bytes)->label(1), 1);
    }

    void badInput_data() {
        QTest::addColumn<QString>("kind");
        QTest::addColumn<QString>("expected");
        QTest::newRow("count mismatch") << "count"
                                        << "has 2 labels but";
        QTest::newRow("fortran order") << "fortran"
                                       << "fortran_order is True";
        QTest::newRow("image dtype") << "dtype"
                                     << "dtype '<f2' is not supported";
        QTest::newRow("label dtype") << "labeldtype"
                                     << "label dtype float32 is not supported";
        QTest::newRow("image rank") << "rank"
                                    << "is not (N,H,W) or (N,C,H,W)";
        QTest::newRow("truncated") << "truncated"
                                   << "truncated";
        QTest::newRow("not npy") << "garbage"
                                 << "not a .npy file";
        QTest::newRow("missing labels") << "missing"
                                        << "file not found";
        QTest::newRow("negative label") << "negative"
                                        << "label -1 at index 1 is negative";
    }

    void badInput() {
        QFETCH(QString, kind);
        QFETCH(QString, expected);
        QTemporaryDir dir;
        const QString x = dir.filePath("x.npy"), y = dir.filePath("y.npy");
        writeNpy(x, "|u1", "(3, 2, 2)", QByteArray(12, '\x01'));
        writeNpy(y, "<i8", "(3,)", bytesOf(std::vector<int64_t>{0, 1, 2}));
        QString culprit = x;
        if (kind == "count") writeNpy(y, "<i8", "(2,)", bytesOf(std::vector<int64_t>{0, 1}));
        if (kind == "fortran") writeNpy(x, "|u1", "(3, 2, 2)", QByteArray(12, '\x01'), "True");
        if (kind == "dtype") writeNpy(x, "<f2", "(3, 2, 2)", QByteArray(24, '\x01'));
        if (kind == "labeldtype") writeNpy(y, "<f4", "(3,)", QByteArray(12, '\x00'));
        if (kind == "rank") writeNpy(x, "|u1", "(12,)", QByteArray(12, '\x01'));
        if (kind == "truncated") writeNpy(x, "|u1", "(3, 2, 2)", QByteArray(11, '\x01'));
        if (kind == "garbage") {
            QFile f(x);
            QVERIFY(f.open(QIODevice::WriteOnly));
            f.write("P5 not numpy");
        }
        if (kind == "missing") QFile::remove(y);
        if (kind == "negative") writeNpy(y, "<i8", "(3,)", bytesOf(std::vector<int64_t>{0, -1, 2}));
        if (kind == "count" || kind == "labeldtype" || kind == "missing" || kind == "negative") culprit = y;

        auto ds = openNpyDataset(x.toStdString(), y.toStdString(), {});
        QVERIFY(!ds.ok());
        QString message = errorOf(ds);
        QVERIFY2(message.contains(expected) && message.contains(culprit), qPrintable(message));
        if (kind == "count") QVERIFY2(message.contains(x) && message.contains("3 images"), qPrintable(message));
    }
};

QTEST_APPLESS_MAIN(TestNpyDataset)
#include "test_npy_dataset.moc"
