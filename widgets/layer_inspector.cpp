#include "widgets/layer_inspector.h"

#include <qcustomplot.h>

#include <QCheckBox>
#include <QComboBox>
#include <QDoubleSpinBox>
#include <QFrame>
#include <QGridLayout>
#include <QHBoxLayout>
#include <QLabel>
#include <QPushButton>
#include <QScrollArea>
#include <QScrollBar>
#include <QSlider>
#include <QSpinBox>
#include <QSplitter>
#include <QStackedWidget>
#include <QStandardItemModel>
#include <QVBoxLayout>
#include <QtConcurrent/QtConcurrentRun>
#include <algorithm>
#include <chrono>
#include <cmath>
#include <tuple>

#include "widgets/background_pool.h"
#include "widgets/display_format.h"
#include "widgets/layer_inspector_parts.h"
#include "widgets/plot_export.h"
#include "widgets/workbench_style.h"

namespace lathe {

using namespace inspector;

namespace {

constexpr int kSparsitySliderMax = 990;  // 99.0 %
constexpr int kThresholdSliderMax = 1000;
constexpr int kEnergySliderMin = 100;  // 10 %
constexpr int kEnergySliderMax = 1000;

enum PruneMode { PruneOff = 0, PruneSparsity, PruneThreshold, PruneGlobal };
enum RankMode { RankOff = 0, RankByRank, RankByEnergy };
// Items of the method combo, in LowRankMethod order.
constexpr LowRankMethod kMethods[] = {LowRankMethod::Channel, LowRankMethod::Tucker2, LowRankMethod::Spatial};

QString qs(const std::string& s) { return QString::fromStdString(s); }

QFrame* makeTile(const QString& caption, QLabel** value, QWidget* parent) {
    auto* tile = new QFrame(parent);
    tile->setObjectName(QStringLiteral("readoutTile"));
    tile->setStyleSheet(QStringLiteral("#readoutTile { background:#f6f7f9; border:1px solid #e0e3e7; border-radius:4px; }"));
    auto* layout = new QVBoxLayout(tile);
    layout->setContentsMargins(8, 4, 8, 5);
    layout->setSpacing(0);
    auto* name = new QLabel(caption, tile);
    name->setStyleSheet(QStringLiteral("color:#80868b; font-size:8pt;"));
    *value = new QLabel(QStringLiteral("–"), tile);
    (*value)->setStyleSheet(QStringLiteral("color:#202124; font-weight:600;"));
    (*value)->setTextInteractionFlags(Qt::TextSelectableByMouse);
    // Narrow (the default window): "65.5 kB → 8.70 kB" takes two lines rather than widening the Compress dock.
    name->setWordWrap(true);
    (*value)->setWordWrap(true);
    layout->addWidget(name);
    layout->addWidget(*value);
    return tile;
}

QLabel* noteLabel(QWidget* parent) {
    auto* label = new QLabel(parent);
    label->setWordWrap(true);
    label->setStyleSheet(QStringLiteral("color:#80868b; font-size:8pt;"));
    return label;
}

void setItemEnabled(QComboBox* combo, int index, bool enabled) {
    auto* model = qobject_cast<QStandardItemModel*>(combo->model());
    if (!model) return;
    if (QStandardItem* item = model->item(index)) item->setEnabled(enabled);
}

}  // namespace

LayerEntry& recipeEntry(Recipe& recipe, const QString& nodeName, const QString& weightName) {
    const std::string node = nodeName.toStdString();
    if (!recipe.layers.count(node) && !weightName.isEmpty()) {
        auto it = recipe.layers.find(weightName.toStdString());
        if (it != recipe.layers.end()) return it->second;
    }
    return recipe.layers[node];
}

void normalizeRecipe(Recipe& recipe) {
    for (auto it = recipe.layers.begin(); it != recipe.layers.end();) {
        LayerEntry& e = it->second;
        if (e.prune && !e.prune->sparsity && !e.prune->threshold && !e.prune->keep && !e.prune->keepFraction)
            e.prune.reset();
        if (e.lowrank && !e.lowrank->requested()) e.lowrank.reset();
        if (e.quant && !e.quant->bits && !e.quant->granularity && !e.quant->symmetric && !e.quant->rounding &&
            !e.quant->seed)
            e.quant.reset();
        if (!e.prune && !e.lowrank && !e.quant)
            it = recipe.layers.erase(it);
        else
            ++it;
    }
}


LayerInspector::LayerInspector(QWidget* parent) : QWidget(parent) {
    qRegisterMetaType<lathe::LayerEdit>();
    buildUi();
    connectControls();
    connect(&m_previewWatcher, &QFutureWatcher<std::shared_ptr<PreviewResult>>::finished, this,
            &LayerInspector::onPreviewFinished);
    connect(&m_spectrumWatcher, &QFutureWatcher<std::shared_ptr<const std::vector<double>>>::finished, this, [this] {
        const QString name = m_spectrumPendingFor;
        m_spectrumPendingFor.clear();
        m_spectra[name] = m_spectrumWatcher.result();
        if (name != m_layer.name) return;
        drawSpectrum();
        schedulePreview();
        emit spectrumUpdated();
    });
}

LayerInspector::~LayerInspector() {
    m_previewWatcher.waitForFinished();
    m_spectrumWatcher.waitForFinished();
}

// ---------------------------------------------------------------------------------------------------------------------
// UI

void LayerInspector::buildUi() {
    m_stack = new QStackedWidget(this);
    m_placeholder = new QLabel(tr("Select a Conv, Gemm or MatMul layer to set how it is pruned, quantized and "
                                  "decomposed, with a live preview of the effect on its weights."),
                               this);
    m_placeholder->setAlignment(Qt::AlignCenter);
    m_placeholder->setWordWrap(true);
    m_placeholder->setStyleSheet(QStringLiteral("color:#80868b; padding:24px;"));
    m_stack->addWidget(m_placeholder);

    auto* content = new QWidget(this);
    auto* contentLayout = new QVBoxLayout(content);
    contentLayout->setContentsMargins(0, 0, 0, 0);
    contentLayout->setSpacing(6);

    auto* header = new QHBoxLayout;
    m_title = new QLabel(content);
    QFont titleFont = m_title->font();
    titleFont.setPointSizeF(titleFont.pointSizeF() * 1.2);
    titleFont.setBold(true);
    m_title->setFont(titleFont);
    m_subtitle = new QLabel(content);
    m_subtitle->setStyleSheet(QStringLiteral("color:#5f6368;"));
    m_targetsNote = new QLabel(content);
    m_targetsNote->setStyleSheet(
        QStringLiteral("color:#1a4d8f; background:#e8f0fa; border-radius:3px; padding:1px 6px; font-size:8pt;"));
    m_reset = new QPushButton(tr("Reset layer"), content);
    m_reset->setToolTip(tr("Remove this layer's own settings so that it follows the model defaults again"));
    m_timing = new QLabel(content);
    m_timing->setStyleSheet(QStringLiteral("color:#9aa0a6; font-size:8pt;"));
    m_timing->setToolTip(tr("Time of the last preview (previewLayer and the after histogram)"));
    header->addWidget(m_title);
    header->addSpacing(8);
    header->addWidget(m_subtitle);
    header->addSpacing(8);
    header->addWidget(m_targetsNote);
    header->addStretch(1);
    header->addWidget(m_timing);
    header->addSpacing(8);
    header->addWidget(m_reset);
    contentLayout->addLayout(header);

    auto* splitter = new QSplitter(Qt::Horizontal, content);
    splitter->setChildrenCollapsible(false);
    auto* scroll = new QScrollArea(splitter);
    scroll->setWidgetResizable(true);
    scroll->setFrameShape(QFrame::NoFrame);
    scroll->setHorizontalScrollBarPolicy(Qt::ScrollBarAlwaysOff);
    QWidget* controls = buildControls();
    scroll->setWidget(controls);
    scroll->setMinimumWidth(controls->minimumSizeHint().width() + scroll->verticalScrollBar()->sizeHint().width());
    splitter->addWidget(scroll);
    QWidget* plots = buildPlots();
    // Wide enough for the plots' titles; the readout tiles wrap their words below that instead of widening the dock.
    plots->setMinimumWidth(420);
    splitter->addWidget(plots);
    splitter->setStretchFactor(0, 0);
    splitter->setStretchFactor(1, 1);
    splitter->setSizes({330, 800});
    contentLayout->addWidget(splitter, 1);
    m_stack->addWidget(content);

    auto* layout = new QVBoxLayout(this);
    layout->setContentsMargins(6, 6, 6, 6);
    layout->addWidget(m_stack);
    m_stack->setCurrentIndex(0);
}

QWidget* LayerInspector::buildControls() {
    auto* panel = new QWidget(this);
    auto* v = new QVBoxLayout(panel);
    v->setContentsMargins(0, 0, 8, 0);
    v->setSpacing(4);
    auto grid = [panel] {
        auto* g = new QGridLayout;
        g->setHorizontalSpacing(6);
        g->setVerticalSpacing(4);
        g->setColumnStretch(1, 1);
        return g;
    };
    auto caption = [panel](const QString& text) {
        auto* l = new QLabel(text, panel);
        l->setStyleSheet(QStringLiteral("color:#3c4043;"));
        return l;
    };

    // Pruning.
    v->addWidget(style::sectionLabel(tr("Pruning"), panel));
    auto* prune = grid();
    m_pruneMode = new QComboBox(panel);
    m_pruneMode->addItems({tr("Off"), tr("By sparsity"), tr("By threshold"), tr("Global (whole model)")});
    m_pruneMode->setToolTip(tr("Unstructured magnitude pruning: set a target fraction of zero weights, or a magnitude "
                               "below which weights become zero; Global joins the whole-model sparsity"));
    m_pruneSlider = new QSlider(Qt::Horizontal, panel);
    m_pruneSlider->setObjectName(QStringLiteral("pruneSlider"));
    m_pruneSpin = new QDoubleSpinBox(panel);
    m_pruneSpin->setObjectName(QStringLiteral("pruneSpin"));
    m_pruneSpin->setKeyboardTracking(false);
    m_pruneSpin->setMinimumWidth(86);
    m_pruneNote = noteLabel(panel);
    prune->addWidget(caption(tr("Weights")), 0, 0);
    prune->addWidget(m_pruneMode, 0, 1, 1, 2);
    prune->addWidget(m_pruneSlider, 1, 0, 1, 2);
    prune->addWidget(m_pruneSpin, 1, 2);
    prune->addWidget(m_pruneNote, 2, 0, 1, 3);
    m_channelsCheck = new QCheckBox(tr("Remove output channels"), panel);
    m_channelsCheck->setToolTip(tr("Structured pruning: keeps the channels with the largest L1 norm, summed over every "
                                   "layer that makes them (a residual Add, a depthwise conv or a Concat joins layers "
                                   "into one channel group), and physically removes the others from all of them"));
    m_channelsSlider = new QSlider(Qt::Horizontal, panel);
    m_channelsSlider->setObjectName(QStringLiteral("channelsSlider"));
    m_channelsSpin = new QSpinBox(panel);
    m_channelsSpin->setKeyboardTracking(false);
    m_channelsSpin->setMinimumWidth(86);
    m_channelsNote = noteLabel(panel);
    prune->addWidget(m_channelsCheck, 3, 0, 1, 3);
    prune->addWidget(m_channelsSlider, 4, 0, 1, 2);
    prune->addWidget(m_channelsSpin, 4, 2);
    prune->addWidget(m_channelsNote, 5, 0, 1, 3);
    v->addLayout(prune);

    // Quantization.
    v->addSpacing(6);
    v->addWidget(style::sectionLabel(tr("Quantization"), panel));
    auto* quant = grid();
    m_bits = new QComboBox(panel);
    m_bits->addItem(tr("Float 32"), 32);
    for (int b = 8; b >= 2; --b) m_bits->addItem(tr("%1 bits").arg(b), b);
    m_bits->setToolTip(tr("Bits per weight; with k-means, 2^bits shared values"));
    m_symmetry = new QComboBox(panel);
    m_symmetry->addItems({tr("Symmetric"), tr("Asymmetric")});
    m_symmetry->setToolTip(tr("Symmetric: range ±max|w|, zero point 0; asymmetric: [min, max] with an integer zero "
                              "point"));
    m_granularity = new QComboBox(panel);
    m_granularity->addItems({tr("Per tensor"), tr("Per channel")});
    m_granularity->setToolTip(tr("One scale for the whole weight, or one per output channel"));
    m_rounding = new QComboBox(panel);
    m_rounding->addItems({tr("Nearest"), tr("Stochastic"), tr("K-means (shared)")});
    m_rounding->setToolTip(tr("Round to the nearest level, round stochastically inside the range, or share 2^bits "
                              "values found by k-means (Deep Compression)"));
    m_quantNote = noteLabel(panel);
    quant->addWidget(caption(tr("Bits")), 0, 0);
    quant->addWidget(m_bits, 0, 1);
    quant->addWidget(caption(tr("Rounding")), 1, 0);
    quant->addWidget(m_rounding, 1, 1);
    quant->addWidget(caption(tr("Range")), 2, 0);
    quant->addWidget(m_symmetry, 2, 1);
    quant->addWidget(caption(tr("Scales")), 3, 0);
    quant->addWidget(m_granularity, 3, 1);
    quant->addWidget(m_quantNote, 4, 0, 1, 2);
    v->addLayout(quant);

    // Decomposition.
    v->addSpacing(6);
    v->addWidget(style::sectionLabel(tr("Low-rank decomposition"), panel));
    auto* rank = grid();
    m_rankMode = new QComboBox(panel);
    m_rankMode->addItems({tr("Off"), tr("By rank"), tr("By energy kept")});
    m_rankMode->setToolTip(tr("Truncated SVD into two smaller layers: choose the rank, or the fraction of spectral "
                              "energy to keep"));
    m_rankSlider = new QSlider(Qt::Horizontal, panel);
    m_rankSlider->setObjectName(QStringLiteral("rankSlider"));
    m_rankSpin = new QDoubleSpinBox(panel);
    m_rankSpin->setKeyboardTracking(false);
    m_rankSpin->setMinimumWidth(86);
    m_rankNote = noteLabel(panel);
    m_rankMethod = new QComboBox(panel);
    m_rankMethod->addItems({tr("Channel SVD"), tr("Tucker-2"), tr("Spatial SVD")});
    m_rankMethod->setItemData(0, tr("The weight matrix by SVD: two layers of r filters (a k×k conv then a 1×1)"),
                              Qt::ToolTipRole);
    m_rankMethod->setItemData(1, tr("Tucker-2 (Kim et al. 2016): 1×1 to fewer channels, a k×k core, 1×1 back; the "
                                    "slider sets the output rank, the input rank follows in proportion"),
                              Qt::ToolTipRole);
    m_rankMethod->setItemData(2, tr("Spatial SVD (Jaderberg et al. 2014): a k×1 conv to r channels, then 1×k"),
                              Qt::ToolTipRole);
    m_rankMethod->setToolTip(tr("How the layer is factored"));
    rank->addWidget(caption(tr("Method")), 0, 0);
    rank->addWidget(m_rankMethod, 0, 1, 1, 2);
    rank->addWidget(caption(tr("Mode")), 1, 0);
    rank->addWidget(m_rankMode, 1, 1, 1, 2);
    rank->addWidget(m_rankSlider, 2, 0, 1, 2);
    rank->addWidget(m_rankSpin, 2, 2);
    rank->addWidget(m_rankNote, 3, 0, 1, 3);
    v->addLayout(rank);

    // Whole model.
    v->addSpacing(10);
    auto* line = new QFrame(panel);
    line->setFrameShape(QFrame::HLine);
    line->setStyleSheet(QStringLiteral("color:#e0e3e7;"));
    v->addWidget(line);
    v->addWidget(style::sectionLabel(tr("Whole model"), panel));
    auto* model = grid();
    m_globalCheck = new QCheckBox(tr("Global sparsity"), panel);
    m_globalCheck->setToolTip(tr("One magnitude threshold over all layers that have no pruning of their own, chosen "
                                 "so that this fraction of their weights becomes zero"));
    m_globalSpin = new QDoubleSpinBox(panel);
    m_globalSpin->setObjectName(QStringLiteral("globalSpin"));
    m_globalSpin->setRange(0, 99);
    m_globalSpin->setDecimals(1);
    m_globalSpin->setSingleStep(5);
    m_globalSpin->setSuffix(QStringLiteral(" %"));
    m_globalSpin->setValue(50);
    m_globalSpin->setKeyboardTracking(false);
    m_globalSpin->setEnabled(false);
    m_preset = new QComboBox(panel);
    // Short names that fit the panel; what each does is the item's tooltip.
    const QList<std::tuple<QString, RecipePreset, QString>> presets = {
        {tr("Float"), RecipePreset::Float, tr("No compression: every layer in float32")},
        {tr("int8 per channel"), RecipePreset::Int8, tr("int8 weights, one scale per output channel")},
        {tr("4-bit per channel"), RecipePreset::Int4Weights, tr("4-bit weights, one scale per output channel")},
        {tr("Deep Compression"), RecipePreset::DeepCompression,
         tr("Deep Compression (Han et al.): prune, retrain, share weights by k-means, retrain the centroids")}};
    for (const auto& [name, preset, tip] : presets) {
        m_preset->addItem(name, int(preset));
        m_preset->setItemData(m_preset->count() - 1, tip, Qt::ToolTipRole);
    }
    m_preset->setToolTip(tr("Replaces the whole recipe (undoable)"));
    m_applyPreset = new QPushButton(tr("Apply"), panel);
    m_applyPreset->setToolTip(tr("Replace the recipe of every layer by the preset (Edit ▸ Undo brings it back)"));
    model->addWidget(m_globalCheck, 0, 0);
    model->addWidget(m_globalSpin, 0, 1, 1, 2);
    model->addWidget(caption(tr("Preset")), 1, 0);
    model->addWidget(m_preset, 1, 1);
    model->addWidget(m_applyPreset, 1, 2);
    v->addLayout(model);
    v->addStretch(1);
    for (QComboBox* combo : panel->findChildren<QComboBox*>()) {
        combo->setSizeAdjustPolicy(QComboBox::AdjustToMinimumContentsLengthWithIcon);
        combo->setMinimumContentsLength(9);
    }
    m_preset->setMinimumContentsLength(17);  // "4-bit per channel", the longest preset name, shows whole
    return panel;
}

QWidget* LayerInspector::buildPlots() {
    auto* panel = new QWidget(this);
    auto* v = new QVBoxLayout(panel);
    v->setContentsMargins(4, 0, 0, 0);
    v->setSpacing(6);

    auto* tiles = new QHBoxLayout;
    tiles->setSpacing(6);
    const QList<QPair<QString, QString>> shown = {{"error", tr("Relative error")},
                                                  {"sqnr", tr("SQNR")},
                                                  {"sparsity", tr("Zeros")},
                                                  {"bytes", tr("Bits × weights")},
                                                  {"ratio", tr("Compression")}};
    for (const auto& [key, caption] : shown) {
        QLabel* value = nullptr;
        tiles->addWidget(makeTile(caption, &value, panel), 1);
        m_readouts[key] = value;
    }
    v->addLayout(tiles);

    m_histPlot = new QCustomPlot(panel);
    m_histPlot->setObjectName(QStringLiteral("inspectorHistogram"));
    m_histPlot->setMinimumHeight(240);
    setupHistogramPlot();
    v->addWidget(m_histPlot, 3);

    m_spectrumStack = new QStackedWidget(panel);
    m_spectrumNote = new QLabel(panel);
    m_spectrumNote->setAlignment(Qt::AlignCenter);
    m_spectrumNote->setWordWrap(true);
    m_spectrumNote->setStyleSheet(
        QStringLiteral("color:#80868b; background:#f6f7f9; border:1px dashed #d5d9de; border-radius:4px;"));
    m_spectrumPlot = new QCustomPlot(panel);
    m_spectrumPlot->setObjectName(QStringLiteral("inspectorSpectrum"));
    m_spectrumPlot->setMinimumHeight(150);
    setupSpectrumPlot();
    m_spectrumStack->addWidget(m_spectrumNote);
    m_spectrumStack->addWidget(m_spectrumPlot);
    v->addWidget(m_spectrumStack, 2);
    return panel;
}

void LayerInspector::connectControls() {
    // A finished drag or typed value closes the undo step.
    for (QSlider* s : {m_pruneSlider, m_channelsSlider, m_rankSlider})
        connect(s, &QSlider::sliderReleased, this, &LayerInspector::editFinished);
    for (QAbstractSpinBox* s : std::initializer_list<QAbstractSpinBox*>{m_pruneSpin, m_channelsSpin, m_rankSpin})
        connect(s, &QAbstractSpinBox::editingFinished, this, &LayerInspector::editFinished);

    connect(m_pruneMode, &QComboBox::activated, this, [this](int mode) {
        const LayerSettings s = settings();
        const double sparsityNow = m_preview.sparsity > 0 ? std::min(m_preview.sparsity, 0.99) : 0.5;
        const double thresholdNow = m_preview.threshold > 0 ? m_preview.threshold : 0.25 * maxMagnitude();
        switch (mode) {
            case PruneOff:
                edit(tr("no pruning"), {}, [](LayerEntry& e) {
                    if (!e.prune) e.prune.emplace();
                    e.prune->sparsity = 0.0;
                    e.prune->threshold.reset();
                });
                break;
            case PruneSparsity:
                edit(tr("prune by sparsity"), {}, [v = s.sparsity.value_or(sparsityNow)](LayerEntry& e) {
                    if (!e.prune) e.prune.emplace();
                    e.prune->sparsity = v > 0 ? v : 0.5;
                    e.prune->threshold.reset();
                });
                break;
            case PruneThreshold:
                edit(tr("prune by threshold"), {}, [thresholdNow](LayerEntry& e) {
                    if (!e.prune) e.prune.emplace();
                    e.prune->threshold = thresholdNow;
                    e.prune->sparsity.reset();
                });
                break;
            case PruneGlobal:
                edit(tr("join global pruning"), {}, [](LayerEntry& e) {
                    if (!e.prune) return;
                    e.prune->sparsity.reset();
                    e.prune->threshold.reset();
                });
                break;
        }
    });
    auto setPrune = [this](double value, const QString& key) {
        const int mode = m_pruneMode->currentIndex();
        if (mode == PruneSparsity) {
            edit(tr("sparsity %1").arg(percent(value)), key, [value](LayerEntry& e) {
                if (!e.prune) e.prune.emplace();
                e.prune->sparsity = value;
                e.prune->threshold.reset();
            });
        } else if (mode == PruneThreshold) {
            edit(tr("threshold %1").arg(formatReal(value)), key, [value](LayerEntry& e) {
                if (!e.prune) e.prune.emplace();
                e.prune->threshold = value;
                e.prune->sparsity.reset();
            });
        }
    };
    connect(m_pruneSlider, &QSlider::valueChanged, this, [this, setPrune](int v) {
        if (!m_syncing) setPrune(sliderToPrune(v), QStringLiteral("prune"));
    });
    connect(m_pruneSpin, &QDoubleSpinBox::valueChanged, this, [this, setPrune](double v) {
        if (m_syncing) return;
        setPrune(m_pruneMode->currentIndex() == PruneSparsity ? v / 100.0 : v, QStringLiteral("prune"));
    });

    connect(m_channelsCheck, &QCheckBox::toggled, this, [this](bool on) {
        if (m_syncing) return;
        if (on) {
            const int64_t keep = std::max<int64_t>(1, std::llround(0.75 * double(m_layer.channels)));
            edit(tr("keep %1 channels").arg(keep), {}, [keep](LayerEntry& e) {
                if (!e.prune) e.prune.emplace();
                e.prune->keep = keep;
                e.prune->keepFraction.reset();
            });
        } else {
            edit(tr("keep all channels"), {}, [](LayerEntry& e) {
                if (!e.prune) return;
                e.prune->keep.reset();
                e.prune->keepFraction.reset();
            });
        }
    });
    auto setKeep = [this](int keep) {
        if (m_syncing) return;
        edit(tr("keep %1 channels").arg(keep), QStringLiteral("keep"), [keep](LayerEntry& e) {
            if (!e.prune) e.prune.emplace();
            e.prune->keep = keep;
            e.prune->keepFraction.reset();
        });
    };
    connect(m_channelsSlider, &QSlider::valueChanged, this, setKeep);
    connect(m_channelsSpin, &QSpinBox::valueChanged, this, setKeep);

    connect(m_bits, &QComboBox::activated, this, [this](int index) {
        const int bits = m_bits->itemData(index).toInt();
        edit(bits == 32 ? tr("float weights") : tr("%1-bit weights").arg(bits), {}, [bits](LayerEntry& e) {
            if (!e.quant) e.quant.emplace();
            e.quant->bits = bits;
        });
    });
    connect(m_symmetry, &QComboBox::activated, this, [this](int index) {
        const bool symmetric = index == 0;
        edit(symmetric ? tr("symmetric range") : tr("asymmetric range"), {}, [symmetric](LayerEntry& e) {
            if (!e.quant) e.quant.emplace();
            e.quant->symmetric = symmetric;
        });
    });
    connect(m_granularity, &QComboBox::activated, this, [this](int index) {
        const Granularity g = index == 0 ? Granularity::PerTensor : Granularity::PerChannel;
        edit(index == 0 ? tr("per-tensor scale") : tr("per-channel scales"), {}, [g](LayerEntry& e) {
            if (!e.quant) e.quant.emplace();
            e.quant->granularity = g;
        });
    });
    connect(m_rounding, &QComboBox::activated, this, [this](int index) {
        const Rounding r = index == 0 ? Rounding::Nearest : index == 1 ? Rounding::Stochastic : Rounding::KMeans;
        edit(tr("%1 rounding").arg(qs(std::string(toString(r)))), {}, [r](LayerEntry& e) {
            if (!e.quant) e.quant.emplace();
            e.quant->rounding = r;
        });
    });

    connect(m_rankMode, &QComboBox::activated, this, [this](int mode) {
        const LowRankMethod method = settings().lowRankMethod;
        if (mode == RankOff) {
            edit(tr("no decomposition"), {}, [](LayerEntry& e) { e.lowrank.reset(); });
        } else if (mode == RankByRank) {
            const auto& sv = singularValues();
            const int64_t full = fullRankOf(method);
            // The channel SVD's default keeps 90 % of the energy, but never more weights than the layer has.
            const int64_t rows = m_layer.weight->shape.empty() ? 0 : m_layer.weight->shape[0];
            const int64_t cols = rows ? m_layer.weight->numel() / rows : 0;
            const int64_t saving = std::max<int64_t>(1, (rows * cols - 1) / std::max<int64_t>(1, rows + cols));
            const int64_t rank = method != LowRankMethod::Channel ? std::max<int64_t>(1, full / 4)
                                 : m_preview.rank > 0         ? std::min(m_preview.rank, saving)
                                 : sv.empty()                 ? std::min(std::max<int64_t>(1, full / 4), saving)
                                                              : std::min(rankForEnergy(sv, 0.9), saving);
            edit(tr("rank %1").arg(rank), {}, [this, method, rank](LayerEntry& e) { setRankOf(e, method, rank); });
        } else {
            edit(tr("energy 90 %"), {}, [method](LayerEntry& e) {
                e.lowrank.emplace();
                if (method != LowRankMethod::Channel) e.lowrank->method = method;
                e.lowrank->energy = 0.9;
            });
        }
    });
    connect(m_rankMethod, &QComboBox::activated, this, [this](int index) {
        const LowRankMethod method = kMethods[std::clamp(index, 0, 2)];
        const LayerSettings s = settings();
        const double energy = s.energy.value_or(0.9);
        const bool byEnergy = s.energy.has_value();
        const int64_t rank = std::max<int64_t>(1, fullRankOf(method) / 4);
        edit(tr("%1").arg(m_rankMethod->itemText(index)), {}, [this, method, byEnergy, energy, rank](LayerEntry& e) {
            if (byEnergy) {
                e.lowrank.emplace();
                if (method != LowRankMethod::Channel) e.lowrank->method = method;
                e.lowrank->energy = energy;
            } else {
                setRankOf(e, method, rank);
            }
        });
    });
    auto setRank = [this](double value) {
        const LowRankMethod method = settings().lowRankMethod;
        if (m_rankMode->currentIndex() == RankByRank) {
            const auto rank = int64_t(std::llround(value));
            edit(tr("rank %1").arg(rank), QStringLiteral("rank"),
                 [this, method, rank](LayerEntry& e) { setRankOf(e, method, rank); });
        } else if (m_rankMode->currentIndex() == RankByEnergy) {
            const double energy = std::clamp(value, 0.001, 1.0);
            edit(tr("energy %1").arg(percent(energy)), QStringLiteral("rank"), [energy, method](LayerEntry& e) {
                e.lowrank.emplace();
                if (method != LowRankMethod::Channel) e.lowrank->method = method;
                e.lowrank->energy = energy;
            });
        }
    };
    connect(m_rankSlider, &QSlider::valueChanged, this, [this, setRank](int v) {
        if (m_syncing) return;
        setRank(m_rankMode->currentIndex() == RankByEnergy ? v / 1000.0 : double(v));
    });
    connect(m_rankSpin, &QDoubleSpinBox::valueChanged, this, [this, setRank](double v) {
        if (m_syncing) return;
        setRank(m_rankMode->currentIndex() == RankByEnergy ? v / 100.0 : v);
    });

    connect(m_reset, &QPushButton::clicked, this, [this] {
        const QStringList targets = targetLayers();
        for (const QString& t : targets) {
            m_recipe.layers.erase(t.toStdString());
            if (t == m_layer.name && m_layer.weight) m_recipe.layers.erase(m_layer.weight->name);
        }
        syncControls();
        schedulePreview();
        emit resetRequested(targets);
    });

    auto emitGlobal = [this] {
        if (m_syncing) return;
        std::optional<double> sparsity;
        if (m_globalCheck->isChecked()) sparsity = m_globalSpin->value() / 100.0;
        m_globalSpin->setEnabled(m_globalCheck->isChecked());
        m_recipe.globalPruneSparsity = sparsity;
        emit globalSparsityEdited(sparsity);
    };
    connect(m_globalCheck, &QCheckBox::toggled, this, emitGlobal);
    connect(m_globalSpin, &QDoubleSpinBox::valueChanged, this, emitGlobal);
    connect(m_applyPreset, &QPushButton::clicked, this,
            [this] { emit presetRequested(RecipePreset(m_preset->currentData().toInt())); });
}

void LayerInspector::edit(const QString& what, const QString& key, std::function<void(LayerEntry&)> apply) {
    if (m_syncing || !hasLayer()) return;
    const QStringList targets = targetLayers();
    for (const QString& t : targets)
        apply(recipeEntry(m_recipe, t, t == m_layer.name ? QString::fromStdString(m_layer.weight->name) : QString()));
    normalizeRecipe(m_recipe);
    LayerEdit e;
    e.description = targets.size() == 1 ? QStringLiteral("%1: %2").arg(targets.front(), what)
                                        : tr("%1 layers: %2").arg(targets.size()).arg(what);
    e.mergeKey = key.isEmpty() ? QString() : key + QLatin1Char(':') + targets.join(QLatin1Char(','));
    e.apply = std::move(apply);
    syncControls();
    schedulePreview();
    emit layerEdited(targets, e);
}

// ---------------------------------------------------------------------------------------------------------------------
// State

void LayerInspector::setLayer(const InspectorLayer& layer, const Recipe& recipe) {
    const bool sameLayer = hasLayer() && layer.weight == m_layer.weight && layer.name == m_layer.name;
    m_layer = layer;
    m_recipe = recipe;
    m_globalThreshold.reset();
    if (!sameLayer) {
        m_targets.clear();
        m_beforeCounts.reset();
        m_preview = LayerPreview{};
        m_afterCounts.clear();
        ++m_generation;
    }
    if (!m_layer.weight) {
        clearLayer();
        return;
    }
    m_stack->setCurrentIndex(1);
    const Tensor& w = *m_layer.weight;
    m_title->setText(m_layer.name);
    m_subtitle->setText(tr("%1 · %2 · %3 weights").arg(m_layer.opType, formatShape(w.shape), formatCount(w.numel())));
    requestSpectrum();
    syncControls();
    drawSpectrum();
    schedulePreview();
}

void LayerInspector::clearLayer() {
    m_layer = InspectorLayer{};
    m_targets.clear();
    m_beforeCounts.reset();
    m_preview = LayerPreview{};
    ++m_generation;
    m_stack->setCurrentIndex(0);
}

void LayerInspector::setRecipe(const Recipe& recipe) {
    if (writeRecipe(recipe) == writeRecipe(m_recipe)) return;  // the inspector's own edit coming back
    m_recipe = recipe;
    if (!hasLayer()) return;
    syncControls();
    schedulePreview();
}

void LayerInspector::setTargetLayers(const QStringList& layers) {
    m_targets = layers;
    syncControls();
}

void LayerInspector::setGlobalThreshold(std::optional<double> threshold) {
    if (threshold == m_globalThreshold) return;
    m_globalThreshold = threshold;
    if (hasLayer() && settings().globalPrune) schedulePreview();
    if (hasLayer()) syncControls();
}

QStringList LayerInspector::targetLayers() const {
    QStringList out;
    if (hasLayer()) out << m_layer.name;
    for (const QString& t : m_targets)
        if (!out.contains(t)) out << t;
    return out;
}

LayerSettings LayerInspector::settings() const {
    if (!hasLayer()) return {};
    return resolveLayerSettings(m_recipe, m_layer.name.toStdString(), m_layer.weight->name);
}

const std::vector<double>& LayerInspector::singularValues() const {
    static const std::vector<double> none;
    auto it = m_spectra.find(m_layer.name);
    return it != m_spectra.end() && it->second ? *it->second : none;
}

QString LayerInspector::rankNoteText() const { return m_rankNote->text(); }

int64_t LayerInspector::fullRankOf(LowRankMethod method) const {
    switch (method) {
        case LowRankMethod::Tucker2:
            return m_layer.tucker2FullOut;
        case LowRankMethod::Spatial:
            return m_layer.spatialFullRank;
        case LowRankMethod::Channel:
            break;
    }
    return m_layer.fullRank;
}

void LayerInspector::setRankOf(LayerEntry& e, LowRankMethod method, int64_t rank) const {
    e.lowrank.emplace();
    if (method != LowRankMethod::Channel) e.lowrank->method = method;
    if (method == LowRankMethod::Tucker2) {
        // The input mode keeps the same share of its full rank as the output mode.
        const double share = double(rank) / double(std::max<int64_t>(1, m_layer.tucker2FullOut));
        e.lowrank->rankOut = rank;
        e.lowrank->rankIn = std::clamp<int64_t>(std::llround(share * double(m_layer.tucker2FullIn)), 1,
                                                std::max<int64_t>(1, m_layer.tucker2FullIn));
    } else {
        e.lowrank->rank = rank;
    }
}

double LayerInspector::maxMagnitude() const {
    return std::max(std::abs(m_histLo), std::abs(m_histHi));
}

double LayerInspector::sliderToPrune(int value) const {
    if (m_pruneMode->currentIndex() == PruneThreshold) {
        const double r = double(value) / kThresholdSliderMax;
        return r * r * maxMagnitude();  // quadratic: fine steps where most weights are
    }
    return double(value) / 1000.0;
}

int LayerInspector::pruneToSlider(double value) const {
    if (m_pruneMode->currentIndex() == PruneThreshold) {
        const double m = maxMagnitude();
        return m > 0 ? int(std::lround(std::sqrt(std::clamp(value / m, 0.0, 1.0)) * kThresholdSliderMax)) : 0;
    }
    return int(std::lround(value * 1000.0));
}

std::optional<double> LayerInspector::currentPruneValue(const LayerSettings& s) const {
    if (s.globalPrune) return m_globalThreshold;
    if (s.sparsity && *s.sparsity > 0) return s.sparsity;
    if (s.threshold && *s.threshold > 0) return s.threshold;
    return std::nullopt;
}

void LayerInspector::syncControls() {
    if (!hasLayer()) return;
    const QSignalBlocker b1(m_pruneSlider), b2(m_pruneSpin), b3(m_channelsSlider), b4(m_channelsSpin),
        b5(m_rankSlider), b6(m_rankSpin), b7(m_channelsCheck), b8(m_globalCheck), b9(m_globalSpin);
    m_syncing = true;
    const LayerSettings s = settings();
    const QStringList targets = targetLayers();
    m_targetsNote->setVisible(targets.size() > 1);
    m_targetsNote->setText(tr("Edits apply to %1 selected layers").arg(targets.size()));
    m_targetsNote->setToolTip(targets.join(QStringLiteral(", ")));
    const auto own = m_recipe.layers.find(m_layer.name.toStdString());
    const bool hasOwn = own != m_recipe.layers.end() ||
                        (m_layer.weight && m_recipe.layers.count(m_layer.weight->name));
    m_reset->setEnabled(hasOwn || targets.size() > 1);

    updatePruneControls(s);

    // Channels.
    const bool structured = m_layer.structuredApplies && m_layer.channels > 1;
    const bool channelsOn = structured && (s.keep || s.keepFraction);
    const int64_t keep = s.keep ? *s.keep
                         : s.keepFraction ? std::max<int64_t>(1, std::llround(*s.keepFraction * double(m_layer.channels)))
                                          : m_layer.channels;
    m_channelsCheck->setEnabled(structured);
    m_channelsCheck->setChecked(channelsOn);
    m_channelsSlider->setRange(1, int(std::max<int64_t>(1, m_layer.channels)));
    m_channelsSpin->setRange(1, int(std::max<int64_t>(1, m_layer.channels)));
    m_channelsSpin->setSuffix(QStringLiteral(" / %1").arg(m_layer.channels));
    m_channelsSlider->setValue(int(keep));
    m_channelsSpin->setValue(int(keep));
    m_channelsSlider->setEnabled(channelsOn);
    m_channelsSpin->setEnabled(channelsOn);
    m_channelsSlider->setVisible(structured);
    m_channelsSpin->setVisible(structured);
    QStringList lines;
    const QStringList others = m_layer.channelGroup.mid(1);
    if (!structured) lines << tr("Channels cannot be removed here: %1").arg(m_layer.structuredRefusal);
    if (structured && !others.isEmpty()) lines << tr("Removed together with: %1").arg(others.join(QStringLiteral(", ")));
    if (channelsOn && keep < m_layer.channels && m_layer.structuredSaving) {
        const ChannelSaving saved = m_layer.structuredSaving(keep);
        auto share = [](int64_t part, int64_t whole) { return whole > 0 ? percent(double(part) / double(whole), 0) : QString(); };
        lines << tr("Saves %1 MACs (%2 of the model) and %3 weights (%4)")
                     .arg(formatCompact(saved.macs), share(saved.macs, m_layer.modelMacs), formatCompact(saved.params),
                          share(saved.params, m_layer.modelParams));
    }
    m_channelsNote->setText(lines.join(QLatin1Char('\n')));
    m_channelsNote->setVisible(!lines.isEmpty());

    // Quantization.
    m_bits->setCurrentIndex(std::max(0, m_bits->findData(s.bits)));
    m_symmetry->setCurrentIndex(s.symmetric ? 0 : 1);
    m_granularity->setCurrentIndex(s.granularity == Granularity::PerChannel ? 1 : 0);
    m_rounding->setCurrentIndex(s.rounding == Rounding::Nearest ? 0 : s.rounding == Rounding::Stochastic ? 1 : 2);
    const bool quantized = s.quantized();
    const bool kmeans = s.rounding == Rounding::KMeans;
    m_rounding->setEnabled(quantized);
    m_symmetry->setEnabled(quantized && !kmeans);
    m_granularity->setEnabled(quantized && !kmeans);
    m_quantNote->setText(!quantized ? tr("Weights stay 32-bit floats.")
                         : kmeans   ? tr("%1 shared values fitted by k-means; zeros stay exact.").arg(1 << s.bits)
                                    : tr("%1 levels per %2.")
                                        .arg(s.symmetric ? (1 << s.bits) - 1 : (1 << s.bits))
                                        .arg(s.granularity == Granularity::PerChannel ? tr("channel") : tr("tensor")));

    // Low rank.
    const bool decomposable = m_layer.fullRank > 0 || m_layer.tucker2FullOut > 0 || m_layer.spatialFullRank > 0;
    const LowRankMethod method = s.lowRankMethod;
    const int methodIndex = int(std::find(std::begin(kMethods), std::end(kMethods), method) - std::begin(kMethods));
    for (int i = 0; i < 3; ++i) setItemEnabled(m_rankMethod, i, fullRankOf(kMethods[i]) > 0);
    m_rankMethod->setEnabled(decomposable);
    m_rankMethod->setCurrentIndex(methodIndex);
    const bool decomposed = s.rank || s.rankOut || s.energy;
    const int rankMode = !decomposable ? RankOff : s.energy ? RankByEnergy : decomposed ? RankByRank : RankOff;
    m_rankMode->setEnabled(decomposable);
    m_rankMode->setCurrentIndex(rankMode);
    if (rankMode == RankByEnergy) {
        m_rankSlider->setRange(kEnergySliderMin, kEnergySliderMax);
        m_rankSlider->setValue(int(std::lround(*s.energy * 1000)));
        m_rankSpin->setRange(kEnergySliderMin / 10.0, 100.0);
        m_rankSpin->setDecimals(1);
        m_rankSpin->setSingleStep(0.5);
        m_rankSpin->setSuffix(QStringLiteral(" %"));
        m_rankSpin->setValue(*s.energy * 100.0);
    } else {
        const int full = int(std::max<int64_t>(1, fullRankOf(method)));
        m_rankSlider->setRange(1, full);
        m_rankSpin->setRange(1, full);
        m_rankSpin->setDecimals(0);
        m_rankSpin->setSingleStep(1);
        m_rankSpin->setSuffix(QStringLiteral(" / %1").arg(full));
        const int64_t r = s.rank ? *s.rank : s.rankOut ? *s.rankOut : full;
        m_rankSlider->setValue(int(r));
        m_rankSpin->setValue(double(r));
    }
    m_rankSlider->setEnabled(rankMode != RankOff);
    m_rankSpin->setEnabled(rankMode != RankOff);
    m_rankSlider->setVisible(decomposable);
    m_rankSpin->setVisible(decomposable);
    QString rankNote;
    if (!decomposable)
        rankNote = tr("Decomposition applies to Gemm, MatMul and Conv (group 1).");
    else if (method == LowRankMethod::Tucker2 && s.rankIn)
        rankNote = tr("Input rank %1 of %2 (follows the output rank).").arg(*s.rankIn).arg(m_layer.tucker2FullIn);
    else if (method == LowRankMethod::Tucker2 && s.energy)
        rankNote = tr("The energy is kept in each mode (output and input channels).");
    else if (method == LowRankMethod::Channel && s.rank && m_layer.weight) {
        const int64_t rows = m_layer.weight->shape.empty() ? 0 : m_layer.weight->shape[0];
        const int64_t weights = m_layer.weight->numel();
        const int64_t factors = lowRankParams(rows, rows ? weights / rows : 0, *s.rank);
        if (factors >= weights)
            rankNote = tr("At rank %1 the two factors hold %2 of the layer's weights: a lower rank saves.")
                           .arg(*s.rank)
                           .arg(percent(double(factors) / double(std::max<int64_t>(1, weights)), 0));
    }
    m_rankNote->setText(rankNote);
    m_rankNote->setVisible(!rankNote.isEmpty());

    // Whole model.
    m_globalCheck->setChecked(m_recipe.globalPruneSparsity.has_value());
    m_globalSpin->setEnabled(m_recipe.globalPruneSparsity.has_value());
    if (m_recipe.globalPruneSparsity) m_globalSpin->setValue(*m_recipe.globalPruneSparsity * 100.0);
    m_syncing = false;
}

void LayerInspector::updatePruneControls(const LayerSettings& s) {
    const int mode = s.globalPrune                           ? PruneGlobal
                     : s.sparsity && *s.sparsity > 0         ? PruneSparsity
                     : s.threshold && *s.threshold > 0       ? PruneThreshold
                     : m_pruneMode->currentIndex() == PruneSparsity && s.sparsity ? PruneSparsity
                                                                                  : PruneOff;
    setItemEnabled(m_pruneMode, PruneGlobal, m_recipe.globalPruneSparsity.has_value());
    m_pruneMode->setCurrentIndex(mode);
    m_pruneSlider->setEnabled(mode == PruneSparsity || mode == PruneThreshold);
    m_pruneSpin->setEnabled(mode == PruneSparsity || mode == PruneThreshold);
    if (mode == PruneThreshold) {
        const double m = maxMagnitude();
        m_pruneSlider->setRange(0, kThresholdSliderMax);
        m_pruneSpin->setSuffix(QString());
        m_pruneSpin->setDecimals(m > 0 && m < 0.1 ? 5 : 4);
        m_pruneSpin->setRange(0, m > 0 ? m : 1.0);
        m_pruneSpin->setSingleStep(m > 0 ? m / 200.0 : 0.001);
        m_pruneSpin->setValue(s.threshold.value_or(0));
        m_pruneSlider->setValue(pruneToSlider(s.threshold.value_or(0)));
    } else {
        m_pruneSlider->setRange(0, kSparsitySliderMax);
        m_pruneSpin->setSuffix(QStringLiteral(" %"));
        m_pruneSpin->setDecimals(1);
        m_pruneSpin->setRange(0, kSparsitySliderMax / 10.0);
        m_pruneSpin->setSingleStep(1);
        const double sparsity = mode == PruneSparsity ? s.sparsity.value_or(0)
                                : mode == PruneGlobal  ? m_recipe.globalPruneSparsity.value_or(0)
                                                       : 0.0;
        m_pruneSpin->setValue(sparsity * 100.0);
        m_pruneSlider->setValue(pruneToSlider(sparsity));
    }
    QString note;
    if (mode == PruneGlobal)
        note = m_globalThreshold ? tr("Follows the whole-model sparsity of %1: |w| < %2 over all layers.")
                                       .arg(percent(m_recipe.globalPruneSparsity.value_or(0)), formatReal(*m_globalThreshold))
                                 : tr("Follows the whole-model sparsity of %1.")
                                       .arg(percent(m_recipe.globalPruneSparsity.value_or(0)));
    else if (mode == PruneThreshold)
        note = tr("Weights with |w| below the threshold become zero.");
    else if (mode == PruneSparsity)
        note = tr("The smallest-magnitude weights become zero until this fraction is reached.");
    m_pruneNote->setText(note);
    m_pruneNote->setVisible(!note.isEmpty());
}

// ---------------------------------------------------------------------------------------------------------------------
// Preview

void LayerInspector::schedulePreview() {
    if (!hasLayer()) return;
    ++m_generation;
    if (m_running) {
        m_pending = true;
        return;
    }
    startPreview();
}

void LayerInspector::startPreview() {
    m_running = true;
    m_pending = false;
    const LayerSettings s = settings();
    auto weight = m_layer.weight;
    auto preview = m_layer.preview;
    auto spectrum = m_spectra.count(m_layer.name) ? m_spectra[m_layer.name] : nullptr;
    auto before = m_beforeCounts;
    const double lo = m_histLo, hi = m_histHi;
    PreviewOptions options;
    options.channelAxis = m_layer.channelAxis;
    options.structured = m_layer.structuredApplies;
    if (s.globalPrune) options.globalThreshold = m_globalThreshold;
    options.keepValues = true;
    const int generation = m_generation;
    m_previewWatcher.setFuture(QtConcurrent::run(backgroundPool(), [=]() mutable {
        auto r = std::make_shared<PreviewResult>();
        r->generation = generation;
        r->weight = weight;
        const std::span<const float> w(weight->data);
        r->lo = lo;
        r->hi = hi;
        if (!before) {
            auto [mn, mx] = std::minmax_element(w.begin(), w.end());
            r->lo = w.empty() ? -1.0 : double(*mn);
            r->hi = w.empty() ? 1.0 : double(*mx);
            if (r->hi <= r->lo) r->hi = r->lo + 1e-6;
            auto counts = std::make_shared<std::vector<int64_t>>(size_t(kBins), 0);
            const double scale = kBins / (r->hi - r->lo);
            for (float x : w) ++(*counts)[size_t(std::clamp(int((double(x) - r->lo) * scale), 0, kBins - 1))];
            r->beforeCounts = counts;
        }
        const auto start = std::chrono::steady_clock::now();
        if (spectrum) options.singularValues = *spectrum;
        r->preview = preview(*weight, s, options);
        // After histogram, zeros counted apart; parallel like previewLayer itself.
        std::vector<int64_t> counts(size_t(kBins), 0);
        int64_t* c = counts.data();
        int64_t zeros = 0;
        const float* v = r->preview.values.data();
        const auto n = int64_t(r->preview.values.size());
        const double scale = kBins / (r->hi - r->lo), lo0 = r->lo;
#pragma omp parallel for reduction(+ : c[:kBins], zeros) schedule(static) if (n > (1 << 16))
        for (int64_t i = 0; i < n; ++i) {
            if (v[i] == 0.f) {
                ++zeros;
                continue;
            }
            ++c[std::clamp(int((double(v[i]) - lo0) * scale), 0, kBins - 1)];
        }
        r->afterCounts = std::move(counts);
        r->afterZeros = zeros;
        r->preview.values.clear();
        r->preview.values.shrink_to_fit();
        r->ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
        return r;
    }));
}

void LayerInspector::onPreviewFinished() {
    m_running = false;
    std::shared_ptr<PreviewResult> result = m_previewWatcher.result();
    // A result of the layer shown before (the layer changed while it ran) is dropped whole.
    const bool sameLayer = result && hasLayer() && result->weight == m_layer.weight;
    const bool newHistogram = sameLayer && result->beforeCounts;
    if (newHistogram) {
        m_beforeCounts = result->beforeCounts;
        m_histLo = result->lo;
        m_histHi = result->hi;
    }
    if (m_pending) {
        // Show the intermediate result too: the plot follows the slider instead of waiting for it to stop.
        if (sameLayer) showPreview(*result);
        startPreview();
        return;
    }
    if (!sameLayer || result->generation != m_generation) {
        if (hasLayer()) startPreview();
        return;
    }
    showPreview(*result);
    if (newHistogram) syncControls();  // the threshold range follows the weights' range
    emit previewUpdated();
}

void LayerInspector::showPreview(const PreviewResult& result) {
    m_preview = result.preview;
    m_afterCounts = result.afterCounts;
    m_afterZeros = result.afterZeros;
    m_lastPreviewMs = result.ms;
    m_timing->setText(tr("preview %1 ms").arg(result.ms, 0, 'f', result.ms < 10 ? 1 : 0));
    updateReadouts();
    drawHistograms(result);
    drawSpectrum();
}

void LayerInspector::setReadout(const QString& key, const QString& text, const QString& tone) {
    m_readoutText[key] = text;
    auto it = m_readouts.find(key);
    if (it == m_readouts.end()) return;
    it->second->setText(text);
    const QString color = tone == QLatin1String("bad")    ? QStringLiteral("#c5221f")
                          : tone == QLatin1String("good") ? QStringLiteral("#188038")
                                                          : QStringLiteral("#202124");
    it->second->setStyleSheet(QStringLiteral("color:%1; font-weight:600;").arg(color));
}

void LayerInspector::updateReadouts() {
    const LayerPreview& p = m_preview;
    const int64_t originalBytes = 4 * m_layer.weight->numel();
    const QString tone = p.relError > 0.2 ? QStringLiteral("bad") : QString();
    setReadout(QStringLiteral("error"), percent(p.relError, 2), tone);
    setReadout(QStringLiteral("sqnr"),
               std::isinf(p.sqnrDb) ? tr("exact") : QStringLiteral("%1 dB").arg(p.sqnrDb, 0, 'f', 1), tone);
    setReadout(QStringLiteral("sparsity"), percent(p.sparsity));
    setReadout(QStringLiteral("bytes"), tr("%1 → %2").arg(formatBytes(originalBytes), formatBytes(p.bytes)));
    setReadout(QStringLiteral("ratio"),
               p.bytes > 0 ? tr("%1× smaller").arg(double(originalBytes) / double(p.bytes), 0, 'f', 1) : QString(),
               p.bytes < originalBytes ? QStringLiteral("good") : QString());
    setReadout(QStringLiteral("params"), formatCount(p.params));
    setReadout(QStringLiteral("threshold"), p.threshold > 0 ? formatReal(p.threshold) : QString());
    m_readouts[QStringLiteral("bytes")]->setToolTip(
        tr("The layer's weights at their bits: bits × weights / 8, float32 before → after (not the ONNX file, which "
           "stores pruned zeros densely; the Variants list shows the file and its zlib size)"));
    m_readouts[QStringLiteral("error")]->setToolTip(
        p.rank ? tr("Pruning and quantization error on the weight; the rank cut adds %1 (see the spectrum)")
                     .arg(percent(p.lowRankError, 2))
               : tr("‖W − Ŵ‖ / ‖W‖ over the layer's weight"));
}

QString LayerInspector::readoutText(const QString& key) const {
    if (key == QLatin1String("rank")) return m_readoutTextRank;
    if (key == QLatin1String("energy")) return m_readoutTextEnergy;
    auto it = m_readoutText.find(key);
    return it != m_readoutText.end() ? it->second : QString();
}

}  // namespace lathe
