#include <QtConcurrent/QtConcurrentRun>
#include <QtTest>

#include "widgets/graph_layout.h"

using namespace lathe;

Q_DECLARE_METATYPE(LayoutRequest)

namespace {

LayoutRequest chain(int n) {
    LayoutRequest request;
    for (int i = 0; i < n; ++i) request.nodes.push_back({120, 50});
    for (int i = 0; i + 1 < n; ++i) request.edges.push_back({i, i + 1, 60, 12});
    return request;
}

// A diamond with a skip edge: 0 -> 1 -> 2 -> 3 and 0 -> 3.
LayoutRequest diamond() {
    LayoutRequest request;
    for (int i = 0; i < 4; ++i) request.nodes.push_back({100, 40});
    request.edges = {{0, 1, 0, 0}, {1, 2, 0, 0}, {2, 3, 0, 0}, {0, 3, 50, 12}};
    return request;
}

}  // namespace

class TestGraphLayout : public QObject {
    Q_OBJECT

private slots:
    void layout_data() {
        QTest::addColumn<LayoutRequest>("request");
        QTest::newRow("single node") << chain(1);
        QTest::newRow("chain of 8") << chain(8);
        QTest::newRow("diamond with skip edge") << diamond();
        QTest::newRow("long chain, labels placed after layout") << chain(320);
    }

    void layout() {
        QFETCH(LayoutRequest, request);
        const Result<GraphLayout> result = layoutGraph(request);
        QVERIFY2(result.ok(), result.ok() ? "" : result.error().message.c_str());
        const GraphLayout& layout = *result;
        QCOMPARE(layout.nodes.size(), request.nodes.size());
        QCOMPARE(layout.edges.size(), request.edges.size());
        for (size_t i = 0; i < layout.nodes.size(); ++i) {
            // Sizes are kept (fixed-size boxes) and every box lies inside the bounds.
            QCOMPARE(qRound(layout.nodes[i].width()), qRound(request.nodes[i].width));
            QCOMPARE(qRound(layout.nodes[i].height()), qRound(request.nodes[i].height));
            QVERIFY(layout.bounds.adjusted(-1, -1, 1, 1).contains(layout.nodes[i]));
            for (size_t j = i + 1; j < layout.nodes.size(); ++j)
                QVERIFY2(!layout.nodes[i].intersects(layout.nodes[j]), qPrintable(QString("%1/%2").arg(i).arg(j)));
        }
        for (size_t e = 0; e < request.edges.size(); ++e) {
            const auto& edge = request.edges[e];
            const auto& route = layout.edges[e];
            // Top to bottom, a cubic Bezier chain from the source box to (the arrow tip at) the target box.
            QVERIFY(layout.nodes[size_t(edge.from)].center().y() < layout.nodes[size_t(edge.to)].center().y());
            QVERIFY(route.bezier.size() >= 4);
            QCOMPARE((route.bezier.size() - 1) % 3, size_t(0));
            QVERIFY(layout.nodes[size_t(edge.from)].adjusted(-2, -2, 2, 2).contains(route.bezier.front()));
            QVERIFY(route.arrowTip.has_value());
            QVERIFY(layout.nodes[size_t(edge.to)].adjusted(-2, -2, 2, 2).contains(*route.arrowTip));
            QCOMPARE(route.labelCenter.has_value(), edge.labelWidth > 0);
        }
    }

    void emptyRequest() {
        const Result<GraphLayout> result = layoutGraph({});
        QVERIFY(result.ok());
        QVERIFY(result->nodes.empty());
    }

    void rejectsDanglingEdge() {
        LayoutRequest request = chain(2);
        request.edges.push_back({0, 5, 0, 0});
        const Result<GraphLayout> result = layoutGraph(request);
        QVERIFY(!result.ok());
        QCOMPARE(result.error().code, ErrorCode::InvalidArgument);
    }

    void concurrentLayoutsAreSafe() {
        QList<QFuture<bool>> futures;
        for (int i = 0; i < 6; ++i) futures << QtConcurrent::run([i] { return layoutGraph(chain(3 + i)).ok(); });
        for (auto& future : futures) QVERIFY(future.result());
    }
};

QTEST_GUILESS_MAIN(TestGraphLayout)
#include "test_graph_layout.moc"
