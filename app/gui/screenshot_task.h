#pragma once

#include <QObject>
#include <QString>
#include <QTimer>

namespace lathe {

class MainWindow;

// `lathe MODEL --screenshot FILE.png`: waits until the model is loaded and laid out, selects the second weighted
// layer (so the histogram has data), saves QWidget::grab() of the window and reports finished(exitCode, message).
class ScreenshotTask : public QObject {
    Q_OBJECT

public:
    ScreenshotTask(MainWindow* window, QString outputPath, QObject* parent = nullptr);

    // Starts waiting; with expectModel == false the window is captured as soon as the event loop runs.
    void start(bool expectModel);

signals:
    void finished(int exitCode, const QString& message);

private:
    void onLayoutFinished();
    void capture();
    void fail(const QString& message);

    MainWindow* m_window;
    QString m_outputPath;
    QTimer m_timeout;
    bool m_waitingForHistogram = false;
    bool m_done = false;
};

}  // namespace lathe
