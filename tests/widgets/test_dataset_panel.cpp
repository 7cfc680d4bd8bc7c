#include <QComboBox>
#include <QLabel>
#include <QLineEdit>
#include <QSettings>
#include <QSpinBox>
#include <QTemporaryDir>
#include <QtTest>

#include "widgets/dataset_panel.h"

using namespace lathe;

class TestDatasetPanel : public QObject {
    Q_OBJECT

private:
    static QLineEdit* edit(DatasetPanel& panel, const QString& placeholderStart) {
        for (QLineEdit* e : panel.findChildren<QLineEdit*>())
            if (e->placeholderText().startsWith(placeholderStart)) return e;
        return nullptr;
    }
    static QComboBox* kindCombo(DatasetPanel& panel) {
        for (QComboBox* c : panel.findChildren<QComboBox*>())
            if (c->count() == 3 && c->itemText(0).startsWith("IDX")) return c;
        return nullptr;
    }

private slots:
    void initTestCase() {
        QStandardPaths::setTestModeEnabled(true);
        QCoreApplication::setOrganizationName("LatheTest");
        QCoreApplication::setApplicationName("test_dataset_panel");
    }

    void defaultsDescribeFashionMnistTest() {
        DatasetPanel panel;
        QCOMPARE(panel.specText(), QString::fromLatin1(DatasetPanel::kDefaultSpec));
        QTemporaryDir dir;  // any existing folder passes the panel's own checks
        panel.setSpecText("idx:" + dir.path());
        const auto settings = panel.validate();
        QVERIFY2(settings, qPrintable(panel.firstError()));
        QCOMPARE(settings->spec.kind, DatasetKind::Idx);
        QCOMPARE(QString::fromStdString(settings->spec.path), dir.path());
        QCOMPARE(settings->dataset.split.value_or(Split::Train), Split::Test);
        QCOMPARE(settings->eval.batchSize, 100);
        QCOMPARE(settings->eval.folds, 5);
        QCOMPARE(settings->eval.limit, int64_t(0));
        QCOMPARE(settings->eval.backend, BackendKind::Auto);
        QVERIFY(!settings->dataset.preprocessing.scale);
        QVERIFY(!settings->dataset.preprocessing.hasImageOptions());
    }

    void badFieldsAreNamedInline_data() {
        QTest::addColumn<QString>("spec");
        QTest::addColumn<QString>("scale");
        QTest::addColumn<QString>("mean");
        QTest::addColumn<QString>("std");
        QTest::addColumn<QString>("field");
        QTest::addColumn<QString>("needle");
        QTest::newRow("missing folder") << "idx:/no/such/fashion"
                                        << ""
                                        << ""
                                        << ""
                                        << "Data set"
                                        << "/no/such/fashion";
        QTest::newRow("no kind") << "/usr/share"
                                 << ""
                                 << ""
                                 << ""
                                 << "Data set"
                                 << "no kind";
        QTest::newRow("npy without labels") << "npy:/tmp/x.npy"
                                            << ""
                                            << ""
                                            << ""
                                            << "Data set"
                                            << "comma";
        QTest::newRow("missing npy") << "npy:/no/images.npy,/no/labels.npy"
                                     << ""
                                     << ""
                                     << ""
                                     << "Data set"
                                     << "/no/images.npy";
        QTest::newRow("scale text") << ""
                                    << "abc"
                                    << ""
                                    << ""
                                    << "Scale"
                                    << "abc";
        QTest::newRow("scale zero") << ""
                                    << "0"
                                    << ""
                                    << ""
                                    << "Scale"
                                    << "positive";
        QTest::newRow("mean text") << ""
                                   << ""
                                   << "0.5,x,0.5"
                                   << ""
                                   << "Mean"
                                   << "\"x\"";
        QTest::newRow("mean two values") << ""
                                         << ""
                                         << "0.5,0.5"
                                         << ""
                                         << "Mean"
                                         << "got 2";
        QTest::newRow("std zero") << ""
                                  << ""
                                  << ""
                                  << "0"
                                  << "Std"
                                  << "divide by zero";
    }
    void badFieldsAreNamedInline() {
        QFETCH(QString, spec);
        QFETCH(QString, scale);
        QFETCH(QString, mean);
        QFETCH(QString, std);
        QFETCH(QString, field);
        QFETCH(QString, needle);
        QTemporaryDir dir;
        DatasetPanel panel;
        panel.show();
        panel.setSpecText(spec.isEmpty() ? "idx:" + dir.path() : spec);
        edit(panel, "1/255")->setText(scale);
        edit(panel, "0 ")->setText(mean);
        edit(panel, "1 ")->setText(std);
        QVERIFY(!panel.validate());
        const QString error = panel.fieldError(field);
        QVERIFY2(error.startsWith(field + ":"), qPrintable(error));
        QVERIFY2(error.contains(needle), qPrintable(error));
        QCOMPARE(panel.firstError(), error);
        QVERIFY(panel.findChild<QLabel*>("error_" + field)->isVisible());
    }

    void fixingTheFieldClearsTheError() {
        QTemporaryDir dir;
        DatasetPanel panel;
        panel.show();
        panel.setSpecText("idx:/no/such/dir");
        QVERIFY(!panel.validate());
        QVERIFY(!panel.fieldError("Data set").isEmpty());
        panel.setSpecText("idx:" + dir.path());
        QVERIFY(panel.validate());
        QVERIFY(panel.fieldError("Data set").isEmpty());
        QVERIFY(!panel.findChild<QLabel*>("error_Data set")->isVisible());
    }

    void preprocessingIsParsed() {
        QTemporaryDir dir;
        DatasetPanel panel;
        panel.setSpecText("folder:" + dir.path());
        edit(panel, "1/255")->setText("1/127.5");
        edit(panel, "0 ")->setText("0.485, 0.456, 0.406");
        edit(panel, "1 ")->setText("0.5");
        const auto settings = panel.validate();
        QVERIFY2(settings, qPrintable(panel.firstError()));
        QCOMPARE(settings->spec.kind, DatasetKind::Folder);
        const Preprocessing& p = settings->dataset.preprocessing;
        QVERIFY(p.scale);
        QCOMPARE(*p.scale, float(1 / 127.5));
        QCOMPARE(p.mean, (std::vector<float>{0.485f, 0.456f, 0.406f}));
        QCOMPARE(p.stddev, std::vector<float>{0.5f});
        QVERIFY(!settings->dataset.split);  // a split applies to IDX only
    }

    void cropLargerThanResizeIsRefused() {
        QTemporaryDir dir;
        DatasetPanel panel;
        panel.setSpecText("folder:" + dir.path());
        auto spins = panel.findChildren<QSpinBox*>();
        QSpinBox* size = nullptr;
        QSpinBox* crop = nullptr;
        for (QSpinBox* s : spins) {
            if (s->specialValueText() == "keep") size = s;
            if (s->specialValueText() == "none") crop = s;
        }
        QVERIFY(size && crop);
        size->setValue(32);
        crop->setValue(64);
        QVERIFY(!panel.validate());
        QVERIFY(panel.fieldError("Crop").contains("64 px"));
        crop->setValue(28);
        const auto settings = panel.validate();
        QVERIFY(settings);
        QCOMPARE(settings->dataset.preprocessing.resize, 32);
        QCOMPARE(settings->dataset.preprocessing.crop, 28);
    }

    void foldsNeedEnoughImages() {
        QTemporaryDir dir;
        DatasetPanel panel;
        panel.setSpecText("idx:" + dir.path());
        panel.setLimit(3);
        panel.setFolds(5);
        QVERIFY(!panel.validate());
        QVERIFY(panel.fieldError("Folds").contains("limit is 3"));
        panel.setFolds(3);
        QVERIFY(panel.validate());
    }

    void kindSelectorAndSpecFollowEachOther() {
        DatasetPanel panel;
        QComboBox* kind = kindCombo(panel);
        QVERIFY(kind);
        panel.setSpecText("idx:/data/mnist");
        kind->setCurrentIndex(1);
        QCOMPARE(panel.specText(), QStringLiteral("folder:/data/mnist"));
        kind->setCurrentIndex(2);
        QCOMPARE(panel.specText(), QStringLiteral("npy:/data/mnist"));
        panel.setSpecText("npy:/a/images.npy,/a/labels.npy");
        kind->setCurrentIndex(0);
        QCOMPARE(panel.specText(), QStringLiteral("idx:/a/images.npy"));
        panel.setSpecText("folder:/photos");  // typing a prefix switches the kind
        QCOMPARE(kind->currentIndex(), 1);
    }

    void settingsRoundTrip() {
        QSettings settings;
        settings.clear();
        {
            DatasetPanel panel;
            panel.setSpecText("folder:/photos");
            panel.setLimit(500);
            panel.setBatchSize(32);
            panel.setBackend(BackendKind::OpenCv);
            panel.setFolds(10);
            edit(panel, "0 ")->setText("0.5");
            panel.saveSettings(settings);
        }
        DatasetPanel restored;
        restored.restoreSettings(settings);
        QCOMPARE(restored.specText(), QStringLiteral("folder:/photos"));
        QCOMPARE(restored.limit(), 500);
        QCOMPARE(edit(restored, "0 ")->text(), QStringLiteral("0.5"));
        QCOMPARE(kindCombo(restored)->currentIndex(), 1);
        settings.clear();
    }

    void displayNames() {
        EvaluationSettings s;
        s.spec.kind = DatasetKind::Idx;
        s.spec.path = "/usr/share/datasets/fashion-mnist";
        QCOMPARE(s.displayName(), QStringLiteral("Fashion-MNIST test"));
        s.dataset.split = Split::Train;
        QCOMPARE(s.displayName(), QStringLiteral("Fashion-MNIST train"));
        s.spec.kind = DatasetKind::Folder;
        s.spec.path = "/data/flowers";
        QCOMPARE(s.displayName(), QStringLiteral("flowers"));
        QCOMPARE(fashionMnistClassNames().size(), 10);
        QCOMPARE(fashionMnistClassNames().front(), QStringLiteral("T-shirt/top"));
        QCOMPARE(fashionMnistClassNames().back(), QStringLiteral("Ankle boot"));
    }
};

QTEST_MAIN(TestDatasetPanel)
#include "test_dataset_panel.moc"
