#pragma once

#include <QMainWindow>
#include <QStringList>
#include <cstdint>
#include <functional>
#include <memory>
#include <vector>

#include "core/eval/evaluator.h"
#include "widgets/dataset_panel.h"

class QAction;
class QDockWidget;
class QLabel;
class QMenu;

namespace lathe {

class ActivationView;
class DatasetPanel;
class EvaluationSession;
class EvaluationView;
class GraphView;
class HistogramView;
class Job;
class LayerTable;
class MessageBanner;
class ModelDocument;
class PropertiesView;
class TaskProgress;
class WorkbenchController;

// Lathe's main window: graph in the centre; layers above the Weights / Activations / Evaluation tabs on the left;
// variants above the accuracy-vs-size plot on the right, properties and data set beside them; the layer inspector
// (Compress) and the Compare view below; background tasks with progress and Cancel in the status bar. All views are
// wired through the ModelDocument, the EvaluationSession and the WorkbenchController, never to each other.
class MainWindow : public QMainWindow {
    Q_OBJECT

public:
    static constexpr int kMaxRecentFiles = 8;

    explicit MainWindow(QWidget* parent = nullptr);

    // Opens `path` asynchronously (same as File > Open): an ONNX model, or a project (.latheproj).
    void openFile(const QString& path);
    // With dialogs disabled, errors and warnings go only to the status bar, the banner and the document's signals
    // (tests, --screenshot).
    void setDialogsEnabled(bool enabled);
    // Restores the window geometry, dock layout and data set settings saved at the last close.
    void restoreWindowState();
    QStringList recentFiles() const;

    // Model > Evaluate: checks the data set panel and evaluates the model in the background.
    void evaluate();
    // Runs the selected node on the data set and shows its activation histogram.
    void captureActivations();

    ModelDocument* document() const { return m_document; }
    EvaluationSession* evaluationSession() const { return m_session; }
    WorkbenchController* workbench() const { return m_workbench; }
    QDockWidget* compressDock() const { return m_compressDock; }
    QDockWidget* compareDock() const { return m_compareDock; }
    QDockWidget* variantsDock() const { return m_variantsDock; }
    QDockWidget* tradeoffDock() const { return m_tradeoffDock; }
    QDockWidget* trainDock() const { return m_trainDock; }
    QDockWidget* sensitivityDock() const { return m_sensitivityDock; }
    TaskProgress* trainingProgress() const { return m_trainProgress; }
    TaskProgress* crossValidationProgress() const { return m_crossValidationProgress; }
    GraphView* graphView() const { return m_graphView; }
    LayerTable* layerTable() const { return m_layerTable; }
    PropertiesView* propertiesView() const { return m_propertiesView; }
    HistogramView* histogramView() const { return m_histogramView; }
    ActivationView* activationView() const { return m_activationView; }
    EvaluationView* evaluationView() const { return m_evaluationView; }
    DatasetPanel* datasetPanel() const { return m_datasetPanel; }
    MessageBanner* warningBanner() const { return m_banner; }
    QAction* evaluateAction() const { return m_evaluateAction; }
    TaskProgress* loadProgress() const { return m_loadProgress; }
    TaskProgress* evaluationProgress() const { return m_evalProgress; }
    QDockWidget* evaluationDock() const { return m_evaluationDock; }
    QDockWidget* activationsDock() const { return m_activationsDock; }
    QString modelStatusText() const;

protected:
    void closeEvent(QCloseEvent* event) override;
    void dragEnterEvent(QDragEnterEvent* event) override;
    void dropEvent(QDropEvent* event) override;

private:
    void createDocks();
    void createActions();
    void createStatusBar();
    void bindJob(Job* job, TaskProgress* progress, const std::function<void()>& cancel);
    void chooseFile();
    void showAbout();
    void onLoadingStarted(const QString& path);
    void onLoadingCancelled(const QString& path);
    void onModelChanged();
    void onSelectionChanged(int nodeIndex);
    void onError(const QString& path, const QString& message);
    void onWarnings(const QStringList& warnings);
    void onEvaluationStarted();
    void onEvaluationFinished();
    // Shows `report` of the open model in the Evaluation panel.
    void showEvaluation(const EvalReport& report, const EvaluationSettings& settings, const QStringList& classNames);
    // Shows the evaluation the workbench document keeps for the open model (a reopened project's), if any.
    void showStoredEvaluation();
    void onEvaluationFailed(const QString& message);
    void onEvaluationCancelled();
    void onActivationsCaptured(int nodeIndex, std::shared_ptr<const std::vector<float>> values,
                               const std::vector<int64_t>& shape);
    void onActivationsFailed(int nodeIndex, const QString& message);
    bool activationsVisible() const;
    void updateActions();
    void addRecentFile(const QString& path);
    void removeRecentFile(const QString& path);
    void updateRecentMenu();
    void updateTitle();

    ModelDocument* m_document;
    EvaluationSession* m_session;
    GraphView* m_graphView;
    LayerTable* m_layerTable;
    PropertiesView* m_propertiesView;
    HistogramView* m_histogramView;
    ActivationView* m_activationView;
    EvaluationView* m_evaluationView;
    DatasetPanel* m_datasetPanel;
    MessageBanner* m_banner;
    WorkbenchController* m_workbench;
    QDockWidget* m_layersDock = nullptr;
    QDockWidget* m_propertiesDock = nullptr;
    QDockWidget* m_histogramDock = nullptr;
    QDockWidget* m_activationsDock = nullptr;
    QDockWidget* m_evaluationDock = nullptr;
    QDockWidget* m_datasetDock = nullptr;
    QDockWidget* m_compressDock = nullptr;
    QDockWidget* m_compareDock = nullptr;
    QDockWidget* m_variantsDock = nullptr;
    QDockWidget* m_tradeoffDock = nullptr;
    QDockWidget* m_trainDock = nullptr;
    QDockWidget* m_sensitivityDock = nullptr;
    QAction* m_evaluateAction = nullptr;
    QAction* m_captureAction = nullptr;
    QMenu* m_recentMenu = nullptr;
    TaskProgress* m_loadProgress = nullptr;
    TaskProgress* m_evalProgress = nullptr;
    TaskProgress* m_captureProgress = nullptr;
    TaskProgress* m_variantProgress = nullptr;
    TaskProgress* m_exportProgress = nullptr;
    TaskProgress* m_trainProgress = nullptr;
    TaskProgress* m_crossValidationProgress = nullptr;
    TaskProgress* m_sensitivityProgress = nullptr;
    QLabel* m_modelLabel = nullptr;
    QLabel* m_zoomLabel = nullptr;
    bool m_dialogsEnabled = true;
};

}  // namespace lathe
