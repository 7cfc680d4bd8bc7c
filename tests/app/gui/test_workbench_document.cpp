#include <qcustomplot.h>

#include <QFile>
#include <QSignalSpy>
#include <QStandardPaths>
#include <QTemporaryDir>
#include <QUndoStack>
#include <QtTest>
#include <nlohmann/json.hpp>

#include "app/gui/workbench_document.h"
#include "core/model/onnx_reader.h"
#include "widget_test_support.h"
#include "widgets/tradeoff_plot.h"
#include "widgets/variants_panel.h"

using namespace lathe;

namespace {

constexpr int kEvalTimeoutMs = 240000;

LayerEdit sparsityEdit(double sparsity) {
    LayerEdit e;
    e.description = QStringLiteral("fc1: sparsity %1").arg(sparsity);
    e.mergeKey = QStringLiteral("prune:fc1");
    e.apply = [sparsity](LayerEntry& entry) {
        if (!entry.prune) entry.prune.emplace();
        entry.prune->sparsity = sparsity;
    };
    return e;
}

LayerEdit bitsEdit(int bits) {
    LayerEdit e;
    e.description = QStringLiteral("%1 bits").arg(bits);
    e.apply = [bits](LayerEntry& entry) {
        if (!entry.quant) entry.quant.emplace();
        entry.quant->bits = bits;
    };
    return e;
}

bool allSettled(const WorkbenchDocument& doc) {
    for (const Variant& v : doc.variants())
        if (v.state == Variant::State::Queued || v.state == Variant::State::Running) return false;
    return true;
}

}  // namespace

class TestWorkbenchDocument : public QObject {
    Q_OBJECT

private slots:
    void initTestCase() {
        QStandardPaths::setTestModeEnabled(true);
        QString error;
        m_graph = test::loadGraph(test::demoModelPath(), &error);
        QVERIFY2(m_graph, qPrintable(error));
    }

    void layersOfTheModel() {
        WorkbenchDocument doc;
        doc.setModel(m_graph, test::demoModelPath());
        QCOMPARE(doc.layerNames(), (QStringList{"conv1", "conv2", "fc1", "fc2"}));
        const InspectorLayer fc1 = doc.inspectorLayer("fc1");
        QVERIFY(fc1.weight);
        QCOMPARE(fc1.fullRank, int64_t(500));
        QCOMPARE(fc1.channels, int64_t(500));
        // fc1's 500 outputs are a channel group read by fc2; fc2's are the logits, which cannot change.
        QVERIFY(fc1.structuredApplies);
        QCOMPARE(fc1.channelGroup, (QStringList{"fc1", "fc2"}));
        const InspectorLayer fc2 = doc.inspectorLayer("fc2");
        QVERIFY(!fc2.structuredApplies);
        QVERIFY2(fc2.structuredRefusal.contains("graph output"), qPrintable(fc2.structuredRefusal));
        const InspectorLayer conv1 = doc.inspectorLayer("conv1");
        QVERIFY(conv1.structuredApplies);
        QCOMPARE(conv1.channels, int64_t(20));
        QCOMPARE(conv1.channelGroup, (QStringList{"conv1", "conv2"}));
        QCOMPARE(doc.layerOfNode(doc.nodeOfLayer("conv2")), QStringLiteral("conv2"));
        QVERIFY(!doc.inspectorLayer("pool1").weight);
        QTRY_COMPARE(doc.modelSha256().size(), 64);
    }

    // A slider drag is one undo step; undo restores the settings before it, redo the ones after.
    void undoRestoresSettings() {
        WorkbenchDocument doc;
        doc.setModel(m_graph, test::demoModelPath());
        QSignalSpy changed(&doc, &WorkbenchDocument::recipeChanged);
        QSignalSpy dirty(&doc, &WorkbenchDocument::dirtyChanged);
        doc.editLayers({"fc1"}, bitsEdit(4));
        doc.sealEdit();
        for (double s : {0.1, 0.3, 0.5, 0.7}) doc.editLayers({"fc1"}, sparsityEdit(s));
        doc.sealEdit();
        QCOMPARE(doc.undoStack()->count(), 2);
        QCOMPARE(*doc.recipe().layers.at("fc1").prune->sparsity, 0.7);
        QCOMPARE(doc.settingsOf("fc1").bits, 4);
        QVERIFY(doc.isDirty());
        QCOMPARE(dirty.count(), 1);

        doc.undoStack()->undo();
        QVERIFY(!doc.recipe().layers.at("fc1").prune);
        QCOMPARE(doc.settingsOf("fc1").bits, 4);
        doc.undoStack()->undo();
        QVERIFY(doc.recipe().layers.empty());
        QCOMPARE(doc.settingsOf("fc1").bits, 32);
        doc.undoStack()->redo();
        doc.undoStack()->redo();
        QCOMPARE(*doc.recipe().layers.at("fc1").prune->sparsity, 0.7);
        QVERIFY(changed.count() >= 8);

        // A drag started after sealing is a new step; a drag back to where it began leaves no step at all.
        doc.editLayers({"fc1"}, sparsityEdit(0.2));
        doc.editLayers({"fc1"}, sparsityEdit(0.7));
        QCOMPARE(doc.undoStack()->count(), 2);

        // Global sparsity, presets and reset are steps too.
        doc.setGlobalSparsity(0.5);
        QVERIFY(doc.globalThreshold().has_value());
        doc.applyPreset(RecipePreset::Int8);
        QCOMPARE(doc.settingsOf("conv1").bits, 8);
        QVERIFY(!doc.globalThreshold());
        doc.undoStack()->undo();
        QCOMPARE(*doc.recipe().globalPruneSparsity, 0.5);
        doc.resetLayers({"fc1"});
        QVERIFY(!doc.recipe().layers.count("fc1"));
        doc.undoStack()->undo();
        QVERIFY(doc.recipe().layers.count("fc1"));
    }

    // Two evaluated recipes become two points (beside the baseline) and the plotted front is the true front.
    void evaluatedVariantsOnThePlot() {
        WorkbenchDocument doc;
        doc.setModel(m_graph, test::demoModelPath());
        doc.setEvaluationSettings(test::fashionMnist(1000, 5));
        TradeoffPlot plot;
        VariantsPanel panel;
        connect(&doc, &WorkbenchDocument::variantsChanged, &plot, [&] { plot.setPoints(doc.tradeoffPoints()); });
        connect(&doc, &WorkbenchDocument::variantsChanged, &panel, [&] { panel.setVariants(doc.variantRows()); });
        QSignalSpy evaluated(&doc, &WorkbenchDocument::variantEvaluated);
        QSignalSpy failed(&doc, &WorkbenchDocument::variantFailed);

        doc.applyPreset(RecipePreset::Int8);
        const QString int8 = doc.evaluateCurrent("int8");
        doc.applyPreset(RecipePreset::DeepCompression);
        // The preset runs the whole pipeline: prune → retrain → k-means share → retrain centroids.
        QVERIFY(doc.recipe().train.has_value());
        QCOMPARE(doc.recipe().train->epochs, 3);
        QCOMPARE(doc.recipe().train->centroidEpochs, 1);
        QCOMPARE(doc.recipe().train->pruneSchedule->from, 0.5);
        QCOMPARE(*doc.recipe().layers.at("fc1").prune->sparsity, 0.95);
        QCOMPARE(*doc.recipe().layers.at("conv1").quant->bits, 8);
        QVERIFY(doc.recipe().train->schedule == LrSchedule::Cosine);
        Recipe quick = doc.recipe();
        quick.train->samples = 300;  // a few hundred training images keep the test short
        doc.setRecipe(quick, "fewer training images");
        const QString deep = doc.evaluateCurrent("deep");
        QCOMPARE(doc.variants().size(), size_t(3));
        QVERIFY(doc.variants().front().baseline);
        QVERIFY(doc.isEvaluating());
        QTRY_VERIFY_WITH_TIMEOUT(allSettled(doc), kEvalTimeoutMs);
        QVERIFY2(failed.isEmpty(), failed.isEmpty() ? "" : qPrintable(failed.first().at(1).toString()));
        QCOMPARE(evaluated.count(), 3);

        QCOMPARE(plot.points().size(), size_t(3));
        const Variant* base = doc.variant(doc.baselineId());
        const Variant* a = doc.variant(int8);
        const Variant* b = doc.variant(deep);
        QCOMPARE(base->metrics->samples, int64_t(1000));
        QVERIFY(base->metrics->top1 > 80);
        QVERIFY(a->metrics->onnxBytes < base->metrics->onnxBytes / 3);  // int8 QDQ weights
        QCOMPARE(a->metrics->format, QStringLiteral("qdq"));
        QCOMPARE(b->metrics->format, QStringLiteral("float"));               // k-means stays float in ONNX
        QVERIFY(b->metrics->zlibBytes < base->metrics->zlibBytes / 3);       // ... but zlib sees the zeros
        QCOMPARE(b->metrics->confusion.total(), int64_t(1000));
        QCOMPARE(int(b->metrics->layers.size()), 4);
        // The paper's count beside the file sizes: sparse entries, codes and codebooks, about 42x below float.
        QVERIFY2(b->metrics->deepCompressionBytes * 35 < base->metrics->deepCompressionBytes,
                 qPrintable(QString("%1 vs %2").arg(b->metrics->deepCompressionBytes).arg(base->metrics->deepCompressionBytes)));
        QVERIFY(base->metrics->deepCompressionBytes >= 4 * 431080);
        QVERIFY(panel.cellText(int8, 1).endsWith(QLatin1String("%")));

        // The true front by brute force on both size metrics.
        for (auto metric : {TradeoffPlot::SizeMetric::Onnx, TradeoffPlot::SizeMetric::Zlib}) {
            plot.setSizeMetric(metric);
            QStringList expected;
            std::vector<const Variant*> all = {base, a, b};
            auto size = [&](const Variant* v) {
                return metric == TradeoffPlot::SizeMetric::Onnx ? v->metrics->onnxBytes : v->metrics->zlibBytes;
            };
            std::vector<const Variant*> front;
            for (const Variant* p : all) {
                bool dominated = false;
                for (const Variant* q : all)
                    dominated |= q != p && size(q) <= size(p) && q->metrics->top1 >= p->metrics->top1 &&
                                 (size(q) < size(p) || q->metrics->top1 > p->metrics->top1);
                if (!dominated) front.push_back(p);
            }
            std::sort(front.begin(), front.end(), [&](auto* x, auto* y) { return size(x) < size(y); });
            for (const Variant* v : front) expected << v->id;
            QCOMPARE(plot.frontIds(), expected);
        }

        // Clicking a point loads its settings.
        doc.loadVariant(int8);
        QCOMPARE(doc.settingsOf("fc1").bits, 8);
        QCOMPARE(doc.undoStack()->undoText(), QStringLiteral("load settings of int8"));

        // Comparing them.
        const auto columns = doc.compareColumns({doc.baselineId(), int8, deep});
        QCOMPARE(columns.size(), size_t(3));
        QCOMPARE(columns[2].deepCompressionBytes, b->metrics->deepCompressionBytes);
        QCOMPARE(columns[2].layers[2].quant, QStringLiteral("4-bit k-means"));
        QCOMPARE(columns[2].layers[2].pruning, QStringLiteral("95.0 % by sparsity"));
        const auto values = doc.layerValues({doc.baselineId(), deep}, "fc1");
        QCOMPARE(values.size(), size_t(2));
        QCOMPARE(values[1]->size(), size_t(500 * 800));
        QVERIFY(std::count(values[1]->begin(), values[1]->end(), 0.f) >= 500 * 800 * 94 / 100);
    }

    // A global sparsity is refit on the IDX train split (opened once, then reused) before it is measured.
    void globalSparsityRefitsOnTrainingData() {
        WorkbenchDocument doc;
        doc.setModel(m_graph, test::demoModelPath());
        doc.setEvaluationSettings(test::fashionMnist(1000, 5));
        doc.setGlobalSparsity(0.7);
        const QString refit = doc.evaluateCurrent("global 70 % refit");
        const QString again = doc.evaluateCurrent("global 70 % refit again");
        Recipe plain = doc.recipe();
        plain.globalPruneCorrection = PruneCorrection::None;
        doc.setRecipe(plain, "no refit");
        const QString none = doc.evaluateCurrent("global 70 % magnitude only");
        QTRY_VERIFY_WITH_TIMEOUT(allSettled(doc), kEvalTimeoutMs);
        const Variant* a = doc.variant(refit);
        const Variant* b = doc.variant(again);
        const Variant* c = doc.variant(none);
        QVERIFY(a->metrics && b->metrics && c->metrics);
        qInfo("top-1 on 1,000 test images: refit %.1f %%, again %.1f %%, magnitude only %.1f %%, float %.1f %%",
              a->metrics->top1, b->metrics->top1, c->metrics->top1, doc.variant(doc.baselineId())->metrics->top1);
        for (const LayerReport& l : a->metrics->layers) QVERIFY2(l.corrected, l.name.c_str());
        for (const LayerReport& l : c->metrics->layers) QVERIFY2(!l.corrected, l.name.c_str());
        // The second evaluation runs on the calibration data cached by the first; it must give the same accuracy.
        QCOMPARE(b->metrics->top1, a->metrics->top1);
        QVERIFY(a->metrics->top1 > c->metrics->top1);
    }

    void cancelLeavesVariantsUnevaluated() {
        WorkbenchDocument doc;
        doc.setModel(m_graph, test::demoModelPath());
        doc.setEvaluationSettings(test::fashionMnist(10000, 5));
        const QString id = doc.evaluateCurrent();
        QVERIFY(doc.isEvaluating());
        doc.cancelEvaluation();
        QVERIFY(!doc.isEvaluating());
        QCOMPARE(doc.variant(id)->state, Variant::State::NotEvaluated);
        QCOMPARE(doc.variant(doc.baselineId())->state, Variant::State::NotEvaluated);
    }

    // Another job (a training run) adds the variant it made: a new id, a dirty project, variantsChanged(), and the
    // variant in the views and the project file.
    void addVariantFromAnotherJob() {
        QTemporaryDir dir;
        WorkbenchDocument doc;
        doc.setModel(m_graph, test::demoModelPath());
        QSignalSpy changed(&doc, &WorkbenchDocument::variantsChanged);
        QSignalSpy dirty(&doc, &WorkbenchDocument::dirtyChanged);

        Variant trained;
        trained.id = QStringLiteral("ignored");
        trained.name = QStringLiteral("fc1 4-bit, fine-tuned");
        trained.recipe = doc.presetRecipe(RecipePreset::Int4Weights);
        trained.state = Variant::State::Done;
        trained.metrics.emplace();
        trained.metrics->top1 = 88.5;
        trained.metrics->onnxBytes = 400000;
        const QString id = doc.addVariant(trained);
        QCOMPARE(id, QStringLiteral("v1"));
        QCOMPARE(changed.count(), 1);
        QCOMPARE(dirty.count(), 1);
        QVERIFY(doc.isDirty());
        QCOMPARE(doc.variants().size(), size_t(1));
        const Variant* added = doc.variant(id);
        QVERIFY(added && added->metrics);
        QCOMPARE(added->name, trained.name);
        QCOMPARE(added->state, Variant::State::Done);
        QCOMPARE(added->metrics->top1, 88.5);
        QVERIFY(added->created.isValid());
        QCOMPARE(writeRecipe(added->recipe), writeRecipe(trained.recipe));
        QCOMPARE(doc.tradeoffPoints().size(), size_t(1));

        // Placed after a given variant; a queued state cannot come in from outside the queue.
        Variant pending;
        pending.name = QStringLiteral("pending");
        pending.state = Variant::State::Queued;
        const QString last = doc.addVariant(pending);
        const QString between = doc.addVariant(pending, id);
        QCOMPARE(doc.variants()[1].id, between);
        QCOMPARE(doc.variants()[2].id, last);
        QCOMPARE(doc.variant(between)->state, Variant::State::NotEvaluated);
        QVERIFY(!doc.isEvaluating());

        doc.setCrossValidation(id, CrossValidationFigure{3, 1, 84.25, 1.5, 83.5, 1.25});
        const QString project = dir.filePath("added.latheproj");
        QString error;
        QVERIFY2(doc.saveProject(project, &error), qPrintable(error));
        WorkbenchDocument reopened;
        QVERIFY2(reopened.openProject(project, &error), qPrintable(error));
        QCOMPARE(reopened.variants().size(), size_t(3));
        QVERIFY(reopened.variant(id)->crossValidation);
        QCOMPARE(reopened.variant(id)->crossValidation->folds, 3);
        QCOMPARE(reopened.variant(id)->crossValidation->meanTop1, 84.25);
        QCOMPARE(reopened.variant(id)->crossValidation->stdTop1, 1.5);
        QCOMPARE(reopened.variant(id)->crossValidation->stdF1, 1.25);
        QVERIFY(!reopened.variant(last)->crossValidation);
        QCOMPARE(reopened.variantRows()[0].crossValidation.has_value(), true);
        QCOMPARE(reopened.variant(id)->metrics->top1, 88.5);
        QCOMPARE(reopened.variant(id)->state, Variant::State::Done);
        QCOMPARE(reopened.addVariant(pending), QStringLiteral("v4"));
    }

    void projectRoundTrip() {
        QTemporaryDir dir;
        const QString project = dir.filePath("demo.latheproj");
        WorkbenchDocument doc;
        doc.setModel(m_graph, test::demoModelPath());
        doc.setEvaluationSettings(test::fashionMnist(500, 5));
        doc.editLayers({"fc1", "fc2"}, bitsEdit(6));
        doc.setGlobalSparsity(0.4);
        const QString id = doc.evaluateCurrent("six bits");
        QTRY_VERIFY_WITH_TIMEOUT(allSettled(doc), kEvalTimeoutMs);
        doc.setVariantNote(id, "fc layers at 6 bits\nglobal 40 %");
        doc.renameVariant(id, "6-bit fc");
        const QString copy = doc.duplicateVariant(id);
        QVERIFY(doc.isDirty());

        QString error;
        QVERIFY2(doc.saveProject(project, &error), qPrintable(error));
        QVERIFY(!doc.isDirty());
        QCOMPARE(doc.projectPath(), project);
        QVERIFY(!QFile::exists(project + ".tmp"));

        WorkbenchDocument reopened;
        QSignalSpy opened(&reopened, &WorkbenchDocument::projectOpened);
        QVERIFY2(reopened.openProject(project, &error), qPrintable(error));
        QCOMPARE(opened.count(), 1);
        QCOMPARE(opened.first().first().toString(), QFileInfo(test::demoModelPath()).absoluteFilePath());
        QSignalSpy mismatch(&reopened, &WorkbenchDocument::modelMismatch);
        reopened.setModel(m_graph, test::demoModelPath());  // what the window does after opening the model
        QVERIFY(!reopened.isDirty());
        QCOMPARE(writeRecipe(reopened.recipe()), writeRecipe(doc.recipe()));
        QCOMPARE(reopened.evaluationSettings().specText, doc.evaluationSettings().specText);
        QCOMPARE(reopened.evaluationSettings().eval.limit, int64_t(500));
        QCOMPARE(reopened.variants().size(), doc.variants().size());
        for (size_t i = 0; i < doc.variants().size(); ++i) {
            const Variant& x = doc.variants()[i];
            const Variant& y = reopened.variants()[i];
            QCOMPARE(y.id, x.id);
            QCOMPARE(y.name, x.name);
            QCOMPARE(y.note, x.note);
            QCOMPARE(y.baseline, x.baseline);
            QCOMPARE(y.state, x.state);
            QCOMPARE(writeRecipe(y.recipe), writeRecipe(x.recipe));
            QVERIFY(x.metrics && y.metrics);
            QCOMPARE(y.metrics->top1, x.metrics->top1);
            QCOMPARE(y.metrics->macroF1, x.metrics->macroF1);
            QCOMPARE(y.metrics->onnxBytes, x.metrics->onnxBytes);
            QCOMPARE(y.metrics->zlibBytes, x.metrics->zlibBytes);
            QCOMPARE(y.metrics->macs, x.metrics->macs);
            QCOMPARE(y.metrics->confusion.total(), x.metrics->confusion.total());
            QCOMPARE(y.metrics->confusion.count(6, 0), x.metrics->confusion.count(6, 0));
            QCOMPARE(y.metrics->layers.size(), x.metrics->layers.size());
            QCOMPARE(y.metrics->layers[2].relError, x.metrics->layers[2].relError);
        }
        QCOMPARE(reopened.variant(copy)->name, QStringLiteral("6-bit fc copy"));
        QCOMPARE(reopened.tradeoffPoints().size(), doc.tradeoffPoints().size());
        QCOMPARE(reopened.classNames(), doc.classNames());
        QTRY_COMPARE(reopened.modelSha256(), doc.modelSha256());
        QCOMPARE(mismatch.count(), 0);
        // New ids continue after the saved ones.
        QVERIFY(!reopened.variant(reopened.duplicateVariant(copy))->baseline);
        QCOMPARE(reopened.variants().size(), doc.variants().size() + 1);

        // A different model starts a fresh project.
        reopened.setModel(m_graph, test::fixturePath("bn_conv.onnx"));
        QVERIFY(reopened.variants().empty());
        QVERIFY(reopened.projectPath().isEmpty());
    }

    void openRejectsBadFiles() {
        QTemporaryDir dir;
        WorkbenchDocument doc;
        QString error;
        QVERIFY(!doc.openProject(dir.filePath("missing.latheproj"), &error));
        QVERIFY(error.contains("missing.latheproj"));
        QFile bad(dir.filePath("bad.latheproj"));
        QVERIFY(bad.open(QIODevice::WriteOnly));
        bad.write("{\"lathe_project\": 1, \"recipe\": {\"defaults\": {\"quant\": {\"bits\": 0}}}}");
        bad.close();
        QVERIFY(!doc.openProject(bad.fileName(), &error));
        QVERIFY2(error.contains("bits"), qPrintable(error));
        QFile notJson(dir.filePath("x.latheproj"));
        QVERIFY(notJson.open(QIODevice::WriteOnly));
        notJson.write("not json");
        notJson.close();
        QVERIFY(!doc.openProject(notJson.fileName(), &error));
        QVERIFY(error.contains("JSON"));
    }

    // Issue 9: every field of a project file is type-checked (a wrong type used to abort in json::get); the error
    // names the file and the field, and the open project stays as it was.
    void openRejectsWrongTypes_data() {
        QTest::addColumn<QString>("json");
        QTest::addColumn<QString>("field");
        const QString variants = R"({"lathe_project": 1, "variants": [{"id": "a"}, {"id": "b"}, %1]})";
        QTest::newRow("version is a string") << R"({"lathe_project": "1"})"
                                             << "lathe_project: expected an integer";
        QTest::newRow("version beyond int") << R"({"lathe_project": 1e300})" << "lathe_project: expected an integer";
        QTest::newRow("model path is a number") << R"({"lathe_project": 1, "model": {"path": 3}})"
                                                << "model.path: expected a string";
        QTest::newRow("variant name is a number") << variants.arg(R"({"id": "c", "name": 7})")
                                                  << "variants[2].name: expected a string";
        QTest::newRow("variant recipe bits") << variants.arg(R"({"id": "c", "recipe": {"layers": {"fc1": {"quant": {"bits": "8"}}}}})")
                                             << "variants[2].recipe.layers.fc1.quant.bits: expected an integer";
        QTest::newRow("variant is not an object") << variants.arg("[]") << "variants[2]: expected an object";
        QTest::newRow("variant id missing") << variants.arg("{}") << "variants[2]: no \"id\"";
        QTest::newRow("confusion count is a string")
            << variants.arg(R"({"id": "c", "metrics": {"confusion": [[1, "2"], [0, 1]]}})")
            << "variants[2].metrics.confusion[0][1]: expected an integer";
        QTest::newRow("confusion count huge")
            << variants.arg(R"({"id": "c", "metrics": {"confusion": [[1e15]]}})")
            << "variants[2].metrics.confusion[0][0]: 1000000000000000 is outside";
        QTest::newRow("layer report shape")
            << variants.arg(R"({"id": "c", "metrics": {"layers": [{"original_shape": [2, -3]}]}})")
            << "variants[2].metrics.layers[0].original_shape[1]: -3 is outside";
        QTest::newRow("notes are numbers") << variants.arg(R"({"id": "c", "metrics": {"notes": [1]}})")
                                           << "variants[2].metrics.notes[0]: expected a string";
        QTest::newRow("class name is a number") << R"({"lathe_project": 1, "class_names": ["a", 2]})"
                                                << "class_names[1]: expected a string";
        QTest::newRow("mean is a string") << R"({"lathe_project": 1, "dataset": {"preprocessing": {"mean": [0.5, "x"]}}})"
                                          << "dataset.preprocessing.mean[1]: expected a number";
        QTest::newRow("batch is negative") << R"({"lathe_project": 1, "dataset": {"batch": -5}})"
                                           << "dataset.batch: -5 is outside";
        QTest::newRow("backend unknown") << R"({"lathe_project": 1, "dataset": {"backend": "cuda"}})"
                                         << "dataset.backend: \"cuda\" is not auto, builtin or opencv";
        QTest::newRow("next variant beyond double") << R"({"lathe_project": 1, "next_variant": 1e400})"
                                                    << "next_variant: a number does not fit a double";
        QTest::newRow("duplicate key") << R"({"lathe_project": 1, "recipe": {}, "recipe": {}})"
                                       << "duplicate key \"recipe\"";
        QTest::newRow("top level array") << "[1, 2]" << "not a Lathe project";
    }

    void openRejectsWrongTypes() {
        QFETCH(QString, json);
        QFETCH(QString, field);
        QTemporaryDir dir;
        WorkbenchDocument doc;
        doc.setModel(m_graph, test::demoModelPath());
        doc.editLayers({"fc1"}, bitsEdit(6));
        const std::string before = writeRecipe(doc.recipe());
        QFile file(dir.filePath("typed.latheproj"));
        QVERIFY(file.open(QIODevice::WriteOnly));
        file.write(json.toUtf8());
        file.close();
        QString error;
        QVERIFY(!doc.openProject(file.fileName(), &error));
        QVERIFY2(error.contains("typed.latheproj") && error.contains(field), qPrintable(error));
        QCOMPARE(writeRecipe(doc.recipe()), before);
    }

    void autosaveAndRecover() {
        QTemporaryDir dir;
        const QString project = dir.filePath("auto.latheproj");
        WorkbenchDocument doc;
        doc.setModel(m_graph, test::demoModelPath());
        QString error;
        QVERIFY(doc.saveProject(project, &error));
        doc.editLayers({"conv1"}, bitsEdit(5));
        QSignalSpy autosaved(&doc, &WorkbenchDocument::autosaved);
        doc.setAutosaveInterval(20);
        QTRY_VERIFY(autosaved.count() >= 1);
        doc.setAutosaveInterval(0);
        QCOMPARE(autosaved.first().first().toString(), project + ".autosave");
        QVERIFY(WorkbenchDocument::hasRecoverableAutosave(project));

        WorkbenchDocument recovered;
        QVERIFY2(recovered.recoverAutosave(project, &error), qPrintable(error));
        QCOMPARE(recovered.projectPath(), project);
        QVERIFY(recovered.isDirty());
        QCOMPARE(*recovered.recipe().layers.at("conv1").quant->bits, 5);
        QVERIFY(recovered.saveProject(project, &error));
        QVERIFY(!QFile::exists(project + ".autosave"));
        QVERIFY(!WorkbenchDocument::hasRecoverableAutosave(project));
    }

    void exportVariant() {
        QTemporaryDir dir;
        WorkbenchDocument doc;
        doc.setModel(m_graph, test::demoModelPath());
        doc.setEvaluationSettings(test::fashionMnist(500, 5));
        doc.applyPreset(RecipePreset::Int8);
        const QString id = doc.evaluateCurrent("int8");
        QTRY_VERIFY_WITH_TIMEOUT(allSettled(doc), kEvalTimeoutMs);
        QSignalSpy finished(&doc, &WorkbenchDocument::exportFinished);
        QSignalSpy failed(&doc, &WorkbenchDocument::exportFailed);
        const QString out = dir.filePath("int8.onnx");
        doc.exportVariant(id, ExportFormat::Qdq, out);
        QTRY_VERIFY_WITH_TIMEOUT(!finished.isEmpty() || !failed.isEmpty(), kEvalTimeoutMs);
        QVERIFY2(failed.isEmpty(), failed.isEmpty() ? "" : qPrintable(failed.first().first().toString()));
        const auto summary = finished.first().first().value<ExportSummary>();
        QCOMPARE(summary.path, out);
        QVERIFY(QFile::exists(out));
        QCOMPARE(summary.size.onnxBytes, doc.variant(id)->metrics->onnxBytes);
        QVERIFY(summary.reloadedTop1.has_value());
        QCOMPARE(*summary.reloadedTop1, doc.variant(id)->metrics->top1);

        // QOperator needs static activations.
        doc.exportVariant(id, ExportFormat::QOperator, dir.filePath("qop.onnx"));
        QTRY_VERIFY_WITH_TIMEOUT(!failed.isEmpty(), kEvalTimeoutMs);
        QVERIFY(failed.first().first().toString().contains("static"));

        // Exporting over the project file or a file of the data set is refused at once; both stay as they were.
        const QString project = dir.filePath("demo.latheproj");
        QString error;
        QVERIFY2(doc.saveProject(project, &error), qPrintable(error));
        const QByteArray saved = [&] {
            QFile f(project);
            return f.open(QIODevice::ReadOnly) ? f.readAll() : QByteArray();
        }();
        failed.clear();
        doc.exportVariant(id, ExportFormat::Qdq, project);
        QCOMPARE(failed.count(), 1);
        QVERIFY2(failed.first().first().toString().contains("the project file"),
                 qPrintable(failed.first().first().toString()));
        QFile reread(project);
        QVERIFY(reread.open(QIODevice::ReadOnly));
        QCOMPARE(reread.readAll(), saved);
        failed.clear();
        doc.exportVariant(id, ExportFormat::Qdq, "/usr/share/datasets/fashion-mnist/t10k-labels-idx1-ubyte.gz");
        QCOMPARE(failed.count(), 1);
        QVERIFY2(failed.first().first().toString().contains("a file of the data set"),
                 qPrintable(failed.first().first().toString()));
    }

private:
    std::shared_ptr<const Graph> m_graph;
};

QTEST_MAIN(TestWorkbenchDocument)
#include "test_workbench_document.moc"
