#include "widgets/variants_panel.h"

#include <QAction>
#include <QHeaderView>
#include <QLabel>
#include <QMenu>
#include <QPainter>
#include <QPlainTextEdit>
#include <QTimer>
#include <QToolBar>
#include <QToolButton>
#include <QTreeWidget>
#include <QVBoxLayout>
#include <algorithm>

#include "widgets/display_format.h"
#include "widgets/workbench_style.h"

namespace lathe {

namespace {

enum Column { ColName = 0, ColTop1, ColF1, ColCv, ColOnnx, ColZlib, ColRatio, ColNote, ColumnCount };
constexpr int kIdRole = Qt::UserRole + 1;
constexpr int kNoteDebounceMs = 600;

QIcon stateIcon(const VariantRow& row) {
    QPixmap pixmap(14, 14);
    pixmap.fill(Qt::transparent);
    QPainter painter(&pixmap);
    painter.setRenderHint(QPainter::Antialiasing);
    if (row.baseline) {
        painter.setPen(QPen(style::kText, 1.2));
        painter.setBrush(QColor(0xfbbc04));
        const QPointF diamond[] = {{7, 1.5}, {12.5, 7}, {7, 12.5}, {1.5, 7}};
        painter.drawPolygon(diamond, 4);
        return QIcon(pixmap);
    }
    QColor color;
    switch (row.state) {
        case VariantRow::State::Done: color = style::kBlue; break;
        case VariantRow::State::Running: color = style::kOrange; break;
        case VariantRow::State::Queued: color = style::kGrey; break;
        case VariantRow::State::Failed: color = style::kRed; break;
        case VariantRow::State::NotEvaluated: color = QColor(0xdadce0); break;
    }
    painter.setPen(QPen(color.darker(115), 1));
    painter.setBrush(row.state == VariantRow::State::Queued || row.state == VariantRow::State::NotEvaluated
                         ? QBrush(Qt::white)
                         : QBrush(color));
    painter.drawEllipse(QRectF(2.5, 2.5, 9, 9));
    return QIcon(pixmap);
}

QToolButton* makeButton(const QString& text, const QString& tip, QWidget* parent) {
    auto* b = new QToolButton(parent);
    b->setText(text);
    b->setToolTip(tip);
    b->setAutoRaise(false);
    b->setToolButtonStyle(Qt::ToolButtonTextOnly);
    return b;
}

}  // namespace

VariantsPanel::VariantsPanel(QWidget* parent)
    : QWidget(parent),
      m_list(new QTreeWidget(this)),
      m_note(new QPlainTextEdit(this)),
      m_noteLabel(new QLabel(this)),
      m_noteTimer(new QTimer(this)),
      m_load(makeButton(tr("Load settings"), tr("Put this variant's settings into the editor (undoable)"), this)),
      m_evaluate(makeButton(tr("Evaluate"), tr("Evaluate this variant again"), this)),
      m_duplicate(makeButton(tr("Duplicate"), tr("Copy the variant with its recipe, metrics and note (Ctrl+D)"), this)),
      m_delete(makeButton(tr("Delete"), tr("Delete the selected variants (Del)"), this)),
      m_compare(makeButton(tr("Compare"), tr("Compare the selected variants side by side (select two or more)"), this)),
      m_export(makeButton(tr("Export…"), tr("Write this variant as an ONNX file"), this)) {
    m_list->setObjectName(QStringLiteral("variantsList"));
    m_list->setColumnCount(ColumnCount);
    m_list->setHeaderLabels({tr("Variant"), tr("Top-1"), tr("F1"), tr("CV top-1"), tr("ONNX file"), tr("zlib of file"), tr("Smaller"), tr("Note")});
    m_list->headerItem()->setToolTip(ColTop1, tr("Top-1 accuracy on the evaluation data (Data Set tab)"));
    m_list->headerItem()->setToolTip(
        ColCv, tr("Cross-validated top-1 (Compress ▸ Cross-Validate…): mean ± std over held-out folds of the training "
                  "images, one model trained per fold. Compare it between variants, not with Top-1: a model trained on "
                  "those images scores higher on them than on the test split."));
    m_list->setRootIsDecorated(false);
    m_list->setUniformRowHeights(true);
    m_list->setAlternatingRowColors(true);
    m_list->setSelectionMode(QAbstractItemView::ExtendedSelection);
    m_list->setEditTriggers(QAbstractItemView::EditKeyPressed);
    m_list->setContextMenuPolicy(Qt::CustomContextMenu);
    m_list->header()->setStretchLastSection(true);
    m_list->header()->setSectionResizeMode(ColName, QHeaderView::Interactive);
    m_list->setColumnWidth(ColName, 170);
    for (int c = ColTop1; c <= ColRatio; ++c) m_list->setColumnWidth(c, c == ColTop1 ? 82 : c == ColCv ? 150 : 64);
    m_list->headerItem()->setToolTip(ColTop1, tr("Top-1 accuracy on the evaluation data"));
    m_list->headerItem()->setToolTip(ColF1, tr("Macro-averaged F1"));
    m_list->headerItem()->setToolTip(
        ColCv, tr("Cross-validated top-1 (Variants ▸ Cross-Validate): mean ± std over K stratified folds of the training "
                  "data, the variant trained on the other folds and measured on each held-out fold"));
    m_list->headerItem()->setToolTip(ColOnnx, tr("Size of the ONNX file the variant exports to (QDQ when it quantizes, "
                                                  "else float); ONNX stores pruned zeros densely"));
    m_list->headerItem()->setToolTip(ColZlib, tr("Size of that ONNX file after zlib (level 9): what pruned zeros and "
                                                  "shared weights save in a compressed download"));
    m_list->headerItem()->setToolTip(ColRatio, tr("The float model's ONNX file / this variant's ONNX file"));
    for (int c = ColTop1; c <= ColRatio; ++c) m_list->headerItem()->setTextAlignment(c, Qt::AlignRight | Qt::AlignVCenter);

    m_noteLabel->setStyleSheet(QStringLiteral("color:#5f6368;"));
    m_note->setPlaceholderText(tr("Notes about this variant: why it was made, what to try next…"));
    m_note->setMaximumHeight(72);
    m_note->setEnabled(false);
    m_noteTimer->setSingleShot(true);
    m_noteTimer->setInterval(kNoteDebounceMs);

    // A tool bar, so that a narrow panel moves the last buttons into its » menu instead of widening the window.
    auto* buttons = new QToolBar(this);
    buttons->setStyleSheet(QStringLiteral("QToolBar { border: none; spacing: 4px; }"));
    // Duplicate and Delete go first into the menu: they also have shortcuts and the list's context menu.
    for (QToolButton* b : {m_load, m_evaluate, m_compare, m_export}) buttons->addWidget(b);
    auto* gap = new QWidget(buttons);
    gap->setSizePolicy(QSizePolicy::Expanding, QSizePolicy::Preferred);
    buttons->addWidget(gap);
    buttons->addWidget(m_duplicate);
    buttons->addWidget(m_delete);

    auto* layout = new QVBoxLayout(this);
    layout->setContentsMargins(6, 6, 6, 6);
    layout->setSpacing(6);
    layout->addWidget(buttons);
    layout->addWidget(m_list, 1);
    layout->addWidget(m_noteLabel);
    layout->addWidget(m_note);

    auto* deleteAction = new QAction(tr("Delete"), m_list);
    deleteAction->setShortcut(QKeySequence::Delete);
    deleteAction->setShortcutContext(Qt::WidgetWithChildrenShortcut);
    connect(deleteAction, &QAction::triggered, this, &VariantsPanel::deleteSelected);
    m_list->addAction(deleteAction);
    auto* duplicateAction = new QAction(tr("Duplicate"), m_list);
    duplicateAction->setShortcut(QKeySequence(Qt::CTRL | Qt::Key_D));
    duplicateAction->setShortcutContext(Qt::WidgetWithChildrenShortcut);
    connect(duplicateAction, &QAction::triggered, this, &VariantsPanel::duplicateSelected);
    m_list->addAction(duplicateAction);

    connect(m_list, &QTreeWidget::itemChanged, this, [this](QTreeWidgetItem* item, int column) {
        if (m_updating) return;
        const QString id = item->data(ColName, kIdRole).toString();
        const VariantRow* row = rowOf(id);
        if (!row) return;
        if (column == ColName) {
            const QString name = item->text(ColName).trimmed();
            if (name.isEmpty() || name == row->name) {
                const QSignalBlocker block(m_list);
                item->setText(ColName, row->name);
                return;
            }
            emit renameRequested(id, name);
        } else if (column == ColNote && item->text(ColNote) != row->note) {
            emit noteEdited(id, item->text(ColNote));
            if (id == m_noteFor) {
                const QSignalBlocker block(m_note);
                m_note->setPlainText(item->text(ColNote));
            }
        }
    });
    connect(m_list, &QTreeWidget::itemDoubleClicked, this, [this](QTreeWidgetItem* item, int column) {
        if (column == ColName || column == ColNote)
            m_list->editItem(item, column);
        else
            emit loadRequested(item->data(ColName, kIdRole).toString());
    });
    connect(m_list, &QTreeWidget::itemSelectionChanged, this, [this] {
        updateButtons();
        if (!m_updating) emit selectionChanged(selectedIds());
    });
    connect(m_list, &QTreeWidget::currentItemChanged, this, [this](QTreeWidgetItem* current) {
        flushNote();
        const QString id = current ? current->data(ColName, kIdRole).toString() : QString();
        showNoteOf(id);
        updateButtons();
        if (!m_updating) emit currentChanged(id);
    });
    connect(m_list, &QWidget::customContextMenuRequested, this, [this](const QPoint& pos) {
        QTreeWidgetItem* item = m_list->itemAt(pos);
        if (!item) return;
        const QString id = item->data(ColName, kIdRole).toString();
        auto* menu = new QMenu(this);
        menu->setAttribute(Qt::WA_DeleteOnClose);
        menu->addAction(tr("Load Settings"), this, [this, id] { emit loadRequested(id); });
        menu->addAction(tr("Rename"), this, [this, item] { m_list->editItem(item, ColName); });
        menu->addAction(tr("Edit Note"), this, [this] { m_note->setFocus(); });
        menu->addSeparator();
        menu->addAction(tr("Duplicate"), this, &VariantsPanel::duplicateSelected);
        menu->addAction(tr("Evaluate Again"), this, [this, id] { emit evaluateRequested(id); });
        menu->addAction(tr("Export…"), this, [this, id] { emit exportRequested(id); });
        QAction* train = menu->addAction(tr("Train…"), this, [this, id] { emit trainRequested(id); });
        train->setShortcut(QKeySequence(Qt::CTRL | Qt::Key_T));
        train->setToolTip(tr("Fine-tune this variant with its compression kept; the result is a new variant"));
        QAction* cv =
            menu->addAction(tr("Cross-Validate…"), this, [this, id] { emit crossValidateRequested(id); });
        cv->setShortcut(QKeySequence(Qt::CTRL | Qt::SHIFT | Qt::Key_T));
        cv->setToolTip(tr("Train this variant on K−1 folds of the training data and measure it on the held-out fold, "
                          "K times: its accuracy as mean ± std"));
        menu->addSeparator();
        menu->addAction(tr("Compare Selected"), this, &VariantsPanel::compareSelected)
            ->setEnabled(selectedIds().size() >= 2);
        menu->addAction(tr("Delete"), this, &VariantsPanel::deleteSelected);
        menu->popup(m_list->viewport()->mapToGlobal(pos));
    });

    connect(m_note, &QPlainTextEdit::textChanged, this, [this] { m_noteTimer->start(); });
    connect(m_noteTimer, &QTimer::timeout, this, &VariantsPanel::flushNote);
    connect(m_load, &QToolButton::clicked, this, [this] {
        if (!currentId().isEmpty()) emit loadRequested(currentId());
    });
    connect(m_evaluate, &QToolButton::clicked, this, [this] {
        if (!currentId().isEmpty()) emit evaluateRequested(currentId());
    });
    connect(m_duplicate, &QToolButton::clicked, this, &VariantsPanel::duplicateSelected);
    connect(m_delete, &QToolButton::clicked, this, &VariantsPanel::deleteSelected);
    connect(m_compare, &QToolButton::clicked, this, &VariantsPanel::compareSelected);
    connect(m_export, &QToolButton::clicked, this, [this] {
        if (!currentId().isEmpty()) emit exportRequested(currentId());
    });
    showNoteOf({});
    updateButtons();
}

void VariantsPanel::setVariants(const std::vector<VariantRow>& rows) {
    const QStringList selected = selectedIds();
    const QString current = currentId();
    m_updating = true;
    {
        const QSignalBlocker block(m_list);
        // Rows are updated in place when the ids match, so an open editor or the scroll position survive progress.
        const bool sameIds = int(rows.size()) == m_list->topLevelItemCount() &&
                             std::equal(rows.begin(), rows.end(), m_rows.begin(), m_rows.end(),
                                        [](const VariantRow& a, const VariantRow& b) { return a.id == b.id; });
        if (!sameIds) m_list->clear();
        m_rows = rows;
        for (int i = 0; i < int(m_rows.size()); ++i) {
            const VariantRow& row = m_rows[size_t(i)];
            QTreeWidgetItem* item = sameIds ? m_list->topLevelItem(i) : new QTreeWidgetItem(m_list);
            item->setFlags(Qt::ItemIsSelectable | Qt::ItemIsEnabled | Qt::ItemIsEditable);
            item->setData(ColName, kIdRole, row.id);
            item->setText(ColName, row.name);
            item->setIcon(ColName, stateIcon(row));
            QFont f = m_list->font();
            f.setItalic(row.baseline);
            item->setFont(ColName, f);
            QString top1, f1, onnx, zlib, ratio;
            QColor top1Color = style::kText;
            switch (row.state) {
                case VariantRow::State::Done:
                    top1 = row.top1 ? QStringLiteral("%1 %").arg(*row.top1, 0, 'f', 2) : QStringLiteral("–");
                    f1 = row.macroF1 ? QString::number(*row.macroF1, 'f', 3) : QStringLiteral("–");
                    break;
                case VariantRow::State::Running:
                    top1 = tr("%1 %").arg(int(row.progress * 100));
                    top1Color = style::kOrange;
                    break;
                case VariantRow::State::Queued:
                    top1 = tr("queued");
                    top1Color = style::kMutedText;
                    break;
                case VariantRow::State::Failed:
                    top1 = tr("failed");
                    top1Color = style::kRed;
                    break;
                case VariantRow::State::NotEvaluated:
                    top1 = tr("not run");
                    top1Color = style::kMutedText;
                    break;
            }
            if (row.onnxBytes > 0) onnx = formatBytes(row.onnxBytes);
            if (row.zlibBytes > 0) zlib = formatBytes(row.zlibBytes);
            if (row.ratio > 0 && !row.baseline) ratio = QStringLiteral("%1×").arg(row.ratio, 0, 'f', 1);
            item->setText(ColTop1, top1);
            item->setForeground(ColTop1, top1Color);
            item->setText(ColF1, f1);
            item->setText(ColCv, row.crossValidation ? crossValidationText(*row.crossValidation) : QString());
            item->setText(ColOnnx, onnx);
            item->setText(ColZlib, zlib);
            item->setText(ColRatio, ratio);
            item->setText(ColNote, row.note.section(QLatin1Char('\n'), 0, 0));
            for (int c = ColTop1; c <= ColRatio; ++c) item->setTextAlignment(c, Qt::AlignRight | Qt::AlignVCenter);
            QString tip = QStringLiteral("<b>%1</b>").arg(row.name.toHtmlEscaped());
            if (row.state == VariantRow::State::Failed) tip += QStringLiteral("<br><span style='color:#c5221f'>%1</span>").arg(row.error.toHtmlEscaped());
            if (row.crossValidation)
                tip += tr("<br>cross-validated top-1 %1, macro-F1 %2 ± %3 (%4 epoch(s) per fold, held-out folds of the "
                          "training images)")
                           .arg(crossValidationText(*row.crossValidation))
                           .arg(row.crossValidation->meanF1, 0, 'f', 1)
                           .arg(row.crossValidation->stdF1, 0, 'f', 1)
                           .arg(row.crossValidation->epochs);
            if (!row.summary.isEmpty())
                tip += QStringLiteral("<br><span style='white-space:pre'>%1</span>").arg(row.summary.toHtmlEscaped());
            if (!row.note.isEmpty()) tip += QStringLiteral("<hr>%1").arg(row.note.toHtmlEscaped());
            for (int c = 0; c < ColumnCount; ++c) item->setToolTip(c, tip);
        }
        selectIds(selected);
        if (QTreeWidgetItem* item = itemOf(current)) m_list->setCurrentItem(item, 0, QItemSelectionModel::NoUpdate);
    }
    m_updating = false;
    if (m_noteFor != currentId() || !m_note->hasFocus()) showNoteOf(currentId());
    updateButtons();
}

QStringList VariantsPanel::selectedIds() const {
    QStringList ids;
    for (int i = 0; i < m_list->topLevelItemCount(); ++i)
        if (m_list->topLevelItem(i)->isSelected()) ids << m_list->topLevelItem(i)->data(ColName, kIdRole).toString();
    return ids;
}

QString VariantsPanel::currentId() const {
    QTreeWidgetItem* item = m_list->currentItem();
    return item ? item->data(ColName, kIdRole).toString() : QString();
}

void VariantsPanel::setCurrentId(const QString& id) {
    // Explicit flags: without them the view reads the keyboard, and the Ctrl still held from Ctrl+R toggled the new
    // variant into the selection instead of making it the selection.
    if (QTreeWidgetItem* item = itemOf(id))
        m_list->setCurrentItem(item, 0, QItemSelectionModel::ClearAndSelect | QItemSelectionModel::Rows);
}

void VariantsPanel::selectIds(const QStringList& ids) {
    for (int i = 0; i < m_list->topLevelItemCount(); ++i) {
        QTreeWidgetItem* item = m_list->topLevelItem(i);
        item->setSelected(ids.contains(item->data(ColName, kIdRole).toString()));
    }
}

QString VariantsPanel::cellText(const QString& id, int column) const {
    QTreeWidgetItem* item = itemOf(id);
    return item ? item->text(column) : QString();
}

QTreeWidgetItem* VariantsPanel::itemOf(const QString& id) const {
    for (int i = 0; i < m_list->topLevelItemCount(); ++i)
        if (m_list->topLevelItem(i)->data(ColName, kIdRole).toString() == id) return m_list->topLevelItem(i);
    return nullptr;
}

const VariantRow* VariantsPanel::rowOf(const QString& id) const {
    for (const VariantRow& r : m_rows)
        if (r.id == id) return &r;
    return nullptr;
}

void VariantsPanel::duplicateSelected() {
    const QStringList ids = selectedIds().isEmpty() && !currentId().isEmpty() ? QStringList{currentId()} : selectedIds();
    for (const QString& id : ids) emit duplicateRequested(id);
}

void VariantsPanel::deleteSelected() {
    const QStringList ids = selectedIds();
    if (!ids.isEmpty()) emit deleteRequested(ids);
}

void VariantsPanel::compareSelected() {
    const QStringList ids = selectedIds();
    if (ids.size() >= 2) emit compareRequested(ids);
}

void VariantsPanel::updateButtons() {
    const QStringList ids = selectedIds();
    const VariantRow* row = rowOf(currentId());
    m_load->setEnabled(row != nullptr);
    m_evaluate->setEnabled(row && row->state != VariantRow::State::Running && row->state != VariantRow::State::Queued);
    m_duplicate->setEnabled(!ids.isEmpty());
    m_delete->setEnabled(!ids.isEmpty());
    m_compare->setEnabled(ids.size() >= 2);
    m_export->setEnabled(row != nullptr);
    m_compare->setText(ids.size() >= 2 ? tr("Compare %1").arg(ids.size()) : tr("Compare"));
}

void VariantsPanel::showNoteOf(const QString& id) {
    const VariantRow* row = rowOf(id);
    m_noteFor = row ? id : QString();
    const QSignalBlocker block(m_note);
    m_note->setEnabled(row != nullptr);
    m_note->setPlainText(row ? row->note : QString());
    m_noteLabel->setText(row ? tr("Note on <b>%1</b>").arg(row->name.toHtmlEscaped()) : tr("Note"));
}

void VariantsPanel::flushNote() {
    m_noteTimer->stop();
    const VariantRow* row = rowOf(m_noteFor);
    if (!row) return;
    const QString text = m_note->toPlainText();
    if (text != row->note) emit noteEdited(m_noteFor, text);
}

}  // namespace lathe
