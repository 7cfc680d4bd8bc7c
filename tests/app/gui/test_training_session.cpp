#include <QComboBox>
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
#include "widgets/train_panel.h"

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

// Knowledge distillation from `teacher` at the GUI's defaults (T 4, α 0.7, soft, lr 0.01), 1 epoch on 1000 images.
TrainSettings distill(const std::string& teacher, WeightInit init = WeightInit::Model) {
    TrainSettings t = quick(1, 1000);
    t.mode = TrainObjective::Distill;
    t.distill = DistillSettings{teacher, 4.0, 0.7, false};
    t.init = init;
    return t;
}

QString failure(const QSignalSpy& failed) {
    return failed.isEmpty() ? QString() : failed.first().at(0).toString();
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

    void distillsFromTheBaseline() {
        WorkbenchDocument doc;
        QString parentId;
        makePruned(doc, parentId);
        if (QTest::currentTestFailed()) return;
        TrainingSession session(&doc);
        QSignalSpy epochs(&session, &TrainingSession::epochFinished);
        QSignalSpy finished(&session, &TrainingSession::finished);
        QSignalSpy failed(&session, &TrainingSession::failed);
        QString error;
        QVERIFY2(session.start(parentId, distill("baseline"), &error), qPrintable(error));
        QTRY_VERIFY_WITH_TIMEOUT(!session.isRunning(), kTimeoutMs);
        QVERIFY2(failed.isEmpty(), qPrintable(failure(failed)));
        QCOMPARE(finished.count(), 1);
        QCOMPARE(epochs.count(), 1);
        const auto record = epochs.first().at(0).value<EpochRecord>();
        QCOMPARE(record.phase, std::string("distill"));
        QVERIFY(record.distillation.has_value());
        QVERIFY(std::isfinite(*record.distillation) && *record.distillation > 0);
        QVERIFY(std::isfinite(record.loss) && record.loss > 0);
        QVERIFY(record.top1 > 50);
        // The panel plots both loss terms of that epoch.
        const TrainEpochPoint point = toEpochPoint(record);
        QCOMPARE(*point.distillation, *record.distillation);
        const Variant* child = doc.variant(finished.first().at(0).toString());
        QVERIFY(child && child->metrics);
        QCOMPARE(child->name, QStringLiteral("pruned distilled"));
        QVERIFY(child->recipe.train->mode == TrainObjective::Distill);
        QCOMPARE(child->recipe.train->distill->teacher, std::string("baseline"));
        QVERIFY2(child->metrics->notes.join('\n').contains("distilled from the baseline (soft targets, T 4, α 0.7)"),
                 qPrintable(child->metrics->notes.join('\n')));
        QVERIFY(child->metrics->top1 > 50);
        // The pruned weights stay zero while distilling.
        QVERIFY(std::abs(child->history.back().sparsity - 0.7) < 0.05);
    }

    void distillsFromAnotherVariantAndTheProjectKeepsIt() {
        WorkbenchDocument doc;
        QString teacherId;
        makePruned(doc, teacherId);
        if (QTest::currentTestFailed()) return;
        const QString baseline = doc.baselineId();
        QVERIFY(!baseline.isEmpty());
        const TrainSettings settings = distill(variantTeacherKey(teacherId).toStdString(), WeightInit::Random);
        Recipe probe;
        probe.train = settings;
        const TeacherSource source = doc.teacherSource(probe);
        QVERIFY(source.kind == TeacherSource::Kind::Variant);
        QCOMPARE(source.variantName, QStringLiteral("pruned"));
        QVERIFY(source.error.isEmpty());
        // The student starts from random weights and learns from the pruned variant.
        TrainingSession session(&doc);
        QSignalSpy epochs(&session, &TrainingSession::epochFinished);
        QSignalSpy finished(&session, &TrainingSession::finished);
        QSignalSpy failed(&session, &TrainingSession::failed);
        QString error;
        QVERIFY2(session.start(baseline, settings, &error), qPrintable(error));
        QTRY_VERIFY_WITH_TIMEOUT(!session.isRunning(), kTimeoutMs);
        QVERIFY2(failed.isEmpty(), qPrintable(failure(failed)));
        QCOMPARE(finished.count(), 1);
        const auto record = epochs.first().at(0).value<EpochRecord>();
        QVERIFY(record.distillation && std::isfinite(*record.distillation));
        const QString id = finished.first().at(0).toString();
        const Variant* child = doc.variant(id);
        QVERIFY(child && child->metrics);
        QVERIFY2(child->metrics->notes.join('\n').contains("distilled from pruned"),
                 qPrintable(child->metrics->notes.join('\n')));
        QVERIFY(child->recipe.train->init == WeightInit::Random);
        // One epoch from random weights learns something, far from the baseline's 91 %.
        QVERIFY(child->metrics->top1 > 20);

        // Saved and reopened, the trained variant still names the same teacher variant.
        QTemporaryDir dir;
        const QString path = dir.filePath("distilled.latheproj");
        QVERIFY(doc.saveProject(path));
        WorkbenchDocument reopened;
        QString openError;
        QVERIFY2(reopened.openProject(path, &openError), qPrintable(openError));
        reopened.setModel(m_graph, test::demoModelPath());
        const Variant* again = reopened.variant(id);
        QVERIFY(again && again->recipe.train);
        QCOMPARE(again->recipe.train->distill->teacher, variantTeacherKey(teacherId).toStdString());
        // Its history keeps both loss terms and the per-layer sparsity.
        QCOMPARE(again->history.size(), size_t(1));
        QVERIFY(again->history.front().distillation.has_value());
        QCOMPARE(*again->history.front().distillation, *child->history.front().distillation);
        QCOMPARE(again->history.front().layerSparsity.size(), child->history.front().layerSparsity.size());
        QVERIFY2(reopened.lineage(id).contains("distilled from pruned (1 epoch(s), last loss"),
                 qPrintable(reopened.lineage(id)));
        QVERIFY(reopened.lineage(id).contains("+ distillation term"));
        const TeacherSource reloaded = reopened.teacherSource(again->recipe);
        QVERIFY(reloaded.kind == TeacherSource::Kind::Variant);
        QCOMPARE(reloaded.variantName, QStringLiteral("pruned"));
        QVERIFY(reloaded.error.isEmpty());  // its recipe does not train: it is compressed again when needed
        // Without the teacher variant, training says so before it starts.
        reopened.removeVariants({teacherId});
        QVERIFY(reopened.teacherSource(again->recipe).error.contains("no longer in the project"));
        QVERIFY(reopened.lineage(id).contains("distilled from a deleted variant"));
        TrainingSession other(&reopened);
        QVERIFY(!other.start(baseline, settings, &error));
        QVERIFY2(error.contains("variant " + teacherId), qPrintable(error));
    }

    void distillsAStudentFromATeacherFile() {
        // The half-width student fixture as the opened model, the demo LeNet-5 as the teacher file.
        QString loadError;
        auto student = test::loadGraph(test::fixturePath("lenet5_half_student.onnx"), &loadError);
        QVERIFY2(student, qPrintable(loadError));
        WorkbenchDocument doc;
        doc.setModel(student, test::fixturePath("lenet5_half_student.onnx"));
        doc.setEvaluationSettings(test::fashionMnist(500));
        const QString id = doc.evaluateCurrent("student");
        QTRY_VERIFY_WITH_TIMEOUT(allSettled(doc), kTimeoutMs);
        TrainingSession session(&doc);
        QSignalSpy epochs(&session, &TrainingSession::epochFinished);
        QSignalSpy finished(&session, &TrainingSession::finished);
        QSignalSpy failed(&session, &TrainingSession::failed);
        QString error;
        TrainSettings settings = distill(test::demoModelPath().toStdString());
        settings.samples = 2000;
        settings.batch = 32;
        QVERIFY2(session.start(id, settings, &error), qPrintable(error));
        QTRY_VERIFY_WITH_TIMEOUT(!session.isRunning(), kTimeoutMs);
        QVERIFY2(failed.isEmpty(), qPrintable(failure(failed)));
        QCOMPARE(finished.count(), 1);
        const auto record = epochs.first().at(0).value<EpochRecord>();
        QVERIFY(record.distillation && std::isfinite(*record.distillation));
        const Variant* child = doc.variant(finished.first().at(0).toString());
        QVERIFY(child && child->metrics);
        // The untrained student starts at chance (10 %).
        QVERIFY2(child->metrics->top1 > 40, qPrintable(QString::number(child->metrics->top1)));
        QVERIFY(child->metrics->notes.join('\n').contains("distilled from " + test::demoModelPath()));

        // A teacher file that is missing fails at once; one that is no model fails naming the file.
        QVERIFY(!session.start(id, distill("/nowhere/teacher.onnx"), &error));
        QVERIFY2(error.contains("/nowhere/teacher.onnx") && error.contains("does not exist"), qPrintable(error));
        const QString notOnnx = test::fixturePath("not_onnx.onnx");
        QVERIFY2(session.start(id, distill(notOnnx.toStdString()), &error), qPrintable(error));
        QTRY_VERIFY_WITH_TIMEOUT(!session.isRunning(), kTimeoutMs);
        QCOMPARE(failed.count(), 1);
        QVERIFY2(failure(failed).contains("The distillation teacher " + notOnnx + " cannot be read"),
                 qPrintable(failure(failed)));
        QCOMPARE(finished.count(), 1);
    }

    void l1RecordsCarryTheWeightsTheyMove() {
        WorkbenchDocument doc;
        doc.setModel(m_graph, test::demoModelPath());
        doc.setEvaluationSettings(test::fashionMnist(500));
        const QString id = doc.evaluateCurrent("float");
        QTRY_VERIFY_WITH_TIMEOUT(allSettled(doc), kTimeoutMs);
        TrainSettings settings = quick(2, 1000);
        settings.mode = TrainObjective::L1;
        settings.lr = 0.02;
        settings.l1 = L1Settings{5e-3, {}, 0.8, std::nullopt, 1};
        TrainingSession session(&doc);
        TrainPanel panel;  // what the window's panel shows of each epoch
        connect(&session, &TrainingSession::epochFinished, &panel,
                [&](const EpochRecord& e) { panel.addEpoch(toEpochPoint(e)); });
        QSignalSpy finished(&session, &TrainingSession::finished);
        QSignalSpy failed(&session, &TrainingSession::failed);
        QString error;
        panel.setRunning(true);
        QVERIFY2(session.start(id, settings, &error), qPrintable(error));
        QTRY_VERIFY_WITH_TIMEOUT(!session.isRunning(), kTimeoutMs);
        QVERIFY2(failed.isEmpty(), qPrintable(failure(failed)));
        QCOMPARE(finished.count(), 1);
        QCOMPARE(session.history().size(), size_t(2));
        const EpochRecord& last = session.history().back();
        QVERIFY(std::abs(last.sparsity - 0.8) < 0.02);  // the final cut
        const auto layers = size_t(doc.layerNames().size());
        QCOMPARE(last.layerSparsity.size(), layers);
        QCOMPARE(last.histograms.size(), layers);  // one weight tensor per layer (none is decomposed)
        const WeightHistogram& h = last.histograms.front();
        QCOMPARE(h.before.size(), h.now.size());
        QCOMPARE(h.before.size() % 2, size_t(1));
        QVERIFY(session.history().front().penalty > 0);
        // The middle bin (the zeros) fills up: more weights there now than before.
        const size_t middle = h.now.size() / 2;
        int64_t nowMiddle = 0, beforeMiddle = 0;
        for (const WeightHistogram& w : last.histograms) {
            nowMiddle += w.now[middle];
            beforeMiddle += w.before[middle];
        }
        QVERIFY(nowMiddle > 2 * beforeMiddle);
        // The panel shows the last epoch's histograms and per-layer sparsity.
        WeightCollapseView* view = panel.weightView();
        QCOMPARE(view->shownEpoch(), 2);
        QCOMPARE(view->histograms().size(), last.histograms.size());
        QCOMPARE(view->tensorCombo()->count(), int(layers));
        QVERIFY(view->setCurrentTensor(QString::fromStdString(last.histograms.back().layer)));
        QVERIFY2(view->infoText().contains("exactly zero after epoch 2"), qPrintable(view->infoText()));
        QCOMPARE(panel.epochs().back().layerSparsity.size(), layers);
        const Variant* child = doc.variant(finished.first().at(0).toString());
        QCOMPARE(child->name, QStringLiteral("float L1"));
        QVERIFY(child->metrics && child->metrics->top1 > 50);
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
