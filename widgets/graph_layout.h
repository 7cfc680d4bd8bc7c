#pragma once

#include <QPointF>
#include <QRectF>
#include <QString>
#include <optional>
#include <vector>

#include "core/common/result.h"

namespace lathe {

// Boxes and arrows to place, sizes in scene units (1 unit = 1 Graphviz point).
struct LayoutRequest {
    struct Node {
        double width = 0;
        double height = 0;
    };
    struct Edge {
        int from = -1;
        int to = -1;
        double labelWidth = 0;  // 0: the edge has no label
        double labelHeight = 0;
    };
    std::vector<Node> nodes;
    std::vector<Edge> edges;
};

// Placed graph in scene coordinates (y grows downwards), indexed like the request.
struct GraphLayout {
    struct EdgeRoute {
        std::vector<QPointF> bezier;      // cubic Bezier chain: p0, c1, c2, p1, c3, c4, p2, ...
        std::optional<QPointF> arrowTip;  // where the arrowhead points, when Graphviz left room for it
        std::optional<QPointF> labelCenter;
    };
    std::vector<QRectF> nodes;
    std::vector<EdgeRoute> edges;
    QRectF bounds;
};

// Top-to-bottom layered layout with Graphviz "dot". Thread-safe (Graphviz calls are serialised), no widgets involved.
Result<GraphLayout> layoutGraph(const LayoutRequest& request);

}  // namespace lathe
