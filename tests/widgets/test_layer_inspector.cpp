#include <qcustomplot.h>

#include <QCheckBox>
#include <QComboBox>
#include <QDoubleSpinBox>
#include <QSignalSpy>
#include <QSlider>
#include <QSpinBox>
#include <QStandardItemModel>
#include <QtTest>
#include <random>

#include "core/compress/compressible_layer.h"
#include "core/compress/lowrank/svd_decompose.h"
#include "core/compress/lowrank/decompose_layer.h"
#include "core/compress/prune/channel_groups.h"
#include "widget_test_support.h"
#include "widgets/layer_inspector.h"

using namespace lathe;

namespace {

// The computations WorkbenchDocument::inspectorLayer supplies: core's preview and singular values.
void withCoreComputations(InspectorLayer& layer) {
    layer.preview = [](const Tensor& w, const LayerSettings& s, const PreviewOptions& o) { return previewLayer(w, s, o); };
    layer.spectrum = [](const Tensor& w) { return weightSingularValues(w); };
}

InspectorLayer layerOf(const std::shared_ptr<const Graph>& graph, const QString& name) {
    InspectorLayer out;
    const int node = findLayerNode(*graph, name.toStdString());
    auto lw = layerWeight(*graph, node);
    const Tensor* w = graph->initializer(lw->weight);
    out.name = QString::fromStdString(lw->nodeName);
    out.opType = QString::fromStdString(lw->opType);
    out.weight = std::shared_ptr<const Tensor>(graph, w);
    out.channelAxis = lw->channelAxis;
    out.channels = w->shape[size_t(lw->channelAxis)];
    const LayerChannels channels = channelsOfLayer(*graph, findChannelGroups(*graph), lw->nodeName);
    out.structuredApplies = channels.refusal.empty();
    for (const auto& l : channels.layers) out.channelGroup << QString::fromStdString(l);
    out.structuredRefusal = QString::fromStdString(channels.refusal);
    out.fullRank = decompositionFullRank(*graph, node);
    std::tie(out.tucker2FullOut, out.tucker2FullIn) = decompositionFullRanks(*graph, node, LowRankMethod::Tucker2);
    out.spatialFullRank = decompositionFullRanks(*graph, node, LowRankMethod::Spatial).first;
    const LayerGeometry geometry = layerGeometry(*graph, node);
    out.macs = geometry.macs;
    out.inputSpatial = geometry.inputSpatial;
    out.outputSpatial = geometry.outputSpatial;
    withCoreComputations(out);
    return out;
}

// Emits `activated` as a user pick of item `index` does.
void pick(QComboBox* combo, int index) {
    combo->setCurrentIndex(index);
    emit combo->activated(index);
}

}  // namespace

class TestLayerInspector : public QObject {
    Q_OBJECT

private slots:
    void initTestCase() {
        QString error;
        m_graph = test::loadGraph(test::demoModelPath(), &error);
        QVERIFY2(m_graph, qPrintable(error));
    }

    void showsLayerWithoutCompression() {
        LayerInspector inspector;
        inspector.resize(1100, 620);
        QSignalSpy updated(&inspector, &LayerInspector::previewUpdated);
        inspector.setLayer(layerOf(m_graph, "fc1"), Recipe{});
        QTRY_VERIFY(updated.count() >= 1);
        QVERIFY(!inspector.shadedRange());
        QCOMPARE(inspector.preview().relError, 0.0);
        QCOMPARE(inspector.readoutText("sqnr"), QStringLiteral("exact"));
        QCOMPARE(inspector.preview().bytes, int64_t(4 * 500 * 800));
        QCOMPARE(inspector.drawnLevelCount(), 0);
        QCOMPARE(inspector.afterHistogramCount(), int64_t(500 * 800));
    }

    // Moving the sparsity slider moves the shaded region, the error and the zeros; one drag is one undoable edit.
    void thresholdSliderChangesShadeErrorAndSize() {
        LayerInspector inspector;
        inspector.resize(1100, 620);
        QSignalSpy updated(&inspector, &LayerInspector::previewUpdated);
        QSignalSpy edited(&inspector, &LayerInspector::layerEdited);
        inspector.setLayer(layerOf(m_graph, "fc1"), Recipe{});
        QTRY_VERIFY(updated.count() >= 1);

        pick(inspector.pruneModeCombo(), 1);  // by sparsity
        QTRY_VERIFY(!inspector.isPreviewBusy());
        updated.clear();
        inspector.pruneSlider()->setValue(300);
        QTRY_VERIFY(updated.count() >= 1 && !inspector.isPreviewBusy());
        const auto shade30 = inspector.shadedRange();
        QVERIFY(shade30);
        QCOMPARE(shade30->first, -shade30->second);
        QCOMPARE(shade30->second, inspector.preview().threshold);
        QVERIFY(std::abs(inspector.preview().sparsity - 0.30) < 0.005);
        const double error30 = inspector.preview().relError;
        QVERIFY(error30 > 0);

        updated.clear();
        inspector.pruneSlider()->setValue(800);
        QTRY_VERIFY(updated.count() >= 1 && !inspector.isPreviewBusy());
        const auto shade80 = inspector.shadedRange();
        QVERIFY(shade80);
        QVERIFY(shade80->second > shade30->second);
        QVERIFY(inspector.preview().relError > error30);
        QVERIFY(std::abs(inspector.preview().sparsity - 0.80) < 0.005);
        QCOMPARE(inspector.readoutText("sparsity"), QStringLiteral("80.0 %"));
        QVERIFY(inspector.afterHistogramCount() < int64_t(500 * 800 / 4));

        // The edits carry the layer, one merge key for the drag, and put the sparsity into the recipe.
        QVERIFY(edited.count() >= 3);
        const auto last = edited.last();
        QCOMPARE(last.at(0).toStringList(), QStringList{"fc1"});
        const LayerEdit edit = last.at(1).value<LayerEdit>();
        QVERIFY(!edit.mergeKey.isEmpty());
        QCOMPARE(edited.at(edited.count() - 2).at(1).value<LayerEdit>().mergeKey, edit.mergeKey);
        QCOMPARE(*inspector.recipe().layers.at("fc1").prune->sparsity, 0.8);

        // A threshold instead of a sparsity: the shade sits exactly at the threshold typed in.
        pick(inspector.pruneModeCombo(), 2);
        QTRY_VERIFY(!inspector.isPreviewBusy());
        updated.clear();
        inspector.pruneSpin()->setValue(0.02);
        QTRY_VERIFY(updated.count() >= 1 && !inspector.isPreviewBusy());
        QVERIFY(inspector.shadedRange());
        QCOMPARE(inspector.shadedRange()->second, 0.02);
        QVERIFY(!inspector.recipe().layers.at("fc1").prune->sparsity);
    }

    void bitsChangeLevelsAndBytes() {
        LayerInspector inspector;
        inspector.resize(1100, 620);
        QSignalSpy updated(&inspector, &LayerInspector::previewUpdated);
        inspector.setLayer(layerOf(m_graph, "fc1"), Recipe{});
        QTRY_VERIFY(updated.count() >= 1);
        const int64_t floatBytes = inspector.preview().bytes;

        pick(inspector.bitsCombo(), inspector.bitsCombo()->findData(4));
        QTRY_VERIFY(!inspector.isPreviewBusy() && inspector.settings().bits == 4 && inspector.preview().bytes < floatBytes);
        QCOMPARE(inspector.drawnLevelCount(), 15);  // symmetric 4-bit: ±7 steps
        QVERIFY(inspector.preview().bytes <= floatBytes / 7);
        QVERIFY(inspector.preview().relError > 0);
        QVERIFY(inspector.symmetryCombo()->isEnabled());

        pick(inspector.roundingCombo(), 2);  // k-means
        QTRY_VERIFY(!inspector.isPreviewBusy() && inspector.settings().rounding == Rounding::KMeans);
        QTRY_COMPARE(inspector.drawnLevelCount(), 16);
        QVERIFY(!inspector.symmetryCombo()->isEnabled());
        QVERIFY(!inspector.granularityCombo()->isEnabled());

        pick(inspector.bitsCombo(), 0);  // float
        QTRY_VERIFY(!inspector.isPreviewBusy() && inspector.drawnLevelCount() == 0);
        QCOMPARE(inspector.preview().bytes, floatBytes);
    }

    void rankShowsSpectrumCut() {
        LayerInspector inspector;
        inspector.resize(1100, 620);
        QSignalSpy spectrum(&inspector, &LayerInspector::spectrumUpdated);
        inspector.setLayer(layerOf(m_graph, "fc1"), Recipe{});
        QTRY_VERIFY(spectrum.count() == 1);
        QCOMPARE(int64_t(inspector.singularValues().size()), int64_t(500));
        QVERIFY(inspector.rankModeCombo()->isEnabled());

        pick(inspector.rankModeCombo(), 1);  // by rank
        // Issue 12: the default rank saves weights: r·(800 + 500) < 800·500, so r ≤ 307.
        QVERIFY(inspector.settings().rank && *inspector.settings().rank <= 307);
        QVERIFY(lowRankParams(500, 800, *inspector.settings().rank) < 400000);
        inspector.rankSlider()->setValue(50);
        QTRY_VERIFY(!inspector.isPreviewBusy() && inspector.preview().rank == 50);
        QCOMPARE(inspector.readoutText("rank"), QStringLiteral("50"));
        QCOMPARE(inspector.preview().params, int64_t(50 * (500 + 800)));
        QVERIFY(inspector.preview().lowRankError > 0);
        QCOMPARE(*inspector.recipe().layers.at("fc1").lowrank->rank, int64_t(50));

        pick(inspector.rankModeCombo(), 2);  // by energy
        inspector.rankSpin()->setValue(99.0);
        QTRY_VERIFY(!inspector.isPreviewBusy() && inspector.settings().energy == 0.99);
        QCOMPARE(inspector.preview().rank, rankForEnergy(inspector.singularValues(), 0.99));
        QVERIFY(inspector.readoutText("energy").startsWith(QLatin1String("99.")));
    }

    // Issue 12: a random 20×20 Gemm needs ~14 ranks for 90 % of its energy, but only ranks ≤ 9 save weights
    // (r·40 < 400): the default rank is capped, and a rank that does not save says so.
    void defaultRankSavesWeights() {
        auto graph = std::make_shared<Graph>();
        Tensor w;
        w.name = "W";
        w.shape = {20, 20};
        std::mt19937 rng(5);
        std::normal_distribution<float> normal(0.f, 1.f);
        for (int i = 0; i < 400; ++i) w.data.push_back(normal(rng));
        graph->initializers["W"] = w;
        Node gemm;
        gemm.name = "fc";
        gemm.opType = "Gemm";
        gemm.inputs = {"x", "W"};
        gemm.outputs = {"y"};
        gemm.attributes["transB"] = intAttribute(1);
        graph->nodes.push_back(gemm);
        graph->inputs = {"x"};
        graph->outputs = {"y"};
        LayerInspector inspector;
        QSignalSpy spectrum(&inspector, &LayerInspector::spectrumUpdated);
        inspector.setLayer(layerOf(graph, "fc"), Recipe{});
        QTRY_VERIFY(spectrum.count() == 1);
        QVERIFY(rankForEnergy(inspector.singularValues(), 0.9) > 9);
        pick(inspector.rankModeCombo(), 1);
        QCOMPARE(inspector.settings().rank, std::optional<int64_t>(9));
        inspector.rankSlider()->setValue(15);
        QTRY_VERIFY(inspector.settings().rank == std::optional<int64_t>(15));
        QVERIFY2(inspector.rankNoteText().contains("a lower rank saves"), qPrintable(inspector.rankNoteText()));
    }

    // Issue 14: the method combo factors conv2 by Tucker-2 or spatial SVD; the preview runs the decomposition.
    void tucker2AndSpatialFromTheMethodCombo() {
        LayerInspector inspector;
        QSignalSpy updated(&inspector, &LayerInspector::previewUpdated);
        inspector.setLayer(layerOf(m_graph, "conv2"), Recipe{});
        QTRY_VERIFY(updated.count() >= 1);
        QVERIFY(inspector.rankMethodCombo()->isEnabled());
        pick(inspector.rankModeCombo(), 1);  // by rank (channel SVD)
        pick(inspector.rankMethodCombo(), 1);  // Tucker-2: a quarter of the output rank, the input rank in proportion
        const LowRankEntry& tucker = *inspector.recipe().layers.at("conv2").lowrank;
        QVERIFY(tucker.method == LowRankMethod::Tucker2);
        QCOMPARE(*tucker.rankOut, int64_t(12));  // 50 / 4
        QCOMPARE(*tucker.rankIn, int64_t(5));    // 12 / 50 of 20
        inspector.rankSlider()->setValue(25);
        QTRY_VERIFY(!inspector.isPreviewBusy() && inspector.preview().rank == 25);
        QCOMPARE(inspector.preview().rankIn, int64_t(10));
        QCOMPARE(inspector.readoutText("rank"), QStringLiteral("25 × 10"));
        QCOMPARE(inspector.preview().params, int64_t(10 * 20 + 25 * 10 * 25 + 50 * 25));
        QVERIFY(inspector.preview().lowRankError > 0.05);
        if (const QString dir = qEnvironmentVariable("LATHE_SCREENSHOT_DIR"); !dir.isEmpty()) {
            inspector.resize(1300, 720);
            inspector.show();
            QTest::qWait(200);
            inspector.grab().save(dir + "/inspector_tucker2.png");
        }

        pick(inspector.rankMethodCombo(), 2);  // spatial SVD
        QTRY_VERIFY(!inspector.isPreviewBusy() && inspector.settings().lowRankMethod == LowRankMethod::Spatial);
        QTRY_VERIFY(inspector.preview().rank == 25);  // a quarter of min(20·5, 50·5)
        QCOMPARE(inspector.preview().params, int64_t(25 * 20 * 5 + 50 * 25 * 5));

        // fc1 (Gemm) offers only the channel SVD.
        inspector.setLayer(layerOf(m_graph, "fc1"), Recipe{});
        auto* model = qobject_cast<QStandardItemModel*>(inspector.rankMethodCombo()->model());
        QVERIFY(model->item(0)->isEnabled());
        QVERIFY(!model->item(1)->isEnabled() && !model->item(2)->isEnabled());
    }

    void channelsKept() {
        LayerInspector inspector;
        QSignalSpy updated(&inspector, &LayerInspector::previewUpdated);
        inspector.setLayer(layerOf(m_graph, "conv2"), Recipe{});
        QTRY_VERIFY(updated.count() >= 1);
        QVERIFY(inspector.channelsCheck()->isEnabled());
        inspector.channelsCheck()->setChecked(true);
        inspector.channelsSpin()->setValue(20);
        QTRY_VERIFY(!inspector.isPreviewBusy() && inspector.preview().keptChannels == 20);
        QCOMPARE(inspector.preview().params, int64_t(20 * 20 * 5 * 5));

        // Gemm layers cannot lose channels: the control is off.
        inspector.setLayer(layerOf(m_graph, "fc2"), Recipe{});
        QVERIFY(!inspector.channelsCheck()->isEnabled());
    }

    void editsApplyToEveryTarget() {
        LayerInspector inspector;
        QSignalSpy edited(&inspector, &LayerInspector::layerEdited);
        inspector.setLayer(layerOf(m_graph, "fc1"), Recipe{});
        inspector.setTargetLayers({"fc2", "conv2"});
        pick(inspector.bitsCombo(), inspector.bitsCombo()->findData(8));
        QCOMPARE(edited.count(), 1);
        QCOMPARE(edited.last().at(0).toStringList(), (QStringList{"fc1", "fc2", "conv2"}));
        for (const char* layer : {"fc1", "fc2", "conv2"}) QCOMPARE(*inspector.recipe().layers.at(layer).quant->bits, 8);
        QVERIFY(!inspector.recipe().layers.count("conv1"));
    }

    void recipeFromOutsideRefreshesControls() {
        LayerInspector inspector;
        QSignalSpy edited(&inspector, &LayerInspector::layerEdited);
        inspector.setLayer(layerOf(m_graph, "fc1"), Recipe{});
        Recipe r;
        r.defaults.quant.emplace();
        r.defaults.quant->bits = 6;
        r.globalPruneSparsity = 0.5;
        inspector.setGlobalThreshold(0.01);
        inspector.setRecipe(r);
        QCOMPARE(inspector.bitsCombo()->currentData().toInt(), 6);
        QCOMPARE(inspector.pruneModeCombo()->currentIndex(), 3);  // global
        QVERIFY(inspector.globalCheck()->isChecked());
        QTRY_VERIFY(!inspector.isPreviewBusy() && inspector.shadedRange() &&
                    std::abs(inspector.shadedRange()->second - 0.01) < 1e-9);
        QCOMPARE(edited.count(), 0);
    }

    // Prints what one preview costs on a 4M-weight layer (the slider budget is 50 ms); not a timed assertion.
    void previewTimeOfLargeLayer() {
        auto tensor = std::make_shared<Tensor>();
        tensor->name = "big.weight";
        tensor->shape = {2048, 2048};
        tensor->data.resize(size_t(tensor->numel()));
        std::mt19937 rng(7);
        std::normal_distribution<float> normal(0.f, 0.05f);
        for (float& x : tensor->data) x = normal(rng);
        InspectorLayer layer;
        layer.name = "big";
        layer.opType = "Gemm";
        layer.weight = tensor;
        layer.channels = 2048;
        withCoreComputations(layer);
        LayerInspector inspector;
        QSignalSpy updated(&inspector, &LayerInspector::previewUpdated);
        inspector.setLayer(layer, Recipe{});
        QTRY_VERIFY_WITH_TIMEOUT(updated.count() >= 1, 20000);
        pick(inspector.pruneModeCombo(), 1);
        pick(inspector.bitsCombo(), inspector.bitsCombo()->findData(8));
        QTRY_VERIFY_WITH_TIMEOUT(!inspector.isPreviewBusy(), 20000);
        std::vector<double> ms;
        for (int v = 100; v <= 900; v += 100) {
            updated.clear();
            QElapsedTimer timer;
            timer.start();
            inspector.pruneSlider()->setValue(v);
            QTRY_VERIFY_WITH_TIMEOUT(updated.count() >= 1 && !inspector.isPreviewBusy(), 20000);
            ms.push_back(inspector.lastPreviewMs());
            qInfo("4M weights, sparsity %.1f + int8: preview %.1f ms (edit to shown: %lld ms)", v / 1000.0,
                  inspector.lastPreviewMs(), static_cast<long long>(timer.elapsed()));
        }
        std::sort(ms.begin(), ms.end());
        qInfo("4M weights: median preview %.1f ms against the 50 ms budget", ms[ms.size() / 2]);
    }

private:
    std::shared_ptr<const Graph> m_graph;
};

QTEST_MAIN(TestLayerInspector)
#include "test_layer_inspector.moc"
