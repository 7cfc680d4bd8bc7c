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
#include <QProgressBar>
#include <QSettings>
#include <QStatusBar>
#include <QToolBar>
#include <QVBoxLayout>

#include "app/gui/model_document.h"
#include "widgets/display_format.h"
#include "widgets/graph_view.h"
#include "widgets/histogram_view.h"
#include "widgets/lathe_resources.h"
#include "widgets/layer_table.h"
#include "widgets/message_banner.h"
#include "widgets/properties_view.h"

namespace lathe {

namespace {

const QString kRecentFilesKey = QStringLiteral("recentFiles");
const QString kLastDirKey = QStringLiteral("lastOpenDir");
const QString kGeometryKey = QStringLiteral("window/geometry");
const QString kStateKey = QStringLiteral("window/state");

QString droppedModelPath(const QMimeData* mime) {
    if (!mime || !mime->hasUrls()) return {};
    for (const QUrl& url : mime->urls())
        if (url.isLocalFile() && url.toLocalFile().endsWith(QStringLiteral(".onnx"), Qt::CaseInsensitive))
            return url.toLocalFile();
    return {};
}

}  // namespace

MainWindow::MainWindow(QWidget* parent)
    : QMainWindow(parent),
      m_document(new ModelDocument(this)),
      m_graphView(new GraphView),
      m_layerTable(new LayerTable),
      m_propertiesView(new PropertiesView),
      m_histogramView(new HistogramView),
      m_banner(new MessageBanner) {
    initLatheResources();
    setWindowTitle(QStringLiteral("Lathe"));
    setWindowIcon(QIcon(QStringLiteral(":/lathe/icons/lathe.svg")));
    setAcceptDrops(true);
    setDockOptions(QMainWindow::AnimatedDocks | QMainWindow::AllowNestedDocks | QMainWindow::AllowTabbedDocks);

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
    connect(m_document, &ModelDocument::modelChanged, this, &MainWindow::onModelChanged);
    connect(m_document, &ModelDocument::selectionChanged, this, &MainWindow::onSelectionChanged);
    connect(m_document, &ModelDocument::errorOccurred, this, &MainWindow::onError);
    connect(m_document, &ModelDocument::warningsReported, this, &MainWindow::onWarnings);
    connect(m_graphView, &GraphView::selectionRequested, m_document, &ModelDocument::selectNode);
    connect(m_layerTable, &LayerTable::layerSelected, m_document, &ModelDocument::selectNode);
    connect(m_graphView, &GraphView::layoutStarted, this, &MainWindow::updateBusyIndicator);
    connect(m_graphView, &GraphView::layoutFinished, this, &MainWindow::updateBusyIndicator);
    connect(m_graphView, &GraphView::layoutFailed, this, [this](const QString& message) {
        updateBusyIndicator();
        statusBar()->showMessage(tr("Graph layout failed: %1").arg(message), 10000);
    });
    connect(m_graphView, &GraphView::zoomChanged, this,
            [this](double zoom) { m_zoomLabel->setText(QStringLiteral("%1 %").arg(qRound(zoom * 100))); });

    resize(1600, 1000);
    resizeDocks({m_layersDock, m_propertiesDock}, {680, 400}, Qt::Horizontal);
    resizeDocks({m_layersDock, m_histogramDock}, {400, 520}, Qt::Vertical);
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
    m_histogramDock =
        makeDock(tr("Weight Histogram"), QStringLiteral("histogramDock"), m_histogramView, Qt::LeftDockWidgetArea);
    m_propertiesDock =
        makeDock(tr("Properties"), QStringLiteral("propertiesDock"), m_propertiesView, Qt::RightDockWidgetArea);
    splitDockWidget(m_layersDock, m_histogramDock, Qt::Vertical);
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
    fileMenu->addAction(quitAction);
    updateRecentMenu();

    QMenu* viewMenu = menuBar()->addMenu(tr("&View"));
    viewMenu->addAction(m_graphView->zoomInAction());
    viewMenu->addAction(m_graphView->zoomOutAction());
    viewMenu->addAction(m_graphView->resetZoomAction());
    viewMenu->addAction(m_graphView->fitAction());
    viewMenu->addSeparator();
    const QList<std::pair<QDockWidget*, QKeySequence>> docks = {{m_layersDock, QKeySequence(Qt::ALT | Qt::Key_1)},
                                                                {m_propertiesDock, QKeySequence(Qt::ALT | Qt::Key_2)},
                                                                {m_histogramDock, QKeySequence(Qt::ALT | Qt::Key_3)}};
    for (const auto& [dock, key] : docks) {
        QAction* toggle = dock->toggleViewAction();
        toggle->setShortcut(key);
        toggle->setToolTip(
            tr("Show or hide the %1 panel (%2)").arg(dock->windowTitle(), key.toString(QKeySequence::NativeText)));
        viewMenu->addAction(toggle);
    }

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
    toolbar->addSeparator();
    toolbar->addAction(m_graphView->zoomInAction());
    toolbar->addAction(m_graphView->zoomOutAction());
    toolbar->addAction(m_graphView->resetZoomAction());
    toolbar->addAction(m_graphView->fitAction());
}

void MainWindow::createStatusBar() {
    m_busyLabel = new QLabel(this);
    m_busyBar = new QProgressBar(this);
    m_busyBar->setRange(0, 0);
    m_busyBar->setFixedWidth(120);
    m_busyBar->setMaximumHeight(14);
    m_busyBar->setTextVisible(false);
    m_modelLabel = new QLabel(tr("No model"), this);
    m_modelLabel->setTextFormat(Qt::RichText);
    m_modelLabel->setToolTip(tr("Open model: file, producer, opset, nodes, parameters and multiply-accumulates"));
    m_zoomLabel = new QLabel(QStringLiteral("100 %"), this);
    m_zoomLabel->setToolTip(tr("Graph zoom (Ctrl+wheel, +/−, F to fit)"));
    m_zoomLabel->setMinimumWidth(48);
    m_zoomLabel->setAlignment(Qt::AlignRight | Qt::AlignVCenter);
    statusBar()->addPermanentWidget(m_busyLabel);
    statusBar()->addPermanentWidget(m_busyBar);
    statusBar()->addPermanentWidget(m_modelLabel);
    statusBar()->addPermanentWidget(m_zoomLabel);
    updateBusyIndicator();
}

void MainWindow::openFile(const QString& path) { m_document->open(path); }

void MainWindow::chooseFile() {
    QSettings settings;
    const QString dir = settings.value(kLastDirKey, QFileInfo(m_document->path()).absolutePath()).toString();
    const QString path =
        QFileDialog::getOpenFileName(this, tr("Open ONNX Model"), dir, tr("ONNX models (*.onnx);;All files (*)"));
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
    updateBusyIndicator();
}

void MainWindow::onModelChanged() {
    const auto graph = m_document->graph();
    const QString file = QFileInfo(m_document->path()).fileName();
    setWindowTitle(tr("%1 — Lathe").arg(file));
    m_banner->showMessages({}, {});
    m_graphView->setGraph(graph);
    m_layerTable->setSummary(m_document->summary());
    m_modelLabel->setText(modelStatusText());
    addRecentFile(m_document->path());
    statusBar()->showMessage(tr("Opened %1").arg(file), 5000);
    updateBusyIndicator();
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
    m_layerTable->selectNode(nodeIndex);
    m_propertiesView->showNode(graph, m_document->summary(), nodeIndex);
    m_histogramView->setLayer(graph, m_document->layerOfNode(nodeIndex));
}

void MainWindow::onError(const QString& path, const QString& message) {
    const QString file = QFileInfo(path).fileName();
    updateBusyIndicator();
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

void MainWindow::updateBusyIndicator() {
    QString text;
    if (m_document->isLoading())
        text = tr("Loading %1…").arg(QFileInfo(m_document->loadingPath()).fileName());
    else if (m_graphView->isLayingOut())
        text = tr("Laying out graph…");
    m_busyLabel->setText(text);
    m_busyLabel->setVisible(!text.isEmpty());
    m_busyBar->setVisible(!text.isEmpty());
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
    restoreState(settings.value(kStateKey).toByteArray());
}

void MainWindow::closeEvent(QCloseEvent* event) {
    QSettings settings;
    settings.setValue(kGeometryKey, saveGeometry());
    settings.setValue(kStateKey, saveState());
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
