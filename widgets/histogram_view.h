#pragma once

#include <QFutureWatcher>
#include <QString>
#include <QWidget>
#include <memory>
#include <string>
#include <vector>

#include "core/model/graph.h"
#include "core/model/model_summary.h"
#include "core/model/weight_stats.h"

class QCheckBox;
class QComboBox;
class QCustomPlot;
class QCPGraph;
class QCPItemStraightLine;
class QCPTextElement;
class QLabel;
class QSpinBox;
class QStackedLayout;

namespace lathe {

// Histogram (QCustomPlot) with bin count, log-y and a statistics box, of one layer's weights (with a tensor choice) or
// of any values (activations). Statistics and binning run off the UI thread; histogramUpdated() fires when the shown
// data is current. The plot's context menu saves it as PNG/PDF/SVG.
class HistogramView : public QWidget {
    Q_OBJECT

public:
    explicit HistogramView(QWidget* parent = nullptr);
    ~HistogramView() override;

    // Shows the weights of `layer` from `graph`, starting with its first weight tensor; null layer clears the view.
    void setLayer(std::shared_ptr<const Graph> graph, const LayerInfo* layer);
    // Shows the histogram of `values` (no tensor choice); `title` heads the plot, `valueLabel` names the x axis.
    // Null values clear the view.
    void setValues(std::shared_ptr<const std::vector<float>> values, const QString& title, const QString& valueLabel);
    // Text shown while there is nothing to plot.
    void setPlaceholderText(const QString& text);

    int binCount() const;
    void setBinCount(int bins);
    bool isLogScale() const;
    void setLogScale(bool logScale);
    // Index into the layer's weight tensors (the combo box); -1 when no layer is shown.
    int tensorIndex() const;
    void setTensorIndex(int index);
    QString tensorName() const;

    bool isBusy() const { return m_busy; }
    // Values counted in the shown histogram (sum of bin counts).
    int64_t valueCount() const;
    const WeightStats& stats() const { return m_stats; }
    const Histogram& histogram() const { return m_histogram; }
    QCustomPlot* plot() const { return m_plot; }
    // Text of the statistics box entry `key` ("count", "min", "max", "mean", "std", "zeros", "p1" ... "p99").
    QString statText(const QString& key) const;

signals:
    void histogramUpdated();

private:
    struct Computed {
        int generation = 0;
        WeightStats stats;
        Histogram histogram;
    };

    void recompute();
    void onComputed();
    void redraw();
    void showStats();
    void applyScale();

    std::shared_ptr<const Graph> m_graph;
    std::vector<WeightInfo> m_weights;
    QString m_layerName;
    std::shared_ptr<const std::vector<float>> m_values;
    QString m_valuesTitle;
    int m_generation = 0;
    WeightStats m_stats;
    Histogram m_histogram;
    bool m_busy = false;
    QFutureWatcher<Computed> m_watcher;

    QLabel* m_tensorLabel;
    QComboBox* m_tensorCombo;
    QSpinBox* m_binSpin;
    QCheckBox* m_logCheck;
    QCustomPlot* m_plot;
    QCPGraph* m_bars;
    QCPItemStraightLine* m_zeroLine;
    QCPTextElement* m_title;
    QStackedLayout* m_stack;
    QLabel* m_placeholder;
    std::vector<std::pair<QString, QLabel*>> m_statLabels;
};

}  // namespace lathe
