#pragma once

#include <QString>
#include <QStringList>
#include <QWidget>
#include <cstdint>
#include <optional>
#include <vector>

#include "widgets/cross_validation_figure.h"

class QLabel;
class QPlainTextEdit;
class QTimer;
class QToolButton;
class QTreeWidget;
class QTreeWidgetItem;

namespace lathe {

// One row of the variants list.
struct VariantRow {
    enum class State { NotEvaluated, Queued, Running, Done, Failed };
    QString id;
    QString name;
    QString note;
    bool baseline = false;
    State state = State::NotEvaluated;
    float progress = 0;  // of a running evaluation, [0, 1]
    QString error;       // why the evaluation failed
    std::optional<double> top1;     // percent
    std::optional<double> macroF1;  // fraction
    int64_t onnxBytes = 0;
    int64_t zlibBytes = 0;
    double ratio = 0;  // baseline ONNX bytes / these ONNX bytes (0: unknown)
    QString summary;   // the recipe's summary (tooltip)
    std::optional<CrossValidationFigure> crossValidation;  // measured by cross-validation
};

// The list of variants: name (renamed in place), state or accuracy, F1, sizes, compression ratio and note; a note
// editor for the current variant; buttons to load settings, duplicate, delete, compare and export. It only asks:
// every change goes out as a signal and comes back through setVariants().
class VariantsPanel : public QWidget {
    Q_OBJECT

public:
    explicit VariantsPanel(QWidget* parent = nullptr);

    // Replaces the rows, keeping the selection and current row by id.
    void setVariants(const std::vector<VariantRow>& rows);
    const std::vector<VariantRow>& variants() const { return m_rows; }
    // Ids of the selected rows, in list order.
    QStringList selectedIds() const;
    QString currentId() const;
    // Makes `id` the current (and only selected) row.
    void setCurrentId(const QString& id);
    // Selects exactly `ids`.
    void selectIds(const QStringList& ids);
    QTreeWidget* list() const { return m_list; }
    QPlainTextEdit* noteEditor() const { return m_note; }
    // Text shown in `column` of row `id` (0 name, 1 top-1, 2 F1, 3 CV top-1, 4 ONNX, 5 zlib, 6 ratio,
    // 7 note).
    QString cellText(const QString& id, int column) const;

public slots:
    // Duplicates / deletes / compares the selection (buttons and shortcuts do the same).
    void duplicateSelected();
    void deleteSelected();
    void compareSelected();

signals:
    void renameRequested(const QString& id, const QString& name);
    void noteEdited(const QString& id, const QString& note);
    void duplicateRequested(const QString& id);
    void deleteRequested(const QStringList& ids);
    void compareRequested(const QStringList& ids);
    // Load the variant's recipe into the editor (double-click on a value column, or the button).
    void loadRequested(const QString& id);
    void exportRequested(const QString& id);
    // Evaluate the variant again (after a failure or when it was never evaluated).
    void evaluateRequested(const QString& id);
    // Open the train panel for the variant (context menu).
    void trainRequested(const QString& id);
    // Cross-validate the variant (context menu).
    void crossValidateRequested(const QString& id);
    void selectionChanged(const QStringList& ids);
    void currentChanged(const QString& id);

private:
    void updateButtons();
    void showNoteOf(const QString& id);
    void flushNote();
    QTreeWidgetItem* itemOf(const QString& id) const;
    const VariantRow* rowOf(const QString& id) const;

    std::vector<VariantRow> m_rows;
    bool m_updating = false;
    QString m_noteFor;

    QTreeWidget* m_list;
    QPlainTextEdit* m_note;
    QLabel* m_noteLabel;
    QTimer* m_noteTimer;
    QToolButton* m_load;
    QToolButton* m_evaluate;
    QToolButton* m_duplicate;
    QToolButton* m_delete;
    QToolButton* m_compare;
    QToolButton* m_export;
};

}  // namespace lathe
