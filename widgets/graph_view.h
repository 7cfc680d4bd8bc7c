#pragma once

#include <QFutureWatcher>
#include <QGraphicsView>
#include <QString>
#include <memory>
#include <vector>

#include "core/model/graph.h"
#include "widgets/graph_layout.h"

class QAction;
class QLabel;

namespace lathe {

class EdgeItem;
class GraphLegend;
class NodeItem;
struct PendingScene;
struct PreparedGraph;

// Netron-like view of a model graph: one box per ONNX node, edges labelled with tensor shapes, graph inputs and
// outputs as pills. Layout runs off the UI thread (Graphviz "dot"); zoom with Ctrl+wheel / actions, pan by dragging.
class GraphView : public QGraphicsView {
    Q_OBJECT

public:
    explicit GraphView(QWidget* parent = nullptr);
    ~GraphView() override;

    // Scene content and Graphviz layout of `graph` for setGraph(graph, prepared): slow, thread-safe, no widgets.
    static std::shared_ptr<const PreparedGraph> prepare(const Graph& graph);

    // Shows `graph` (null clears the view). Items appear when the layout finishes (layoutFinished/layoutFailed).
    void setGraph(std::shared_ptr<const Graph> graph);
    // Shows `graph` laid out by prepare() at once (emits layoutFinished or layoutFailed before returning).
    void setGraph(std::shared_ptr<const Graph> graph, std::shared_ptr<const PreparedGraph> prepared);
    bool isLayingOut() const { return m_layingOut; }

    // Number of items standing for ONNX nodes (edges and graph input/output pills are not counted).
    int nodeItemCount() const;
    int edgeItemCount() const;
    // Item of node `nodeIndex`, or null before layout / for a bad index.
    const NodeItem* nodeItem(int nodeIndex) const;
    int selectedNode() const { return m_selectedNode; }
    double zoom() const { return m_zoom; }

    QAction* zoomInAction() const { return m_zoomInAction; }
    QAction* zoomOutAction() const { return m_zoomOutAction; }
    QAction* resetZoomAction() const { return m_resetZoomAction; }
    QAction* fitAction() const { return m_fitAction; }

public slots:
    // Highlights node `nodeIndex` (-1 clears) and scrolls it into view when hidden; does not emit selectionRequested.
    void selectNode(int nodeIndex);
    // Outlines these nodes (the selected layer's channel group: pruned together); empty clears.
    void showChannelGroup(const std::vector<int>& nodeIndices);
    void zoomIn();
    void zoomOut();
    void resetZoom();
    // Shows the whole graph (never magnifying beyond 150 %).
    void fitToWindow();

signals:
    // The user clicked node `nodeIndex` (or pressed Escape: -1).
    void selectionRequested(int nodeIndex);
    void layoutStarted();
    void layoutFinished();
    void layoutFailed(const QString& message);
    void zoomChanged(double zoom);

protected:
    void mousePressEvent(QMouseEvent* event) override;
    void keyPressEvent(QKeyEvent* event) override;
    void wheelEvent(QWheelEvent* event) override;
    void resizeEvent(QResizeEvent* event) override;
    void drawBackground(QPainter* painter, const QRectF& rect) override;

private:
    struct EdgeLink {
        EdgeItem* item = nullptr;
        int fromNode = -1;  // -1 for a graph input pill
        int toNode = -1;    // -1 for a graph output pill
    };

    NodeItem* nodeItemAt(int nodeIndex) const;
    void onLayoutDone();
    void showPrepared(const PreparedGraph& prepared);
    void clearItems();
    void setZoom(double zoom);
    double fitScale() const;
    void showInitialView();
    void setPlaceholder(const QString& text);
    void positionOverlays();

    std::shared_ptr<const Graph> m_graph;
    bool m_layingOut = false;
    QFutureWatcher<std::shared_ptr<const PreparedGraph>> m_watcher;
    std::vector<NodeItem*> m_nodeItems;  // by node index
    std::vector<EdgeLink> m_edges;
    int m_selectedNode = -1;
    int m_requestedNode = -1;          // the last selectNode, applied when a running layout arrives
    std::vector<int> m_requestedGroup;  // the last showChannelGroup, likewise
    double m_zoom = 1.0;
    QLabel* m_placeholder;
    GraphLegend* m_legend;
    QAction* m_zoomInAction;
    QAction* m_zoomOutAction;
    QAction* m_resetZoomAction;
    QAction* m_fitAction;
};

}  // namespace lathe
