#include "app/gui/screenshot_task.h"

#include <QDockWidget>
#include <QPixmap>
#include <QStatusBar>

#include "app/gui/evaluation_session.h"
#include "app/gui/guidance_controller.h"
#include "app/gui/main_window.h"
#include "app/gui/model_document.h"
#include "app/gui/sensitivity_session.h"
#include "app/gui/workbench_controller.h"
#include "widgets/activation_view.h"
#include "widgets/graph_view.h"
#include "widgets/layer_inspector.h"
#include "widgets/histogram_view.h"
#include "widgets/sensitivity_view.h"

namespace lathe {

namespace {
constexpr int kTimeoutMs = 300000;
constexpr int kSettleMs = 50;
}  // namespace

ScreenshotTask::ScreenshotTask(MainWindow* window, QString outputPath, QObject* parent)
    : ScreenshotTask(window, std::move(outputPath), Options{}, parent) {}

ScreenshotTask::ScreenshotTask(MainWindow* window, QString outputPath, Options options, QObject* parent)
    : QObject(parent), m_window(window), m_outputPath(std::move(outputPath)), m_options(options) {
    m_timeout.setSingleShot(true);
    m_timeout.setInterval(kTimeoutMs);
    connect(&m_timeout, &QTimer::timeout, this,
            [this] { fail(tr("timed out after %1 s waiting for the model and its views").arg(kTimeoutMs / 1000)); });
}

void ScreenshotTask::start(bool expectModel) {
    if (!expectModel) {
        QTimer::singleShot(0, this, &ScreenshotTask::capture);
        return;
    }
    connect(m_window->document(), &ModelDocument::errorOccurred, this,
            [this](const QString&, const QString& message) { fail(message); });
    connect(m_window->graphView(), &GraphView::layoutFailed, this,
            [this](const QString& message) { fail(tr("graph layout failed: %1").arg(message)); });
    connect(m_window->graphView(), &GraphView::layoutFinished, this, &ScreenshotTask::onLayoutFinished);
    connect(m_window->histogramView(), &HistogramView::histogramUpdated, this, [this] {
        if (m_stage == Stage::Histogram) onHistogramReady();
    });
    connect(m_window->activationView()->histogramView(), &HistogramView::histogramUpdated, this, [this] {
        if (m_stage == Stage::Activations && m_window->activationView()->histogramView()->valueCount() > 0)
            QTimer::singleShot(kSettleMs, this, &ScreenshotTask::startSensitivity);
    });
    connect(m_window->evaluationSession(), &EvaluationSession::activationsFailed, this,
            [this](int, const QString& message) {
                if (m_stage == Stage::Activations) fail(tr("activation capture failed: %1").arg(message));
            });
    SensitivitySession* scan = m_window->workbench()->guidance()->sensitivitySession();
    connect(scan, &SensitivitySession::finished, this, [this] {
        if (m_stage == Stage::Sensitivity) QTimer::singleShot(kSettleMs, this, &ScreenshotTask::startEvaluation);
    });
    connect(scan, &SensitivitySession::failed, this, [this](const QString& message) {
        if (m_stage != Stage::Sensitivity) return;
        m_failure = tr("sensitivity scan failed: %1").arg(message);
        QTimer::singleShot(kSettleMs, this, &ScreenshotTask::startEvaluation);
    });
    // Captured a moment later, once the finished job's progress strip has left the status bar.
    connect(m_window->evaluationSession(), &EvaluationSession::evaluationFinished, this, [this] {
        if (m_stage == Stage::Evaluation) QTimer::singleShot(kSettleMs, this, &ScreenshotTask::capture);
    });
    // A failed evaluation is still captured (the window shows the error), but the task reports the failure.
    connect(m_window->evaluationSession(), &EvaluationSession::evaluationFailed, this, [this](const QString& message) {
        if (m_stage != Stage::Evaluation) return;
        m_failure = tr("evaluation failed: %1").arg(message);
        QTimer::singleShot(kSettleMs, this, &ScreenshotTask::capture);
    });
    m_timeout.start();
}

void ScreenshotTask::onLayoutFinished() {
    if (m_stage != Stage::Loading) return;
    const auto& layers = m_window->document()->summary().layers;
    if (layers.empty()) {
        onHistogramReady();
        return;
    }
    m_stage = Stage::Histogram;
    // The second layer that compresses (Conv, Gemm, MatMul), else the second weighted one.
    std::vector<int> compressible;
    for (const LayerInfo& l : layers)
        if (l.op == "Conv" || l.op == "Gemm" || l.op == "MatMul") compressible.push_back(l.nodeIndex);
    if (compressible.empty())
        for (const LayerInfo& l : layers) compressible.push_back(l.nodeIndex);
    m_window->document()->selectNode(compressible[compressible.size() > 1 ? 1 : 0]);
}

void ScreenshotTask::onHistogramReady() {
    if (m_options.activations && m_window->document()->selectedNode() >= 0)
        startActivations();
    else
        startSensitivity();
}

void ScreenshotTask::startActivations() {
    m_stage = Stage::Activations;
    m_window->activationsDock()->show();
    m_window->activationsDock()->raise();
    if (!m_window->evaluationSession()->isCapturing()) m_window->captureActivations();
}

void ScreenshotTask::startSensitivity() {
    if (m_stage == Stage::Sensitivity || m_stage == Stage::Evaluation || m_stage == Stage::Done) return;
    if (m_options.sensitivityTarget.isEmpty()) {
        startEvaluation();
        return;
    }
    GuidanceController* guidance = m_window->workbench()->guidance();
    SensitivityView* view = guidance->sensitivityView();
    if (!view->setTarget(m_options.sensitivityTarget)) {
        fail(tr("unknown sensitivity target '%1' (one of: %2)")
                 .arg(m_options.sensitivityTarget, view->targets().join(QStringLiteral(", "))));
        return;
    }
    // Size-like targets read best against sparsity; MACs and latency only fall with rank.
    const QString& t = m_options.sensitivityTarget;
    view->setAxis(t == QLatin1String("macs") || t == QLatin1String("latency") ? SensitivityView::Axis::Rank
                  : t == QLatin1String("bits")                                 ? SensitivityView::Axis::Bits
                                                                               : SensitivityView::Axis::Sparsity);
    m_stage = Stage::Sensitivity;
    guidance->scan(view->subsetSize());
    if (!guidance->sensitivitySession()->isRunning() && m_stage == Stage::Sensitivity) {
        m_failure = tr("sensitivity scan did not start: %1").arg(m_window->statusBar()->currentMessage());
        QTimer::singleShot(kSettleMs, this, &ScreenshotTask::startEvaluation);
    }
}

void ScreenshotTask::startEvaluation() {
    if (m_stage == Stage::Evaluation || m_stage == Stage::Done) return;
    if (!m_options.evaluate) {
        capture();
        return;
    }
    const bool showScan = m_stage == Stage::Sensitivity;
    m_stage = Stage::Evaluation;
    m_window->evaluate();
    // Evaluating raises the Evaluation panel; a scan asked for stays in front.
    if (showScan) m_window->sensitivityDock()->raise();
    if (!m_window->evaluationSession()->isEvaluating() && m_stage == Stage::Evaluation) {
        m_failure = tr("evaluation did not start: %1").arg(m_window->statusBar()->currentMessage());
        QTimer::singleShot(kSettleMs, this, &ScreenshotTask::capture);
    }
}

void ScreenshotTask::capture() {
    if (m_stage == Stage::Done) return;
    // The Compress panel's preview and spectrum run off the UI thread: wait for them (until the task times out).
    const LayerInspector* inspector = m_window->workbench()->inspector();
    const bool previewPending =
        inspector->hasLayer() && (inspector->isPreviewBusy() || inspector->readoutText("bytes").isEmpty() ||
                                  (inspector->layer().fullRank > 0 && inspector->singularValues().empty()));
    if (previewPending && m_timeout.isActive()) {
        QTimer::singleShot(kSettleMs, this, &ScreenshotTask::capture);
        return;
    }
    m_stage = Stage::Done;
    m_timeout.stop();
    if (!m_window->grab().save(m_outputPath, "PNG")) {
        emit finished(1, tr("cannot write the screenshot to %1").arg(m_outputPath));
        return;
    }
    if (!m_failure.isEmpty()) {
        emit finished(1, m_failure);
        return;
    }
    emit finished(0, {});
}

void ScreenshotTask::fail(const QString& message) {
    if (m_stage == Stage::Done) return;
    m_stage = Stage::Done;
    m_timeout.stop();
    emit finished(1, message);
}

}  // namespace lathe
