#include <QFileInfo>
#include <QDir>
#include <QHeaderView>
#include <QItemSelectionModel>
#include <QLineEdit>
#include <QSortFilterProxyModel>
#include <QTableView>
#include <QtTest>

#include "core/model/model_summary.h"
#include "widget_test_support.h"
#include "widgets/layer_table.h"
#include "widgets/layer_table_model.h"

using namespace lathe;
using namespace lathe::test;

class TestLayerTable : public QObject {
    Q_OBJECT

private:
    ModelSummary m_summary;

    static QList<qlonglong> columnValues(const LayerTable& table, int column) {
        QList<qlonglong> values;
        for (int row = 0; row < table.proxy()->rowCount(); ++row)
            values << table.proxy()->index(row, column).data(LayerTableModel::SortRole).toLongLong();
        return values;
    }
    static QStringList columnText(const LayerTable& table, int column) {
        QStringList values;
        for (int row = 0; row < table.proxy()->rowCount(); ++row)
            values << table.proxy()->index(row, column).data().toString();
        return values;
    }

private slots:
    void initTestCase() {
        const auto graph = loadGraph(demoModelPath());
        QVERIFY(graph);
        m_summary = summarizeModel(*graph);
        QCOMPARE(m_summary.layers.size(), size_t(4));
    }

    void rowsShowEveryWeightedLayer() {
        LayerTable table;
        table.setSummary(m_summary);
        QCOMPARE(table.model()->rowCount(), 4);
        QCOMPARE(columnText(table, LayerTableModel::Name), (QStringList{"conv1", "conv2", "fc1", "fc2"}));
        QCOMPARE(columnText(table, LayerTableModel::Op), (QStringList{"Conv", "Conv", "Gemm", "Gemm"}));
        QCOMPARE(columnText(table, LayerTableModel::WeightShape).at(1), QString::fromUtf8("50×20×5×5"));
        QCOMPARE(columnText(table, LayerTableModel::Params), (QStringList{"520", "25,050", "400,500", "5,010"}));
        QCOMPARE(columnText(table, LayerTableModel::Bytes).at(2), QStringLiteral("1,602,000"));
        QCOMPARE(columnText(table, LayerTableModel::Macs).at(1), QStringLiteral("1,600,000"));
        QCOMPARE(columnText(table, LayerTableModel::Share).at(2), QStringLiteral("92.9 %"));
        QVERIFY(table.footerText().contains("431,080"));
        QVERIFY(table.footerText().contains("<b>4</b> layers"));
    }

    // Issue 15: the layers compression acts on come first, then the BatchNormalizations (bundled MobileNet-style).
    void compressibleLayersFirst() {
        const QString path = QFileInfo(demoModelPath()).dir().filePath("mobilenet_fashion.onnx");
        const auto graph = loadGraph(path);
        QVERIFY(graph);
        LayerTable table;
        table.setSummary(summarizeModel(*graph));
        const QStringList ops = columnText(table, LayerTableModel::Op);
        const int firstNorm = int(ops.indexOf("BatchNormalization"));
        QCOMPARE(firstNorm, 12);  // 11 convs and the Gemm
        for (int row = 0; row < ops.size(); ++row)
            QVERIFY2((row < firstNorm) == (ops[row] == "Conv" || ops[row] == "Gemm"), qPrintable(ops[row]));
        QCOMPARE(columnText(table, LayerTableModel::Name).first(), QStringLiteral("/stem/conv/Conv"));
        QCOMPARE(columnText(table, LayerTableModel::Order).first(), QStringLiteral("1"));
    }

    void sortsNumerically_data() {
        QTest::addColumn<int>("column");
        QTest::addColumn<int>("order");
        for (int column : {int(LayerTableModel::Params), int(LayerTableModel::Bytes), int(LayerTableModel::Macs),
                           int(LayerTableModel::WeightShape), int(LayerTableModel::Order)})
            for (int order : {int(Qt::AscendingOrder), int(Qt::DescendingOrder)})
                QTest::addRow("column %d %s", column, order == Qt::AscendingOrder ? "ascending" : "descending")
                    << column << order;
    }
    void sortsNumerically() {
        QFETCH(int, column);
        QFETCH(int, order);
        LayerTable table;
        table.setSummary(m_summary);
        table.view()->sortByColumn(column, Qt::SortOrder(order));
        const QList<qlonglong> values = columnValues(table, column);
        QList<qlonglong> sorted = values;
        std::sort(sorted.begin(), sorted.end());
        if (order == Qt::DescendingOrder) std::reverse(sorted.begin(), sorted.end());
        QCOMPARE(values, sorted);
    }

    void paramsSortIsNotStringSort() {
        LayerTable table;
        table.setSummary(m_summary);
        table.view()->sortByColumn(LayerTableModel::Params, Qt::AscendingOrder);
        // A string sort would give "25,050" < "400,500" < "5,010" < "520".
        QCOMPARE(columnText(table, LayerTableModel::Params), (QStringList{"520", "5,010", "25,050", "400,500"}));
        QCOMPARE(columnText(table, LayerTableModel::Name), (QStringList{"conv1", "fc2", "conv2", "fc1"}));
        table.view()->sortByColumn(LayerTableModel::Share, Qt::DescendingOrder);
        QCOMPARE(columnText(table, LayerTableModel::Name), (QStringList{"fc1", "conv2", "fc2", "conv1"}));
    }

    void filterByNameOrOp_data() {
        QTest::addColumn<QString>("filter");
        QTest::addColumn<QStringList>("names");
        QTest::newRow("none") << "" << QStringList{"conv1", "conv2", "fc1", "fc2"};
        QTest::newRow("name") << "conv" << QStringList{"conv1", "conv2"};
        QTest::newRow("op, any case") << "gemm" << QStringList{"fc1", "fc2"};
        QTest::newRow("exact") << "fc2" << QStringList{"fc2"};
        QTest::newRow("nothing") << "lstm" << QStringList{};
    }
    void filterByNameOrOp() {
        QFETCH(QString, filter);
        QFETCH(QStringList, names);
        LayerTable table;
        table.setSummary(m_summary);
        table.filterEdit()->setText(filter);
        QCOMPARE(columnText(table, LayerTableModel::Name), names);
        if (!filter.isEmpty())
            QVERIFY(table.footerText().contains(QStringLiteral("<b>%1</b> of 4 layers shown").arg(names.size())));
        QVERIFY(table.footerText().contains("431,080"));
    }

    void selectionSignals() {
        LayerTable table;
        table.setSummary(m_summary);
        QSignalSpy selected(&table, &LayerTable::layerSelected);
        const int conv2Node = m_summary.layers[1].nodeIndex;

        table.selectNode(conv2Node);  // programmatic: no signal
        QCOMPARE(selected.count(), 0);
        QCOMPARE(table.selectedNode(), conv2Node);
        table.selectNode(conv2Node - 1);  // a node without weights (pool1) clears the selection
        QCOMPARE(table.selectedNode(), -1);

        table.view()->sortByColumn(LayerTableModel::Params, Qt::DescendingOrder);
        const QModelIndex first = table.proxy()->index(0, LayerTableModel::Name);  // fc1 after sorting
        table.view()->selectionModel()->select(first, QItemSelectionModel::ClearAndSelect | QItemSelectionModel::Rows);
        QCOMPARE(selected.count(), 1);
        QCOMPARE(selected.front().front().toInt(), m_summary.layers[2].nodeIndex);
    }

    void headersHaveToolTips() {
        LayerTableModel model;
        for (int column = 0; column < LayerTableModel::ColumnCount; ++column) {
            QVERIFY(!model.headerData(column, Qt::Horizontal).toString().isEmpty());
            QVERIFY(!model.headerData(column, Qt::Horizontal, Qt::ToolTipRole).toString().isEmpty());
        }
    }
};

QTEST_MAIN(TestLayerTable)
#include "test_layer_table.moc"
