#pragma once

#include <QString>
#include <QStringList>
#include <QWidget>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <vector>

#include "core/eval/metrics.h"
#include "widgets/cross_validation_figure.h"

class QComboBox;
class QCheckBox;
class QCustomPlot;
class QCPColorMap;
class QLabel;
class QTableWidget;

namespace lathe {

// One layer of one variant as compared: its settings in words and what they did.
struct CompareLayer {
    QString name;
    QString opType;
    QString pruning;   // "60.0 % by sparsity", "|w| < 0.02", "global", "–"
    QString channels;  // "35 / 50" or "–"
    QString rank;      // "40 / 500" or "–"
    QString quant;     // "int8 sym per-channel", "5-bit k-means", "float32"
    double sparsity = 0;
    double relError = 0;
    int64_t bytes = 0;
};

// One variant as compared.
struct CompareColumn {
    QString id;
    QString name;
    bool baseline = false;
    double top1 = 0;  // percent
    double top5 = 0;
    double macroF1 = 0;  // fraction
    double latencyMs = 0;
    int64_t samples = 0;
    int64_t onnxBytes = 0;
    int64_t zlibBytes = 0;
    int64_t weightBytes = 0;  // the weights at their bit-widths: bits × weights / 8, no file format
    int64_t deepCompressionBytes = 0;  // sparse entries + codes + codebooks, as the Deep Compression paper counts
    int64_t params = 0;
    int64_t macs = 0;
    ConfusionMatrix confusion;
    std::vector<CompareLayer> layers;
    QString lineage;  // "fine-tuned from Variant 2, 2 epochs"; empty: not trained
    std::optional<CrossValidationFigure> crossValidation;  // measured by cross-validation
};

// Compressed weights of `layer` in each compared variant (same order as the columns); null entries are skipped.
using LayerValuesProvider = std::function<std::vector<std::shared_ptr<const std::vector<float>>>(const QString& layer)>;

// Two or more variants side by side: accuracy, F1, sizes, parameters, MACs and latency (best of each row marked,
// differences to the first column); every layer's settings with the cells that differ between variants highlighted;
// the difference of two variants' confusion matrices as a heat map; one layer's weight histogram in every variant,
// overlaid. Plots save as PNG/PDF/SVG from their context menu.
class CompareView : public QWidget {
    Q_OBJECT

public:
    explicit CompareView(QWidget* parent = nullptr);

    // Shows `columns` (two or more); `classNames` label the confusion matrices; `values` feeds the histogram overlay.
    void setColumns(std::vector<CompareColumn> columns, const QStringList& classNames = {},
                    LayerValuesProvider values = {});
    void clear();
    const std::vector<CompareColumn>& columns() const { return m_columns; }

    // The confusion difference shows columns[b] − columns[a].
    void setConfusionPair(int a, int b);
    std::pair<int, int> confusionPair() const { return {m_pairA, m_pairB}; }
    // Difference in cell (truth, predicted) of the shown pair.
    int64_t confusionDifference(int truth, int predicted) const;
    // The layer whose histograms are overlaid.
    void setHistogramLayer(const QString& layer);
    QString histogramLayer() const;
    // Series drawn in the overlay (one per variant with values).
    int histogramSeriesCount() const;

    // Whether each pair of cross-validated variants is distinguishable ("… not distinguishable at 5 folds …"), a line
    // per pair; empty when fewer than two are cross-validated.
    QString crossValidationVerdict() const;
    QTableWidget* metricsTable() const { return m_metrics; }
    QTableWidget* layersTable() const { return m_layers; }
    QCustomPlot* confusionPlot() const { return m_confusionPlot; }
    QCustomPlot* histogramPlot() const { return m_histPlot; }
    // Whether the per-layer cell (row, variant column) is highlighted as differing.
    bool isLayerCellHighlighted(int row, int variant) const;
    // Row of the per-layer table holding `setting` ("Pruning", "Channels", "Rank", "Quantization", "Zeros",
    // "Rel. error", "Bits × weights") of `layer`; -1 when absent.
    int layerRow(const QString& layer, const QString& setting) const;

private:
    void fillMetrics();
    void fillCrossValidation();
    void fillLayers();
    void drawConfusion();
    void drawHistograms();

    std::vector<CompareColumn> m_columns;
    QStringList m_classNames;
    LayerValuesProvider m_values;
    int m_pairA = 0, m_pairB = 1;
    std::vector<int64_t> m_diff;
    int m_classes = 0;

    QLabel* m_title;
    QTableWidget* m_metrics;
    QTableWidget* m_layers;
    QCheckBox* m_onlyDifferences;
    QComboBox* m_pairACombo;
    QComboBox* m_pairBCombo;
    QCustomPlot* m_confusionPlot;
    QCPColorMap* m_confusionMap;
    QComboBox* m_layerCombo;
    QCheckBox* m_logCheck;
    QCustomPlot* m_histPlot;
    QLabel* m_histNote;
    QLabel* m_cvVerdict;
};

}  // namespace lathe
