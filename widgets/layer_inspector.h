#pragma once

#include <QElapsedTimer>
#include <QFutureWatcher>
#include <QStringList>
#include <QWidget>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <vector>

#include "core/compress/layer_preview.h"
#include "core/compress/prune/channel_groups.h"  // ChannelSaving only
#include "core/compress/lowrank/svd_decompose.h"  // spectrum arithmetic only: rankForEnergy, truncationError
#include "core/compress/recipe.h"
#include "core/model/tensor.h"

class QCheckBox;
class QComboBox;
class QCustomPlot;
class QCPAxisRect;
class QCPBars;
class QCPGraph;
class QCPItemRect;
class QCPItemStraightLine;
class QCPItemText;
class QCPTextElement;
class QDoubleSpinBox;
class QLabel;
class QPushButton;
class QSlider;
class QSpinBox;
class QStackedWidget;

namespace lathe {

// One compressible layer as the inspector sees it (WorkbenchDocument::inspectorLayer makes it).
struct InspectorLayer {
    QString name;  // node name: the recipe key edits go to
    QString opType;
    std::shared_ptr<const Tensor> weight;  // the original weight
    int channelAxis = 0;                   // output-channel axis of the weight
    bool structuredApplies = false;        // its channel group can be pruned (channelsOfLayer)
    int64_t channels = 0;                  // output channels (its channel group's when structuredApplies)
    QStringList channelGroup;              // the layers that lose channels with it, itself first
    QString structuredRefusal;             // why its channels cannot be removed
    // What keeping `keep` of the group's channels saves (MACs per sample, weights), and the model's totals.
    std::function<ChannelSaving(int64_t keep)> structuredSaving;
    int64_t modelMacs = 0;
    int64_t modelParams = 0;
    int64_t fullRank = 0;                  // min(m, n) of the decomposed matrix; 0 when decomposition does not apply
    int64_t tucker2FullOut = 0;            // Tucker-2's largest ranks (output, input modes); 0: not applicable
    int64_t tucker2FullIn = 0;
    int64_t spatialFullRank = 0;           // spatial SVD's largest rank; 0: not applicable
    int64_t macs = 0;                      // per sample; 0 when unknown
    std::vector<int64_t> inputSpatial;     // a Conv's input and output H, W… (for the MACs of its factors)
    std::vector<int64_t> outputSpatial;
    // The computations behind the preview, run off the UI thread, so must be thread-safe. The document supplies
    // core's previewLayer and weightSingularValues: the widget runs no compression pass itself.
    std::function<LayerPreview(const Tensor&, const LayerSettings&, const PreviewOptions&)> preview;
    std::function<std::vector<double>(const Tensor&)> spectrum;
};

// One control's change, applied to the own recipe entry of every target layer.
struct LayerEdit {
    QString description;  // undo text, e.g. "conv2: sparsity 60.0 %"
    QString mergeKey;     // consecutive edits with the same non-empty key (one slider drag) form one undo step
    std::function<void(LayerEntry&)> apply;
};

// The own entry of layer `nodeName` in `recipe` (created when missing); an existing entry keyed by the layer's weight
// name `weightName` is used instead of adding a second one.
LayerEntry& recipeEntry(Recipe& recipe, const QString& nodeName, const QString& weightName = {});
// Drops unset sub-entries (prune/lowrank/quant with no field set) and layer entries left empty.
void normalizeRecipe(Recipe& recipe);

// Whole-model recipes offered as presets.
enum class RecipePreset { Float, Int8, Int4Weights, DeepCompression };

// Per-layer compression controls with a live preview: unstructured pruning (sparsity or threshold, slider + spin box),
// channels kept, bits (2–8 or float), symmetric/asymmetric, per-tensor/per-channel, nearest/stochastic/k-means,
// low rank (rank or energy kept); before/after weight histograms with the pruned region shaded and the quantization
// levels drawn, relative error, SQNR and bytes; the singular-value spectrum with the rank and energy kept; a
// whole-model strip (presets, global sparsity). previewLayer runs off the UI thread; while one preview runs, later
// edits coalesce into one more run, so the preview follows a dragged slider.
class LayerInspector : public QWidget {
    Q_OBJECT

public:
    explicit LayerInspector(QWidget* parent = nullptr);
    ~LayerInspector() override;

    // Shows `layer` with its settings resolved from `recipe`; edits target this layer only until setTargetLayers().
    void setLayer(const InspectorLayer& layer, const Recipe& recipe);
    // Shows the placeholder.
    void clearLayer();
    // The recipe changed elsewhere (undo, preset, another view): refreshes controls and preview without emitting.
    void setRecipe(const Recipe& recipe);
    // Layers (node names) an edit applies to, e.g. the layer table's selection; the shown layer is always included.
    void setTargetLayers(const QStringList& layers);
    // The global_prune magnitude cut over all layers (WorkbenchDocument::globalThreshold); nullopt when none.
    void setGlobalThreshold(std::optional<double> threshold);

    bool hasLayer() const { return m_layer.weight != nullptr; }
    const InspectorLayer& layer() const { return m_layer; }
    QStringList targetLayers() const;
    const Recipe& recipe() const { return m_recipe; }
    // Effective settings of the shown layer under the inspector's recipe.
    LayerSettings settings() const;
    // The last finished preview and the settings it was computed for.
    const LayerPreview& preview() const { return m_preview; }
    bool isPreviewBusy() const { return m_running; }
    // Wall time of the last preview (previewLayer + after histogram), in milliseconds.
    double lastPreviewMs() const { return m_lastPreviewMs; }
    // The shaded pruned interval [-t, t] of the before histogram; nullopt when nothing is pruned by magnitude.
    std::optional<std::pair<double, double>> shadedRange() const;
    // Quantization levels drawn over the before histogram (0 when float).
    int drawnLevelCount() const { return m_drawnLevels; }
    // Values counted by the after histogram (zeros excluded) and the zeros beside it.
    int64_t afterHistogramCount() const;
    // Text of a readout: "error", "sqnr", "sparsity", "params", "bytes", "ratio", "threshold", "rank", "energy".
    QString readoutText(const QString& key) const;
    // Singular values of the shown layer (empty until computed or when decomposition does not apply).
    const std::vector<double>& singularValues() const;

    // Controls, for tests and shortcuts.
    QComboBox* pruneModeCombo() const { return m_pruneMode; }
    QSlider* pruneSlider() const { return m_pruneSlider; }
    QDoubleSpinBox* pruneSpin() const { return m_pruneSpin; }
    QCheckBox* channelsCheck() const { return m_channelsCheck; }
    QSlider* channelsSlider() const { return m_channelsSlider; }
    QSpinBox* channelsSpin() const { return m_channelsSpin; }
    QComboBox* bitsCombo() const { return m_bits; }
    QComboBox* symmetryCombo() const { return m_symmetry; }
    QComboBox* granularityCombo() const { return m_granularity; }
    QComboBox* roundingCombo() const { return m_rounding; }
    QComboBox* rankModeCombo() const { return m_rankMode; }
    QComboBox* rankMethodCombo() const { return m_rankMethod; }
    QString rankNoteText() const;
    QSlider* rankSlider() const { return m_rankSlider; }
    QDoubleSpinBox* rankSpin() const { return m_rankSpin; }
    QCheckBox* globalCheck() const { return m_globalCheck; }
    QDoubleSpinBox* globalSpin() const { return m_globalSpin; }
    QComboBox* presetCombo() const { return m_preset; }
    QCustomPlot* histogramPlot() const { return m_histPlot; }
    QCustomPlot* spectrumPlot() const { return m_spectrumPlot; }

signals:
    // A control changed the targets' own recipe entries (the inspector already shows the result).
    void layerEdited(const QStringList& layers, const lathe::LayerEdit& edit);
    // A slider was released or a spin box finished editing: the next edit starts a new undo step.
    void editFinished();
    // "Reset layer": the targets' own entries should be removed (they inherit the defaults again).
    void resetRequested(const QStringList& layers);
    // The global sparsity box changed (nullopt: global pruning off); `dragging` while the value is being stepped.
    void globalSparsityEdited(std::optional<double> sparsity);
    // A preset was chosen in the whole-model strip.
    void presetRequested(lathe::RecipePreset preset);
    // A preview finished and the readouts and plots show it.
    void previewUpdated();
    // Singular values of the shown layer became available.
    void spectrumUpdated();

private:
    struct PreviewJob;
    struct PreviewResult;

    void buildUi();
    QWidget* buildControls();
    QWidget* buildPlots();
    void setupHistogramPlot();
    void setupSpectrumPlot();
    void connectControls();

    void edit(const QString& what, const QString& key, std::function<void(LayerEntry&)> apply);
    void syncControls();
    void updatePruneControls(const LayerSettings& s);
    void schedulePreview();
    void startPreview();
    void onPreviewFinished();
    void showPreview(const PreviewResult& result);
    void drawHistograms(const PreviewResult& result);
    void drawSpectrum();
    void requestSpectrum();
    void updateReadouts();
    void setReadout(const QString& key, const QString& text, const QString& tone = {});
    double maxMagnitude() const;
    // The largest rank of `method` on this layer (Tucker-2: the output mode's); 0 when it does not apply.
    int64_t fullRankOf(LowRankMethod method) const;
    // Sets `e` to factor by `method` at `rank` (Tucker-2: the input rank in proportion).
    void setRankOf(LayerEntry& e, LowRankMethod method, int64_t rank) const;
    double sliderToPrune(int value) const;
    int pruneToSlider(double value) const;
    std::optional<double> currentPruneValue(const LayerSettings& s) const;

    InspectorLayer m_layer;
    Recipe m_recipe;
    QStringList m_targets;
    std::optional<double> m_globalThreshold;
    bool m_syncing = false;

    // Preview state.
    LayerPreview m_preview;
    std::shared_ptr<const std::vector<int64_t>> m_beforeCounts;  // before histogram of the shown layer
    double m_histLo = 0, m_histHi = 0;
    std::vector<int64_t> m_afterCounts;
    int64_t m_afterZeros = 0;
    int m_drawnLevels = 0;
    bool m_running = false;
    bool m_pending = false;
    int m_generation = 0;
    double m_lastPreviewMs = 0;
    QFutureWatcher<std::shared_ptr<PreviewResult>> m_previewWatcher;

    // Spectrum cache per layer name.
    std::map<QString, std::shared_ptr<const std::vector<double>>> m_spectra;
    QFutureWatcher<std::shared_ptr<const std::vector<double>>> m_spectrumWatcher;
    QString m_spectrumPendingFor;

    // UI.
    QStackedWidget* m_stack;
    QLabel* m_placeholder;
    QLabel* m_title;
    QLabel* m_subtitle;
    QLabel* m_targetsNote;
    QPushButton* m_reset;
    QComboBox* m_pruneMode;
    QSlider* m_pruneSlider;
    QDoubleSpinBox* m_pruneSpin;
    QLabel* m_pruneNote;
    QCheckBox* m_channelsCheck;
    QSlider* m_channelsSlider;
    QSpinBox* m_channelsSpin;
    QLabel* m_channelsNote;
    QComboBox* m_bits;
    QComboBox* m_symmetry;
    QComboBox* m_granularity;
    QComboBox* m_rounding;
    QLabel* m_quantNote;
    QComboBox* m_rankMode;
    QComboBox* m_rankMethod;
    QSlider* m_rankSlider;
    QDoubleSpinBox* m_rankSpin;
    QLabel* m_rankNote;
    QCheckBox* m_globalCheck;
    QDoubleSpinBox* m_globalSpin;
    QComboBox* m_preset;
    QPushButton* m_applyPreset;
    std::map<QString, QLabel*> m_readouts;
    std::map<QString, QString> m_readoutText;
    QString m_readoutTextRank;
    QString m_readoutTextEnergy;
    QLabel* m_timing;

    QCustomPlot* m_histPlot;
    QCPAxisRect* m_beforeRect;
    QCPAxisRect* m_afterRect;
    QCPGraph* m_beforeBars;
    QCPGraph* m_afterBars;
    QCPItemRect* m_shade;
    QCPItemStraightLine* m_cutLo;
    QCPItemStraightLine* m_cutHi;
    QCPItemText* m_shadeLabel;
    QCPGraph* m_levels;
    QCPItemText* m_levelsLabel;
    QCPItemText* m_zerosLabel;

    QCustomPlot* m_spectrumPlot;
    QCPGraph* m_svKept;
    QCPGraph* m_svDropped;
    QCPGraph* m_energy;
    QCPItemStraightLine* m_rankLine;
    QCPTextElement* m_rankLabel;
    QLabel* m_spectrumNote;
    QStackedWidget* m_spectrumStack;
};

}  // namespace lathe

Q_DECLARE_METATYPE(lathe::LayerEdit)
