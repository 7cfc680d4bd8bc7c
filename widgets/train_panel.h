#pragma once

#include <QElapsedTimer>
#include <QString>
#include <QWidget>
#include <vector>

#include "core/compress/recipe.h"

class QCheckBox;
class QComboBox;
class QCustomPlot;
class QDoubleSpinBox;
class QFormLayout;
class QLabel;
class QLineEdit;
class QProgressBar;
class QPushButton;
class QSpinBox;
class QWidget;

namespace lathe {

enum class TrainMode { FineTune, Gradual, DeepCompression };

// One finished epoch as the panel plots it (the app converts core's EpochRecord).
struct TrainEpochPoint {
    int epoch = 0;
    QString phase;        // "fine-tune" or "centroids"
    double loss = 0;
    double top1 = -1;     // percent; -1: not measured
    double sparsity = 0;  // fraction
    double seconds = 0;
    double imagesPerSecond = 0;
};

// The train panel: mode (fine-tune / gradual pruning / Deep Compression), epochs, learning rate, optimizer (+momentum,
// weight decay), schedule, batch, training images, seed, batch norm, gradual start sparsity and ramp, centroid epochs;
// a training data SPEC when the data set has no train split; Start and Cancel. While a run goes: live curves of the
// training loss, the evaluation accuracy and the sparsity per epoch (PNG from the context menu), images/s, ETA and a
// progress bar. It only asks: Start and Cancel go out as signals, the run comes back through the setters.
class TrainPanel : public QWidget {
    Q_OBJECT

public:
    explicit TrainPanel(QWidget* parent = nullptr);

    // The fields as a train section (mode decides prune_schedule and centroid_epochs).
    TrainSettings settings() const;
    // Fills the fields (and the mode) from a train section.
    void setSettings(const TrainSettings& settings);
    TrainMode mode() const;
    void setMode(TrainMode mode);

    // The variant the run starts from ("Train Variant 2").
    void setVariantName(const QString& name);
    // Why Start is disabled (no model, no data set, ...); empty enables it.
    void setBlocker(const QString& reason);
    QString blocker() const { return m_blocker; }
    // Shows the training-data SPEC field with `why` (folder:/npy: data sets have no train split).
    void setTrainSpecNeeded(bool needed, const QString& why = {});
    bool trainSpecNeeded() const { return m_specNeeded; }
    QString trainSpec() const;
    void setTrainSpec(const QString& spec);

    // A run started (clears the curves) or ended; Start/Cancel and the fields follow.
    void setRunning(bool running);
    bool isRunning() const { return m_running; }
    void setProgress(float fraction, const QString& stage);
    void addEpoch(const TrainEpochPoint& point);
    void clearCurves();
    const std::vector<TrainEpochPoint>& epochs() const { return m_points; }
    // One line under the plot (the outcome of the last run).
    void setStatus(const QString& text);
    QString statusText() const;

    QCustomPlot* plot() const { return m_plot; }
    QPushButton* startButton() const { return m_start; }
    QPushButton* cancelButton() const { return m_cancel; }
    QComboBox* modeCombo() const { return m_mode; }

signals:
    void startRequested(const lathe::TrainSettings& settings);
    void cancelRequested();
    void trainSpecChanged(const QString& spec);

private:
    void updateEnabled();
    void updateRate();
    void replot();

    QString m_blocker;
    bool m_specNeeded = false;
    bool m_running = false;
    std::vector<TrainEpochPoint> m_points;
    QElapsedTimer m_clock;
    float m_fraction = 0;

    QFormLayout* m_form = nullptr;
    QLabel* m_title;
    QComboBox* m_mode;
    QSpinBox* m_epochs;
    QDoubleSpinBox* m_lr;
    QComboBox* m_optimizer;
    QDoubleSpinBox* m_momentum;
    QDoubleSpinBox* m_weightDecay;
    QComboBox* m_schedule;
    QSpinBox* m_stepEpochs;
    QDoubleSpinBox* m_gamma;
    QSpinBox* m_batch;
    QSpinBox* m_samples;
    QSpinBox* m_seed;
    QComboBox* m_batchNorm;
    QDoubleSpinBox* m_rampFrom;
    QSpinBox* m_rampEpochs;
    QSpinBox* m_centroidEpochs;
    QWidget* m_gradualRow;
    QWidget* m_centroidRow;
    QWidget* m_stepRow;
    QWidget* m_specRow;
    QLabel* m_specWhy;
    QLineEdit* m_spec;
    QPushButton* m_start;
    QPushButton* m_cancel;
    QLabel* m_blockerLabel;
    QProgressBar* m_progress;
    QLabel* m_rate;
    QCustomPlot* m_plot;
    QLabel* m_status;
};

}  // namespace lathe

Q_DECLARE_METATYPE(lathe::TrainSettings)
