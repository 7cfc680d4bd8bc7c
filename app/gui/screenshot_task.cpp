#include "app/gui/screenshot_task.h"

#include <QPixmap>

#include "app/gui/main_window.h"
#include "app/gui/model_document.h"
#include "widgets/graph_view.h"
#include "widgets/histogram_view.h"

namespace lathe {

namespace {
constexpr int kTimeoutMs = 180000;
}

ScreenshotTask::ScreenshotTask(MainWindow* window, QString outputPath, QObject* parent)
    : QObject(parent), m_window(window), m_outputPath(std::move(outputPath)) {
    m_timeout.setSingleShot(true);
    m_timeout.setInterval(kTimeoutMs);
    connect(&m_timeout, &QTimer::timeout, this,
            [this] { fail(tr("timed out after %1 s waiting for the model and its layout").arg(kTimeoutMs / 1000)); });
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
        if (m_waitingForHistogram) capture();
    });
    m_timeout.start();
}

void ScreenshotTask::onLayoutFinished() {
    const auto& layers = m_window->document()->summary().layers;
    if (layers.empty()) {
        capture();
        return;
    }
    m_waitingForHistogram = true;
    m_window->document()->selectNode(layers[layers.size() > 1 ? 1 : 0].nodeIndex);
}

void ScreenshotTask::capture() {
    if (m_done) return;
    m_done = true;
    m_timeout.stop();
    if (!m_window->grab().save(m_outputPath, "PNG")) {
        emit finished(1, tr("cannot write the screenshot to %1").arg(m_outputPath));
        return;
    }
    emit finished(0, {});
}

void ScreenshotTask::fail(const QString& message) {
    if (m_done) return;
    m_done = true;
    m_timeout.stop();
    emit finished(1, message);
}

}  // namespace lathe
