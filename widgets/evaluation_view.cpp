#include "widgets/evaluation_view.h"

#include <QFrame>
#include <QGridLayout>
#include <QHBoxLayout>
#include <QResizeEvent>
#include <QHeaderView>
#include <QLabel>
#include <QSplitter>
#include <QStackedLayout>
#include <QTableWidget>
#include <QVBoxLayout>
#include <cmath>

#include "widgets/confusion_matrix_plot.h"
#include "widgets/display_format.h"
#include "widgets/plot_export.h"

namespace lathe {

namespace {

// Below this width the results stack vertically.
constexpr int kSideBySideWidth = 640;

const QString kPlaceholderStyle = QStringLiteral("color:#80868b; padding:20px;");
const QString kErrorStyle = QStringLiteral(
    "color:#a50e0e; background:#fce8e6; border:1px solid #f4c7c3; border-radius:4px; padding:10px 12px;");

// Table cell that sorts by a number while showing formatted text.
class NumberItem : public QTableWidgetItem {
public:
    NumberItem(const QString& text, double value) : QTableWidgetItem(text) {
        setData(Qt::UserRole, value);
        setTextAlignment(Qt::AlignRight | Qt::AlignVCenter);
    }
    bool operator<(const QTableWidgetItem& other) const override {
        return data(Qt::UserRole).toDouble() < other.data(Qt::UserRole).toDouble();
    }
};

QString percentText(double percent) { return QString::number(percent, 'f', 2) + QStringLiteral(" %"); }

}  // namespace

EvaluationView::EvaluationView(QWidget* parent)
    : QWidget(parent),
      m_stack(new QStackedLayout),
      m_placeholder(new QLabel(this)),
      m_heading(new QLabel(this)),
      m_details(new QLabel(this)),
      m_table(new QTableWidget(this)),
      m_confusion(new ConfusionMatrixPlot(this)),
      m_splitter(new QSplitter(Qt::Vertical, this)),  // side by side once wide enough (resizeEvent)
      m_metrics(new QWidget(this)) {
    m_placeholder->setAlignment(Qt::AlignCenter);
    m_placeholder->setWordWrap(true);
    m_placeholder->setTextInteractionFlags(Qt::TextSelectableByMouse);
    m_heading->setStyleSheet(QStringLiteral("font-weight:600; color:#202124;"));
    m_heading->setTextInteractionFlags(Qt::TextSelectableByMouse);
    m_details->setStyleSheet(QStringLiteral("color:#80868b;"));
    m_details->setTextInteractionFlags(Qt::TextSelectableByMouse);
    m_details->setWordWrap(true);

    auto* grid = new QGridLayout(m_metrics);
    grid->setContentsMargins(0, 0, 0, 0);
    grid->setHorizontalSpacing(6);
    grid->setVerticalSpacing(6);
    addMetric(QStringLiteral("top1"), tr("Top-1 accuracy"), tr("Share of images whose best-scoring class is right"), 0,
              0);
    addMetric(QStringLiteral("top5"), tr("Top-5 accuracy"), tr("Share of images whose class is among the 5 best"), 0,
              1);
    addMetric(QStringLiteral("f1"), tr("Macro-F1"), tr("Unweighted mean of the per-class F1 scores"), 1, 0);
    addMetric(QStringLiteral("folds"), tr("Split spread"),
              tr("Split spread (K parts of the test images, nothing retrained): top-1 accuracy over K disjoint parts "
                 "of the evaluated images, mean ± sample standard deviation. It shows how much the estimate varies "
                 "between samples; it is not cross-validation (Compress ▸ Cross-Validate trains per fold)"),
              1, 1);
    addMetric(QStringLiteral("n"), tr("Images"), tr("Evaluated images"), 2, 0);
    addMetric(QStringLiteral("throughput"), tr("Throughput"),
              tr("Images per second of the batched pass (inference only, data loading excluded)"), 2, 1);
    addMetric(QStringLiteral("latency"), tr("Latency (batch 1)"), tr("Median time of one image at batch size 1"), 3, 0);
    addMetric(QStringLiteral("backend"), tr("Backend"), tr("Runtime that executed the model"), 3, 1);
    for (int c = 0; c < 2; ++c) grid->setColumnStretch(c, 1);

    m_table->setColumnCount(5);
    m_table->setHorizontalHeaderLabels({tr("Class"), tr("Precision"), tr("Recall"), tr("F1"), tr("N")});
    m_table->horizontalHeaderItem(1)->setToolTip(tr("Of the images predicted as this class, the share that are"));
    m_table->horizontalHeaderItem(2)->setToolTip(tr("Of the images of this class, the share recognised"));
    m_table->horizontalHeaderItem(4)->setToolTip(tr("Support: evaluated images of this class"));
    m_table->verticalHeader()->hide();
    m_table->verticalHeader()->setDefaultSectionSize(22);
    m_table->setEditTriggers(QAbstractItemView::NoEditTriggers);
    m_table->setSelectionBehavior(QAbstractItemView::SelectRows);
    m_table->setAlternatingRowColors(true);
    m_table->setShowGrid(false);
    m_table->setSortingEnabled(true);
    m_table->setWordWrap(false);
    for (int c = 0; c < 5; ++c) m_table->horizontalHeader()->setSectionResizeMode(c, QHeaderView::ResizeToContents);
    m_table->horizontalHeader()->setStretchLastSection(false);
    m_table->setHorizontalScrollBarPolicy(Qt::ScrollBarAlwaysOff);
    m_table->setSizeAdjustPolicy(QAbstractScrollArea::AdjustToContents);
    m_table->horizontalHeader()->setHighlightSections(false);

    m_confusion->setMinimumSize(260, 240);
    installPlotContextMenu(m_confusion, [] { return QStringLiteral("confusion_matrix"); });
    m_confusion->setToolTip(QString());

    auto* left = new QWidget(this);
    auto* leftLayout = new QVBoxLayout(left);
    leftLayout->setContentsMargins(0, 0, 0, 0);
    leftLayout->setSpacing(6);
    leftLayout->addWidget(m_metrics);
    leftLayout->addWidget(m_table, 1);
    m_splitter->addWidget(left);
    m_splitter->addWidget(m_confusion);
    m_splitter->setStretchFactor(0, 0);
    m_splitter->setStretchFactor(1, 1);
    m_splitter->setChildrenCollapsible(false);
    left->setSizePolicy(QSizePolicy::Maximum, QSizePolicy::Preferred);

    auto* results = new QWidget(this);
    auto* resultsLayout = new QVBoxLayout(results);
    resultsLayout->setContentsMargins(0, 0, 0, 0);
    resultsLayout->setSpacing(4);
    resultsLayout->addWidget(m_heading);
    resultsLayout->addWidget(m_details);
    resultsLayout->addSpacing(2);
    resultsLayout->addWidget(m_splitter, 1);

    auto* placeholderPage = new QWidget(this);
    auto* placeholderRow = new QHBoxLayout;
    placeholderRow->addStretch(1);
    placeholderRow->addWidget(m_placeholder, 4);
    placeholderRow->addStretch(1);
    auto* placeholderLayout = new QVBoxLayout(placeholderPage);
    placeholderLayout->addStretch(1);
    placeholderLayout->addLayout(placeholderRow);
    placeholderLayout->addStretch(2);
    m_stack->addWidget(placeholderPage);
    m_stack->addWidget(results);
    auto* layout = new QVBoxLayout(this);
    layout->setContentsMargins(8, 8, 8, 8);
    layout->addLayout(m_stack);
    m_metrics->setMinimumHeight(m_metrics->sizeHint().height());  // stacked until resizeEvent finds room
    clearReport(
        tr("Choose a data set in the Data Set panel and press Evaluate (Ctrl+E) to measure accuracy, F1 and "
           "speed of the model."));
}

QLabel* EvaluationView::addMetric(const QString& key, const QString& caption, const QString& toolTip, int row,
                                  int column) {
    auto* card = new QFrame(m_metrics);
    card->setObjectName(QStringLiteral("metricCard"));
    card->setStyleSheet(
        QStringLiteral("#metricCard { background:#f6f7f9; border:1px solid #e0e3e7; border-radius:4px; }"));
    card->setToolTip(toolTip);
    auto* layout = new QVBoxLayout(card);
    layout->setContentsMargins(8, 5, 8, 6);
    layout->setSpacing(1);
    auto* name = new QLabel(caption, card);
    name->setStyleSheet(QStringLiteral("color:#80868b; font-size:8pt;"));
    auto* value = new QLabel(QStringLiteral("–"), card);
    value->setTextInteractionFlags(Qt::TextSelectableByMouse);
    const bool headline = row < 2;
    value->setStyleSheet(headline ? QStringLiteral("color:#202124; font-size:13pt; font-weight:600;")
                                  : QStringLiteral("color:#202124; font-size:10pt; font-weight:600;"));
    layout->addWidget(name);
    layout->addWidget(value);
    static_cast<QGridLayout*>(m_metrics->layout())->addWidget(card, row, column);
    m_metricLabels[key] = value;
    return value;
}

void EvaluationView::setReport(const EvalReport& r, const QStringList& classNames, const QString& heading,
                               const QString& details) {
    m_hasReport = true;
    m_showsError = false;
    m_heading->setText(heading);
    QString text = details;
    for (const std::string& note : r.notes)
        text += (text.isEmpty() ? QString() : QStringLiteral("\n")) + QStringLiteral("⚠ ") + QString::fromStdString(note);
    m_details->setText(text);
    m_details->setWordWrap(true);
    m_metricLabels["top1"]->setText(percentText(r.top1));
    m_metricLabels["top5"]->setText(percentText(r.top5));
    m_metricLabels["f1"]->setText(percentText(r.macroF1));
    m_metricLabels["folds"]->setText(
        QStringLiteral("%1 ± %2 %").arg(r.folds.mean, 0, 'f', 2).arg(r.folds.stddev, 0, 'f', 2));
    m_metricLabels["folds"]->setToolTip(tr("Split spread: mean ± std over %1 parts of the test images, nothing retrained (not cross-validation)")
            .arg(r.folds.k));
    m_metricLabels["n"]->setText(formatCount(r.n));
    m_metricLabels["throughput"]->setText(tr("%1 img/s").arg(formatCount(int64_t(std::llround(r.imagesPerSecond)))));
    m_metricLabels["latency"]->setText(r.latencyMs > 0 ? tr("%1 ms").arg(r.latencyMs, 0, 'f', 3) : tr("not measured"));
    m_metricLabels["backend"]->setText(r.backend == "opencv" ? tr("OpenCV DNN") : tr("built-in"));

    auto name = [&](int c) {
        return c < classNames.size() && !classNames[c].isEmpty() ? classNames[c] : QString::number(c);
    };
    m_table->setSortingEnabled(false);
    m_table->clearContents();
    m_table->setRowCount(int(r.perClass.size()));
    for (int c = 0; c < int(r.perClass.size()); ++c) {
        const ClassMetrics& m = r.perClass[size_t(c)];
        auto* classItem = new NumberItem(name(c), c);
        classItem->setTextAlignment(Qt::AlignLeft | Qt::AlignVCenter);
        classItem->setToolTip(tr("Class %1: %2").arg(c).arg(name(c)));
        m_table->setItem(c, 0, classItem);
        m_table->setItem(c, 1, new NumberItem(formatPercent(m.precision), m.precision));
        m_table->setItem(c, 2, new NumberItem(formatPercent(m.recall), m.recall));
        m_table->setItem(c, 3, new NumberItem(formatPercent(m.f1), m.f1));
        m_table->setItem(c, 4, new NumberItem(formatCount(m.support), double(m.support)));
        if (m.support > 0 && m.recall * 100.0 < r.top1 - 10.0) m_table->item(c, 2)->setForeground(QColor(0xc5221f));
        if (m.predicted > 0 && m.precision * 100.0 < r.top1 - 10.0)
            m_table->item(c, 1)->setForeground(QColor(0xc5221f));
    }
    m_table->setSortingEnabled(true);
    m_table->sortByColumn(0, Qt::AscendingOrder);
    m_confusion->setMatrix(r.confusion, classNames);
    m_stack->setCurrentIndex(1);
}

void EvaluationView::clearReport(const QString& message) {
    m_hasReport = false;
    m_showsError = false;
    m_table->setRowCount(0);
    m_confusion->clearMatrix();
    for (auto& [key, label] : m_metricLabels) label->setText(QStringLiteral("–"));
    m_placeholder->setStyleSheet(kPlaceholderStyle);
    m_placeholder->setText(message);
    m_stack->setCurrentIndex(0);
}

void EvaluationView::showError(const QString& message) {
    clearReport(message);
    m_showsError = true;
    m_placeholder->setStyleSheet(kErrorStyle);
}

QString EvaluationView::errorText() const { return m_showsError ? m_placeholder->text() : QString(); }

QString EvaluationView::metricText(const QString& key) const {
    auto it = m_metricLabels.find(key);
    return it == m_metricLabels.end() ? QString() : it->second->text();
}

void EvaluationView::resizeEvent(QResizeEvent* event) {
    QWidget::resizeEvent(event);
    const Qt::Orientation wanted = width() < kSideBySideWidth ? Qt::Vertical : Qt::Horizontal;
    if (m_splitter->orientation() == wanted) return;
    m_splitter->setOrientation(wanted);
    // Stacked: the numbers keep their full height; the table and the heat map share the rest.
    m_metrics->setMinimumHeight(wanted == Qt::Vertical ? m_metrics->sizeHint().height() : 0);
}

}  // namespace lathe
