#include "widgets/activation_view.h"

#include <QHBoxLayout>
#include <QLabel>
#include <QSpinBox>
#include <QToolButton>
#include <QVBoxLayout>

#include "widgets/display_format.h"
#include "widgets/histogram_view.h"

namespace lathe {

namespace {
constexpr int kDefaultSamples = 256;
const QString kInfoStyle = QStringLiteral("color:#5f6368; padding:2px 0;");
const QString kErrorStyle =
    QStringLiteral("color:#a50e0e; background:#fce8e6; border:1px solid #f4c7c3; border-radius:4px; padding:6px 8px;");
}  // namespace

ActivationView::ActivationView(QWidget* parent)
    : QWidget(parent),
      m_node(new QLabel(this)),
      m_samples(new QSpinBox(this)),
      m_capture(new QToolButton(this)),
      m_message(new QLabel(this)),
      m_histogram(new HistogramView(this)) {
    m_node->setTextFormat(Qt::RichText);
    m_node->setWordWrap(true);  // long node and tensor names wrap instead of widening the whole left dock column
    m_node->setTextInteractionFlags(Qt::TextSelectableByMouse);
    m_samples->setRange(1, 100000);
    m_samples->setValue(kDefaultSamples);
    m_samples->setSuffix(tr(" images"));
    m_samples->setSingleStep(64);
    m_samples->setToolTip(tr("How many images of the data set (a seeded random sample) run through the model"));
    m_capture->setText(tr("Capture"));
    m_capture->setToolButtonStyle(Qt::ToolButtonTextOnly);
    m_capture->setToolTip(tr("Run the model on the images and histogram the selected node's output"));
    m_message->setWordWrap(true);
    m_message->setTextInteractionFlags(Qt::TextSelectableByMouse);
    m_message->hide();
    m_histogram->setPlaceholderText(tr("Select a node to see the distribution of its output over the data set"));
    m_histogram->setValues(nullptr, {}, {});

    auto* controls = new QHBoxLayout;
    controls->setContentsMargins(6, 6, 6, 0);
    controls->setSpacing(6);
    controls->addWidget(m_node, 1);
    controls->addWidget(m_samples);
    controls->addWidget(m_capture);
    auto* layout = new QVBoxLayout(this);
    layout->setContentsMargins(0, 0, 0, 0);
    layout->setSpacing(0);
    layout->addLayout(controls);
    auto* messageRow = new QHBoxLayout;
    messageRow->setContentsMargins(6, 6, 6, 0);
    messageRow->addWidget(m_message);
    layout->addLayout(messageRow);
    layout->addWidget(m_histogram, 1);

    connect(m_capture, &QToolButton::clicked, this, &ActivationView::captureRequested);
    setNode({}, {});
}

void ActivationView::setNode(const QString& nodeName, const QString& tensorName) {
    m_nodeName = nodeName;
    m_tensorName = tensorName;
    m_node->setText(nodeName.isEmpty() ? tr("<span style='color:#80868b'>No node selected</span>")
                                       : tr("<b>%1</b> <span style='color:#80868b'>output</span> %2")
                                             .arg(nodeName.toHtmlEscaped(), tensorName.toHtmlEscaped()));
    m_capture->setEnabled(!nodeName.isEmpty() && !m_busy);
}

void ActivationView::setValues(std::shared_ptr<const std::vector<float>> values, const QString& shapeText) {
    showMessage({}, false);
    m_capturedNode = values ? m_nodeName : QString();
    const QString title =
        values
            ? QStringLiteral("%1   %2   %3 values").arg(m_tensorName, shapeText, formatCount(int64_t(values->size())))
            : QString();
    m_histogram->setValues(std::move(values), title, tr("activation value"));
}

void ActivationView::showMessage(const QString& message, bool isError) {
    m_message->setText(message);
    m_message->setStyleSheet(isError ? kErrorStyle : kInfoStyle);
    m_message->setVisible(!message.isEmpty());
    if (isError) {
        m_capturedNode.clear();
        m_histogram->setValues(nullptr, {}, {});
    }
}

QString ActivationView::message() const { return m_message->isVisible() ? m_message->text() : QString(); }

void ActivationView::setBusy(bool busy) {
    m_busy = busy;
    m_capture->setEnabled(!busy && !m_nodeName.isEmpty());
}

int ActivationView::sampleCount() const { return m_samples->value(); }

void ActivationView::setSampleCount(int samples) { m_samples->setValue(samples); }

}  // namespace lathe
