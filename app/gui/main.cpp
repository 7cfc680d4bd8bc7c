#include <QApplication>
#include <QCommandLineParser>
#include <QFileInfo>
#include <QIcon>
#include <QStyle>
#include <QStyleFactory>
#include <cstdio>

#include "app/gui/main_window.h"
#include "app/gui/model_document.h"
#include "app/gui/screenshot_task.h"
#include "app/gui/workbench_controller.h"
#include "widgets/dataset_panel.h"

namespace {

// Fusion with a calm light palette: the same look on every desktop and in screenshots.
void applyLook(QApplication& app) {
    app.setStyle(QStyleFactory::create(QStringLiteral("Fusion")));
    QPalette palette = app.style()->standardPalette();
    palette.setColor(QPalette::Window, QColor(0xeef0f3));
    palette.setColor(QPalette::Base, Qt::white);
    palette.setColor(QPalette::AlternateBase, QColor(0xf6f7f9));
    palette.setColor(QPalette::Highlight, QColor(0x2f5f9e));
    palette.setColor(QPalette::HighlightedText, Qt::white);
    palette.setColor(QPalette::ToolTipBase, QColor(0xffffff));
    palette.setColor(QPalette::ToolTipText, QColor(0x202124));
    app.setPalette(palette);
    app.setStyleSheet(
        QStringLiteral("QDockWidget { font-weight:600; }"
                       "QDockWidget > QWidget { font-weight:normal; }"
                       "QDockWidget::title { background:#e3e6ea; padding:5px 8px; border-bottom:1px solid #d0d4d9; }"
                       "QStatusBar { border-top:1px solid #d0d4d9; }"
                       "QToolBar { border-bottom:1px solid #d0d4d9; spacing:2px; padding:2px 4px; }"
                       "QHeaderView::section { background:#f1f3f5; border:none; border-right:1px solid #e0e3e7;"
                       " border-bottom:1px solid #d0d4d9; padding:4px 5px; font-weight:600; color:#3c4043; }"));
}

}  // namespace

int main(int argc, char* argv[]) {
    QApplication app(argc, argv);
    QApplication::setOrganizationName(QStringLiteral("Lathe"));
    QApplication::setApplicationName(QStringLiteral("Lathe"));
    QApplication::setApplicationVersion(QStringLiteral(LATHE_VERSION));
    QApplication::setWindowIcon(QIcon(QStringLiteral(":/lathe/icons/lathe.svg")));
    applyLook(app);

    QCommandLineParser parser;
    parser.setApplicationDescription(QStringLiteral("Lathe: a workbench for compressing ONNX neural networks."));
    parser.addHelpOption();
    parser.addVersionOption();
    parser.addPositionalArgument(QStringLiteral("model"),
                                 QStringLiteral("ONNX model or Lathe project (.latheproj) to open."),
                                 QStringLiteral("[MODEL|PROJECT]"));
    const QCommandLineOption screenshot(QStringLiteral("screenshot"),
                                        QStringLiteral("Open MODEL, select its second weighted layer, save the window "
                                                       "as a PNG to <file> and exit."),
                                        QStringLiteral("file"));
    parser.addOption(screenshot);
    const QCommandLineOption activations(QStringLiteral("activations"),
                                         QStringLiteral("With --screenshot: capture the selected layer's activations "
                                                        "on the data set and show them."));
    parser.addOption(activations);
    const QCommandLineOption evaluate(QStringLiteral("evaluate"),
                                      QStringLiteral("With --screenshot: evaluate the model on the default data set "
                                                     "(Fashion-MNIST test split) and show the results."));
    parser.addOption(evaluate);
    const QCommandLineOption sensitivity(
        QStringLiteral("sensitivity"),
        QStringLiteral("With --screenshot: run the sensitivity scan on the data set and show it with its budget on "
                       "<target> (bits, bytes, zlib, nonzeros, macs or latency)."),
        QStringLiteral("target"));
    parser.addOption(sensitivity);
    const QCommandLineOption data(QStringLiteral("data"),
                                  QStringLiteral("Data set for evaluation and activations, as in lathe-cli: idx:DIR, "
                                                 "folder:DIR or npy:IMAGES.npy,LABELS.npy (default: the last one "
                                                 "used, else the Fashion-MNIST test split)."),
                                  QStringLiteral("spec"));
    parser.addOption(data);
    parser.process(app);
    const QStringList models = parser.positionalArguments();
    if (models.size() > 1) {
        std::fprintf(stderr, "lathe: expected at most one MODEL, got %lld\n", static_cast<long long>(models.size()));
        return 2;
    }

    // The model named on the command line is read while the window is being built.
    if (!models.isEmpty() && !models.front().endsWith(QStringLiteral(".latheproj"), Qt::CaseInsensitive))
        lathe::ModelDocument::prefetch(models.front());
    lathe::MainWindow window;
    if (!parser.isSet(screenshot)) {
        window.restoreWindowState();
        if (parser.isSet(data)) window.datasetPanel()->setSpecText(parser.value(data));
        window.show();
        // Unsaved work from a session that did not end cleanly comes first (it opens its own model).
        const bool recovered = window.workbench()->offerRecovery();
        if (!recovered && !models.isEmpty()) window.openFile(models.front());
        return app.exec();
    }

    window.setDialogsEnabled(false);
    if (parser.isSet(data)) window.datasetPanel()->setSpecText(parser.value(data));
    window.show();
    lathe::ScreenshotTask::Options options;
    options.activations = parser.isSet(activations);
    options.evaluate = parser.isSet(evaluate);
    options.sensitivityTarget = parser.value(sensitivity);
    lathe::ScreenshotTask task(&window, parser.value(screenshot), options);
    QObject::connect(&task, &lathe::ScreenshotTask::finished, &app, [](int exitCode, const QString& message) {
        if (exitCode != 0) std::fprintf(stderr, "lathe: screenshot failed: %s\n", qPrintable(message));
        QCoreApplication::exit(exitCode);
    });
    task.start(!models.isEmpty());
    if (!models.isEmpty()) window.openFile(models.front());
    return app.exec();
}
