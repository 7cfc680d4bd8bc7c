#include <QImage>
#include <QTemporaryDir>
#include <QtTest>

#include "widgets/confusion_matrix_plot.h"
#include "widgets/plot_export.h"

using namespace lathe;

class TestConfusionMatrixPlot : public QObject {
    Q_OBJECT

private:
    // Rows are true classes: 3 cats right, 1 cat taken for a dog, 2 dogs right, 4 birds right, 1 bird taken for a cat.
    static ConfusionMatrix smallMatrix() {
        ConfusionMatrix m(3);
        for (int i = 0; i < 3; ++i) m.add(0, 0);
        m.add(0, 1);
        for (int i = 0; i < 2; ++i) m.add(1, 1);
        for (int i = 0; i < 4; ++i) m.add(2, 2);
        m.add(2, 0);
        return m;
    }

private slots:
    void cellsHoldTheCounts() {
        ConfusionMatrixPlot plot;
        plot.resize(400, 400);
        plot.show();
        plot.setMatrix(smallMatrix(), {"cat", "dog", "bird"});
        QCOMPARE(plot.classCount(), 3);
        QCOMPARE(plot.cellSum(), int64_t(11));
        QCOMPARE(plot.cellText(0, 0), QStringLiteral("3"));
        QCOMPARE(plot.cellText(0, 1), QStringLiteral("1"));
        QCOMPARE(plot.cellText(2, 0), QStringLiteral("1"));
        QCOMPARE(plot.cellText(1, 2), QStringLiteral("0"));
        QCOMPARE(plot.cellText(3, 0), QString());
        // Heat map cell (key = predicted, value = true class).
        QCOMPARE(plot.colorMap()->data()->cell(1, 0), 1.0);
        QCOMPARE(plot.colorMap()->data()->cell(2, 2), 4.0);
        QCOMPARE(plot.colorMap()->dataRange().upper, 4.0);
        QVERIFY(plot.colorScale()->visible());
        QVERIFY(plot.yAxis->rangeReversed());  // first class on top
        QCOMPARE(plot.className(2), QStringLiteral("bird"));
    }

    void missingNamesFallBackToNumbers() {
        ConfusionMatrixPlot plot;
        plot.setMatrix(smallMatrix(), {"cat"});
        QCOMPARE(plot.className(0), QStringLiteral("cat"));
        QCOMPARE(plot.className(1), QStringLiteral("1"));
        auto ticker = plot.xAxis->ticker().dynamicCast<QCPAxisTickerText>();
        QVERIFY(ticker);
        QCOMPARE(ticker->ticks().value(2), QStringLiteral("2"));
    }

    void clearingEmptiesTheMap() {
        ConfusionMatrixPlot plot;
        plot.setMatrix(smallMatrix(), {});
        plot.clearMatrix();
        QCOMPARE(plot.classCount(), 0);
        QCOMPARE(plot.cellSum(), int64_t(0));
        QVERIFY(!plot.colorScale()->visible());
    }

    void savesInEveryFormat_data() {
        QTest::addColumn<QString>("file");
        QTest::newRow("png") << "confusion.png";
        QTest::newRow("pdf") << "confusion.pdf";
        QTest::newRow("svg") << "confusion.svg";
    }
    void savesInEveryFormat() {
        QFETCH(QString, file);
        ConfusionMatrixPlot plot;
        plot.resize(420, 380);
        plot.show();
        plot.setMatrix(smallMatrix(), {"cat", "dog", "bird"});
        QTemporaryDir dir;
        QVERIFY(dir.isValid());
        const QString path = dir.filePath(file);
        QString error;
        QVERIFY2(savePlot(&plot, path, &error), qPrintable(error));
        QVERIFY(QFileInfo(path).size() > 1000);
        if (file.endsWith(".png")) {
            const QImage image(path);
            QVERIFY(!image.isNull());
            QCOMPARE(image.size(), plot.size() * 2);  // saved at twice the screen resolution
        }
        if (file.endsWith(".svg")) {
            QFile svg(path);
            QVERIFY(svg.open(QIODevice::ReadOnly));
            const QByteArray text = svg.readAll();
            QVERIFY(text.contains("<svg"));
            QVERIFY(text.contains("bird"));
        }
    }

    void unwritablePathFailsNamingIt() {
        ConfusionMatrixPlot plot;
        plot.setMatrix(smallMatrix(), {});
        QString error;
        QVERIFY(!savePlot(&plot, "/nonexistent/dir/plot.png", &error));
        QVERIFY(error.contains("/nonexistent/dir/plot.png"));
    }
};

QTEST_MAIN(TestConfusionMatrixPlot)
#include "test_confusion_matrix_plot.moc"
