#include "widgets/graph_view.h"

#include <QAction>
#include <QKeyEvent>
#include <QLabel>
#include <QMouseEvent>
#include <QRegularExpression>
#include <QWheelEvent>
#include <QtConcurrent/QtConcurrentRun>
#include <algorithm>
#include <cmath>
#include <set>
#include <unordered_map>

#include "widgets/background_pool.h"
#include "widgets/display_format.h"
#include "widgets/graph_items.h"
#include "widgets/graph_legend.h"
#include "widgets/lathe_resources.h"
#include "widgets/op_metadata.h"

namespace lathe {

namespace {

constexpr double kMinZoom = 0.05;
constexpr double kMaxZoom = 4.0;
constexpr double kZoomStep = 1.25;
constexpr double kMaxFitZoom = 1.5;
// Below this fit scale the whole graph is unreadable; it then starts at kLargeGraphZoom from the top.
constexpr double kMinReadableFit = 0.6;
constexpr double kLargeGraphZoom = 0.85;
constexpr double kSceneMargin = 40;
constexpr int kMaxWeightRows = 6;
const QColor kBackground(0xf6f7f9);
const QColor kGridDot(0xdadee3);

QString qs(const std::string& s) { return QString::fromStdString(s); }

// Label for constant input `slot` inside a node box: the op's input name from the metadata (Conv 1 -> "W"), else
// the tensor name's last segment ("conv2.weight" -> "weight", "dense/kernel:0" -> "kernel").
QString constantLabel(const Node& node, int slot, const std::string& tensorName) {
    const QString known = OpMetadata::builtin().inputName(qs(node.opType), slot);
    if (!known.isEmpty()) return known;
    QString name = qs(tensorName);
    static const QRegularExpression outputIndex(QStringLiteral(":\\d+$"));
    name.remove(outputIndex);
    static const QRegularExpression separator(QStringLiteral("[./:]"));
    const qsizetype cut = name.lastIndexOf(separator);
    QString label = cut >= 0 && cut + 1 < name.size() ? name.mid(cut + 1) : name;
    return label.size() > 16 ? label.left(15) + QChar(0x2026) : label;
}

QString tensorRowValue(const Tensor& t) {
    const QString shape = formatShape(t.shape);
    return t.dtype == DType::Float ? shape : qs(std::string(dtypeName(t.dtype))) + ' ' + shape;
}

QString edgeLabel(const Graph& graph, const std::string& valueName) {
    const ValueInfo* value = graph.value(valueName);
    if (!value) return {};
    const QString shape = formatValueShape(*value);
    if (shape.isEmpty() || value->dtype == DType::Float || value->dtype == DType::Undefined) return shape;
    return qs(std::string(dtypeName(value->dtype))) + ' ' + shape;
}

QString valueToolTip(const Graph& graph, const std::string& name) {
    const ValueInfo* v = graph.value(name);
    if (!v) return qs(name);
    return qs(name) + ": " + qs(std::string(dtypeName(v->dtype))) + ' ' + qs(v->shapeString());
}

NodeBoxContent nodeContent(const Graph& graph, const Node& node) {
    const OpCategory& category = OpMetadata::builtin().categoryOf(qs(node.opType), node.knownOp);
    NodeBoxContent content;
    content.title = qs(node.opType);
    content.subtitle = qs(node.name);
    content.color = category.color;
    content.unknownOp = !node.knownOp;
    if (!node.domain.empty()) content.rows.emplace_back(QStringLiteral("domain"), qs(node.domain));
    QStringList tip;
    tip << QStringLiteral("<b>%1</b> &nbsp;%2 <span style='color:#80868b'>(%3)</span>")
               .arg(qs(node.name).toHtmlEscaped(), qs(node.opType).toHtmlEscaped(), category.name);
    if (!node.knownOp)
        tip << QStringLiteral("<span style='color:#d93025'>No ONNX schema for this op: shown, not executable</span>");
    int weightRows = 0, hiddenWeights = 0;
    for (size_t slot = 0; slot < node.inputs.size(); ++slot) {
        const std::string& input = node.inputs[slot];
        const Tensor* t = input.empty() ? nullptr : graph.initializer(input);
        if (!t) {
            if (!input.empty()) tip << QStringLiteral("in: ") + valueToolTip(graph, input).toHtmlEscaped();
            continue;
        }
        tip << QStringLiteral("const: %1 %2").arg(qs(t->name).toHtmlEscaped(), formatTypedShape(t->dtype, t->shape));
        if (weightRows++ < kMaxWeightRows)
            content.rows.emplace_back(constantLabel(node, int(slot), t->name), tensorRowValue(*t));
        else
            ++hiddenWeights;
    }
    if (hiddenWeights > 0)
        content.rows.emplace_back(QStringLiteral("+%1").arg(hiddenWeights), QStringLiteral("more constants"));
    for (const auto& output : node.outputs)
        if (!output.empty()) tip << QStringLiteral("out: ") + valueToolTip(graph, output).toHtmlEscaped();
    content.toolTip = tip.join(QStringLiteral("<br>"));
    return content;
}

}  // namespace

// Everything needed to create the scene once the layout is known: box i < nodes.size() is node i, the rest are
// graph input/output pills.
struct PendingScene {
    struct Terminal {
        QString name;
        bool isInput = true;
        QString toolTip;
    };
    struct Edge {
        int from = -1;
        int to = -1;
        QString label;
    };
    std::vector<NodeBoxContent> nodes;
    std::vector<Terminal> terminals;
    std::vector<Edge> edges;
    std::vector<OpCategory> categories;  // present in the graph, in metadata order

    int boxCount() const { return int(nodes.size() + terminals.size()); }
    int nodeOfBox(int box) const { return box < int(nodes.size()) ? box : -1; }
};

struct PreparedGraph {
    PendingScene scene;
    GraphLayout layout;
    QString error;  // the layout failed
};

namespace {

std::shared_ptr<PreparedGraph> buildPendingScene(const Graph& graph) {
    auto prepared = std::make_shared<PreparedGraph>();
    PendingScene* pending = &prepared->scene;
    std::unordered_map<std::string, int> producer;
    std::set<QString> usedCategories;
    for (size_t i = 0; i < graph.nodes.size(); ++i) {
        const Node& node = graph.nodes[i];
        pending->nodes.push_back(nodeContent(graph, node));
        usedCategories.insert(OpMetadata::builtin().categoryOf(qs(node.opType), node.knownOp).name);
        for (const auto& out : node.outputs)
            if (!out.empty()) producer.emplace(out, int(i));
    }
    std::unordered_map<std::string, int> inputBox;
    for (const auto& name : graph.inputs) {
        inputBox.emplace(name, pending->boxCount());
        pending->terminals.push_back({qs(name), true, QStringLiteral("Graph input ") + valueToolTip(graph, name)});
    }
    auto sourceBox = [&](const std::string& value) {
        if (auto it = producer.find(value); it != producer.end()) return it->second;
        if (auto it = inputBox.find(value); it != inputBox.end()) return it->second;
        return -1;
    };
    for (size_t i = 0; i < graph.nodes.size(); ++i)
        for (const auto& input : graph.nodes[i].inputs) {
            if (input.empty() || graph.initializer(input)) continue;
            if (const int from = sourceBox(input); from >= 0)
                pending->edges.push_back({from, int(i), edgeLabel(graph, input)});
        }
    for (const auto& name : graph.outputs) {
        const int box = pending->boxCount();
        pending->terminals.push_back({qs(name), false, QStringLiteral("Graph output ") + valueToolTip(graph, name)});
        if (const int from = sourceBox(name); from >= 0) pending->edges.push_back({from, box, edgeLabel(graph, name)});
    }
    for (const auto& category : OpMetadata::builtin().categories())
        if (usedCategories.count(category.name)) pending->categories.push_back(category);
    return prepared;
}

LayoutRequest layoutRequestFor(const PendingScene& pending) {
    LayoutRequest request;
    for (const auto& content : pending.nodes) {
        const QSizeF size = NodeItem::measure(content);
        request.nodes.push_back({size.width(), size.height()});
    }
    for (const auto& terminal : pending.terminals) {
        const QSizeF size = TerminalItem::measure(terminal.name);
        request.nodes.push_back({size.width(), size.height()});
    }
    for (const auto& edge : pending.edges) {
        const QSizeF label = EdgeItem::measureLabel(edge.label);
        request.edges.push_back({edge.from, edge.to, label.width(), label.height()});
    }
    return request;
}

}  // namespace

GraphView::GraphView(QWidget* parent)
    : QGraphicsView(parent), m_placeholder(new QLabel(this)), m_legend(new GraphLegend(this)) {
    initLatheResources();
    setScene(new QGraphicsScene(this));
    setRenderHints(QPainter::Antialiasing | QPainter::TextAntialiasing | QPainter::SmoothPixmapTransform);
    setDragMode(QGraphicsView::ScrollHandDrag);
    setTransformationAnchor(QGraphicsView::AnchorUnderMouse);
    setResizeAnchor(QGraphicsView::AnchorViewCenter);
    setViewportUpdateMode(QGraphicsView::SmartViewportUpdate);
    setFrameShape(QFrame::NoFrame);
    setFocusPolicy(Qt::StrongFocus);

    m_placeholder->setAlignment(Qt::AlignCenter);
    m_placeholder->setWordWrap(true);
    m_placeholder->setAttribute(Qt::WA_TransparentForMouseEvents);
    m_placeholder->setStyleSheet(QStringLiteral("color:#80868b; font-size:11pt;"));
    m_legend->hide();
    setPlaceholder(tr("Open an ONNX model (Ctrl+O) or drop a .onnx file here"));

    auto makeAction = [this](const QString& text, const QString& icon, const QList<QKeySequence>& keys,
                             const QString& tip, void (GraphView::*slot)()) {
        auto* action = new QAction(QIcon(icon), text, this);
        action->setShortcuts(keys);
        action->setToolTip(QStringLiteral("%1 (%2)").arg(tip, keys.front().toString(QKeySequence::NativeText)));
        connect(action, &QAction::triggered, this, slot);
        addAction(action);
        return action;
    };
    m_zoomInAction = makeAction(tr("Zoom &In"), QStringLiteral(":/lathe/icons/zoom_in.svg"),
                                {QKeySequence(Qt::Key_Plus), QKeySequence(Qt::Key_Equal), QKeySequence::ZoomIn},
                                tr("Zoom in on the graph"), &GraphView::zoomIn);
    m_zoomOutAction = makeAction(tr("Zoom &Out"), QStringLiteral(":/lathe/icons/zoom_out.svg"),
                                 {QKeySequence(Qt::Key_Minus), QKeySequence::ZoomOut}, tr("Zoom out of the graph"),
                                 &GraphView::zoomOut);
    m_resetZoomAction = makeAction(tr("&Actual Size"), QStringLiteral(":/lathe/icons/zoom_reset.svg"),
                                   {QKeySequence(Qt::Key_0), QKeySequence(Qt::CTRL | Qt::Key_0)},
                                   tr("Show the graph at 100 %"), &GraphView::resetZoom);
    m_fitAction =
        makeAction(tr("&Fit to Window"), QStringLiteral(":/lathe/icons/zoom_fit.svg"), {QKeySequence(Qt::Key_F)},
                   tr("Fit the whole graph into the window"), &GraphView::fitToWindow);
    for (QAction* action : {m_zoomInAction, m_zoomOutAction, m_resetZoomAction, m_fitAction}) action->setEnabled(false);

    connect(&m_watcher, &QFutureWatcher<std::shared_ptr<const PreparedGraph>>::finished, this,
            &GraphView::onLayoutDone);
}

GraphView::~GraphView() = default;

std::shared_ptr<const PreparedGraph> GraphView::prepare(const Graph& graph) {
    std::shared_ptr<PreparedGraph> prepared = buildPendingScene(graph);
    Result<GraphLayout> layout = layoutGraph(layoutRequestFor(prepared->scene));
    if (layout)
        prepared->layout = std::move(layout).value();
    else
        prepared->error = QString::fromStdString(layout.error().message);
    return prepared;
}

void GraphView::setGraph(std::shared_ptr<const Graph> graph) {
    clearItems();
    m_graph = std::move(graph);
    m_legend->setCategories({});
    if (!m_graph) {
        m_layingOut = false;
        m_watcher.setFuture(QFuture<std::shared_ptr<const PreparedGraph>>());
        setPlaceholder(tr("Open an ONNX model (Ctrl+O) or drop a .onnx file here"));
        return;
    }
    setPlaceholder(tr("Laying out %1 nodes…").arg(m_graph->nodes.size()));
    m_layingOut = true;
    m_watcher.setFuture(QtConcurrent::run(backgroundPool(), [graph = m_graph] { return prepare(*graph); }));
    emit layoutStarted();
}

void GraphView::setGraph(std::shared_ptr<const Graph> graph, std::shared_ptr<const PreparedGraph> prepared) {
    if (!graph || !prepared) {
        setGraph(std::move(graph));
        return;
    }
    clearItems();
    m_graph = std::move(graph);
    m_layingOut = false;
    m_watcher.setFuture(QFuture<std::shared_ptr<const PreparedGraph>>());
    m_legend->setCategories({});
    showPrepared(*prepared);
}

int GraphView::nodeItemCount() const {
    return int(std::count_if(m_nodeItems.begin(), m_nodeItems.end(), [](const NodeItem* item) { return item; }));
}

int GraphView::edgeItemCount() const { return int(m_edges.size()); }

const NodeItem* GraphView::nodeItem(int nodeIndex) const { return nodeItemAt(nodeIndex); }

NodeItem* GraphView::nodeItemAt(int nodeIndex) const {
    return nodeIndex >= 0 && size_t(nodeIndex) < m_nodeItems.size() ? m_nodeItems[size_t(nodeIndex)] : nullptr;
}

void GraphView::onLayoutDone() {
    if (!m_layingOut || m_watcher.future().resultCount() == 0) return;
    m_layingOut = false;
    const std::shared_ptr<const PreparedGraph> prepared = m_watcher.result();
    showPrepared(*prepared);
}

void GraphView::showPrepared(const PreparedGraph& prepared) {
    if (!prepared.error.isEmpty()) {
        setPlaceholder(tr("The graph could not be laid out:\n%1").arg(prepared.error));
        emit layoutFailed(prepared.error);
        return;
    }
    const PendingScene* pending = &prepared.scene;
    const GraphLayout& layout = prepared.layout;
    m_nodeItems.assign(pending->nodes.size(), nullptr);
    for (size_t i = 0; i < pending->nodes.size(); ++i) {
        auto* item = new NodeItem(int(i), pending->nodes[i]);
        item->setPos(layout.nodes[i].topLeft());
        scene()->addItem(item);
        m_nodeItems[i] = item;
    }
    for (size_t t = 0; t < pending->terminals.size(); ++t) {
        const auto& terminal = pending->terminals[t];
        auto* item = new TerminalItem(terminal.name, terminal.isInput, terminal.toolTip);
        item->setPos(layout.nodes[pending->nodes.size() + t].topLeft());
        scene()->addItem(item);
    }
    for (size_t e = 0; e < pending->edges.size(); ++e) {
        const auto& edge = pending->edges[e];
        auto* item = new EdgeItem(layout.edges[e], edge.label);
        scene()->addItem(item);
        m_edges.push_back({item, pending->nodeOfBox(edge.from), pending->nodeOfBox(edge.to)});
    }
    scene()->setSceneRect(layout.bounds.adjusted(-kSceneMargin, -kSceneMargin, kSceneMargin, kSceneMargin));
    m_legend->setCategories(pending->categories);
    setPlaceholder({});
    for (QAction* action : {m_zoomInAction, m_zoomOutAction, m_resetZoomAction, m_fitAction}) action->setEnabled(true);
    showInitialView();
    // A selection made while the layout ran (the window selects a layer as soon as the model is read).
    const std::vector<int> group = m_requestedGroup;
    if (m_requestedNode >= 0) selectNode(m_requestedNode);
    showChannelGroup(group);
    emit layoutFinished();
}

void GraphView::clearItems() {
    m_selectedNode = -1;
    m_requestedNode = -1;
    m_requestedGroup.clear();
    m_nodeItems.clear();
    m_edges.clear();
    scene()->clear();
    scene()->setSceneRect(QRectF());
    for (QAction* action : {m_zoomInAction, m_zoomOutAction, m_resetZoomAction, m_fitAction}) action->setEnabled(false);
}

void GraphView::selectNode(int nodeIndex) {
    m_requestedNode = nodeIndex;  // shown once the layout arrives when it is still running
    if (NodeItem* previous = nodeItemAt(m_selectedNode)) previous->setHighlighted(false);
    for (auto& link : m_edges) link.item->setHighlighted(false);
    NodeItem* item = nodeItemAt(nodeIndex);
    m_selectedNode = item ? nodeIndex : -1;
    if (!item) return;
    item->setHighlighted(true);
    for (auto& link : m_edges)
        if (link.fromNode == nodeIndex || link.toNode == nodeIndex) link.item->setHighlighted(true);
    const QRectF visible = mapToScene(viewport()->rect()).boundingRect();
    if (!visible.contains(item->sceneBoundingRect())) centerOn(item);
}

void GraphView::showChannelGroup(const std::vector<int>& nodeIndices) {
    m_requestedGroup = nodeIndices;
    for (NodeItem* item : m_nodeItems)
        if (item) item->setGrouped(false);
    for (int i : nodeIndices)
        if (NodeItem* item = nodeItemAt(i)) item->setGrouped(true);
}

void GraphView::zoomIn() { setZoom(m_zoom * kZoomStep); }

void GraphView::zoomOut() { setZoom(m_zoom / kZoomStep); }

void GraphView::resetZoom() { setZoom(1.0); }

void GraphView::fitToWindow() {
    if (sceneRect().isEmpty()) return;
    setZoom(std::min(fitScale(), kMaxFitZoom));
    centerOn(sceneRect().center());
}

double GraphView::fitScale() const {
    const QRectF scene = sceneRect();
    const QSize port = viewport()->size();
    if (scene.isEmpty() || port.isEmpty()) return 1.0;
    return std::min(port.width() / scene.width(), port.height() / scene.height());
}

void GraphView::showInitialView() {
    // The whole graph when it is readable that way (never magnified), otherwise a readable zoom from the top, where
    // the inputs are.
    const double fit = fitScale();
    if (fit >= kMinReadableFit) {
        setZoom(std::min(fit, 1.0));
        centerOn(sceneRect().center());
        return;
    }
    setZoom(kLargeGraphZoom);
    const QRectF scene = sceneRect();
    const double halfHeight = viewport()->height() / (2 * m_zoom);
    centerOn(QPointF(scene.center().x(), scene.top() + halfHeight));
}

void GraphView::setZoom(double zoom) {
    zoom = std::clamp(zoom, kMinZoom, kMaxZoom);
    if (std::abs(zoom - transform().m11()) > 1e-9) setTransform(QTransform::fromScale(zoom, zoom));
    if (zoom == m_zoom) return;
    m_zoom = zoom;
    emit zoomChanged(m_zoom);
}

void GraphView::setPlaceholder(const QString& text) {
    m_placeholder->setText(text);
    m_placeholder->setVisible(!text.isEmpty());
    positionOverlays();
}

void GraphView::positionOverlays() {
    const QRect port = viewport()->geometry();
    m_placeholder->setGeometry(port.adjusted(40, 40, -40, -40));
    const QSize legend = m_legend->sizeHint();
    m_legend->setGeometry(port.left() + 12, port.bottom() - legend.height() - 12, legend.width(), legend.height());
}

void GraphView::mousePressEvent(QMouseEvent* event) {
    if (event->button() == Qt::LeftButton) {
        for (QGraphicsItem* item : items(event->position().toPoint())) {
            if (item->type() == NodeItem::Type) {
                emit selectionRequested(static_cast<NodeItem*>(item)->nodeIndex());
                event->accept();
                return;
            }
        }
    }
    QGraphicsView::mousePressEvent(event);
}

void GraphView::keyPressEvent(QKeyEvent* event) {
    if (event->key() == Qt::Key_Escape && m_selectedNode >= 0) {
        emit selectionRequested(-1);
        return;
    }
    QGraphicsView::keyPressEvent(event);
}

void GraphView::wheelEvent(QWheelEvent* event) {
    if (event->modifiers() & Qt::ControlModifier) {
        setZoom(m_zoom * std::pow(kZoomStep, event->angleDelta().y() / 120.0));
        event->accept();
        return;
    }
    QGraphicsView::wheelEvent(event);
}

void GraphView::resizeEvent(QResizeEvent* event) {
    QGraphicsView::resizeEvent(event);
    positionOverlays();
}

void GraphView::drawBackground(QPainter* painter, const QRectF& rect) {
    painter->fillRect(rect, kBackground);
    if (m_zoom < 0.5 || m_nodeItems.empty()) return;
    constexpr double spacing = 24;
    QVector<QPointF> dots;
    for (double x = std::floor(rect.left() / spacing) * spacing; x < rect.right(); x += spacing)
        for (double y = std::floor(rect.top() / spacing) * spacing; y < rect.bottom(); y += spacing)
            dots.append(QPointF(x, y));
    painter->setPen(QPen(kGridDot, 1.5));
    painter->drawPoints(dots.constData(), int(dots.size()));
}

}  // namespace lathe
