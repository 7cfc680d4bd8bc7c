#include "widgets/graph_layout.h"

#include <graphviz/cgraph.h>
#include <graphviz/gvc.h>

#include <algorithm>
#include <cmath>
#include <iterator>
#include <memory>
#include <mutex>

namespace lathe {

namespace {

// Graphviz keeps global parser and error state: one layout at a time per process.
std::mutex& graphvizMutex() {
    static std::mutex mutex;
    return mutex;
}

constexpr double kPointsPerInch = 72.0;
constexpr char kEdgeIdAttribute[] = "lathe_edge";
// Up to this many edges, labels get space reserved in the ranking (cleanest); beyond it they are placed after the
// layout as external labels, because reserved label space makes "dot" about 15x slower on large graphs.
constexpr size_t kReservedLabelEdgeLimit = 300;

bool reservesLabelSpace(const LayoutRequest& request) { return request.edges.size() <= kReservedLabelEdgeLimit; }

QByteArray number(double v) { return QByteArray::number(v, 'f', 3); }

// DOT text for the request; node i is "n<i>", edges carry their index in kEdgeIdAttribute. Edge labels are empty
// fixed-size HTML cells so Graphviz works with exactly the size the caller measured.
QByteArray toDot(const LayoutRequest& request) {
    const bool reserved = reservesLabelSpace(request);
    QByteArray dot;
    dot += "digraph lathe {\n";
    // Large graphs bound dot's crossing minimisation and its x-coordinate network simplex (mclimit, nslimit): with
    // DenseNet-121's long skip edges (47,000 virtual nodes) the unbounded layout took over a minute, bounded 3 s.
    dot += reserved ? "graph [rankdir=TB, nodesep=0.3, ranksep=0.3, splines=spline];\n"
                    : "graph [rankdir=TB, nodesep=0.3, ranksep=0.4, splines=spline, forcelabels=true, mclimit=0.2, "
                      "nslimit=0.2];\n";
    dot += "node [shape=box, fixedsize=true, label=\"\"];\n";
    dot += "edge [arrowsize=0.7];\n";
    for (size_t i = 0; i < request.nodes.size(); ++i) {
        const auto& node = request.nodes[i];
        dot += "n" + QByteArray::number(qulonglong(i)) + " [width=" + number(node.width / kPointsPerInch) +
               ", height=" + number(node.height / kPointsPerInch) + "];\n";
    }
    for (size_t i = 0; i < request.edges.size(); ++i) {
        const auto& edge = request.edges[i];
        dot += "n" + QByteArray::number(edge.from) + " -> n" + QByteArray::number(edge.to) + " [" + kEdgeIdAttribute +
               "=" + QByteArray::number(qulonglong(i));
        if (edge.labelWidth > 0) {
            dot += reserved ? ", label=" : ", xlabel=";
            dot +=
                "<<TABLE BORDER=\"0\" CELLPADDING=\"0\" CELLSPACING=\"0\"><TR><TD FIXEDSIZE=\"TRUE\" "
                "WIDTH=\"" +
                QByteArray::number(int(std::ceil(edge.labelWidth))) + "\" HEIGHT=\"" +
                QByteArray::number(int(std::ceil(edge.labelHeight))) + "\"></TD></TR></TABLE>>";
        }
        dot += "];\n";
    }
    dot += "}\n";
    return dot;
}

struct GraphDeleter {
    void operator()(Agraph_t* g) const { agclose(g); }
};
struct ContextDeleter {
    void operator()(GVC_t* gvc) const { gvFreeContext(gvc); }
};

}  // namespace

Result<GraphLayout> layoutGraph(const LayoutRequest& request) {
    for (const auto& edge : request.edges)
        if (edge.from < 0 || edge.to < 0 || size_t(edge.from) >= request.nodes.size() ||
            size_t(edge.to) >= request.nodes.size())
            return makeError(ErrorCode::InvalidArgument, "graph layout: edge refers to a node that does not exist");

    GraphLayout layout;
    layout.nodes.resize(request.nodes.size());
    layout.edges.resize(request.edges.size());
    if (request.nodes.empty()) return layout;

    const QByteArray dot = toDot(request);
    std::lock_guard lock(graphvizMutex());
    agseterr(AGERR);
    std::unique_ptr<GVC_t, ContextDeleter> gvc(gvContext());
    std::unique_ptr<Agraph_t, GraphDeleter> graph(agmemread(dot.constData()));
    if (!gvc || !graph) return makeError(ErrorCode::Internal, "graph layout: Graphviz could not read the graph");
    if (gvLayout(gvc.get(), graph.get(), "dot") != 0)
        return makeError(ErrorCode::Internal, "graph layout: Graphviz \"dot\" layout failed");

    const boxf bb = GD_bb(graph.get());
    const double top = bb.UR.y;
    auto toScene = [top](pointf p) { return QPointF(p.x, top - p.y); };
    layout.bounds = QRectF(QPointF(bb.LL.x, 0), QPointF(bb.UR.x, top - bb.LL.y));

    const bool reserved = reservesLabelSpace(request);
    char edgeIdName[sizeof kEdgeIdAttribute];
    std::copy(std::begin(kEdgeIdAttribute), std::end(kEdgeIdAttribute), edgeIdName);
    for (Agnode_t* n = agfstnode(graph.get()); n; n = agnxtnode(graph.get(), n)) {
        const int index = QByteArray(agnameof(n)).mid(1).toInt();
        const double w = ND_width(n) * kPointsPerInch;
        const double h = ND_height(n) * kPointsPerInch;
        const QPointF c = toScene(ND_coord(n));
        layout.nodes[size_t(index)] = QRectF(c.x() - w / 2, c.y() - h / 2, w, h);
        for (Agedge_t* e = agfstout(graph.get(), n); e; e = agnxtout(graph.get(), e)) {
            const size_t edgeIndex = QByteArray(agget(e, edgeIdName)).toULongLong();
            if (edgeIndex >= layout.edges.size()) continue;
            GraphLayout::EdgeRoute& route = layout.edges[edgeIndex];
            if (const splines* spl = ED_spl(e); spl && spl->size > 0) {
                const bezier& bz = spl->list[0];
                for (int i = 0; i < bz.size; ++i) route.bezier.push_back(toScene(bz.list[i]));
                if (bz.eflag) route.arrowTip = toScene(bz.ep);
            }
            const textlabel_t* label = reserved ? ED_label(e) : ED_xlabel(e);
            if (label && label->set) route.labelCenter = toScene(label->pos);
        }
    }
    gvFreeLayout(gvc.get(), graph.get());
    return layout;
}

}  // namespace lathe
