#pragma once

#include <qcustomplot.h>

#include <QString>
#include <optional>
#include <utility>
#include <vector>

#include "widgets/weight_collapse_view.h"

namespace lathe {

// One finished epoch as the train panel shows it (the app converts core's EpochRecord).
struct TrainEpochPoint {
    int epoch = 0;
    QString phase;        // "fine-tune", "l1", "distill" or "centroids"
    double loss = 0;      // cross-entropy with the labels
    double top1 = -1;     // percent; -1: not measured
    double sparsity = 0;  // fraction
    double seconds = 0;
    double imagesPerSecond = 0;
    std::optional<double> distillation;  // distillation: the distillation term of the loss
    double penalty = 0;                  // L1: λ·Σ|w| at the epoch's end
    std::vector<std::pair<QString, double>> layerSparsity;  // per compressible layer, fraction of exact zeros
    std::vector<TrainWeightHistogram> histograms;          // per trained weight tensor, before training and now
};

// The training curves per epoch: the loss on the left axis (distillation: its two terms, the labels' cross-entropy
// and the distillation term, as two curves), the evaluation top-1 and the sparsity on the right axis; the legend in a
// row above. Graphs 0..3: loss, top-1, sparsity, distillation term. The context menu saves it as PNG.
class TrainCurves : public QCustomPlot {
    Q_OBJECT

public:
    explicit TrainCurves(QWidget* parent = nullptr);

    // Plots `points` over epochs 1..max(planned, last); `distillation` lists the distillation curve before it has
    // points.
    void setPoints(const std::vector<TrainEpochPoint>& points, int plannedEpochs, bool distillation);
};

}  // namespace lathe
