#pragma once

#include <QString>
#include <QWidget>
#include <cstdint>
#include <utility>
#include <vector>

class QCheckBox;
class QComboBox;
class QCPBars;
class QCPGraph;
class QCustomPlot;
class QLabel;

namespace lathe {

// One trained weight tensor counted over fixed bins before training and now (the app converts core's WeightHistogram).
struct TrainWeightHistogram {
    QString layer;
    QString tensor;
    double lo = 0, hi = 0;  // the bins split [lo, hi] equally; values beyond count in the end bins
    std::vector<int64_t> before, now;
};

// What training does to the weights, after each epoch: the chosen tensor's histogram before training and now over the
// same bins (L1 sparsification shows the collapse toward zero), and every layer's exact-zero fraction as bars (a click
// on a bar chooses that layer). Both plots save as PNG from their context menu.
class WeightCollapseView : public QWidget {
    Q_OBJECT

public:
    explicit WeightCollapseView(QWidget* parent = nullptr);

    // Shows the histograms and per-layer sparsities (fractions) of epoch `epoch`; the chosen tensor stays chosen while
    // it is among them.
    void setEpoch(int epoch, const std::vector<TrainWeightHistogram>& histograms,
                  const std::vector<std::pair<QString, double>>& layerSparsity);
    void clear();

    int shownEpoch() const { return m_epoch; }
    const std::vector<TrainWeightHistogram>& histograms() const { return m_histograms; }
    // The tensor whose histogram is shown (empty: none).
    QString currentTensor() const;
    // Chooses a tensor by name, or the first tensor of a layer by layer name; false when there is no such one.
    bool setCurrentTensor(const QString& tensorOrLayer);
    bool isLogScale() const;
    void setLogScale(bool logScale);
    // The info line above the plots ("fc1.weight: 81.3 % exact zeros after epoch 3 (before: 0.0 %)").
    QString infoText() const;

    QComboBox* tensorCombo() const { return m_tensor; }
    QCustomPlot* histogramPlot() const { return m_histPlot; }
    QCustomPlot* sparsityPlot() const { return m_sparsityPlot; }

private:
    void redrawHistogram();
    void redrawSparsity();
    double layerSparsity(const QString& layer) const;

    int m_epoch = 0;
    std::vector<TrainWeightHistogram> m_histograms;
    std::vector<std::pair<QString, double>> m_layerSparsity;

    QComboBox* m_tensor;
    QCheckBox* m_log;
    QLabel* m_info;
    QCustomPlot* m_histPlot;
    QCPGraph* m_before;
    QCPBars* m_now;
    QCustomPlot* m_sparsityPlot;
    QCPBars* m_layerBars;
    QCPBars* m_chosenBar;
};

}  // namespace lathe
