// Issue 12: long status-bar errors ran under the permanent labels; they are elided before them, with the full text as
// the tooltip.
#include <QLabel>
#include <QMainWindow>
#include <QtTest>

#include "widgets/eliding_status_bar.h"

using namespace lathe;

class TestElidingStatusBar : public QObject {
    Q_OBJECT

private slots:
    void longMessageStopsBeforeThePermanentLabels() {
        QMainWindow window;
        auto* bar = new ElidingStatusBar(&window);
        window.setStatusBar(bar);
        auto* label = new QLabel(QStringLiteral("lenet5_fashion.onnx │ opset 13 │ 431,080 params │ 2.3 M MACs"));
        bar->addPermanentWidget(label);
        window.resize(700, 300);
        window.show();
        QVERIFY(QTest::qWaitForWindowExposed(&window));

        bar->showMessage(QStringLiteral("Saved demo.latheproj"));
        QCOMPARE(bar->displayedMessage(), QStringLiteral("Saved demo.latheproj"));
        QVERIFY(bar->messageToolTip().isEmpty());

        const QString error = QStringLiteral(
            "Variant 3 failed: rank 900 is larger than fc1's full rank 500; choose a rank below 500 in the Compress "
            "panel or switch the layer back to no decomposition, then evaluate the variant again (Ctrl+R)");
        bar->showMessage(error);
        QTRY_VERIFY(label->isVisible());
        const QRect area = bar->messageArea();
        QVERIFY2(area.right() < label->geometry().left(),
                 qPrintable(QString("message ends at %1, label starts at %2")
                                .arg(area.right())
                                .arg(label->geometry().left())));
        QVERIFY(bar->fontMetrics().horizontalAdvance(error) > area.width());
        QVERIFY(bar->displayedMessage().endsWith(QChar(0x2026)));
        QVERIFY(bar->fontMetrics().horizontalAdvance(bar->displayedMessage()) <= area.width());
        QCOMPARE(bar->messageToolTip(), error);
        QCOMPARE(bar->currentMessage(), error);  // what callers read stays the full text
        if (const QString dir = qEnvironmentVariable("LATHE_SCREENSHOT_DIR"); !dir.isEmpty())
            QVERIFY(window.grab().save(dir + "/status_bar_elided.png"));

        // Wider: the whole message fits again and the tooltip goes.
        window.resize(2400, 300);
        QTRY_COMPARE(bar->displayedMessage(), error);
        QVERIFY(bar->messageToolTip().isEmpty());
    }
};

QTEST_MAIN(TestElidingStatusBar)
#include "test_eliding_status_bar.moc"
