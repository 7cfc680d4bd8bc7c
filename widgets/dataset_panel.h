#pragma once

#include <QString>
#include <QWidget>
#include <map>
#include <optional>

#include "core/eval/dataset.h"
#include "core/eval/evaluator.h"

class QAbstractButton;
class QCheckBox;
class QComboBox;
class QFormLayout;
class QGroupBox;
class QLabel;
class QLineEdit;
class QSettings;
class QSpinBox;
class QToolButton;

namespace lathe {

// What the data set panel describes: where the data is, how samples are prepared and how evaluation runs.
struct EvaluationSettings {
    QString specText;  // "idx:/usr/share/datasets/fashion-mnist"
    DatasetSpec spec;
    DatasetOptions dataset;
    EvalOptions eval;

    // Identifies the opened data set (spec, split, preprocessing): equal keys can share one Dataset.
    QString datasetKey() const;
    // "Fashion-MNIST test", "flowers (folder)": a short name for headings.
    QString displayName() const;
};

// Names of the Fashion-MNIST classes, by label.
QStringList fashionMnistClassNames();
// Class names of an opened data set: its folder names, Fashion-MNIST's names for its IDX files, else empty (numbers).
QStringList classNamesOf(const Dataset& dataset, const EvaluationSettings& settings);

// The data set panel: SPEC (idx:DIR, folder:DIR, npy:IMAGES,LABELS) with a kind selector and Browse, split, limit,
// batch size, backend, folds, and preprocessing (size/crop/BGR/gray for image folders; scale/mean/std for all).
// Problems show under the field they concern, naming it.
class DatasetPanel : public QWidget {
    Q_OBJECT

public:
    static constexpr const char* kDefaultSpec = "idx:/usr/share/datasets/fashion-mnist";

    explicit DatasetPanel(QWidget* parent = nullptr);

    // Checks every field and marks the bad ones; the settings when all are fine.
    std::optional<EvaluationSettings> validate();
    // The first message of the last validate(), e.g. "Data set: folder /x does not exist".
    QString firstError() const { return m_firstError; }
    // Inline error under `field` ("Data set", "Scale", "Mean", "Std", "Crop", "Folds", ...); empty when fine.
    QString fieldError(const QString& field) const;
    // A problem found while running (missing file, shape mismatch, bad label), shown at the bottom; empty hides it.
    void setRunError(const QString& message);
    QString runError() const;

    // Puts `button` (the Evaluate action's button) at the bottom of the panel.
    void addActionButton(QAbstractButton* button);

    QString specText() const;
    void setSpecText(const QString& spec);
    void setSplit(Split split);
    void setLimit(int limit);
    void setBatchSize(int batch);
    void setBackend(BackendKind backend);
    void setFolds(int folds);
    int limit() const;

    void saveSettings(QSettings& settings) const;
    void restoreSettings(const QSettings& settings);

signals:
    void settingsChanged();

private:
    struct Field {
        QWidget* editor = nullptr;
        QLabel* error = nullptr;
    };

    void addField(QFormLayout* form, const QString& name, const QString& label, QWidget* editor,
                  const QString& toolTip);
    void setFieldError(const QString& field, const QString& message);
    void clearErrors();
    void onKindChanged();
    void onSpecEdited();
    void browse();
    void updateEnabledFields();
    DatasetKind currentKind() const;

    QComboBox* m_kind;
    QLineEdit* m_spec;
    QToolButton* m_browse;
    QComboBox* m_split;
    QSpinBox* m_limit;
    QCheckBox* m_shuffle;
    QSpinBox* m_batch;
    QComboBox* m_backend;
    QSpinBox* m_folds;
    QGroupBox* m_imageBox;
    QSpinBox* m_size;
    QSpinBox* m_crop;
    QLineEdit* m_scale;
    QLineEdit* m_mean;
    QLineEdit* m_std;
    QCheckBox* m_bgr;
    QCheckBox* m_gray;
    QLabel* m_runError;
    QFormLayout* m_form = nullptr;
    QWidget* m_buttonRow;
    std::map<QString, Field> m_fields;
    std::map<QString, QFormLayout*> m_formOf;
    QString m_firstError;
};

}  // namespace lathe
