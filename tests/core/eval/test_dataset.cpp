#include <QtTest>
#include <QDir>
#include <QElapsedTimer>
#include <QFile>
#include <QTemporaryDir>
#include <algorithm>
#include <numeric>

#include "core/eval/dataset.h"
#include "core/eval/in_memory_dataset.h"

using namespace lathe;

Q_DECLARE_METATYPE(lathe::DatasetKind)

namespace {
// n one-pixel samples whose pixel value is the sample index and whose label is index % 3.
std::shared_ptr<const Dataset> countingDataset(int n) {
    std::vector<uint8_t> pixels(static_cast<size_t>(n));
    std::vector<int> labels(static_cast<size_t>(n));
    for (int i = 0; i < n; ++i) {
        pixels[size_t(i)] = uint8_t(i);
        labels[size_t(i)] = i % 3;
    }
    Preprocessing raw;
    raw.scale = 1.f;
    return *InMemoryDataset::make({1, 1, 1}, std::move(pixels), std::move(labels), "counting", raw);
}
}  // namespace

class TestDataset : public QObject {
    Q_OBJECT
private slots:
    void parseSpec_data() {
        QTest::addColumn<QString>("spec");
        QTest::addColumn<lathe::DatasetKind>("kind");
        QTest::addColumn<QString>("path");
        QTest::addColumn<QString>("labels");
        QTest::newRow("idx") << "idx:/data/fm" << DatasetKind::Idx << "/data/fm"
                             << "";
        QTest::newRow("folder") << "folder:imgs" << DatasetKind::Folder << "imgs"
                                << "";
        QTest::newRow("npy") << "npy:x.npy,y.npy" << DatasetKind::Npy << "x.npy"
                             << "y.npy";
    }

    void parseSpec() {
        QFETCH(QString, spec);
        QFETCH(lathe::DatasetKind, kind);
        QFETCH(QString, path);
        QFETCH(QString, labels);
        auto parsed = parseDatasetSpec(spec.toStdString());
        QVERIFY2(parsed.ok(), parsed.ok() ? "" : parsed.error().message.c_str());
        QCOMPARE(parsed->kind, kind);
        QCOMPARE(QString::fromStdString(parsed->path), path);
        QCOMPARE(QString::fromStdString(parsed->labelsPath), labels);
    }

    void badSpec_data() {
        QTest::addColumn<QString>("spec");
        QTest::addColumn<QString>("expected");
        QTest::newRow("no kind") << "/data/fm"
                                 << "no kind";
        QTest::newRow("unknown kind") << "csv:/data"
                                      << "unknown kind 'csv'";
        QTest::newRow("no path") << "idx:"
                                 << "no path";
        QTest::newRow("npy without labels") << "npy:x.npy"
                                            << "comma";
        QTest::newRow("npy empty labels") << "npy:x.npy,"
                                          << "comma";
    }

    void badSpec() {
        QFETCH(QString, spec);
        QFETCH(QString, expected);
        auto parsed = parseDatasetSpec(spec.toStdString());
        QVERIFY(!parsed.ok());
        QCOMPARE(parsed.error().code, ErrorCode::InvalidArgument);
        QString message = QString::fromStdString(parsed.error().message);
        QVERIFY2(message.contains(expected) && message.contains(spec), qPrintable(message));
        QVERIFY(message.contains("npy:IMAGES.npy,LABELS.npy"));
    }

    void optionsMustFitKind() {
        DatasetSpec npy{DatasetKind::Npy, "x.npy", "y.npy"};
        DatasetOptions split;
        split.split = Split::Train;
        QVERIFY(!validateDatasetOptions(npy, split).ok());
        QVERIFY(validateDatasetOptions({DatasetKind::Idx, "d", ""}, split).ok());
        DatasetOptions crop;
        crop.preprocessing.crop = 24;
        QVERIFY(QString::fromStdString(validateDatasetOptions(npy, crop).error().message).contains("folder"));
        QVERIFY(validateDatasetOptions({DatasetKind::Folder, "d", ""}, crop).ok());
        DatasetOptions negative;
        negative.preprocessing.resize = -1;
        QVERIFY(!validateDatasetOptions({DatasetKind::Folder, "d", ""}, negative).ok());
    }

    void shuffleIsSeededPermutation() {
        std::vector<int64_t> a = shuffledIndices(1000, 42);
        QCOMPARE(a, shuffledIndices(1000, 42));
        QVERIFY(a != shuffledIndices(1000, 43));
        std::vector<int64_t> identity(1000);
        std::iota(identity.begin(), identity.end(), int64_t(0));
        QVERIFY(a != identity);
        std::vector<int64_t> sorted = a;
        std::sort(sorted.begin(), sorted.end());
        QCOMPARE(sorted, identity);
        QVERIFY(shuffledIndices(0, 1).empty());
        QCOMPARE(shuffledIndices(1, 1), std::vector<int64_t>{0});
    }

    // Pinned values: the order must not change between builds or platforms (mt19937_64 + own Fisher-Yates).
    void shuffleIsStable() {
        std::vector<int64_t> a = shuffledIndices(10, 2024);
        QCOMPARE(a, (std::vector<int64_t>{1, 3, 6, 0, 2, 8, 7, 5, 9, 4}));
    }

    void subsetMapsIndices() {
        auto parent = countingDataset(10);
        auto subset = subsetDataset(parent, {7, 2, 9});
        QCOMPARE(subset->size(), 3);
        QCOMPARE(subset->label(0), 1);  // 7 % 3
        QCOMPARE(subset->label(2), 0);  // 9 % 3
        QCOMPARE(subset->describeSample(1), std::string("counting[2]"));
        std::vector<int64_t> indices{2, 0};
        auto batch = subset->batch(indices);
        QVERIFY(batch.ok());
        QCOMPARE(batch->shape, (std::vector<int64_t>{2, 1, 1, 1}));
        QCOMPARE(batch->data, (std::vector<float>{9.f, 7.f}));
        std::vector<int64_t> outside{3};
        QVERIFY(!subset->batch(outside).ok());
    }

    void calibrationIsFirstOfShuffle() {
        auto parent = countingDataset(50);
        auto calibration = calibrationSubset(parent, 8, 5);
        QCOMPARE(calibration->size(), 8);
        std::vector<int64_t> order = shuffledIndices(50, 5);
        std::vector<int64_t> all(8);
        std::iota(all.begin(), all.end(), int64_t(0));
        auto batch = calibration->batch(all);
        for (int i = 0; i < 8; ++i) QCOMPARE(batch->data[size_t(i)], float(order[size_t(i)]));
        QCOMPARE(calibrationSubset(parent, 500, 5)->size(), 50);
    }

    // An image whose header claims 2.6 GB (found by fuzz_image_folder) is an undecodable file naming itself, quickly.
    void hugeImageHeaderIsRefused() {
        QTemporaryDir dir;
        QVERIFY(QDir(dir.path()).mkpath("shirt"));
        const QString image = dir.filePath("shirt/huge.png");
        QVERIFY(QFile::copy(QString(LATHE_SOURCE_DIR) +
                                "/tests/fuzz/regressions/image_folder/oom-49639ab81e7a0e9ceccf76da2210b57cbd97ce5b",
                            image));
        QElapsedTimer timer;
        timer.start();
        auto data = openDataset({DatasetKind::Folder, dir.path().toStdString(), ""}, {});
        if (data.ok()) {
            const std::vector<int64_t> first{0};
            auto batch = (*data)->batch(first);
            QVERIFY(!batch.ok());
            QVERIFY2(batch.error().message.find("huge.png") != std::string::npos, batch.error().message.c_str());
        } else {
            QVERIFY2(data.error().message.find("huge.png") != std::string::npos, data.error().message.c_str());
        }
        QVERIFY2(timer.elapsed() < 20000, "decoding the huge header took too long");
    }
};

QTEST_APPLESS_MAIN(TestDataset)
#include "test_dataset.moc"
