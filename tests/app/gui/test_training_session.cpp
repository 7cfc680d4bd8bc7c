#include <QFile>
#include <QSignalSpy>
#include <QStandardPaths>
#include <QTemporaryDir>
#include <QtTest>
#include <cmath>

#include "app/gui/project_file.h"
#include "app/gui/training_session.h"
#include "app/gui/workbench_document.h"
#include "widget_test_support.h"

using namespace lathe;

namespace {

constexpr int kTimeoutMs = 240000;

bool allSettled(const WorkbenchDocument& doc) {
    for (const Variant& v : doc.variants())
        if (v.state == Variant::State::Queued || v.state == Variant::State::Running) return false;
    return true;
}

TrainSettings quick(int epochs, int64_t samples) {
    TrainSettings t;
    t.epochs = epochs;
    t.samples = samples;
    t.lr = 0.01;
    t.batch = 64;
    t.seed = 3;
    return t;
}

}  // namespace

class TestTrainingSession : public QObject {
    Q_OBJECT

private slots:
    void initTestCase() {
        QStandardPaths::setTestModeEnabled(true);
        QString error;
        m_graph = test::loadGraph(test::demoModelPath(), &error);
        QVERIFY2(m_graph, qPrintable(error));
    }

    void trainsAPrunedVariantIntoANewVariant() {
        WorkbenchDocument doc;
        QString parentId;
        makePruned(doc, parentId);
        if (QTest::currentTestFailed()) return;
        TrainingSession session(&doc);
        QSignalSpy epochs(&session, &TrainingSession::epochFinished);
        QSignalSpy finished(&session, &TrainingSession::finished);
        QSignalSpy failed(&session, &TrainingSession::failed);
        QString error;
        QVERIFY2(session.start(parentId, quick(1, 500), &error), qPrintable(error));
        QVERIFY(session.isRunning());
        QVERIFY(!session.start(parentId, quick(1, 500), &error));  // one run at a time
        QTRY_VERIFY_WITH_TIMEOUT(!session.isRunning(), kTimeoutMs);
        QVERIFY2(failed.isEmpty(), failed.isEmpty() ? "" : qPrintable(failed.first().at(0).toString()));
        QCOMPARE(finished.count(), 1);
        QCOMPARE(epochs.count(), 1);
        const auto record = epochs.first().at(0).value<EpochRecord>();
        QCOMPARE(record.epoch, 1);
        QVERIFY(std::isfinite(record.loss) && record.loss > 0);
        QVERIFY(record.top1 > 10 && record.top1 <= 100);
        QVERIFY(record.imagesPerSecond > 0);

        const QString id = finished.first().at(0).toString();
        const Variant* parent = doc.variant(parentId);
        const Variant* child = doc.variant(id);
        QVERIFY(child);
        QCOMPARE(child->parentId, parentId);
        QCOMPARE(child->name, QStringLiteral("pruned fine-tuned"));
        QVERIFY(child->metrics.has_value());
        QVERIFY(child->state == Variant::State::Done);
        QCOMPARE(child->metrics->samples, int64_t(500));
        QVERIFY(child->metrics->top1 > 50);
        QCOMPARE(child->history.size(), size_t(1));
        QVERIFY(child->recipe.train.has_value());
        QCOMPARE(child->recipe.train->samples, int64_t(500));
        QVERIFY(child->trained);
        // The pruned weights stayed zero: every layer keeps its parent's sparsity.
        QCOMPARE(child->metrics->layers.size(), parent->metrics->layers.size());
        for (size_t i = 0; i < child->metrics->layers.size(); ++i)
            QVERIFY2(child->metrics->layers[i].sparsity >= parent->metrics->layers[i].sparsity - 1e-6,
                     child->metrics->layers[i].name.c_str());
        QVERIFY(std::abs(child->history.back().sparsity - 0.7) < 0.05);
        QVERIFY(doc.lineage(id).startsWith(QStringLiteral("fine-tuned from pruned")));
        bool tooltip = false;
        for (const VariantRow& row : doc.variantRows())
            if (row.id == id) tooltip = row.summary.contains(QStringLiteral("fine-tuned from pruned"));
        QVERIFY(tooltip);
        QCOMPARE(doc.compareColumns({parentId, id}).back().lineage, doc.lineage(id));

        // Export writes the trained weights without training again; the file agrees with the metrics.
        QTemporaryDir dir;
        QSignalSpy exported(&doc, &WorkbenchDocument::exportFinished);
        doc.exportVariant(id, ExportFormat::Float, dir.filePath("tuned.onnx"));
        QTRY_COMPARE_WITH_TIMEOUT(exported.count(), 1, 60000);
        const auto summary = exported.first().at(0).value<ExportSummary>();
        QVERIFY(summary.reloadedTop1.has_value());
        QVERIFY(std::abs(*summary.reloadedTop1 - child->metrics->top1) < 0.5);
        for (const QString& note : summary.notes) QVERIFY2(!note.startsWith("trained"), qPrintable(note));

        // The project keeps the link and the history; the weights are trained again when evaluated.
        const QString path = dir.filePath("p.latheproj");
        QVERIFY(doc.saveProject(path));
        WorkbenchDocument reopened;
        QString openError;
        QVERIFY2(reopened.openProject(path, &openError), qPrintable(openError));
        const Variant* again = reopened.variant(id);
        QVERIFY(again);
        QCOMPARE(again->parentId, parentId);
        QCOMPARE(again->history.size(), size_t(1));
        QCOMPARE(again->history.front().loss, child->history.front().loss);
        QCOMPARE(again->history.front().top1, child->history.front().top1);
        QVERIFY(!again->trained);
        QVERIFY(reopened.lineage(id).startsWith(QStringLiteral("fine-tuned from pruned")));
        for (const VariantRow& row : reopened.variantRows())
            if (row.id == id) QVERIFY(row.summary.contains(QStringLiteral("trains")));
    }

    void cancelDuringTheSecondEpochKeepsTheFirst() {
        WorkbenchDocument doc;
        QString parentId;
        makePruned(doc, parentId);
        if (QTest::currentTestFailed()) return;
        TrainingSession session(&doc);
        QSignalSpy finished(&session, &TrainingSession::finished);
        connect(&session, &TrainingSession::epochFinished, &session, [&](const EpochRecord& e) {
            if (e.epoch == 1) session.cancel();
        });
        QString error;
        QVERIFY2(session.start(parentId, quick(2, 6000), &error), qPrintable(error));
        QTRY_VERIFY_WITH_TIMEOUT(!session.isRunning(), kTimeoutMs);
        QCOMPARE(finished.count(), 1);
        const Variant* child = doc.variant(finished.first().at(0).toString());
        QVERIFY(child && child->metrics);
        QCOMPARE(child->history.size(), size_t(1));
        QCOMPARE(child->note, QStringLiteral("cancelled after epoch 1"));
        QCOMPARE(session.history().size(), size_t(1));
    }

    void cancelBeforeTheFirstEpochAddsNothing() {
        WorkbenchDocument doc;
        QString parentId;
        makePruned(doc, parentId);
        if (QTest::currentTestFailed()) return;
        const size_t before = doc.variants().size();
        TrainingSession session(&doc);
        QSignalSpy cancelled(&session, &TrainingSession::cancelled);
        QSignalSpy finished(&session, &TrainingSession::finished);
        QVERIFY(session.start(parentId, quick(1, 500)));
        session.cancel();
        QTRY_VERIFY_WITH_TIMEOUT(!session.isRunning(), kTimeoutMs);
        QCOMPARE(cancelled.count(), 1);
        QCOMPARE(finished.count(), 0);
        QCOMPARE(doc.variants().size(), before);
        // Still usable: a new variant evaluates, and training starts again.
        const QString id = doc.evaluateCurrent("after cancel");
        QTRY_VERIFY_WITH_TIMEOUT(allSettled(doc), kTimeoutMs);
        QVERIFY(doc.variant(id)->metrics.has_value());
        QVERIFY(session.start(parentId, quick(1, 200)));
        QTRY_VERIFY_WITH_TIMEOUT(!session.isRunning(), kTimeoutMs);
        QCOMPARE(finished.count(), 1);
    }

    void trainingNeedsData() {
        WorkbenchDocument doc;
        TrainingSession session(&doc);
        QString error;
        QVERIFY(!session.start("v1", quick(1, 10), &error));
        QVERIFY(error.contains("model"));
        doc.setModel(m_graph, test::demoModelPath());
        EvaluationSettings folder = test::fashionMnist(10);
        folder.specText = "folder:/tmp/images";
        folder.spec = *parseDatasetSpec(folder.specText.toStdString());
        QCOMPARE(trainDataProblem(folder, {}).contains("no train split"), true);
        QVERIFY(trainDataProblem(folder, "folder:/tmp/other").isEmpty());
        QVERIFY(!trainDataProblem(folder, "folder:/tmp/images").isEmpty());  // never the evaluation images
        EvaluationSettings trainSplit = test::fashionMnist(10);
        trainSplit.dataset.split = Split::Train;
        QVERIFY(!trainDataProblem(trainSplit, {}).isEmpty());
        QVERIFY(trainDataProblem(test::fashionMnist(10), {}).isEmpty());
    }

    void oldProjectWithoutTrainingFieldsOpens() {
        const std::string old = R"({"lathe_project": 1, "model": {"path": "/nowhere/m.onnx"},
            "dataset": {"spec": "idx:/usr/share/datasets/fashion-mnist"},
            "variants": [{"id": "v1", "name": "a", "recipe": {}, "state": "not_evaluated"}]})";
        auto parsed = parseProjectFile(old, "/tmp");
        QVERIFY2(parsed, parsed ? "" : parsed.error().message.c_str());
        QCOMPARE(parsed->variants.size(), size_t(1));
        QVERIFY(parsed->variants[0].parentId.isEmpty());
        QVERIFY(parsed->variants[0].history.empty());
        QVERIFY(parsed->dataset.trainSpecText.isEmpty());
        const std::string bad = R"({"lathe_project": 1, "model": {"path": "/m.onnx"},
            "variants": [{"id": "v1", "recipe": {}, "train_history": [{"epoch": 1, "loss": "x"}]}]})";
        auto rejected = parseProjectFile(bad, "/tmp");
        QVERIFY(!rejected);
        QVERIFY2(rejected.error().message.find("variants[0].train_history[0].loss") != std::string::npos,
                 rejected.error().message.c_str());
    }

private:
    // A pruned variant (70 % global magnitude cut, no refit) evaluated on 500 test images.
    void makePruned(WorkbenchDocument& doc, QString& id) {
        doc.setModel(m_graph, test::demoModelPath());
        doc.setEvaluationSettings(test::fashionMnist(500));
        Recipe r;
        r.globalPruneSparsity = 0.7;
        r.globalPruneCorrection = PruneCorrection::None;
        doc.setRecipe(r, "prune");
        id = doc.evaluateCurrent("pruned");
        QTRY_VERIFY_WITH_TIMEOUT(allSettled(doc), kTimeoutMs);
        QVERIFY(doc.variant(id)->metrics.has_value());
    }

    std::shared_ptr<const Graph> m_graph;
};

QTEST_MAIN(TestTrainingSession)
#include "test_training_session.moc"
