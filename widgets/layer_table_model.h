#pragma once

#include <QAbstractTableModel>
#include <QMap>

#include "core/model/model_summary.h"

namespace lathe {

// A Conv, ConvTranspose, Gemm or MatMul with weights: what compression acts on.
bool isCompressibleLayer(const LayerInfo& layer);

// The Sensitivity column's cell for one layer: the largest top-1 drop (points) the scan measured when that layer alone
// went to 50 % sparsity or 4 bits, and what the tooltip says about it.
struct LayerSensitivityCell {
    double drop = 0;
    QString toolTip;
};

// One row per weighted layer of a ModelSummary, compressible layers first. DisplayRole gives formatted text, SortRole
// raw numbers (so a QSortFilterProxyModel sorts numerically), NodeIndexRole the layer's node index in the graph.
class LayerTableModel : public QAbstractTableModel {
    Q_OBJECT

public:
    enum Column { Order, Name, Op, Compression, Sensitivity, WeightShape, Params, Bytes, Macs, Share, ColumnCount };
    enum Role { SortRole = Qt::UserRole, NodeIndexRole, ShareRole };

    explicit LayerTableModel(QObject* parent = nullptr);

    void setSummary(ModelSummary summary);
    const ModelSummary& summary() const { return m_summary; }
    // Text of the Compression column per node index; nodes without text show "float".
    void setCompressionText(const QMap<int, QString>& textByNode);
    // The Sensitivity column per node index (empty: no scan; the column says so).
    void setSensitivity(const QMap<int, LayerSensitivityCell>& cellByNode);
    // Row of the layer whose node index is `nodeIndex`, or -1 when that node has no weights.
    int rowOfNode(int nodeIndex) const;

    int rowCount(const QModelIndex& parent = {}) const override;
    int columnCount(const QModelIndex& parent = {}) const override;
    QVariant data(const QModelIndex& index, int role = Qt::DisplayRole) const override;
    QVariant headerData(int section, Qt::Orientation orientation, int role = Qt::DisplayRole) const override;

private:
    double shareOf(const LayerInfo& layer) const;

    ModelSummary m_summary;
    QMap<int, QString> m_compression;
    QMap<int, LayerSensitivityCell> m_sensitivity;
};

}  // namespace lathe
