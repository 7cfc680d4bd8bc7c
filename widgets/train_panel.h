#pragma once

#include <QElapsedTimer>
#include <QString>
#include <QStringList>
#include <QWidget>
#include <functional>
#include <optional>
#include <vector>

#include "core/compress/recipe.h"
#include "widgets/train_curves.h"
#include "widgets/weight_collapse_view.h"

class QCheckBox;
class QComboBox;
class QDoubleSpinBox;
class QFormLayout;
class QLabel;
class QLineEdit;
class QProgressBar;
class QPushButton;
class QSpinBox;
class QWidget;

namespace lathe {

enum class TrainMode { FineTune, Gradual, DeepCompression, L1, Distill };

// A teacher distillation can learn from besides the baseline and files (another variant): `key` is what the train
// section's distill.teacher holds, `label` what the choice shows.
struct TeacherChoice {
    QString key;
    QString label;
};

// The train panel: mode (fine-tune / gradual pruning / Deep Compression / L1 sparsification / distillation), epochs,
// learning rate, optimizer (+momentum, weight decay), schedule, batch, training images, seed, batch norm, where the
// weights start (the model's or re-initialised); per mode: gradual start sparsity and ramp, centroid epochs, L1's λ
// (and per-layer λ), final cut and final epochs, distillation's teacher (baseline, a variant, an ONNX file),
// temperature, α and soft/hard targets; a training data SPEC when the data set has no train split; Start and Cancel.
// While a run goes: the curves per epoch (TrainCurves) and the weights view (WeightCollapseView: a layer's histogram
// before training and now, every layer's sparsity), each plot saving as PNG from its context menu; images/s, ETA and a
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
    // The variants distillation may take as teacher (besides the baseline and files).
    void setTeacherChoices(const std::vector<TeacherChoice>& choices);
    // Names of the compressible layers: per-layer λ are checked against them.
    void setLayerNames(const QStringList& names);
    // What "File…" in the teacher choice runs to get an ONNX file (empty: none chosen); default: a file dialog.
    void setTeacherFilePicker(std::function<QString()> picker) { m_pickTeacherFile = std::move(picker); }
    // What is wrong with the fields (a per-layer λ that does not parse, ...); empty when Start may go.
    QString inputProblem() const;
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

    TrainCurves* plot() const { return m_plot; }
    QPushButton* startButton() const { return m_start; }
    QPushButton* cancelButton() const { return m_cancel; }
    QComboBox* modeCombo() const { return m_mode; }
    QComboBox* teacherCombo() const { return m_teacher; }
    QLineEdit* layerLambdaEdit() const { return m_layerLambdas; }
    WeightCollapseView* weightView() const { return m_weights; }

signals:
    void startRequested(const lathe::TrainSettings& settings);
    void cancelRequested();
    void trainSpecChanged(const QString& spec);

private:
    void updateEnabled();
    void updateRate();
    void replot();
    void modeChosen();
    void teacherChosen();
    // Selects the teacher `key` ("baseline", a variant's key or a file path), adding a file entry when it is new.
    void selectTeacher(const QString& key);
    // Inserts a teacher that is not among the choices (a file, or a variant no longer there) at `index`.
    int addOtherTeacher(const QString& key, int index);
    std::optional<std::map<std::string, double>> layerLambdas(QString* error = nullptr) const;

    QString m_blocker;
    bool m_specNeeded = false;
    bool m_running = false;
    std::vector<TrainEpochPoint> m_points;
    QElapsedTimer m_clock;
    float m_fraction = 0;
    QStringList m_layerNames;
    std::function<QString()> m_pickTeacherFile;
    QString m_lastTeacher = QStringLiteral("baseline");  // the choice before "File…"

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
    QComboBox* m_init;
    QDoubleSpinBox* m_lambda;
    QLineEdit* m_layerLambdas;
    QComboBox* m_cut;
    QDoubleSpinBox* m_cutSparsity;
    QDoubleSpinBox* m_cutThreshold;
    QSpinBox* m_finalEpochs;
    QComboBox* m_teacher;
    QDoubleSpinBox* m_temperature;
    QDoubleSpinBox* m_alpha;
    QComboBox* m_targets;
    QWidget* m_gradualRow;
    QWidget* m_centroidRow;
    QWidget* m_lambdaRow;
    QWidget* m_cutRow;
    QWidget* m_teacherRow;
    QWidget* m_distillRow;
    QWidget* m_stepRow;
    QWidget* m_specRow;
    QLabel* m_specWhy;
    QLineEdit* m_spec;
    QPushButton* m_start;
    QPushButton* m_cancel;
    QLabel* m_blockerLabel;
    QProgressBar* m_progress;
    QLabel* m_rate;
    TrainCurves* m_plot;
    WeightCollapseView* m_weights;
    QLabel* m_status;
};

}  // namespace lathe

Q_DECLARE_METATYPE(lathe::TrainSettings)
