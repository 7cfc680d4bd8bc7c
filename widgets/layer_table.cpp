#include "widgets/layer_table.h"

#include <QAction>
#include <QHeaderView>
#include <QItemSelectionModel>
#include <QLabel>
#include <QLineEdit>
#include <QPainter>
#include <QSortFilterProxyModel>
#include <QStyle>
#include <QStyledItemDelegate>
#include <QTableView>
#include <QVBoxLayout>
#include <algorithm>

#include "widgets/display_format.h"
#include "widgets/layer_table_model.h"

namespace lathe {

namespace {

// Draws the share column as a proportional bar behind the percentage (a profiler's "self %" look).
class ShareBarDelegate : public QStyledItemDelegate {
public:
    using QStyledItemDelegate::QStyledItemDelegate;

    void paint(QPainter* painter, const QStyleOptionViewItem& option, const QModelIndex& index) const override {
        const double share = index.data(LayerTableModel::ShareRole).toDouble();
        QStyleOptionViewItem opt(option);
        initStyleOption(&opt, index);
        const QString text = opt.text;
        opt.text.clear();
        opt.widget->style()->drawControl(QStyle::CE_ItemViewItem, &opt, painter, opt.widget);
        const QRectF bar = QRectF(opt.rect).adjusted(3, 4, -3, -4);
        painter->save();
        painter->setPen(Qt::NoPen);
        painter->setBrush(QColor(47, 95, 158, opt.state & QStyle::State_Selected ? 120 : 55));
        painter->drawRect(QRectF(bar.left(), bar.top(), bar.width() * std::clamp(share, 0.0, 1.0), bar.height()));
        painter->setPen(
            opt.palette.color(opt.state & QStyle::State_Selected ? QPalette::HighlightedText : QPalette::Text));
        painter->drawText(opt.rect.adjusted(4, 0, -6, 0), Qt::AlignRight | Qt::AlignVCenter, text);
        painter->restore();
    }
};

}  // namespace

LayerTable::LayerTable(QWidget* parent)
    : QWidget(parent),
      m_model(new LayerTableModel(this)),
      m_proxy(new QSortFilterProxyModel(this)),
      m_view(new QTableView(this)),
      m_filter(new QLineEdit(this)),
      m_footer(new QLabel(this)) {
    m_proxy->setSourceModel(m_model);
    m_proxy->setSortRole(LayerTableModel::SortRole);
    m_proxy->setFilterCaseSensitivity(Qt::CaseInsensitive);
    m_proxy->setFilterKeyColumn(-1);

    m_filter->setPlaceholderText(tr("Filter layers by name or op…"));
    m_filter->setClearButtonEnabled(true);
    m_filter->setToolTip(tr("Show only layers whose name, op or shape contains this text (Ctrl+F)"));
    auto* findAction = new QAction(tr("Filter Layers"), this);
    findAction->setShortcut(QKeySequence::Find);
    connect(findAction, &QAction::triggered, this, [this] {
        m_filter->setFocus(Qt::ShortcutFocusReason);
        m_filter->selectAll();
    });
    addAction(findAction);
    connect(m_filter, &QLineEdit::textChanged, this, [this](const QString& text) {
        m_proxy->setFilterFixedString(text);
        updateFooter();
    });

    m_view->setModel(m_proxy);
    m_view->setSortingEnabled(true);
    m_view->sortByColumn(LayerTableModel::Order, Qt::AscendingOrder);
    m_view->setSelectionBehavior(QAbstractItemView::SelectRows);
    m_view->setSelectionMode(QAbstractItemView::ExtendedSelection);
    m_view->setAlternatingRowColors(true);
    m_view->setShowGrid(false);
    m_view->setWordWrap(false);
    m_view->setTextElideMode(Qt::ElideMiddle);
    m_view->setEditTriggers(QAbstractItemView::NoEditTriggers);
    m_view->verticalHeader()->hide();
    m_view->verticalHeader()->setDefaultSectionSize(m_view->fontMetrics().height() + 8);
    m_view->setItemDelegateForColumn(LayerTableModel::Share, new ShareBarDelegate(m_view));
    QHeaderView* header = m_view->horizontalHeader();
    header->setHighlightSections(false);
    header->setSectionResizeMode(QHeaderView::ResizeToContents);
    // Layer names whole (the view scrolls sideways for the numbers): stretched, the name column got what the other
    // columns left and cut "/block1/dw/conv/Conv" to "/block…v/Conv" at the default window size.
    header->setStretchLastSection(true);
    header->setMinimumSectionSize(36);
    header->setMaximumSectionSize(420);
    connect(m_view->selectionModel(), &QItemSelectionModel::selectionChanged, this, &LayerTable::onSelectionChanged);

    m_footer->setTextFormat(Qt::RichText);
    m_footer->setWordWrap(true);  // a long summary wraps instead of widening the dock
    m_footer->setStyleSheet(QStringLiteral("color:#3c4043; padding:2px 2px;"));

    auto* layout = new QVBoxLayout(this);
    layout->setContentsMargins(6, 6, 6, 4);
    layout->setSpacing(4);
    layout->addWidget(m_filter);
    layout->addWidget(m_view, 1);
    layout->addWidget(m_footer);
    updateFooter();
}

void LayerTable::setSummary(ModelSummary summary) {
    m_model->setSummary(std::move(summary));
    updateFooter();
}

QString LayerTable::footerText() const { return m_footer->text(); }

int LayerTable::selectedNode() const {
    const QModelIndex current = m_view->selectionModel()->currentIndex();
    if (current.isValid() && m_view->selectionModel()->isRowSelected(current.row(), current.parent()))
        return current.siblingAtColumn(0).data(LayerTableModel::NodeIndexRole).toInt();
    const QModelIndexList rows = m_view->selectionModel()->selectedRows();
    return rows.isEmpty() ? -1 : rows.front().data(LayerTableModel::NodeIndexRole).toInt();
}

QList<int> LayerTable::selectedNodes() const {
    QList<int> nodes;
    for (const QModelIndex& row : m_view->selectionModel()->selectedRows())
        nodes << row.data(LayerTableModel::NodeIndexRole).toInt();
    std::sort(nodes.begin(), nodes.end());
    return nodes;
}

void LayerTable::setCompressionText(const QMap<int, QString>& textByNode) { m_model->setCompressionText(textByNode); }

void LayerTable::setSensitivity(const QMap<int, LayerSensitivityCell>& cellByNode) {
    m_model->setSensitivity(cellByNode);
}

void LayerTable::selectNode(int nodeIndex) {
    const int row = m_model->rowOfNode(nodeIndex);
    const QModelIndex index = row < 0 ? QModelIndex() : m_proxy->mapFromSource(m_model->index(row, 0));
    if (index.isValid() && selectedNode() == nodeIndex) return;  // keeps a multi-row selection around the current row
    m_syncing = true;
    if (index.isValid()) {
        m_view->selectionModel()->setCurrentIndex(index,
                                                  QItemSelectionModel::ClearAndSelect | QItemSelectionModel::Rows);
        m_view->scrollTo(index);
    } else {
        m_view->selectionModel()->clearSelection();
    }
    m_syncing = false;
}

void LayerTable::onSelectionChanged() {
    if (m_syncing) return;
    emit selectionNodesChanged(selectedNodes());
    const int node = selectedNode();
    if (node >= 0) emit layerSelected(node);
}

void LayerTable::updateFooter() {
    const ModelSummary& s = m_model->summary();
    const int total = m_model->rowCount();
    const int shown = m_proxy->rowCount();
    const QString layers =
        shown == total ? tr("<b>%1</b> layers").arg(total) : tr("<b>%1</b> of %2 layers shown").arg(shown).arg(total);
    m_footer->setText(
        tr("%1 &nbsp;·&nbsp; <b>%2</b> params &nbsp;·&nbsp; <b>%3</b> of weights &nbsp;·&nbsp; <b>%4</b> MACs")
            .arg(layers, formatCount(s.totalParams), formatBytes(s.totalBytes), formatCompact(s.totalMacs)));
}

}  // namespace lathe
