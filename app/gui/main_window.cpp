#include "app/gui/main_window.h"

#include <QAction>
#include <QApplication>
#include <QCloseEvent>
#include <QDockWidget>
#include <QDragEnterEvent>
#include <QDropEvent>
#include <QFileDialog>
#include <QFileInfo>
#include <QLabel>
#include <QMenuBar>
#include <QMessageBox>
#include <QMimeData>
#include <QScreen>
#include <QSettings>
#include <QStatusBar>
#include <QToolBar>
#include <QToolButton>
#include <QVBoxLayout>

#include "app/gui/cross_validation_session.h"
#include "app/gui/evaluation_session.h"
#include "app/gui/guidance_controller.h"
#include "app/gui/model_document.h"
#include "app/gui/sensitivity_session.h"
#include "app/gui/training_session.h"
#include "app/gui/workbench_controller.h"
#include "app/gui/workbench_document.h"
#include "widgets/activation_view.h"
#include "widgets/compare_view.h"
#include "widgets/layer_inspector.h"
#include "widgets/tradeoff_plot.h"
#include "widgets/train_panel.h"
#include "widgets/variants_panel.h"
#include "widgets/dataset_panel.h"
#include "widgets/display_format.h"
#include "widgets/eliding_status_bar.h"
#include "widgets/evaluation_view.h"
#include "widgets/graph_view.h"
#include "widgets/histogram_view.h"
#include "widgets/lathe_resources.h"
#include "widgets/layer_table.h"
#include "widgets/layer_table_model.h"
#include "widgets/message_banner.h"
#include "widgets/properties_view.h"
#include "widgets/task_progress.h"

namespace lathe {

namespace {

// Graphs up to this many nodes and edges are laid out as part of opening the model; larger ones after it shows. Edges
// count too: DenseNet-121 has 378 nodes but 912 edges (its concatenations), and its layout takes seconds.
constexpr size_t kLayoutWhileLoadingNodes = 400;
constexpr size_t kLayoutWhileLoadingEdges = 400;

bool layOutWhileLoading(const Graph& graph) {
    if (graph.nodes.size() > kLayoutWhileLoadingNodes) return false;
    size_t edges = 0;
    for (const Node& node : graph.nodes)
        for (const std::string& input : node.inputs) edges += !input.empty() && !graph.initializer(input);
    return edges <= kLayoutWhileLoadingEdges;
}
const QString kRecentFilesKey = QStringLiteral("recentFiles");
const QString kLastDirKey = QStringLiteral("lastOpenDir");
const QString kGeometryKey = QStringLiteral("window/geometry");
const QString kStateKey = QStringLiteral("window/state");
// Bumped when the dock layout changes, so an older saved layout is ignored.
constexpr int kStateVersion = 3;

QString droppedModelPath(const QMimeData* mime) {
    if (!mime || !mime->hasUrls()) return {};
    for (const QUrl& url : mime->urls())
        if (url.isLocalFile() && (url.toLocalFile().endsWith(QStringLiteral(".onnx"), Qt::CaseInsensitive) ||
                                  url.toLocalFile().endsWith(QStringLiteral(".latheproj"), Qt::CaseInsensitive)))
            return url.toLocalFile();
    return {};
}

}  // namespace

MainWindow::MainWindow(QWidget* parent)
    : QMainWindow(parent),
      m_document(new ModelDocument(this)),
      m_session(new EvaluationSession(m_document, this)),
      m_graphView(new GraphView),
      m_layerTable(new LayerTable),
      m_propertiesView(new PropertiesView),
      m_histogramView(new HistogramView),
      m_activationView(new ActivationView),
      m_evaluationView(new EvaluationView),
      m_datasetPanel(new DatasetPanel),
      m_banner(new MessageBanner),
      m_workbench(new WorkbenchController(m_document, m_layerTable, m_datasetPanel, this)) {
    initLatheResources();
    setWindowTitle(QStringLiteral("Lathe"));
    setWindowIcon(QIcon(QStringLiteral(":/lathe/icons/lathe.svg")));
    setAcceptDrops(true);
    setDockOptions(QMainWindow::AnimatedDocks | QMainWindow::AllowNestedDocks | QMainWindow::AllowTabbedDocks);
    setTabPosition(Qt::AllDockWidgetAreas, QTabWidget::North);
    // A small graph is laid out while the model loads, so it appears whole; a large one (ViT-B/16: 1,620 nodes, 1 s)
    // is laid out after the table and the inspector show the model.
    m_document->setViewPreparer([](const Graph& graph) {
        return layOutWhileLoading(graph) ? std::static_pointer_cast<const void>(GraphView::prepare(graph)) : nullptr;
    });

    auto* centre = new QWidget(this);
    auto* centreLayout = new QVBoxLayout(centre);
    centreLayout->setContentsMargins(0, 0, 0, 0);
    centreLayout->setSpacing(0);
    centreLayout->addWidget(m_banner);
    centreLayout->addWidget(m_graphView, 1);
    setCentralWidget(centre);

    createDocks();
    createActions();
    createStatusBar();

    connect(m_document, &ModelDocument::loadingStarted, this, &MainWindow::onLoadingStarted);
    connect(m_document, &ModelDocument::loadingCancelled, this, &MainWindow::onLoadingCancelled);
    connect(m_document, &ModelDocument::modelChanged, this, &MainWindow::onModelChanged);
    connect(m_document, &ModelDocument::selectionChanged, this, &MainWindow::onSelectionChanged);
    connect(m_document, &ModelDocument::errorOccurred, this, &MainWindow::onError);
    connect(m_document, &ModelDocument::warningsReported, this, &MainWindow::onWarnings);
    connect(m_graphView, &GraphView::selectionRequested, m_document, &ModelDocument::selectNode);
    connect(m_layerTable, &LayerTable::layerSelected, m_document, &ModelDocument::selectNode);
    connect(m_graphView, &GraphView::layoutFailed, this, [this](const QString& message) {
        statusBar()->showMessage(tr("Graph layout failed: %1").arg(message), 10000);
    });
    connect(m_session, &EvaluationSession::evaluationStarted, this, &MainWindow::onEvaluationStarted);
    connect(m_session, &EvaluationSession::evaluationFinished, this, &MainWindow::onEvaluationFinished);
    connect(m_session, &EvaluationSession::evaluationFailed, this, &MainWindow::onEvaluationFailed);
    connect(m_session, &EvaluationSession::evaluationCancelled, this, &MainWindow::onEvaluationCancelled);
    connect(m_session, &EvaluationSession::activationsCaptured, this, &MainWindow::onActivationsCaptured);
    connect(m_session, &EvaluationSession::activationsFailed, this, &MainWindow::onActivationsFailed);
    connect(m_session->captureJob(), &Job::started, this, [this] { m_activationView->setBusy(true); });
    connect(m_session->captureJob(), &Job::finished, this, [this] { m_activationView->setBusy(false); });
    connect(m_session->captureJob(), &Job::cancelled, this, [this] {
        m_activationView->setBusy(false);
        m_activationView->showMessage(tr("Capture cancelled."), false);
    });
    connect(m_session->captureJob(), &Job::failed, this, [this](const QString&, const QString& message) {
        m_activationView->setBusy(false);
        m_activationView->showMessage(message, true);
    });
    connect(m_session->evaluationJob(), &Job::failed, this,
            [this](const QString&, const QString& message) { onEvaluationFailed(message); });
    connect(m_activationView, &ActivationView::captureRequested, this, &MainWindow::captureActivations);
    connect(m_activationsDock, &QDockWidget::visibilityChanged, this, [this](bool visible) {
        if (visible && m_document->selectedNode() >= 0 &&
            m_activationView->capturedNode() != m_activationView->nodeName() && !m_session->isCapturing())
            captureActivations();
    });
    connect(m_workbench, &WorkbenchController::statusMessage, this,
            [this](const QString& text, int timeoutMs) { statusBar()->showMessage(text, timeoutMs); });
    connect(m_workbench, &WorkbenchController::titleChanged, this, &MainWindow::updateTitle);
    connect(m_workbench->document(), &WorkbenchDocument::dirtyChanged, this, &MainWindow::updateTitle);
    connect(m_workbench, &WorkbenchController::trainPanelShown, this, [this] {
        m_trainDock->show();
        m_trainDock->raise();
    });
    connect(m_workbench->guidance(), &GuidanceController::sensitivityShown, this, [this] {
        m_sensitivityDock->show();
        m_sensitivityDock->raise();
    });
    connect(m_workbench, &WorkbenchController::compareShown, this, [this] {
        m_compareDock->show();
        m_compareDock->raise();
    });
    connect(m_workbench->document(), &WorkbenchDocument::projectOpened, this, [this] { showStoredEvaluation(); });
    connect(m_workbench->document(), &WorkbenchDocument::variantsChanged, this, [this] {
        if (!m_workbench->document()->variants().empty() && m_tradeoffDock->isHidden()) m_tradeoffDock->show();
    });
    connect(m_graphView, &GraphView::zoomChanged, this,
            [this](double zoom) { m_zoomLabel->setText(QStringLiteral("%1 %").arg(qRound(zoom * 100))); });

    // Adding the bottom docks side by side (before they are tabbed) grew the window to their summed widths, and
    // the stale layout kept resize() from taking it back (over 3,000 px wide instead of 1,680).
    // Roomy where the screen allows (nothing cut off at 1,840 px), else the screen's width: the panels' minimums add
    // up to about 1,620 px (the Variants buttons fold into a » menu, the Evaluation panel stacks its parts).
    layout()->activate();
    const QRect screen = QGuiApplication::primaryScreen() ? QGuiApplication::primaryScreen()->availableGeometry()
                                                          : QRect(0, 0, 1920, 1080);
    resize(std::min(1840, screen.width()), std::min(1050, screen.height()));
    resizeDocks({m_layersDock, m_variantsDock}, {500, 480}, Qt::Horizontal);
    resizeDocks({m_layersDock, m_histogramDock}, {260, 330}, Qt::Vertical);
    resizeDocks({m_variantsDock, m_tradeoffDock}, {420, 500}, Qt::Vertical);
    resizeDocks({m_compressDock}, {430}, Qt::Vertical);
    updateActions();
}

void MainWindow::createDocks() {
    auto makeDock = [this](const QString& title, const QString& name, QWidget* content, Qt::DockWidgetArea area) {
        auto* dock = new QDockWidget(title, this);
        dock->setObjectName(name);
        dock->setWidget(content);
        dock->setFeatures(QDockWidget::DockWidgetClosable | QDockWidget::DockWidgetMovable |
                          QDockWidget::DockWidgetFloatable);
        addDockWidget(area, dock);
        return dock;
    };
    m_layersDock = makeDock(tr("Layers"), QStringLiteral("layersDock"), m_layerTable, Qt::LeftDockWidgetArea);
    m_histogramDock = makeDock(tr("Weights"), QStringLiteral("histogramDock"), m_histogramView, Qt::LeftDockWidgetArea);
    m_activationsDock =
        makeDock(tr("Activations"), QStringLiteral("activationsDock"), m_activationView, Qt::LeftDockWidgetArea);
    m_evaluationDock =
        makeDock(tr("Evaluation"), QStringLiteral("evaluationDock"), m_evaluationView, Qt::LeftDockWidgetArea);
    m_propertiesDock =
        makeDock(tr("Properties"), QStringLiteral("propertiesDock"), m_propertiesView, Qt::RightDockWidgetArea);
    m_datasetDock = makeDock(tr("Data Set"), QStringLiteral("datasetDock"), m_datasetPanel, Qt::RightDockWidgetArea);
    m_variantsDock = makeDock(tr("Variants"), QStringLiteral("variantsDock"), m_workbench->variantsPanel(),
                              Qt::RightDockWidgetArea);
    m_tradeoffDock = makeDock(tr("Accuracy vs Size"), QStringLiteral("tradeoffDock"), m_workbench->tradeoffPlot(),
                              Qt::RightDockWidgetArea);
    m_compressDock =
        makeDock(tr("Compress"), QStringLiteral("compressDock"), m_workbench->guidance()->compressPanel(),
                 Qt::BottomDockWidgetArea);
    m_compareDock =
        makeDock(tr("Compare"), QStringLiteral("compareDock"), m_workbench->compareView(), Qt::BottomDockWidgetArea);
    m_trainDock =
        makeDock(tr("Train"), QStringLiteral("trainDock"), m_workbench->trainPanel(), Qt::BottomDockWidgetArea);
    m_sensitivityDock = makeDock(tr("Sensitivity"), QStringLiteral("sensitivityDock"),
                                 m_workbench->guidance()->sensitivityView(), Qt::BottomDockWidgetArea);
    setCorner(Qt::BottomLeftCorner, Qt::LeftDockWidgetArea);
    setCorner(Qt::BottomRightCorner, Qt::RightDockWidgetArea);
    splitDockWidget(m_layersDock, m_histogramDock, Qt::Vertical);
    tabifyDockWidget(m_histogramDock, m_activationsDock);
    tabifyDockWidget(m_activationsDock, m_evaluationDock);
    m_histogramDock->raise();
    splitDockWidget(m_propertiesDock, m_tradeoffDock, Qt::Vertical);
    tabifyDockWidget(m_propertiesDock, m_datasetDock);
    tabifyDockWidget(m_datasetDock, m_variantsDock);
    m_variantsDock->raise();
    tabifyDockWidget(m_compressDock, m_compareDock);
    tabifyDockWidget(m_compareDock, m_trainDock);
    tabifyDockWidget(m_trainDock, m_sensitivityDock);
    m_trainDock->hide();
    m_compressDock->raise();
    m_compressDock->setToolTip(tr("Pruning, bits and rank of the selected layers, with a live preview"));
    m_variantsDock->setToolTip(tr("Evaluated settings: rename, annotate, duplicate, delete, compare, export"));
    m_tradeoffDock->setToolTip(tr("Accuracy against file size of every evaluated variant; click a point to load it"));
    m_compareDock->setToolTip(tr("Two or more variants side by side"));
    m_sensitivityDock->setToolTip(tr("How much each layer can take (accuracy against one layer's sparsity, bits or "
                                     "rank), and per-layer settings chosen within a budget"));
    m_trainDock->setToolTip(tr("Train a variant with its compression kept (fine-tuning, gradual pruning, Deep "
                               "Compression, L1 sparsification, distillation): settings, live curves and weights, "
                               "Cancel"));
    m_histogramDock->setToolTip(tr("Histogram of the selected layer's weights"));
    m_activationsDock->setToolTip(tr("Histogram of the selected node's output over images of the data set"));
    m_evaluationDock->setToolTip(tr("Accuracy, F1, confusion matrix and speed of the model on the data set"));
}

void MainWindow::createActions() {
    auto* openAction = new QAction(QIcon(QStringLiteral(":/lathe/icons/open.svg")), tr("&Open…"), this);
    openAction->setShortcut(QKeySequence::Open);
    openAction->setToolTip(
        tr("Open an ONNX model (%1)").arg(openAction->shortcut().toString(QKeySequence::NativeText)));
    connect(openAction, &QAction::triggered, this, &MainWindow::chooseFile);
    auto* quitAction = new QAction(tr("&Quit"), this);
    quitAction->setShortcut(QKeySequence::Quit);
    quitAction->setMenuRole(QAction::QuitRole);
    connect(quitAction, &QAction::triggered, this, &QWidget::close);

    QMenu* fileMenu = menuBar()->addMenu(tr("&File"));
    fileMenu->addAction(openAction);
    m_recentMenu = fileMenu->addMenu(tr("Open &Recent"));
    fileMenu->addSeparator();
    fileMenu->addAction(m_workbench->newProjectAction());
    fileMenu->addAction(m_workbench->openProjectAction());
    fileMenu->addAction(m_workbench->saveProjectAction());
    fileMenu->addAction(m_workbench->saveProjectAsAction());
    fileMenu->addSeparator();
    fileMenu->addAction(m_workbench->exportAction());
    fileMenu->addSeparator();
    fileMenu->addAction(quitAction);
    updateRecentMenu();
    QMenu* editMenu = menuBar()->addMenu(tr("&Edit"));
    editMenu->addAction(m_workbench->undoAction());
    editMenu->addAction(m_workbench->redoAction());

    m_evaluateAction = new QAction(QIcon(QStringLiteral(":/lathe/icons/evaluate.svg")), tr("&Evaluate"), this);
    m_evaluateAction->setShortcut(QKeySequence(Qt::CTRL | Qt::Key_E));
    m_evaluateAction->setToolTip(tr("Run the model on the data set: accuracy, F1, confusion matrix, speed (%1)")
                                     .arg(m_evaluateAction->shortcut().toString(QKeySequence::NativeText)));
    m_evaluateAction->setStatusTip(m_evaluateAction->toolTip());
    connect(m_evaluateAction, &QAction::triggered, this, &MainWindow::evaluate);
    m_captureAction = new QAction(tr("Capture &Activations"), this);
    m_captureAction->setShortcut(QKeySequence(Qt::CTRL | Qt::SHIFT | Qt::Key_E));
    m_captureAction->setToolTip(tr("Histogram the selected node's output over images of the data set (%1)")
                                    .arg(m_captureAction->shortcut().toString(QKeySequence::NativeText)));
    connect(m_captureAction, &QAction::triggered, this, [this] {
        m_activationsDock->show();
        m_activationsDock->raise();
        captureActivations();
    });
    QMenu* modelMenu = menuBar()->addMenu(tr("&Model"));
    modelMenu->addAction(m_evaluateAction);
    modelMenu->addAction(m_captureAction);
    QMenu* compressMenu = menuBar()->addMenu(tr("&Compress"));
    compressMenu->addAction(m_workbench->evaluateVariantAction());
    compressMenu->addAction(m_workbench->compareAction());
    compressMenu->addAction(m_workbench->exportAction());
    compressMenu->addAction(m_workbench->trainAction());
    compressMenu->addAction(m_workbench->crossValidateAction());
    compressMenu->addAction(m_workbench->guidance()->scanAction());
    compressMenu->setToolTipsVisible(true);
    compressMenu->addSeparator();
    QMenu* activationsMenu = compressMenu->addMenu(tr("&Activations"));
    activationsMenu->setToolTipsVisible(true);
    activationsMenu->addActions(m_workbench->activationActions());

    auto* evaluateButton = new QToolButton;
    evaluateButton->setDefaultAction(m_evaluateAction);
    evaluateButton->setToolButtonStyle(Qt::ToolButtonTextBesideIcon);
    evaluateButton->setIconSize(QSize(18, 18));
    evaluateButton->setMinimumWidth(110);
    m_datasetPanel->addActionButton(evaluateButton);

    QMenu* viewMenu = menuBar()->addMenu(tr("&View"));
    viewMenu->addAction(m_graphView->zoomInAction());
    viewMenu->addAction(m_graphView->zoomOutAction());
    viewMenu->addAction(m_graphView->resetZoomAction());
    viewMenu->addAction(m_graphView->fitAction());
    viewMenu->addSeparator();
    const QList<std::pair<QDockWidget*, QKeySequence>> docks = {
        {m_layersDock, QKeySequence(Qt::ALT | Qt::Key_1)},     {m_propertiesDock, QKeySequence(Qt::ALT | Qt::Key_2)},
        {m_histogramDock, QKeySequence(Qt::ALT | Qt::Key_3)},  {m_activationsDock, QKeySequence(Qt::ALT | Qt::Key_4)},
        {m_evaluationDock, QKeySequence(Qt::ALT | Qt::Key_5)}, {m_datasetDock, QKeySequence(Qt::ALT | Qt::Key_6)},
        {m_compressDock, QKeySequence(Qt::ALT | Qt::Key_7)},   {m_variantsDock, QKeySequence(Qt::ALT | Qt::Key_8)},
        {m_tradeoffDock, QKeySequence(Qt::ALT | Qt::Key_9)},   {m_compareDock, QKeySequence(Qt::ALT | Qt::Key_0)}};
    for (const auto& [dock, key] : docks) {
        QAction* toggle = dock->toggleViewAction();
        toggle->setShortcut(key);
        toggle->setToolTip(
            tr("Show or hide the %1 panel (%2)").arg(dock->windowTitle(), key.toString(QKeySequence::NativeText)));
        viewMenu->addAction(toggle);
    }
    m_trainDock->toggleViewAction()->setToolTip(tr("Show or hide the Train panel"));
    viewMenu->addAction(m_trainDock->toggleViewAction());

    QMenu* helpMenu = menuBar()->addMenu(tr("&Help"));
    auto* aboutAction = helpMenu->addAction(tr("&About Lathe"), this, &MainWindow::showAbout);
    aboutAction->setMenuRole(QAction::AboutRole);
    helpMenu->addAction(tr("About &Qt"), qApp, &QApplication::aboutQt)->setMenuRole(QAction::AboutQtRole);

    QToolBar* toolbar = addToolBar(tr("Main"));
    toolbar->setObjectName(QStringLiteral("mainToolbar"));
    toolbar->setMovable(false);
    toolbar->setIconSize(QSize(20, 20));
    toolbar->setToolButtonStyle(Qt::ToolButtonIconOnly);
    toolbar->addAction(openAction);
    toolbar->addAction(m_workbench->saveProjectAction());
    toolbar->addSeparator();
    toolbar->addAction(m_graphView->zoomInAction());
    toolbar->addAction(m_graphView->zoomOutAction());
    toolbar->addAction(m_graphView->resetZoomAction());
    toolbar->addAction(m_graphView->fitAction());
    toolbar->addSeparator();
    toolbar->addAction(m_evaluateAction);
    toolbar->addAction(m_workbench->evaluateVariantAction());
    toolbar->addAction(m_workbench->exportAction());
    toolbar->addAction(m_workbench->trainAction());
    for (QAction* action : {m_evaluateAction, m_workbench->evaluateVariantAction(), m_workbench->exportAction(),
                            m_workbench->trainAction()})
        if (auto* button = qobject_cast<QToolButton*>(toolbar->widgetForAction(action)))
            button->setToolButtonStyle(Qt::ToolButtonTextBesideIcon);
}

void MainWindow::createStatusBar() {
    setStatusBar(new ElidingStatusBar(this));  // long messages are elided before the permanent labels
    m_loadProgress = new TaskProgress(this);
    m_evalProgress = new TaskProgress(this);
    m_captureProgress = new TaskProgress(this);
    m_loadProgress->setObjectName(QStringLiteral("loadProgress"));
    m_evalProgress->setObjectName(QStringLiteral("evaluationProgress"));
    m_captureProgress->setObjectName(QStringLiteral("captureProgress"));
    m_variantProgress = new TaskProgress(this);
    m_variantProgress->setObjectName(QStringLiteral("variantProgress"));
    m_exportProgress = new TaskProgress(this);
    m_exportProgress->setObjectName(QStringLiteral("exportProgress"));
    m_trainProgress = new TaskProgress(this);
    m_trainProgress->setObjectName(QStringLiteral("trainingProgress"));
    m_crossValidationProgress = new TaskProgress(this);
    m_crossValidationProgress->setObjectName(QStringLiteral("crossValidationProgress"));
    m_sensitivityProgress = new TaskProgress(this);
    m_sensitivityProgress->setObjectName(QStringLiteral("sensitivityProgress"));
    m_modelLabel = new QLabel(tr("No model"), this);
    m_modelLabel->setTextFormat(Qt::RichText);
    m_modelLabel->setToolTip(tr("Open model: file, producer, opset, nodes, parameters and multiply-accumulates"));
    m_zoomLabel = new QLabel(QStringLiteral("100 %"), this);
    m_zoomLabel->setToolTip(tr("Graph zoom (Ctrl+wheel, +/−, F to fit)"));
    m_zoomLabel->setMinimumWidth(48);
    m_zoomLabel->setAlignment(Qt::AlignRight | Qt::AlignVCenter);
    statusBar()->addPermanentWidget(m_loadProgress);
    statusBar()->addPermanentWidget(m_evalProgress);
    statusBar()->addPermanentWidget(m_captureProgress);
    statusBar()->addPermanentWidget(m_variantProgress);
    statusBar()->addPermanentWidget(m_exportProgress);
    statusBar()->addPermanentWidget(m_trainProgress);
    statusBar()->addPermanentWidget(m_crossValidationProgress);
    statusBar()->addPermanentWidget(m_sensitivityProgress);
    statusBar()->addPermanentWidget(m_modelLabel);
    statusBar()->addPermanentWidget(m_zoomLabel);
    bindJob(m_document->loadJob(), m_loadProgress, [this] { m_document->cancelLoading(); });
    bindJob(m_session->evaluationJob(), m_evalProgress, [this] { m_session->cancelEvaluation(); });
    bindJob(m_session->captureJob(), m_captureProgress, [this] { m_session->cancelCapture(); });
    WorkbenchDocument* workbench = m_workbench->document();
    bindJob(workbench->evaluationJob(), m_variantProgress, [workbench] { workbench->cancelEvaluation(); });
    bindJob(workbench->exportJob(), m_exportProgress, [workbench] { workbench->cancelExport(); });
    TrainingSession* training = m_workbench->trainingSession();
    bindJob(training->job(), m_trainProgress, [training] { training->cancel(); });
    CrossValidationSession* cv = m_workbench->crossValidationSession();
    bindJob(cv->job(), m_crossValidationProgress, [cv] { cv->cancel(); });
    SensitivitySession* scan = m_workbench->guidance()->sensitivitySession();
    bindJob(scan->job(), m_sensitivityProgress, [scan] { scan->cancel(); });
}

void MainWindow::bindJob(Job* job, TaskProgress* progress, const std::function<void()>& cancel) {
    connect(job, &Job::started, progress, &TaskProgress::begin);
    connect(job, &Job::progressChanged, progress, &TaskProgress::setProgress);
    connect(job, &Job::finished, progress, &TaskProgress::end);
    connect(job, &Job::cancelled, progress, &TaskProgress::end);
    connect(job, &Job::failed, progress, &TaskProgress::end);
    connect(progress, &TaskProgress::cancelRequested, this, cancel);
}

void MainWindow::setDialogsEnabled(bool enabled) {
    m_dialogsEnabled = enabled;
    m_workbench->setDialogsEnabled(enabled);
}

void MainWindow::openFile(const QString& path) {
    if (path.endsWith(QStringLiteral(".latheproj"), Qt::CaseInsensitive)) {
        if (m_workbench->confirmDiscard()) m_workbench->openProject(path);
        return;
    }
    if (QFileInfo(path).absoluteFilePath() != QFileInfo(m_document->path()).absoluteFilePath() &&
        !m_workbench->confirmDiscard())
        return;
    m_document->open(path);
}

void MainWindow::updateTitle() {
    const QString file = QFileInfo(m_document->path()).fileName();
    const QString project = m_workbench->titleText();
    setWindowTitle(file.isEmpty() ? tr("%1 — Lathe").arg(project) : tr("%1 — %2 — Lathe").arg(file, project));
    setWindowModified(m_workbench->document()->isDirty());
}

void MainWindow::chooseFile() {
    QSettings settings;
    const QString dir = settings.value(kLastDirKey, QFileInfo(m_document->path()).absolutePath()).toString();
    const QString path = QFileDialog::getOpenFileName(
        this, tr("Open ONNX Model or Project"), dir,
        tr("ONNX models (*.onnx);;Lathe projects (*.latheproj);;All files (*)"));
    if (path.isEmpty()) return;
    settings.setValue(kLastDirKey, QFileInfo(path).absolutePath());
    openFile(path);
}

void MainWindow::showAbout() {
    QMessageBox::about(
        this, tr("About Lathe"),
        tr("<h3>Lathe %1</h3><p>A workbench for compressing ONNX neural networks for edge devices: inspect the "
           "graph and each layer's weights, prune, quantize and decompose, and compare the trade-offs.</p>"
           "<p>Built with Qt %2, QCustomPlot and Graphviz.</p>")
            .arg(QCoreApplication::applicationVersion(), QString::fromLatin1(qVersion())));
}

void MainWindow::onLoadingStarted(const QString& path) {
    statusBar()->showMessage(tr("Opening %1…").arg(QFileInfo(path).fileName()));
}

void MainWindow::onLoadingCancelled(const QString& path) {
    statusBar()->showMessage(tr("Opening %1 cancelled").arg(QFileInfo(path).fileName()), 10000);
}

void MainWindow::onModelChanged() {
    const auto graph = m_document->graph();
    const QString file = QFileInfo(m_document->path()).fileName();
    updateTitle();
    m_banner->showMessages({}, {});
    m_layerTable->setSummary(m_document->summary());
    m_modelLabel->setText(modelStatusText());
    m_evaluationView->clearReport(
        tr("Press Evaluate (Ctrl+E) to measure %1 on the data set chosen in the Data Set panel.").arg(file));
    showStoredEvaluation();  // a reopened project's
    m_datasetPanel->setRunError({});
    m_activationView->setValues(nullptr, {});
    m_activationView->showMessage({}, false);
    addRecentFile(m_document->path());
    statusBar()->showMessage(tr("Opened %1").arg(file), 5000);
    updateActions();
    // Last: layoutFinished() may make a listener select a node of the new model right away.
    m_graphView->setGraph(graph, std::static_pointer_cast<const PreparedGraph>(m_document->preparedView()));
    // Unless one did, the window opens on the largest compressible layer (the graph shows it once laid out).
    if (m_document->selectedNode() < 0) {
        const LayerInfo* largest = nullptr;
        for (const LayerInfo& l : m_document->summary().layers)
            if (isCompressibleLayer(l) && (!largest || l.params > largest->params)) largest = &l;
        if (largest) m_document->selectNode(largest->nodeIndex);
    }
}

QString MainWindow::modelStatusText() const {
    const auto graph = m_document->graph();
    if (!graph) return tr("No model");
    const ModelSummary& summary = m_document->summary();
    const QString producer = QString::fromStdString(graph->producerName + ' ' + graph->producerVersion).trimmed();
    const QString separator = QStringLiteral(" <span style='color:#b0b6bd'>│</span> ");
    QStringList parts{QStringLiteral("<b>%1</b>").arg(QFileInfo(m_document->path()).fileName().toHtmlEscaped())};
    if (!producer.isEmpty()) parts << producer.toHtmlEscaped();
    parts << tr("opset %1").arg(graph->opset) << tr("%1 nodes").arg(formatCount(int64_t(graph->nodes.size())))
          << tr("%1 params").arg(formatCount(summary.totalParams))
          << tr("%1 MACs").arg(formatCompact(summary.totalMacs));
    return parts.join(separator);
}

void MainWindow::onSelectionChanged(int nodeIndex) {
    const auto graph = m_document->graph();
    m_graphView->selectNode(nodeIndex);
    const std::vector<int> group = m_document->channelGroupNodes(nodeIndex);
    m_graphView->showChannelGroup(group.size() > 1 ? group : std::vector<int>{});
    m_layerTable->selectNode(nodeIndex);
    m_propertiesView->showNode(graph, m_document->summary(), nodeIndex);
    m_histogramView->setLayer(graph, m_document->layerOfNode(nodeIndex));
    const Node* node = graph && nodeIndex >= 0 ? &graph->nodes[size_t(nodeIndex)] : nullptr;
    m_activationView->setNode(
        node ? QString::fromStdString(node->name) : QString(),
        node && !node->outputs.empty() ? QString::fromStdString(node->outputs.front()) : QString());
    updateActions();
    if (node && activationsVisible()) captureActivations();
}

void MainWindow::onError(const QString& path, const QString& message) {
    const QString file = QFileInfo(path).fileName();
    statusBar()->showMessage(tr("Could not open %1: %2").arg(file, message), 15000);
    if (!QFileInfo::exists(path)) removeRecentFile(path);
    if (!m_dialogsEnabled) return;
    auto* box = new QMessageBox(QMessageBox::Critical, tr("Cannot Open Model"), tr("Could not open \"%1\".").arg(file),
                                QMessageBox::Ok, this);
    box->setInformativeText(message);
    box->setAttribute(Qt::WA_DeleteOnClose);
    box->open();
}

void MainWindow::onWarnings(const QStringList& warnings) {
    const QString file = QFileInfo(m_document->path()).fileName();
    const QString count = warnings.size() == 1 ? tr("1 warning") : tr("%1 warnings").arg(warnings.size());
    m_banner->showMessages(tr("%1: %2 while reading the model; it is shown but may not run as is").arg(file, count),
                           warnings);
    statusBar()->showMessage(tr("Opened %1 with %2").arg(file, count), 10000);
}

void MainWindow::updateActions() {
    m_evaluateAction->setEnabled(m_document->hasModel() && !m_session->isEvaluating());
    m_captureAction->setEnabled(m_document->hasModel() && m_document->selectedNode() >= 0);
}

void MainWindow::evaluate() {
    if (!m_document->hasModel() || m_session->isEvaluating()) return;
    const std::optional<EvaluationSettings> settings = m_datasetPanel->validate();
    m_datasetPanel->setRunError({});
    if (!settings) {
        m_datasetDock->show();
        m_datasetDock->raise();
        m_evaluationView->showError(m_datasetPanel->firstError());
        statusBar()->showMessage(tr("Cannot evaluate: %1").arg(m_datasetPanel->firstError()), 15000);
        return;
    }
    m_session->evaluate(*settings);
}

void MainWindow::onEvaluationStarted() {
    updateActions();
    m_evaluationDock->show();
    m_evaluationDock->raise();
    m_evaluationView->clearReport(tr("Evaluating %1 on %2…")
                                      .arg(QFileInfo(m_document->path()).fileName(),
                                           m_session->evaluationJob()->title().section(QLatin1String(" on "), 1)));
    statusBar()->clearMessage();
}

void MainWindow::onEvaluationFinished() {
    updateActions();
    const EvalReport& r = *m_session->report();
    const EvaluationSettings& s = m_session->reportSettings();
    m_workbench->document()->setBaselineEvaluation(s, m_session->classNames(), r);
    showEvaluation(r, s, m_session->classNames());
    statusBar()->showMessage(tr("Evaluated %1 on %2: top-1 %3 %, macro-F1 %4 %")
                                 .arg(QFileInfo(m_document->path()).fileName(), s.displayName())
                                 .arg(r.top1, 0, 'f', 2)
                                 .arg(r.macroF1, 0, 'f', 2),
                             15000);
}

void MainWindow::showStoredEvaluation() {
    const WorkbenchDocument* doc = m_workbench->document();
    const auto& stored = doc->baselineEvaluation();
    if (!stored || !m_document->graph() || doc->graph() != m_document->graph() || m_session->isEvaluating()) return;
    showEvaluation(stored->report, WorkbenchDocument::settingsOf(*stored), stored->classNames);
}

void MainWindow::showEvaluation(const EvalReport& r, const EvaluationSettings& s, const QStringList& classNames) {
    const QString model = QFileInfo(m_document->path()).fileName();
    QStringList details{s.specText};
    details << (s.eval.limit > 0 ? (s.eval.shuffle ? tr("random %1 images").arg(formatCount(r.n))
                                                   : tr("first %1 images").arg(formatCount(r.n)))
                                 : tr("all %1 images").arg(formatCount(r.n)))
            << tr("batch %1").arg(s.eval.batchSize) << tr("%1 s").arg(r.seconds, 0, 'f', 2);
    m_evaluationView->setReport(r, classNames, tr("%1 on %2").arg(model, s.displayName()),
                                details.join(QStringLiteral("  ·  ")));
}

void MainWindow::onEvaluationFailed(const QString& message) {
    updateActions();
    m_evaluationView->showError(tr("Evaluation failed\n\n%1").arg(message));
    m_datasetPanel->setRunError(message);
    statusBar()->showMessage(tr("Evaluation failed: %1").arg(message), 15000);
}

void MainWindow::onEvaluationCancelled() {
    updateActions();
    m_evaluationView->clearReport(tr("Evaluation cancelled. Press Evaluate (Ctrl+E) to run it again."));
    statusBar()->showMessage(tr("Evaluation cancelled"), 10000);
}

bool MainWindow::activationsVisible() const {
    return m_activationsDock->isVisible() && !m_activationsDock->visibleRegion().isEmpty();
}

void MainWindow::captureActivations() {
    const int node = m_document->selectedNode();
    if (node < 0) return;
    const std::optional<EvaluationSettings> settings = m_datasetPanel->validate();
    if (!settings) {
        m_activationView->showMessage(
            tr("%1 — fix it in the Data Set panel to capture activations.").arg(m_datasetPanel->firstError()), true);
        return;
    }
    m_activationView->showMessage({}, false);
    m_session->captureActivations(node, *settings, m_activationView->sampleCount());
}

void MainWindow::onActivationsCaptured(int nodeIndex, std::shared_ptr<const std::vector<float>> values,
                                       const std::vector<int64_t>& shape) {
    if (nodeIndex != m_document->selectedNode()) return;
    m_activationView->setValues(std::move(values), formatShape(shape));
}

void MainWindow::onActivationsFailed(int nodeIndex, const QString& message) {
    if (nodeIndex != m_document->selectedNode()) return;
    m_activationView->showMessage(message, true);
}

QStringList MainWindow::recentFiles() const { return QSettings().value(kRecentFilesKey).toStringList(); }

void MainWindow::addRecentFile(const QString& path) {
    QStringList files = recentFiles();
    files.removeAll(path);
    files.prepend(path);
    while (files.size() > kMaxRecentFiles) files.removeLast();
    QSettings().setValue(kRecentFilesKey, files);
    updateRecentMenu();
}

void MainWindow::removeRecentFile(const QString& path) {
    QStringList files = recentFiles();
    if (files.removeAll(path) == 0) return;
    QSettings().setValue(kRecentFilesKey, files);
    updateRecentMenu();
}

void MainWindow::updateRecentMenu() {
    m_recentMenu->clear();
    const QStringList files = recentFiles();
    for (int i = 0; i < files.size(); ++i) {
        const QString& path = files[i];
        QAction* action = m_recentMenu->addAction(QStringLiteral("&%1  %2").arg(i + 1).arg(QFileInfo(path).fileName()),
                                                  this, [this, path] { openFile(path); });
        action->setToolTip(path);
        action->setStatusTip(path);
    }
    if (!files.isEmpty()) {
        m_recentMenu->addSeparator();
        m_recentMenu->addAction(tr("&Clear Recent"), this, [this] {
            QSettings().remove(kRecentFilesKey);
            updateRecentMenu();
        });
    }
    m_recentMenu->setEnabled(!files.isEmpty());
}

void MainWindow::restoreWindowState() {
    QSettings settings;
    restoreGeometry(settings.value(kGeometryKey).toByteArray());
    restoreState(settings.value(kStateKey).toByteArray(), kStateVersion);
    m_datasetPanel->restoreSettings(settings);
}

void MainWindow::closeEvent(QCloseEvent* event) {
    if (!m_workbench->confirmDiscard()) {
        event->ignore();
        return;
    }
    QSettings settings;
    settings.setValue(kGeometryKey, saveGeometry());
    settings.setValue(kStateKey, saveState(kStateVersion));
    m_datasetPanel->saveSettings(settings);
    QMainWindow::closeEvent(event);
}

void MainWindow::dragEnterEvent(QDragEnterEvent* event) {
    if (!droppedModelPath(event->mimeData()).isEmpty()) event->acceptProposedAction();
}

void MainWindow::dropEvent(QDropEvent* event) {
    const QString path = droppedModelPath(event->mimeData());
    if (path.isEmpty()) return;
    event->acceptProposedAction();
    openFile(path);
}

}  // namespace lathe
