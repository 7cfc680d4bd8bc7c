#include "widgets/layer_table_model.h"

#include <QColor>
#include <QStringList>
#include <algorithm>

#include "widgets/display_format.h"
#include "widgets/op_metadata.h"

namespace lathe {

LayerTableModel::LayerTableModel(QObject* parent) : QAbstractTableModel(parent) {}

bool isCompressibleLayer(const LayerInfo& layer) {
    return !layer.weights.empty() &&
           (layer.op == "Conv" || layer.op == "ConvTranspose" || layer.op == "Gemm" || layer.op == "MatMul");
}

void LayerTableModel::setSummary(ModelSummary summary) {
    beginResetModel();
    m_summary = std::move(summary);
    // The layers compression acts on first (in graph order), then normalizations and other weighted nodes.
    std::stable_partition(m_summary.layers.begin(), m_summary.layers.end(), isCompressibleLayer);
    endResetModel();
}

void LayerTableModel::setCompressionText(const QMap<int, QString>& textByNode) {
    if (textByNode == m_compression) return;
    m_compression = textByNode;
    if (rowCount() > 0) emit dataChanged(index(0, Compression), index(rowCount() - 1, Compression));
}

void LayerTableModel::setSensitivity(const QMap<int, LayerSensitivityCell>& cellByNode) {
    m_sensitivity = cellByNode;
    if (rowCount() > 0) emit dataChanged(index(0, Sensitivity), index(rowCount() - 1, Sensitivity));
}

int LayerTableModel::rowOfNode(int nodeIndex) const {
    for (size_t row = 0; row < m_summary.layers.size(); ++row)
        if (m_summary.layers[row].nodeIndex == nodeIndex) return int(row);
    return -1;
}

int LayerTableModel::rowCount(const QModelIndex& parent) const {
    return parent.isValid() ? 0 : int(m_summary.layers.size());
}

int LayerTableModel::columnCount(const QModelIndex& parent) const { return parent.isValid() ? 0 : ColumnCount; }

double LayerTableModel::shareOf(const LayerInfo& layer) const {
    return m_summary.totalParams > 0 ? double(layer.params) / double(m_summary.totalParams) : 0.0;
}

QVariant LayerTableModel::data(const QModelIndex& index, int role) const {
    if (!index.isValid() || index.row() >= rowCount()) return {};
    const LayerInfo& layer = m_summary.layers[size_t(index.row())];
    const auto column = Column(index.column());
    const QString firstShape = layer.weights.empty() ? QString() : formatShape(layer.weights.front().shape);
    switch (role) {
        case Qt::DisplayRole:
            switch (column) {
                case Order:
                    return index.row() + 1;
                case Name:
                    return QString::fromStdString(layer.name);
                case Op:
                    return QString::fromStdString(layer.op);
                case WeightShape:
                    return firstShape;
                case Params:
                    return formatCount(layer.params);
                case Bytes:
                    return formatCount(layer.bytes);
                case Macs:
                    return layer.macsKnown ? formatCount(layer.macs) : tr("unknown");
                case Share:
                    return formatPercent(shareOf(layer));
                case Compression:
                    return m_compression.value(layer.nodeIndex, tr("float"));
                case Sensitivity: {
                    const auto cell = m_sensitivity.constFind(layer.nodeIndex);
                    if (cell == m_sensitivity.constEnd()) return m_sensitivity.isEmpty() ? tr("no scan") : tr("–");
                    return cell->drop < 0.05 ? tr("0.0 pt") : tr("−%1 pt").arg(cell->drop, 0, 'f', 1);
                }
                case ColumnCount:
                    break;
            }
            break;
        case SortRole:
            switch (column) {
                case Order:
                    return index.row();
                case Name:
                    return QString::fromStdString(layer.name);
                case Op:
                    return QString::fromStdString(layer.op);
                case WeightShape:
                    return qlonglong(layer.weights.empty() ? 0 : layer.weights.front().params);
                case Params:
                    return qlonglong(layer.params);
                case Bytes:
                    return qlonglong(layer.bytes);
                case Macs:
                    return qlonglong(layer.macs);
                case Share:
                    return shareOf(layer);
                case Compression:
                    return m_compression.value(layer.nodeIndex);
                case Sensitivity: {
                    const auto cell = m_sensitivity.constFind(layer.nodeIndex);
                    return cell == m_sensitivity.constEnd() ? -1.0 : cell->drop;
                }
                case ColumnCount:
                    break;
            }
            break;
        case NodeIndexRole:
            return layer.nodeIndex;
        case ShareRole:
            return shareOf(layer);
        case Qt::ForegroundRole:
            if (column == Compression && !m_compression.contains(layer.nodeIndex)) return QColor(0x80, 0x86, 0x8b);
            if (column == Sensitivity) {
                const auto cell = m_sensitivity.constFind(layer.nodeIndex);
                if (cell == m_sensitivity.constEnd()) return QColor(0x80, 0x86, 0x8b);
                if (cell->drop >= 2.0) return QColor(0xc5, 0x22, 0x1f);
                if (cell->drop >= 0.5) return QColor(0xb0, 0x60, 0x00);
            }
            break;
        case Qt::TextAlignmentRole:
            if (column == Order || column == Sensitivity || column >= Params)
                return int(Qt::AlignRight | Qt::AlignVCenter);
            return int(Qt::AlignLeft | Qt::AlignVCenter);
        case Qt::DecorationRole:
            if (column == Op) return OpMetadata::builtin().categoryOf(QString::fromStdString(layer.op)).color;
            break;
        case Qt::ToolTipRole: {
            if (column == Sensitivity) {
                const auto cell = m_sensitivity.constFind(layer.nodeIndex);
                if (cell != m_sensitivity.constEnd()) return cell->toolTip;
                return tr(
                    "Compress ▸ Sensitivity Scan measures how much top-1 this layer loses when it alone is "
                    "pruned, quantized or decomposed");
            }
            QStringList lines{
                QStringLiteral("%1 (%2)").arg(QString::fromStdString(layer.name), QString::fromStdString(layer.op))};
            for (const auto& w : layer.weights)
                lines << QStringLiteral("%1: %2, %3 params")
                             .arg(QString::fromStdString(w.name), formatTypedShape(w.dtype, w.shape),
                                  formatCount(w.params));
            return lines.join('\n');
        }
        default:
            break;
    }
    return {};
}

QVariant LayerTableModel::headerData(int section, Qt::Orientation orientation, int role) const {
    if (orientation != Qt::Horizontal) return {};
    static const char* const titles[ColumnCount] = {"#",     "Layer",  "Op",           "Compression", "Sensitivity",
                                                    "Shape", "Params", "Weight bytes", "MACs",        "Share"};
    static const char* const tips[ColumnCount] = {
        "Position of the layer in the model file (sort by this column to restore file order)",
        "Node name in the ONNX graph",
        "ONNX op type; the swatch shows the op category colour used in the graph",
        "The layer's settings in the recipe being edited (pruning, bits, rank); select several rows to edit them "
        "together in the Compress panel",
        "From the last Sensitivity Scan: the largest top-1 drop (points) when this layer alone goes to 50 % sparsity "
        "or 4 bits; red from 2 points, amber from 0.5",
        "Shape of the layer's first weight tensor (usually the kernel); hover a row for all its tensors",
        "Number of weight values (all float initializers the node uses)",
        "The layer's weights as the model file stores them: bits × weights / 8 (float32: 4 bytes each), without "
        "the file's framing or compression",
        "Multiply-accumulate operations per sample (batch 1), from inferred shapes",
        "Share of the model's parameters held by this layer",
    };
    if (section < 0 || section >= ColumnCount) return {};
    if (role == Qt::DisplayRole) return tr(titles[section]);
    if (role == Qt::ToolTipRole) return tr(tips[section]);
    if (role == Qt::TextAlignmentRole)
        return int((section == Order || section == Sensitivity || section >= Params ? Qt::AlignRight : Qt::AlignLeft) |
                   Qt::AlignVCenter);
    return {};
}

}  // namespace lathe
