#include <QSignalSpy>
#include <QStandardPaths>
#include <QTemporaryDir>
#include <QtTest>

#include "app/gui/cross_validation_session.h"
#include "app/gui/workbench_document.h"
#include "widget_test_support.h"

using namespace lathe;

// Cross-validation of a variant on real data (Fashion-MNIST, the demo LeNet-5): the figure lands on the variant and in
// its row; Cancel mid-fold stores nothing and leaves the session usable.
class TestCrossValidationSession : public QObject {
    Q_OBJECT

private slots:
    void initTestCase() {
        QStandardPaths::setTestModeEnabled(true);
        QString error;
        m_graph = test::loadGraph(test::demoModelPath(), &error);
        QVERIFY2(m_graph, qPrintable(error));
    }

    void foldsEndWithTheFigureOnTheVariant() {
        WorkbenchDocument doc;
        doc.setModel(m_graph, test::demoModelPath());
        doc.setEvaluationSettings(test::fashionMnist(200, 5));
        const QString id = addQuickVariant(doc);
        CrossValidationSession cv(&doc);
        QCOMPARE(cv.defaultEpochs(id), 1);
        QSignalSpy finished(&cv, &CrossValidationSession::finished);
        QSignalSpy failed(&cv, &CrossValidationSession::failed);
        QStringList stages;
        connect(cv.job(), &Job::progressChanged, this, [&](float, const QString& stage) { stages << stage; });
        QString error;
        QVERIFY2(cv.start(id, 3, 1, &error), qPrintable(error));
        QTRY_VERIFY_WITH_TIMEOUT(!finished.isEmpty() || !failed.isEmpty(), 60000);
        QVERIFY2(failed.isEmpty(), failed.isEmpty() ? "" : qPrintable(failed.first().at(0).toString()));
        const Variant* v = doc.variant(id);
        QVERIFY(v->crossValidation);
        QCOMPARE(v->crossValidation->folds, 3);
        QVERIFY(v->crossValidation->meanTop1 > 30 && v->crossValidation->meanTop1 <= 100);
        QVERIFY(v->crossValidation->stdTop1 >= 0);
        QVERIFY(doc.variantRows().back().crossValidation);
        QVERIFY(crossValidationText(*doc.variantRows().back().crossValidation).endsWith("(3-fold CV)"));
        bool perFold = false;
        for (const QString& s : stages) perFold = perFold || s.startsWith("fold 2 of 3");
        QVERIFY(perFold);
    }

    void cancelStoresNothing() {
        WorkbenchDocument doc;
        doc.setModel(m_graph, test::demoModelPath());
        doc.setEvaluationSettings(test::fashionMnist(200, 5));
        const QString id = addQuickVariant(doc);
        CrossValidationSession cv(&doc);
        QSignalSpy cancelled(&cv, &CrossValidationSession::cancelled);
        QString error;
        QVERIFY2(cv.start(id, 3, 1, &error), qPrintable(error));
        QTRY_VERIFY_WITH_TIMEOUT(cv.job()->stage().startsWith("fold"), 30000);
        cv.cancel();
        QCOMPARE(cancelled.count(), 1);
        QVERIFY(!cv.isRunning());
        QVERIFY(!doc.variant(id)->crossValidation);
        // Usable again.
        QVERIFY2(cv.start(id, 2, 1, &error), qPrintable(error));
        cv.cancel();
    }

private:
    static QString addQuickVariant(WorkbenchDocument& doc) {
        Variant v;
        v.name = QStringLiteral("quick");
        TrainSettings t;
        t.epochs = 1;
        t.samples = 600;
        t.batch = 64;
        t.seed = 3;
        v.recipe.train = t;
        return doc.addVariant(v);
    }

    std::shared_ptr<const Graph> m_graph;
};

QTEST_MAIN(TestCrossValidationSession)
#include "test_cross_validation_session.moc"
