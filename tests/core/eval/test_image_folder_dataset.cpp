#include <QDir>
#include <QFile>
#include <QTemporaryDir>
#include <QtTest>
#include <opencv2/core.hpp>
#include <opencv2/imgcodecs.hpp>

#include "core/eval/dataset.h"
#include "core/eval/image_folder_dataset.h"

using namespace lathe;

namespace {
// A solid image in OpenCV's B,G,R order.
void writeSolid(const QString& path, int width, int height, cv::Scalar bgr) {
    QDir().mkpath(QFileInfo(path).path());
    QVERIFY(cv::imwrite(path.toStdString(), cv::Mat(height, width, CV_8UC3, bgr)));
}

// Class folders "dog", "ant", "cat" (sorted: ant 0, cat 1, dog 2), 8x8 solid images of distinct colours.
void writeAnimals(const QTemporaryDir& dir) {
    writeSolid(dir.filePath("dog/b.png"), 8, 8, {10, 20, 30});
    writeSolid(dir.filePath("dog/a.png"), 8, 8, {40, 50, 60});
    writeSolid(dir.filePath("ant/x.bmp"), 8, 8, {70, 80, 90});
    writeSolid(dir.filePath("cat/1.png"), 8, 8, {100, 110, 120});
    QFile readme(dir.filePath("cat/readme.txt"));  // not an image: skipped
    QVERIFY(readme.open(QIODevice::WriteOnly));
}

QString errorOf(const Result<std::shared_ptr<const Dataset>>& r) {
    return r.ok() ? QString() : QString::fromStdString(r.error().message);
}

std::vector<float> sample(const Dataset& d, int64_t index) {
    std::vector<int64_t> indices{index};
    auto batch = d.batch(indices);
    return batch.ok() ? values(*batch) : std::vector<float>{};
}
}  // namespace

class TestImageFolderDataset : public QObject {
    Q_OBJECT
private slots:
    void classesFromSortedFolders() {
        QTemporaryDir dir;
        writeAnimals(dir);
        auto spec = parseDatasetSpec(("folder:" + dir.path()).toStdString());
        auto ds = openDataset(*spec, {});
        QVERIFY2(ds.ok(), qPrintable(errorOf(ds)));
        const Dataset& d = **ds;
        QCOMPARE(d.classNames(), (std::vector<std::string>{"ant", "cat", "dog"}));
        QCOMPARE(d.numClasses(), 3);
        QCOMPARE(d.size(), 4);
        QCOMPARE(d.sampleShape(), (SampleShape{3, 8, 8}));
        // files in class order, sorted within a class: ant/x, cat/1, dog/a, dog/b
        QCOMPARE(d.label(0), 0);
        QCOMPARE(d.label(1), 1);
        QCOMPARE(d.label(2), 2);
        QCOMPARE(d.label(3), 2);
        QVERIFY(QString::fromStdString(d.describeSample(2)).endsWith("dog/a.png"));
    }

    // Default R,G,B planes scaled by 1/255; --bgr keeps OpenCV's order; mean/std per tensor channel.
    void channelOrderAndNormalisation() {
        QTemporaryDir dir;
        writeAnimals(dir);
        auto rgb = openImageFolderDataset(dir.path().toStdString(), {});
        std::vector<float> s = sample(**rgb, 3);  // dog/b.png: B 10, G 20, R 30
        QCOMPARE(int(s.size()), 3 * 64);
        QCOMPARE(s[0], 30.f / 255.f);
        QCOMPARE(s[63], 30.f / 255.f);
        QCOMPARE(s[64], 20.f / 255.f);
        QCOMPARE(s[128], 10.f / 255.f);

        Preprocessing bgr;
        bgr.bgr = true;
        bgr.scale = 1.f;
        bgr.mean = {10.f, 0.f, 20.f};
        bgr.stddev = {2.f, 4.f, 5.f};
        auto b = openImageFolderDataset(dir.path().toStdString(), bgr);
        s = sample(**b, 3);
        QCOMPARE(s[0], (10.f - 10.f) / 2.f);
        QCOMPARE(s[64], (20.f - 0.f) / 4.f);
        QCOMPARE(s[128], (30.f - 20.f) / 5.f);
    }

    void grayscale() {
        QTemporaryDir dir;
        writeAnimals(dir);
        Preprocessing gray;
        gray.gray = true;
        auto ds = openImageFolderDataset(dir.path().toStdString(), gray);
        QVERIFY(ds.ok());
        QCOMPARE((*ds)->sampleShape(), (SampleShape{1, 8, 8}));
        // The decoder's own RGB-to-gray conversion (libpng's for PNG): about 0.3 R + 0.6 G + 0.1 B = 22 for
        // (R 30, G 20, B 10).
        const int luma = cv::imread(dir.filePath("dog/b.png").toStdString(), cv::IMREAD_GRAYSCALE).at<uint8_t>(0, 0);
        QVERIFY(std::abs(luma - 22) <= 1);
        QCOMPARE(sample(**ds, 3)[0], float(luma) / 255.f);
    }

    // A 40x20 image (left half black, right half white) resized to shorter side 10 (20x10) and centre-cropped to
    // 10x10: the crop spans x 5..14 of the 20-wide image, so its left half is black and its right half white.
    void resizeAndCentreCrop() {
        QTemporaryDir dir;
        cv::Mat image(20, 40, CV_8UC3, cv::Scalar(0, 0, 0));
        image(cv::Rect(20, 0, 20, 20)).setTo(cv::Scalar(255, 255, 255));
        QDir().mkpath(dir.filePath("a"));
        QVERIFY(cv::imwrite(dir.filePath("a/wide.png").toStdString(), image));
        Preprocessing p;
        p.resize = 10;
        p.crop = 10;
        p.gray = true;
        auto ds = openImageFolderDataset(dir.path().toStdString(), p);
        QVERIFY2(ds.ok(), qPrintable(errorOf(ds)));
        QCOMPARE((*ds)->sampleShape(), (SampleShape{1, 10, 10}));
        std::vector<float> s = sample(**ds, 0);
        QCOMPARE(int(s.size()), 100);
        for (int y = 0; y < 10; ++y) {
            QCOMPARE(s[size_t(y * 10 + 0)], 0.f);
            QCOMPARE(s[size_t(y * 10 + 3)], 0.f);
            QCOMPARE(s[size_t(y * 10 + 6)], 1.f);
            QCOMPARE(s[size_t(y * 10 + 9)], 1.f);
        }
        // Without a crop the size is the first image's after resizing: shorter side 10 -> 20x10.
        p.crop = 0;
        auto uncropped = openImageFolderDataset(dir.path().toStdString(), p);
        QCOMPARE((*uncropped)->sampleShape(), (SampleShape{1, 10, 20}));
    }

    void badInput_data() {
        QTest::addColumn<QString>("kind");
        QTest::addColumn<QString>("expected");
        QTest::newRow("missing dir") << "missing"
                                     << "not found";
        QTest::newRow("no class folders") << "flat"
                                          << "no class sub-folders";
        QTest::newRow("no images") << "empty"
                                   << "no images";
        QTest::newRow("size differs") << "size"
                                      << "image is 9x8 but the data set's images are 8x8";
        QTest::newRow("undecodable") << "garbage"
                                     << "cannot decode the image";
        QTest::newRow("crop too big") << "crop"
                                      << "smaller than the 16x16 crop";
    }

    // Open-time problems name the directory; per-image problems (found when a batch is loaded) name the image.
    void badInput() {
        QFETCH(QString, kind);
        QFETCH(QString, expected);
        QTemporaryDir dir;
        QString root = dir.path(), culprit = root;
        Preprocessing p;
        if (kind == "missing") root = culprit = dir.filePath("nothing-here");
        if (kind == "flat") writeSolid(dir.filePath("loose.png"), 8, 8, {1, 2, 3});
        if (kind == "empty") QDir().mkpath(dir.filePath("cls/sub"));
        if (kind == "size" || kind == "garbage" || kind == "crop") writeAnimals(dir);
        if (kind == "size") writeSolid(culprit = dir.filePath("dog/c.png"), 9, 8, {1, 2, 3});
        if (kind == "garbage") {
            QFile f(culprit = dir.filePath("dog/c.png"));
            QVERIFY(f.open(QIODevice::WriteOnly));
            f.write("definitely not a png");
        }
        if (kind == "crop") {
            p.crop = 16;
            culprit = dir.filePath("ant/x.bmp");
        }
        auto ds = openImageFolderDataset(root.toStdString(), p);
        QString message = errorOf(ds);
        if (ds.ok()) {
            std::vector<int64_t> all((*ds)->size());
            std::iota(all.begin(), all.end(), int64_t(0));
            auto batch = (*ds)->batch(all);
            QVERIFY(!batch.ok());
            message = QString::fromStdString(batch.error().message);
        }
        QVERIFY2(message.contains(expected) && message.contains(culprit), qPrintable(message));
    }
};

QTEST_APPLESS_MAIN(TestImageFolderDataset)
#include "test_image_folder_dataset.moc"
