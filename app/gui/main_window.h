#pragma once

#include <QMainWindow>
#include <QStringList>

class QDockWidget;
class QLabel;
class QMenu;
class QProgressBar;

namespace lathe {

class GraphView;
class HistogramView;
class LayerTable;
class MessageBanner;
class ModelDocument;
class PropertiesView;

// Lathe's main window: graph in the centre, docks for layers, properties and the weight histogram. All views are
// wired through the ModelDocument, never to each other.
class MainWindow : public QMainWindow {
    Q_OBJECT

public:
    static constexpr int kMaxRecentFiles = 8;

    explicit MainWindow(QWidget* parent = nullptr);

    // Opens `path` asynchronously (same as File > Open).
    void openFile(const QString& path);
    // With dialogs disabled, errors and warnings go only to the status bar, the banner and the document's signals
    // (tests, --screenshot).
    void setDialogsEnabled(bool enabled) { m_dialogsEnabled = enabled; }
    // Restores the window geometry and dock layout saved at the last close.
    void restoreWindowState();
    QStringList recentFiles() const;

    ModelDocument* document() const { return m_document; }
    GraphView* graphView() const { return m_graphView; }
    LayerTable* layerTable() const { return m_layerTable; }
    PropertiesView* propertiesView() const { return m_propertiesView; }
    HistogramView* histogramView() const { return m_histogramView; }
    MessageBanner* warningBanner() const { return m_banner; }
    QString modelStatusText() const;

protected:
    void closeEvent(QCloseEvent* event) override;
    void dragEnterEvent(QDragEnterEvent* event) override;
    void dropEvent(QDropEvent* event) override;

private:
    void createDocks();
    void createActions();
    void createStatusBar();
    void chooseFile();
    void showAbout();
    void onLoadingStarted(const QString& path);
    void onModelChanged();
    void onSelectionChanged(int nodeIndex);
    void onError(const QString& path, const QString& message);
    void onWarnings(const QStringList& warnings);
    void updateBusyIndicator();
    void addRecentFile(const QString& path);
    void removeRecentFile(const QString& path);
    void updateRecentMenu();

    ModelDocument* m_document;
    GraphView* m_graphView;
    LayerTable* m_layerTable;
    PropertiesView* m_propertiesView;
    HistogramView* m_histogramView;
    MessageBanner* m_banner;
    QDockWidget* m_layersDock = nullptr;
    QDockWidget* m_propertiesDock = nullptr;
    QDockWidget* m_histogramDock = nullptr;
    QMenu* m_recentMenu = nullptr;
    QLabel* m_busyLabel = nullptr;
    QProgressBar* m_busyBar = nullptr;
    QLabel* m_modelLabel = nullptr;
    QLabel* m_zoomLabel = nullptr;
    bool m_dialogsEnabled = true;
};

}  // namespace lathe
