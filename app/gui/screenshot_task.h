#pragma once

#include <QObject>
#include <QString>
#include <QTimer>

namespace lathe {

class MainWindow;

// `lathe MODEL --screenshot FILE.png [--activations] [--sensitivity TARGET] [--evaluate]`: waits until the model is
// loaded and laid out, selects the second compressible layer (so the histogram has data), optionally captures its
// activations, runs the sensitivity scan and shows its budget on TARGET, and/or evaluates the model on the data set
// panel's data set, saves QWidget::grab() of the window and reports finished(exitCode, message). A failed evaluation
// or scan is captured too, with a non-zero exit code.
class ScreenshotTask : public QObject {
    Q_OBJECT

public:
    struct Options {
        bool activations = false;  // show the Activations tab with the selected layer's output histogram
        bool evaluate = false;     // run Model > Evaluate and show the results
        QString sensitivityTarget;  // non-empty: run the sensitivity scan and show its budget on this target
    };

    ScreenshotTask(MainWindow* window, QString outputPath, QObject* parent = nullptr);
    ScreenshotTask(MainWindow* window, QString outputPath, Options options, QObject* parent = nullptr);

    // Starts waiting; with expectModel == false the window is captured as soon as the event loop runs.
    void start(bool expectModel);

signals:
    void finished(int exitCode, const QString& message);

private:
    enum class Stage { Loading, Histogram, Activations, Sensitivity, Evaluation, Done };

    void onLayoutFinished();
    void onHistogramReady();
    void startActivations();
    void startSensitivity();
    void startEvaluation();
    void capture();
    void fail(const QString& message);

    MainWindow* m_window;
    QString m_outputPath;
    Options m_options;
    QString m_failure;  // reported after capturing (a failed evaluation is still worth a picture)
    QTimer m_timeout;
    Stage m_stage = Stage::Loading;
};

}  // namespace lathe
