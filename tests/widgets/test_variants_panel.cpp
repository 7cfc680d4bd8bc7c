#include <QPlainTextEdit>
#include <QSignalSpy>
#include <QToolButton>
#include <QTreeWidget>
#include <QtTest>

#include "widgets/variants_panel.h"

using namespace lathe;

namespace {

std::vector<VariantRow> rows() {
    VariantRow base;
    base.id = "v1";
    base.name = "Float baseline";
    base.baseline = true;
    base.state = VariantRow::State::Done;
    base.top1 = 91.2;
    base.macroF1 = 0.911;
    base.onnxBytes = 1725714;
    base.zlibBytes = 1590000;
    VariantRow a;
    a.id = "v2";
    a.name = "int8";
    a.state = VariantRow::State::Done;
    a.top1 = 91.0;
    a.macroF1 = 0.909;
    a.onnxBytes = 440000;
    a.zlibBytes = 380000;
    a.ratio = 3.92;
    a.note = "per-channel\nsecond line";
    a.crossValidation = CrossValidationFigure{5, 1, 91.23, 0.31, 90.8, 0.4};
    VariantRow b;
    b.id = "v3";
    b.name = "4-bit";
    b.state = VariantRow::State::Running;
    b.progress = 0.42f;
    VariantRow c;
    c.id = "v4";
    c.name = "broken";
    c.state = VariantRow::State::Failed;
    c.error = "rank 900 is larger than fc1's full rank 500";
    return {base, a, b, c};
}

}  // namespace

class TestVariantsPanel : public QObject {
    Q_OBJECT

private slots:
    void showsStatesAndMetrics() {
        VariantsPanel panel;
        panel.setVariants(rows());
        QCOMPARE(panel.list()->topLevelItemCount(), 4);
        QCOMPARE(panel.cellText("v2", 1), QStringLiteral("91.00 %"));
        QCOMPARE(panel.cellText("v2", 2), QStringLiteral("0.909"));
        QCOMPARE(panel.cellText("v2", 6), QStringLiteral("3.9×"));
        QCOMPARE(panel.cellText("v2", 7), QStringLiteral("per-channel"));
        QCOMPARE(panel.cellText("v3", 1), QStringLiteral("42 %"));
        QCOMPARE(panel.cellText("v4", 1), QStringLiteral("failed"));
        QVERIFY(panel.list()->topLevelItem(3)->toolTip(0).contains(QLatin1String("full rank 500")));
        QVERIFY(panel.cellText("v1", 6).isEmpty());
        QCOMPARE(panel.cellText("v2", 3), QStringLiteral("91.2 ± 0.3 (5-fold CV)"));
        QVERIFY(panel.cellText("v1", 3).isEmpty());
        QVERIFY2(panel.list()->topLevelItem(1)->toolTip(0).contains(QStringLiteral("macro-F1 90.8 ± 0.4")),
                 qPrintable(panel.list()->topLevelItem(1)->toolTip(0)));
    }

    // Issue 12 item 4: the size columns say what they measure.
    void sizeColumnsSayWhatTheyMeasure() {
        VariantsPanel panel;
        panel.setVariants(rows());
        QTreeWidgetItem* header = panel.list()->headerItem();
        QCOMPARE(header->text(4), QStringLiteral("ONNX file"));
        QCOMPARE(header->text(5), QStringLiteral("zlib of file"));
        QVERIFY(header->toolTip(4).contains(QLatin1String("ONNX file")));
        QVERIFY(header->toolTip(5).contains(QLatin1String("zlib")));
        QVERIFY(header->toolTip(6).contains(QLatin1String("ONNX file")));
    }

    void renameInPlace() {
        VariantsPanel panel;
        panel.setVariants(rows());
        QSignalSpy rename(&panel, &VariantsPanel::renameRequested);
        panel.list()->topLevelItem(1)->setText(0, "int8 per-channel");
        QCOMPARE(rename.count(), 1);
        QCOMPARE(rename.first().at(0).toString(), QStringLiteral("v2"));
        QCOMPARE(rename.first().at(1).toString(), QStringLiteral("int8 per-channel"));
        // An empty name is refused and the old one comes back.
        panel.list()->topLevelItem(1)->setText(0, "  ");
        QCOMPARE(rename.count(), 1);
        QCOMPARE(panel.cellText("v2", 0), QStringLiteral("int8"));
    }

    void annotate() {
        VariantsPanel panel;
        panel.setVariants(rows());
        panel.setCurrentId("v3");
        QSignalSpy note(&panel, &VariantsPanel::noteEdited);
        QVERIFY(panel.noteEditor()->isEnabled());
        panel.noteEditor()->setPlainText("try per-channel");
        QTRY_COMPARE(note.count(), 1);
        QCOMPARE(note.first().at(0).toString(), QStringLiteral("v3"));
        QCOMPARE(note.first().at(1).toString(), QStringLiteral("try per-channel"));
        // Progress updates keep the selection and the current row.
        auto next = rows();
        next[2].progress = 0.8f;
        next[2].note = "try per-channel";
        panel.setVariants(next);
        QCOMPARE(panel.currentId(), QStringLiteral("v3"));
        QCOMPARE(panel.cellText("v3", 1), QStringLiteral("80 %"));
    }

    void duplicateDeleteCompare() {
        VariantsPanel panel;
        panel.setVariants(rows());
        QSignalSpy duplicate(&panel, &VariantsPanel::duplicateRequested);
        QSignalSpy remove(&panel, &VariantsPanel::deleteRequested);
        QSignalSpy compare(&panel, &VariantsPanel::compareRequested);
        QSignalSpy load(&panel, &VariantsPanel::loadRequested);
        panel.selectIds({"v2"});
        panel.compareSelected();
        QCOMPARE(compare.count(), 0);  // one variant is no comparison
        panel.selectIds({"v1", "v2"});
        QCOMPARE(panel.selectedIds(), (QStringList{"v1", "v2"}));
        panel.compareSelected();
        QCOMPARE(compare.count(), 1);
        QCOMPARE(compare.first().first().toStringList(), (QStringList{"v1", "v2"}));
        panel.duplicateSelected();
        QCOMPARE(duplicate.count(), 2);
        panel.deleteSelected();
        QCOMPARE(remove.first().first().toStringList(), (QStringList{"v1", "v2"}));
        emit panel.list()->itemDoubleClicked(panel.list()->topLevelItem(1), 1);
        QCOMPARE(load.count(), 1);
        QCOMPARE(load.first().first().toString(), QStringLiteral("v2"));
    }

    // Issue 12: each new variant (Ctrl+R, so with Ctrl still held) was added to the selection ("Compare 5"); it
    // becomes the selection.
    void currentVariantBecomesTheSelection() {
        VariantsPanel panel;
        panel.setVariants(rows());
        panel.show();
        QVERIFY(QTest::qWaitForWindowExposed(&panel));
        panel.setCurrentId("v1");
        QCOMPARE(panel.selectedIds(), QStringList{"v1"});
        QTest::keyPress(panel.list(), Qt::Key_Control, Qt::ControlModifier);
        QCOMPARE(QGuiApplication::keyboardModifiers(), Qt::ControlModifier);
        panel.setCurrentId("v2");
        QCOMPARE(panel.selectedIds(), QStringList{"v2"});
        panel.setCurrentId("v3");
        QTest::keyRelease(panel.list(), Qt::Key_Control, Qt::NoModifier);
        QCOMPARE(panel.selectedIds(), QStringList{"v3"});
        QCOMPARE(panel.currentId(), QStringLiteral("v3"));
        const QList<QToolButton*> buttons = panel.findChildren<QToolButton*>();
        for (QToolButton* b : buttons) QVERIFY2(!b->text().startsWith("Compare "), qPrintable(b->text()));
    }
};

QTEST_MAIN(TestVariantsPanel)
#include "test_variants_panel.moc"
