#pragma once

#include <QObject>
#include <QString>
#include <QList>
#include <QStringList>

#include "core/compress/recipe.h"

class QAction;
class QActionGroup;
class QWidget;

namespace lathe {

class CompareView;
class CrossValidationSession;
class DatasetPanel;
class GuidanceController;
class LayerInspector;
class LayerTable;
class ModelDocument;
class TradeoffPlot;
class TrainingSession;
class TrainPanel;
class VariantsPanel;
class WorkbenchDocument;
struct ExportSummary;

// The compression loop in the main window: owns the WorkbenchDocument and its views (layer inspector, trade-off plot,
// variants list, compare view) and wires them to the ModelDocument (model, selection), the layer table (multi-layer
// edits) and the data set panel; provides the project, undo/redo, evaluate-variant, compare and export actions and
// the dialogs behind them. The main window only places the views and actions.
class WorkbenchController : public QObject {
    Q_OBJECT

public:
    WorkbenchController(ModelDocument* model, LayerTable* layerTable, DatasetPanel* datasetPanel, QWidget* window);

    WorkbenchDocument* document() const { return m_doc; }
    LayerInspector* inspector() const { return m_inspector; }
    TradeoffPlot* tradeoffPlot() const { return m_plot; }
    VariantsPanel* variantsPanel() const { return m_variants; }
    CompareView* compareView() const { return m_compare; }
    TrainPanel* trainPanel() const { return m_trainPanel; }
    TrainingSession* trainingSession() const { return m_training; }
    CrossValidationSession* crossValidationSession() const { return m_crossValidation; }
    // Sensitivity scan, budget allocation and live accuracy (its compressPanel() holds the inspector).
    GuidanceController* guidance() const { return m_guidance; }

    QAction* newProjectAction() const { return m_newProject; }
    QAction* openProjectAction() const { return m_openProject; }
    QAction* saveProjectAction() const { return m_saveProject; }
    QAction* saveProjectAsAction() const { return m_saveProjectAs; }
    QAction* exportAction() const { return m_export; }
    QAction* undoAction() const { return m_undo; }
    QAction* redoAction() const { return m_redo; }
    QAction* evaluateVariantAction() const { return m_evaluateVariant; }
    QAction* compareAction() const { return m_compareAction; }
    // Train… (Ctrl+T): opens the train panel for the current variant; disabled, saying why, without a model or data set.
    QAction* trainAction() const { return m_train; }
    // Cross-Validate… (Ctrl+Shift+T): asks folds and epochs, then cross-validates the current variant in the background.
    QAction* crossValidateAction() const { return m_crossValidate; }
    // Float / dynamic / static (min-max, percentile, entropy) activations for the whole model: checkable, exclusive.
    QList<QAction*> activationActions() const;

    // With dialogs disabled, questions take their default answer and errors go to statusMessage() only (tests).
    void setDialogsEnabled(bool enabled) { m_dialogsEnabled = enabled; }
    // Opens a project file: its model (through the ModelDocument), data set, recipe and variants.
    bool openProject(const QString& path);
    // Saves to the project's file, or asks for one; false when the user cancelled or the write failed.
    bool saveProject();
    bool saveProjectAs(const QString& path = {});
    // At start-up: when an autosave of an untitled project is left from a session that did not end cleanly, asks
    // whether to recover it (its model is opened too). True when it was recovered.
    bool offerRecovery();
    // Unsaved changes: asks Save / Discard / Cancel. True when it is fine to go on.
    bool confirmDiscard();
    // Validates the data set panel, then turns the current settings into a variant and evaluates it.
    void evaluateVariant();
    // Exports variant `id` (the current one when empty) to `path` in `format` ("float", "qdq", "qop"); asks for both
    // when `path` is empty.
    void exportVariant(const QString& id = {}, const QString& path = {}, const QString& format = {});
    // Shows the variants among `ids` side by side (the compare view's dock is raised by the window).
    void compare(const QStringList& ids);
    // Opens the train panel for variant `id` (the current one when empty), prefilled from its recipe's train section.
    void openTrainPanel(const QString& id = {});
    // Cross-validates variant `id` (the current one when empty) with `folds` folds of `epochs` epochs each; asks for
    // both (defaults: 5, the variant's train epochs else 1) when `folds` is 0 and dialogs are enabled. Failures go to
    // error().
    void crossValidate(const QString& id = {}, int folds = 0, int epochs = 0);
    // Where Save Project As starts: the project's file, else <model name>.latheproj in the folder last used for
    // projects (else the model's folder).
    QString suggestedProjectPath() const;
    // Where Export starts for variant `id`: <model>_<variant>.onnx in the folder last exported to (else the model's).
    QString suggestedExportPath(const QString& id) const;
    // The window title's document part: project name (or "Untitled") and [*] for the modified marker.
    QString titleText() const;

signals:
    void statusMessage(const QString& text, int timeoutMs);
    void compareShown();
    // The train panel was opened for a variant: the window shows its dock.
    void trainPanelShown();
    void titleChanged();
    void exportSummaryReady(const QString& text);

private:
    void createActions();
    void showLayer(int nodeIndex);
    void updateTargets();
    void onModelChanged();
    void onProjectOpened(const QString& modelPath);
    void onExportFinished(const ExportSummary& summary);
    void pushDatasetToPanel();
    // The compared variants' ids, names and metrics, to tell whether the compare view is out of date.
    QStringList comparedState() const;
    // Redraws the compare view for m_compared (dropping variants deleted or no longer evaluated).
    void showCompared();
    void updateActions();
    void updateTrainState();
    void updateTeacherChoices();
    void startTraining(const TrainSettings& settings);
    void error(const QString& title, const QString& message);

    ModelDocument* m_model;
    LayerTable* m_layerTable;
    DatasetPanel* m_datasetPanel;
    QWidget* m_window;
    WorkbenchDocument* m_doc;
    LayerInspector* m_inspector;
    TradeoffPlot* m_plot;
    VariantsPanel* m_variants;
    CompareView* m_compare;
    TrainPanel* m_trainPanel;
    TrainingSession* m_training;
    CrossValidationSession* m_crossValidation;
    GuidanceController* m_guidance;
    QString m_trainId;  // the variant the train panel is for
    QStringList m_teacherChoicesState;  // ids and names the panel's teacher choice was last given
    QStringList m_compared;       // ids shown in the compare view
    QStringList m_comparedState;  // what the compare view shows of them (comparedState() when last drawn)
    bool m_dialogsEnabled = true;

    QAction* m_newProject = nullptr;
    QAction* m_openProject = nullptr;
    QAction* m_saveProject = nullptr;
    QAction* m_saveProjectAs = nullptr;
    QAction* m_export = nullptr;
    QAction* m_undo = nullptr;
    QAction* m_redo = nullptr;
    QAction* m_evaluateVariant = nullptr;
    QAction* m_compareAction = nullptr;
    QAction* m_train = nullptr;
    QAction* m_crossValidate = nullptr;
    QActionGroup* m_activationGroup = nullptr;
};

}  // namespace lathe
