#include "widgets/compare_view.h"

#include <qcustomplot.h>

#include <algorithm>

#include <QCheckBox>
#include <QComboBox>
#include <QHBoxLayout>
#include <QHeaderView>
#include <QLabel>
#include <QSplitter>
#include <QTableWidget>
#include <QVBoxLayout>
#include <algorithm>
#include <cmath>

#include "widgets/display_format.h"
#include "widgets/plot_export.h"
#include "widgets/workbench_style.h"

namespace lathe {

namespace {

constexpr int kBins = 100;
const QStringList kSettings = {QStringLiteral("Pruning"),  QStringLiteral("Channels"), QStringLiteral("Rank"),
                               QStringLiteral("Quantization"), QStringLiteral("Zeros"), QStringLiteral("Rel. error"),
                               QStringLiteral("Bits × weights")};

QString settingText(const CompareLayer& l, int setting) {
    switch (setting) {
        case 0: return l.pruning;
        case 1: return l.channels;
        case 2: return l.rank;
        case 3: return l.quant;
        case 4: return QStringLiteral("%1 %").arg(l.sparsity * 100, 0, 'f', 1);
        case 5: return QStringLiteral("%1 %").arg(l.relError * 100, 0, 'f', 2);
        case 6: return formatBytes(l.bytes);
    }
    return {};
}

QCPColorGradient differenceGradient() {
    QCPColorGradient g;
    g.clearColorStops();
    g.setColorStopAt(0.0, QColor(0xb3470b));
    g.setColorStopAt(0.25, QColor(0xf4a261));
    g.setColorStopAt(0.5, QColor(0xffffff));
    g.setColorStopAt(0.75, QColor(0x86add9));
    g.setColorStopAt(1.0, QColor(0x1f4e8c));
    g.setColorInterpolation(QCPColorGradient::ciRGB);
    return g;
}

QTableWidgetItem* cell(const QString& text, Qt::Alignment align = Qt::AlignRight | Qt::AlignVCenter) {
    auto* item = new QTableWidgetItem(text);
    item->setFlags(Qt::ItemIsEnabled | Qt::ItemIsSelectable);
    item->setTextAlignment(align);
    return item;
}

void styleTable(QTableWidget* t) {
    t->verticalHeader()->setVisible(false);
    t->setEditTriggers(QAbstractItemView::NoEditTriggers);
    t->setSelectionMode(QAbstractItemView::NoSelection);
    t->setFocusPolicy(Qt::NoFocus);
    t->setShowGrid(false);
    t->setAlternatingRowColors(false);
    t->setWordWrap(false);
    t->horizontalHeader()->setHighlightSections(false);
    t->horizontalHeader()->setDefaultAlignment(Qt::AlignRight | Qt::AlignVCenter);
    t->horizontalHeader()->setMinimumSectionSize(60);
    t->verticalHeader()->setDefaultSectionSize(t->fontMetrics().height() + 8);
    t->setStyleSheet(QStringLiteral("QTableWidget { border:1px solid #e0e3e7; gridline-color:#eceef1; }"
                                    "QTableWidget::item { padding: 0 6px; border-bottom:1px solid #f1f3f4; }"));
}

QString signedText(double v, int decimals, const QString& unit) {
    const QString sign = v > 0 ? QStringLiteral("+") : v < 0 ? QStringLiteral("−") : QString();
    return QStringLiteral("%1%2%3").arg(sign).arg(std::abs(v), 0, 'f', decimals).arg(unit);
}

}  // namespace

CompareView::CompareView(QWidget* parent)
    : QWidget(parent),
      m_title(new QLabel(this)),
      m_metrics(new QTableWidget(this)),
      m_layers(new QTableWidget(this)),
      m_onlyDifferences(new QCheckBox(tr("Only differences"), this)),
      m_pairACombo(new QComboBox(this)),
      m_pairBCombo(new QComboBox(this)),
      m_confusionPlot(new QCustomPlot(this)),
      m_confusionMap(new QCPColorMap(m_confusionPlot->xAxis, m_confusionPlot->yAxis)),
      m_layerCombo(new QComboBox(this)),
      m_logCheck(new QCheckBox(tr("Log count"), this)),
      m_histPlot(new QCustomPlot(this)),
      m_histNote(new QLabel(this)),
      m_cvVerdict(new QLabel(this)) {
    m_cvVerdict->setWordWrap(true);
    m_cvVerdict->setTextInteractionFlags(Qt::TextSelectableByMouse);
    m_cvVerdict->setToolTip(tr("Whether the cross-validated intervals (mean ± std of top-1 over the folds) of two "
                               "variants overlap: when they do, the difference between them may be noise"));
    QFont titleFont = m_title->font();
    titleFont.setBold(true);
    titleFont.setPointSizeF(titleFont.pointSizeF() * 1.15);
    m_title->setFont(titleFont);
    styleTable(m_metrics);
    styleTable(m_layers);
    m_metrics->setObjectName(QStringLiteral("compareMetrics"));
    m_layers->setObjectName(QStringLiteral("compareLayers"));
    m_onlyDifferences->setObjectName(QStringLiteral("onlyDifferences"));
    m_onlyDifferences->setToolTip(tr("Hide the rows where every variant has the same value"));

    // Confusion difference.
    style::stylePlot(m_confusionPlot);
    m_confusionPlot->setObjectName(QStringLiteral("confusionDifference"));
    m_confusionPlot->setMinimumSize(260, 220);
    for (QCPAxis* axis : {m_confusionPlot->xAxis, m_confusionPlot->yAxis}) {
        axis->setBasePen(Qt::NoPen);
        axis->setTickPen(Qt::NoPen);
        axis->setSubTickPen(Qt::NoPen);
        axis->grid()->setVisible(false);
    }
    m_confusionPlot->xAxis->setLabel(tr("predicted class"));
    m_confusionPlot->yAxis->setLabel(tr("true class"));
    m_confusionPlot->yAxis->setRangeReversed(true);
    m_confusionPlot->xAxis->setTickLabelRotation(-40);
    m_confusionMap->setInterpolate(false);
    m_confusionMap->setGradient(differenceGradient());
    auto* scale = new QCPColorScale(m_confusionPlot);
    m_confusionPlot->plotLayout()->addElement(0, 1, scale);
    scale->setBarWidth(9);
    style::styleAxis(scale->axis(), font());
    scale->axis()->setLabel(tr("B − A (samples)"));
    m_confusionMap->setColorScale(scale);
    scale->setGradient(differenceGradient());  // the scale hands its gradient to the map
    auto* margins = new QCPMarginGroup(m_confusionPlot);
    m_confusionPlot->axisRect()->setMarginGroup(QCP::msBottom | QCP::msTop, margins);
    scale->setMarginGroup(QCP::msBottom | QCP::msTop, margins);
    installPlotContextMenu(m_confusionPlot, [] { return QStringLiteral("confusion_difference"); });
    m_confusionPlot->setToolTip(tr("Blue: the second variant has more samples in this cell; orange: fewer. On the "
                                   "diagonal blue is better, off it orange is better."));

    // Histogram overlay.
    style::stylePlot(m_histPlot);
    m_histPlot->setObjectName(QStringLiteral("compareHistogram"));
    m_histPlot->setMinimumSize(260, 200);
    m_histPlot->xAxis->setLabel(tr("weight value (zeros not drawn)"));
    m_histPlot->yAxis->setLabel(tr("count"));
    m_histPlot->yAxis->setNumberFormat(QStringLiteral("gb"));
    m_histPlot->legend->setVisible(true);
    QFont legendFont = font();
    legendFont.setPointSizeF(8);
    m_histPlot->legend->setFont(legendFont);
    m_histPlot->legend->setBorderPen(QPen(style::kPanelBorder));
    m_histPlot->legend->setBrush(QBrush(style::withAlpha(Qt::white, 230)));
    m_histPlot->axisRect()->insetLayout()->setInsetAlignment(0, Qt::AlignTop | Qt::AlignLeft);
    m_histPlot->setInteractions(QCP::iRangeDrag | QCP::iRangeZoom);
    m_histPlot->axisRect()->setRangeDrag(Qt::Horizontal);
    m_histPlot->axisRect()->setRangeZoom(Qt::Horizontal);
    installPlotContextMenu(m_histPlot, [this] { return QStringLiteral("compare_%1").arg(histogramLayer()); });
    m_histNote->setStyleSheet(QStringLiteral("color:#80868b; font-size:8pt;"));

    auto caption = [this](const QString& text) { return style::sectionLabel(text, this); };
    auto box = [](QWidget* parent, std::initializer_list<QWidget*> top, QWidget* main, QWidget* bottom = nullptr,
                  std::initializer_list<QWidget*> selectors = {}) {
        auto* w = new QWidget(parent);
        auto* v = new QVBoxLayout(w);
        v->setContentsMargins(0, 0, 0, 0);
        v->setSpacing(4);
        for (const auto& items : {top, selectors}) {
            if (items.size() == 0) continue;
            auto* h = new QHBoxLayout;
            h->setSpacing(6);
            for (QWidget* t : items) {
                if (t)
                    h->addWidget(t);
                else
                    h->addStretch(1);
            }
            v->addLayout(h);
        }
        v->addWidget(main, 1);
        if (bottom) v->addWidget(bottom);
        return w;
    };
    auto* vsLabel = new QLabel(tr("minus"), this);
    vsLabel->setStyleSheet(QStringLiteral("color:#5f6368;"));
    auto* layerLabel = new QLabel(tr("Layer"), this);
    layerLabel->setStyleSheet(QStringLiteral("color:#5f6368;"));
    QWidget* metricsBox = box(this, {caption(tr("Metrics")), nullptr}, m_metrics);
    QWidget* layersBox = box(this, {caption(tr("Per-layer settings")), nullptr, m_onlyDifferences}, m_layers);
    // The selectors on a row of their own under the caption, so that variant and layer names show whole.
    QWidget* confusionBox = box(this, {caption(tr("Confusion difference")), nullptr}, m_confusionPlot, nullptr,
                                {m_pairBCombo, vsLabel, m_pairACombo, nullptr});
    QWidget* histBox = box(this, {caption(tr("Weights overlaid")), nullptr, m_logCheck}, m_histPlot, m_histNote,
                           {layerLabel, m_layerCombo, nullptr});

    auto* top = new QSplitter(Qt::Horizontal, this);
    top->addWidget(metricsBox);
    top->addWidget(confusionBox);
    top->setStretchFactor(0, 3);
    top->setStretchFactor(1, 2);
    auto* bottom = new QSplitter(Qt::Horizontal, this);
    bottom->addWidget(layersBox);
    bottom->addWidget(histBox);
    bottom->setStretchFactor(0, 3);
    bottom->setStretchFactor(1, 2);
    auto* split = new QSplitter(Qt::Vertical, this);
    split->addWidget(top);
    split->addWidget(bottom);
    split->setStretchFactor(0, 2);
    split->setStretchFactor(1, 3);
    for (QSplitter* s : {top, bottom, split}) s->setChildrenCollapsible(false);

    auto* layout = new QVBoxLayout(this);
    layout->setContentsMargins(6, 6, 6, 6);
    layout->setSpacing(6);
    layout->addWidget(m_title);
    layout->addWidget(m_cvVerdict);
    layout->addWidget(split, 1);

    // The selectors show whole variant and layer names (they were as narrow as their empty first show).
    for (QComboBox* combo : {m_pairACombo, m_pairBCombo, m_layerCombo}) {
        combo->setSizeAdjustPolicy(QComboBox::AdjustToContents);
        combo->setMinimumContentsLength(6);
    }
    connect(m_onlyDifferences, &QCheckBox::toggled, this, [this] { fillLayers(); });
    connect(m_pairACombo, &QComboBox::activated, this, [this](int i) { setConfusionPair(i, m_pairB); });
    connect(m_pairBCombo, &QComboBox::activated, this, [this](int i) { setConfusionPair(m_pairA, i); });
    connect(m_layerCombo, &QComboBox::currentIndexChanged, this, [this] { drawHistograms(); });
    connect(m_logCheck, &QCheckBox::toggled, this, [this] { drawHistograms(); });
    clear();
}

void CompareView::clear() {
    setColumns({});
}

void CompareView::setColumns(std::vector<CompareColumn> columns, const QStringList& classNames,
                             LayerValuesProvider values) {
    m_columns = std::move(columns);
    m_classNames = classNames;
    m_values = std::move(values);
    m_pairA = 0;
    m_pairB = m_columns.size() > 1 ? 1 : 0;
    QStringList names;
    for (const CompareColumn& c : m_columns) names << c.name;
    m_title->setText(m_columns.size() < 2 ? tr("Select two or more evaluated variants and choose Compare")
                                          : tr("Comparing %1").arg(names.join(QStringLiteral("  ·  "))));
    for (QComboBox* combo : {m_pairACombo, m_pairBCombo}) {
        const QSignalBlocker block(combo);
        combo->clear();
        combo->addItems(names);
    }
    m_pairACombo->setCurrentIndex(m_pairA);
    m_pairBCombo->setCurrentIndex(m_pairB);
    {
        const QSignalBlocker block(m_layerCombo);
        const QString previous = m_layerCombo->currentText();
        m_layerCombo->clear();
        if (!m_columns.empty())
            for (const CompareLayer& l : m_columns.front().layers) m_layerCombo->addItem(l.name);
        const int keep = m_layerCombo->findText(previous);
        m_layerCombo->setCurrentIndex(keep >= 0 ? keep : 0);
    }
    fillMetrics();
    fillLayers();
    drawConfusion();
    drawHistograms();
}

void CompareView::fillMetrics() {
    struct Metric {
        QString name;
        std::function<double(const CompareColumn&)> value;
        std::function<QString(double)> format;
        int better;  // +1 higher is better, -1 lower is better, 0 neutral
        std::function<QString(double)> delta;
    };
    const auto pct = [](double v) { return QStringLiteral("%1 %").arg(v, 0, 'f', 2); };
    const auto pp = [](double d) { return signedText(d, 2, QStringLiteral(" pp")); };
    const auto rel = [](double ratio) { return QStringLiteral("×%1").arg(ratio, 0, 'f', 2); };
    const std::vector<Metric> metrics = {
        {tr("Top-1 accuracy"), [](auto& c) { return c.top1; }, pct, +1, pp},
        {tr("Top-5 accuracy"), [](auto& c) { return c.top5; }, pct, +1, pp},
        {tr("Macro F1"), [](auto& c) { return c.macroF1; }, [](double v) { return QString::number(v, 'f', 4); }, +1,
         [](double d) { return signedText(d, 4, QString()); }},
        {tr("ONNX file"), [](auto& c) { return double(c.onnxBytes); }, [](double v) { return formatBytes(int64_t(v)); },
         -1, {}},
        {tr("zlib of the ONNX file"), [](auto& c) { return double(c.zlibBytes); }, [](double v) { return formatBytes(int64_t(v)); },
         -1, {}},
        {tr("Weights at their bits (bits × count)"), [](auto& c) { return double(c.weightBytes); },
         [](double v) { return v > 0 ? formatBytes(int64_t(v)) : QStringLiteral("—"); }, -1, {}},
        {tr("Deep Compression count (sparse)"), [](auto& c) { return double(c.deepCompressionBytes); },
         [](double v) { return v > 0 ? formatBytes(int64_t(v)) : QStringLiteral("—"); }, -1, {}},
        {tr("Parameters"), [](auto& c) { return double(c.params); }, [](double v) { return formatCount(int64_t(v)); },
         -1, {}},
        {tr("MACs / sample"), [](auto& c) { return double(c.macs); }, [](double v) { return formatCompact(int64_t(v)); },
         -1, {}},
        {tr("Latency (batch 1)"), [](auto& c) { return c.latencyMs; },
         [](double v) { return v > 0 ? QStringLiteral("%1 ms").arg(v, 0, 'f', v < 1 ? 3 : 2) : QStringLiteral("–"); },
         -1, {}},
        {tr("Samples"), [](auto& c) { return double(c.samples); }, [](double v) { return formatCount(int64_t(v)); }, 0,
         {}},
    };
    m_metrics->clear();
    m_metrics->setColumnCount(int(m_columns.size()) + 1);
    m_metrics->setRowCount(m_columns.size() < 2 ? 0 : int(metrics.size()));
    QStringList headers{tr("Metric")};
    for (const CompareColumn& c : m_columns) headers << c.name;
    m_metrics->setHorizontalHeaderLabels(headers);
    m_metrics->horizontalHeaderItem(0)->setTextAlignment(Qt::AlignLeft | Qt::AlignVCenter);
    if (m_columns.size() < 2) return;
    for (int r = 0; r < int(metrics.size()); ++r) {
        const Metric& m = metrics[size_t(r)];
        m_metrics->setItem(r, 0, cell(m.name, Qt::AlignLeft | Qt::AlignVCenter));
        std::vector<double> values;
        for (const CompareColumn& c : m_columns) values.push_back(m.value(c));
        double best = values.front();
        for (double v : values)
            if ((m.better > 0 && v > best) || (m.better < 0 && v > 0 && (v < best || best <= 0))) best = v;
        const bool allSame = std::all_of(values.begin(), values.end(), [&](double v) { return v == values.front(); });
        for (int c = 0; c < int(values.size()); ++c) {
            QString text = m.format(values[size_t(c)]);
            if (c > 0 && m.better != 0 && values.front() != 0) {
                const QString d = m.delta ? m.delta(values[size_t(c)] - values.front())
                                          : rel(values[size_t(c)] / values.front());
                text += QStringLiteral("   ") + d;
            }
            QTableWidgetItem* item = cell(text);
            if (m.better != 0 && !allSame && values[size_t(c)] == best) {
                QFont f = item->font();
                f.setBold(true);
                item->setFont(f);
                item->setForeground(style::kGreen);
                item->setToolTip(tr("Best of the compared variants"));
            }
            m_metrics->setItem(r, c + 1, item);
        }
    }
    const bool trained = std::any_of(m_columns.begin(), m_columns.end(), [](auto& c) { return !c.lineage.isEmpty(); });
    if (trained) {
        const int r = m_metrics->rowCount();
        m_metrics->setRowCount(r + 1);
        m_metrics->setItem(r, 0, cell(tr("Trained"), Qt::AlignLeft | Qt::AlignVCenter));
        for (int c = 0; c < int(m_columns.size()); ++c) {
            const QString text = m_columns[size_t(c)].lineage.isEmpty() ? QStringLiteral("–") : m_columns[size_t(c)].lineage;
            QTableWidgetItem* item = cell(text);
            item->setToolTip(text);
            m_metrics->setItem(r, c + 1, item);
        }
    }
    fillCrossValidation();
    for (int c = 0; c < int(m_columns.size()); ++c)
        if (QTableWidgetItem* header = m_metrics->horizontalHeaderItem(c + 1))
            header->setToolTip(m_columns[size_t(c)].lineage);
    m_metrics->resizeColumnsToContents();
    m_metrics->horizontalHeader()->setSectionResizeMode(0, QHeaderView::ResizeToContents);
    for (int c = 1; c < m_metrics->columnCount(); ++c)
        m_metrics->horizontalHeader()->setSectionResizeMode(c, QHeaderView::Stretch);
}

void CompareView::fillCrossValidation() {
    std::vector<int> measured;
    for (int c = 0; c < int(m_columns.size()); ++c)
        if (m_columns[size_t(c)].crossValidation) measured.push_back(c);
    QStringList verdicts;
    for (size_t i = 0; i < measured.size(); ++i)
        for (size_t j = i + 1; j < measured.size(); ++j) {
            const CompareColumn& a = m_columns[size_t(measured[i])];
            const CompareColumn& b = m_columns[size_t(measured[j])];
            verdicts << crossValidationComparison(a.name, *a.crossValidation, b.name, *b.crossValidation);
        }
    m_cvVerdict->setText(verdicts.join(QLatin1Char('\n')));
    m_cvVerdict->setVisible(!verdicts.isEmpty());
    if (measured.empty() || m_columns.size() < 2) return;
    const int r = m_metrics->rowCount();
    m_metrics->setRowCount(r + 1);
    QTableWidgetItem* name = cell(tr("Cross-validated top-1"), Qt::AlignLeft | Qt::AlignVCenter);
    name->setToolTip(tr("Mean ± std over K stratified folds of the training data: the variant trained on the other "
                        "folds and measured on each held-out fold"));
    m_metrics->setItem(r, 0, name);
    for (int c = 0; c < int(m_columns.size()); ++c) {
        const auto& cv = m_columns[size_t(c)].crossValidation;
        QTableWidgetItem* item = cell(cv ? crossValidationText(*cv) : QStringLiteral("–"));
        if (cv)
            item->setToolTip(tr("macro-F1 %1 ± %2, %3 epoch(s) per fold")
                                 .arg(cv->meanF1, 0, 'f', 1)
                                 .arg(cv->stdF1, 0, 'f', 1)
                                 .arg(cv->epochs));
        else
            item->setToolTip(tr("Not cross-validated (Variants ▸ Cross-Validate)"));
        m_metrics->setItem(r, c + 1, item);
    }
}

void CompareView::fillLayers() {
    m_layers->clearSpans();
    m_layers->clear();
    m_layers->setColumnCount(int(m_columns.size()) + 2);
    QStringList headers{tr("Layer"), tr("Setting")};
    for (const CompareColumn& c : m_columns) headers << c.name;
    m_layers->setHorizontalHeaderLabels(headers);
    for (int c = 0; c < 2; ++c) m_layers->horizontalHeaderItem(c)->setTextAlignment(Qt::AlignLeft | Qt::AlignVCenter);
    m_layers->setRowCount(0);
    if (m_columns.size() < 2) return;
    const bool onlyDiff = m_onlyDifferences->isChecked();
    int row = 0;
    for (size_t li = 0; li < m_columns.front().layers.size(); ++li) {
        const CompareLayer& first = m_columns.front().layers[li];
        const int groupStart = row;
        for (int s = 0; s < kSettings.size(); ++s) {
            QStringList texts;
            for (const CompareColumn& c : m_columns) {
                auto it = std::find_if(c.layers.begin(), c.layers.end(),
                                       [&](const CompareLayer& l) { return l.name == first.name; });
                texts << (it != c.layers.end() ? settingText(*it, s) : QStringLiteral("–"));
            }
            const bool differs = std::any_of(texts.begin(), texts.end(), [&](auto& t) { return t != texts.front(); });
            if (onlyDiff && !differs) continue;
            m_layers->insertRow(row);
            m_layers->setItem(row, 0, cell(row == groupStart ? first.name : QString(), Qt::AlignLeft | Qt::AlignTop));
            if (row == groupStart) {
                QFont f = m_layers->font();
                f.setBold(true);
                m_layers->item(row, 0)->setFont(f);
                m_layers->item(row, 0)->setToolTip(first.opType);
            }
            QTableWidgetItem* name = cell(tr(kSettings[s].toUtf8().constData()), Qt::AlignLeft | Qt::AlignVCenter);
            name->setForeground(style::kTickText);
            name->setData(Qt::UserRole, kSettings[s]);
            name->setData(Qt::UserRole + 1, first.name);
            m_layers->setItem(row, 1, name);
            for (int c = 0; c < texts.size(); ++c) {
                QTableWidgetItem* item = cell(texts[c]);
                if (differs) {
                    item->setBackground(style::kHighlight);
                    QFont f = item->font();
                    f.setBold(s < 4);
                    item->setFont(f);
                    item->setData(Qt::UserRole, true);
                }
                m_layers->setItem(row, c + 2, item);
            }
            ++row;
        }
        if (row - groupStart > 1) m_layers->setSpan(groupStart, 0, row - groupStart, 1);
    }
    // The layer names sit in cells spanning their settings, which ResizeToContents skips: sized here, whole.
    QFont bold = m_layers->font();
    bold.setBold(true);
    int nameWidth = m_layers->horizontalHeader()->sectionSizeHint(0);
    for (const CompareLayer& l : m_columns.front().layers)
        nameWidth = std::max(nameWidth, QFontMetrics(bold).horizontalAdvance(l.name) + 20);
    m_layers->horizontalHeader()->setSectionResizeMode(0, QHeaderView::Interactive);
    m_layers->setColumnWidth(0, std::min(nameWidth, 360));
    m_layers->horizontalHeader()->setSectionResizeMode(1, QHeaderView::ResizeToContents);
    // Values whole too: the table scrolls sideways when the dock is narrow, instead of cutting "int8 sym per-channel".
    for (int c = 2; c < m_layers->columnCount(); ++c)
        m_layers->horizontalHeader()->setSectionResizeMode(c, QHeaderView::ResizeToContents);
    m_layers->horizontalHeader()->setStretchLastSection(true);
}

bool CompareView::isLayerCellHighlighted(int row, int variant) const {
    QTableWidgetItem* item = m_layers->item(row, variant + 2);
    return item && item->data(Qt::UserRole).toBool();
}

int CompareView::layerRow(const QString& layer, const QString& setting) const {
    for (int r = 0; r < m_layers->rowCount(); ++r) {
        QTableWidgetItem* item = m_layers->item(r, 1);
        if (item && item->data(Qt::UserRole).toString() == setting && item->data(Qt::UserRole + 1).toString() == layer)
            return r;
    }
    return -1;
}

void CompareView::setConfusionPair(int a, int b) {
    const int n = int(m_columns.size());
    if (a < 0 || b < 0 || a >= n || b >= n) return;
    m_pairA = a;
    m_pairB = b;
    m_pairACombo->setCurrentIndex(a);
    m_pairBCombo->setCurrentIndex(b);
    drawConfusion();
}

int64_t CompareView::confusionDifference(int truth, int predicted) const {
    if (truth < 0 || predicted < 0 || truth >= m_classes || predicted >= m_classes) return 0;
    return m_diff[size_t(truth * m_classes + predicted)];
}

void CompareView::drawConfusion() {
    for (int i = m_confusionPlot->itemCount() - 1; i >= 0; --i) m_confusionPlot->removeItem(i);
    m_diff.clear();
    m_classes = 0;
    if (m_columns.size() < 2) {
        m_confusionMap->data()->clear();
        m_confusionPlot->replot();
        return;
    }
    const ConfusionMatrix& a = m_columns[size_t(m_pairA)].confusion;
    const ConfusionMatrix& b = m_columns[size_t(m_pairB)].confusion;
    m_classes = std::min(a.numClasses(), b.numClasses());
    const int n = m_classes;
    m_diff.assign(size_t(n * n), 0);
    int64_t maxAbs = 1;
    for (int t = 0; t < n; ++t)
        for (int p = 0; p < n; ++p) {
            const int64_t d = b.count(t, p) - a.count(t, p);
            m_diff[size_t(t * n + p)] = d;
            maxAbs = std::max<int64_t>(maxAbs, std::abs(d));
        }
    m_confusionMap->data()->setSize(n, n);
    m_confusionMap->data()->setRange(QCPRange(0, n - 1), QCPRange(0, n - 1));
    QSharedPointer<QCPAxisTickerText> ticker(new QCPAxisTickerText);
    QFont cellFont = font();
    cellFont.setPointSizeF(n > 12 ? 6.5 : 7.5);
    for (int i = 0; i < n; ++i) ticker->addTick(i, i < m_classNames.size() ? m_classNames[i] : QString::number(i));
    for (int t = 0; t < n; ++t)
        for (int p = 0; p < n; ++p) {
            const int64_t d = m_diff[size_t(t * n + p)];
            m_confusionMap->data()->setCell(p, t, double(d));
            if (d == 0 || n > 30) continue;
            auto* text = new QCPItemText(m_confusionPlot);
            text->position->setCoords(p, t);
            text->setText(d > 0 ? QStringLiteral("+%1").arg(d) : QStringLiteral("−%1").arg(-d));
            text->setFont(cellFont);
            text->setColor(std::abs(double(d)) / double(maxAbs) > 0.55 ? Qt::white : style::kText);
            text->setSelectable(false);
        }
    if (std::all_of(m_diff.begin(), m_diff.end(), [](int64_t d) { return d == 0; })) {
        auto* same = new QCPItemText(m_confusionPlot);
        same->position->setCoords((n - 1) / 2.0, (n - 1) / 2.0);
        same->setText(tr("Identical confusion matrices:\nevery class count is the same"));
        same->setColor(style::kText);
        same->setSelectable(false);
    }
    m_confusionMap->setDataRange(QCPRange(-double(maxAbs), double(maxAbs)));
    m_confusionPlot->xAxis->setTicker(ticker);
    m_confusionPlot->yAxis->setTicker(ticker);
    m_confusionPlot->xAxis->setRange(-0.5, n - 0.5);
    m_confusionPlot->yAxis->setRange(-0.5, n - 0.5);
    m_confusionMap->colorScale()->axis()->setLabel(
        tr("%1 − %2").arg(m_columns[size_t(m_pairB)].name, m_columns[size_t(m_pairA)].name));
    m_confusionPlot->replot();
}

QString CompareView::histogramLayer() const { return m_layerCombo->currentText(); }

void CompareView::setHistogramLayer(const QString& layer) {
    const int i = m_layerCombo->findText(layer);
    if (i >= 0) m_layerCombo->setCurrentIndex(i);
}

int CompareView::histogramSeriesCount() const { return m_histPlot->graphCount(); }

QString CompareView::crossValidationVerdict() const { return m_cvVerdict->text(); }

void CompareView::drawHistograms() {
    m_histPlot->clearGraphs();
    m_histNote->clear();
    const QString layer = histogramLayer();
    if (m_columns.size() < 2 || layer.isEmpty() || !m_values) {
        m_histPlot->replot();
        return;
    }
    const auto values = m_values(layer);
    double lo = 0, hi = 0;
    bool any = false;
    for (const auto& v : values) {
        if (!v) continue;
        for (float x : *v) {
            if (x == 0.f) continue;
            if (!any) lo = hi = x;
            lo = std::min(lo, double(x));
            hi = std::max(hi, double(x));
            any = true;
        }
    }
    if (!any) {
        m_histPlot->replot();
        return;
    }
    if (hi <= lo) hi = lo + 1e-6;
    const double width = (hi - lo) / kBins;
    const bool log = m_logCheck->isChecked();
    double top = 1;
    QStringList zeros;
    for (size_t i = 0; i < values.size() && i < m_columns.size(); ++i) {
        if (!values[i]) continue;
        std::vector<double> counts(kBins, 0);
        int64_t zeroCount = 0;
        for (float x : *values[i]) {
            if (x == 0.f) {
                ++zeroCount;
                continue;
            }
            ++counts[size_t(std::clamp(int((double(x) - lo) / width), 0, kBins - 1))];
        }
        QVector<double> keys(kBins), ys(kBins);
        for (int b = 0; b < kBins; ++b) {
            keys[b] = lo + (b + 0.5) * width;
            ys[b] = log ? std::max(counts[size_t(b)], 0.5) : counts[size_t(b)];
            top = std::max(top, counts[size_t(b)]);
        }
        QCPGraph* g = m_histPlot->addGraph();
        const QColor color = style::seriesColor(int(i));
        g->setLineStyle(QCPGraph::lsStepCenter);
        g->setPen(QPen(color, 1.4));
        g->setBrush(style::withAlpha(color, 28));
        const double zeroFraction = values[i]->empty() ? 0 : double(zeroCount) / double(values[i]->size());
        g->setName(QStringLiteral("%1 (%2 % zeros)").arg(m_columns[i].name).arg(zeroFraction * 100, 0, 'f', 1));
        g->setData(keys, ys, true);
        zeros << QStringLiteral("%1: %2").arg(m_columns[i].name, formatCount(zeroCount));
    }
    m_histPlot->yAxis->setScaleType(log ? QCPAxis::stLogarithmic : QCPAxis::stLinear);
    if (log)
        m_histPlot->yAxis->setTicker(QSharedPointer<QCPAxisTickerLog>(new QCPAxisTickerLog));
    else
        m_histPlot->yAxis->setTicker(QSharedPointer<QCPAxisTicker>(new QCPAxisTicker));
    m_histPlot->yAxis->setRange(log ? 0.5 : 0, top * (log ? 3 : 1.12));
    const double pad = (hi - lo) * 0.03;
    m_histPlot->xAxis->setRange(lo - pad, hi + pad);
    m_histNote->setText(tr("Exact zeros per variant: %1").arg(zeros.join(QStringLiteral(" · "))));
    m_histPlot->replot();
}

}  // namespace lathe
