#include "widgets/properties_view.h"

#include <QFileInfo>
#include <QHeaderView>
#include <QLabel>
#include <QTreeWidget>
#include <QVBoxLayout>

#include "widgets/display_format.h"
#include "widgets/op_metadata.h"

namespace lathe {

namespace {

QString qs(const std::string& s) { return QString::fromStdString(s); }

QString typedValue(const Graph& graph, const std::string& name) {
    if (const Tensor* t = graph.initializer(name))
        return formatTypedShape(t->dtype, t->shape) + QStringLiteral("  ·  constant");
    const ValueInfo* v = graph.value(name);
    if (!v) return QStringLiteral("?");
    return qs(std::string(dtypeName(v->dtype))) + ' ' + qs(v->shapeString());
}

const LayerInfo* layerOf(const ModelSummary& summary, int nodeIndex) {
    for (const auto& layer : summary.layers)
        if (layer.nodeIndex == nodeIndex) return &layer;
    return nullptr;
}

}  // namespace

PropertiesView::PropertiesView(QWidget* parent)
    : QWidget(parent), m_title(new QLabel(this)), m_kind(new QLabel(this)), m_tree(new QTreeWidget(this)) {
    QFont titleFont = m_title->font();
    titleFont.setPointSizeF(12);
    titleFont.setBold(true);
    m_title->setFont(titleFont);
    m_title->setTextFormat(Qt::PlainText);
    m_title->setWordWrap(true);
    m_title->setTextInteractionFlags(Qt::TextSelectableByMouse);
    QFont kindFont = m_kind->font();
    kindFont.setBold(true);
    m_kind->setFont(kindFont);
    m_kind->setTextFormat(Qt::PlainText);

    m_tree->setColumnCount(2);
    m_tree->setHeaderLabels({tr("Property"), tr("Value")});
    m_tree->header()->setToolTip(tr("Select a node in the graph or a row in the layer table"));
    m_tree->header()->setSectionResizeMode(0, QHeaderView::Interactive);
    m_tree->header()->setStretchLastSection(true);
    m_tree->setColumnWidth(0, 118);
    m_tree->setRootIsDecorated(false);
    m_tree->setIndentation(10);
    m_tree->setUniformRowHeights(true);
    m_tree->setAlternatingRowColors(true);
    m_tree->setTextElideMode(Qt::ElideMiddle);
    m_tree->setSelectionMode(QAbstractItemView::SingleSelection);

    auto* layout = new QVBoxLayout(this);
    layout->setContentsMargins(6, 4, 6, 6);
    layout->setSpacing(2);
    auto* heading = new QVBoxLayout;
    heading->setContentsMargins(2, 4, 2, 6);
    heading->setSpacing(1);
    heading->addWidget(m_title);
    heading->addWidget(m_kind);
    layout->addLayout(heading);
    layout->addWidget(m_tree, 1);
    showNode(nullptr, {}, -1);
}

void PropertiesView::setHeading(const QString& title, const QString& kind, const QColor& kindColor) {
    m_title->setText(title);
    m_kind->setText(kind);
    QPalette titlePalette = m_title->palette();
    titlePalette.setColor(QPalette::WindowText, kind.isEmpty() ? QColor(0x80868b) : QColor(0x202124));
    m_title->setPalette(titlePalette);
    QPalette kindPalette = m_kind->palette();
    kindPalette.setColor(QPalette::WindowText, kindColor);
    m_kind->setPalette(kindPalette);
}

QTreeWidgetItem* PropertiesView::addSection(const QString& title) {
    auto* item = new QTreeWidgetItem(m_tree, {title});
    item->setFirstColumnSpanned(true);
    QFont bold = item->font(0);
    bold.setBold(true);
    item->setFont(0, bold);
    item->setForeground(0, QColor(0x3c4043));
    item->setBackground(0, QColor(0xe8ebef));
    item->setFlags(Qt::ItemIsEnabled);
    item->setExpanded(true);
    return item;
}

void PropertiesView::addRow(QTreeWidgetItem* section, const QString& key, const QString& value,
                            const QString& toolTip) {
    auto* item = new QTreeWidgetItem(section, {key, value});
    item->setForeground(0, QColor(0x5f6368));
    item->setToolTip(0, key);
    item->setToolTip(1, toolTip.isEmpty() ? value : toolTip);
}

QString PropertiesView::value(const QString& section, const QString& key) const {
    for (int s = 0; s < m_tree->topLevelItemCount(); ++s) {
        const QTreeWidgetItem* sectionItem = m_tree->topLevelItem(s);
        if (sectionItem->text(0) != section) continue;
        for (int r = 0; r < sectionItem->childCount(); ++r)
            if (sectionItem->child(r)->text(0) == key) return sectionItem->child(r)->text(1);
    }
    return {};
}

void PropertiesView::showNode(std::shared_ptr<const Graph> graph, const ModelSummary& summary, int nodeIndex) {
    m_tree->clear();
    if (!graph) {
        setHeading(tr("No model loaded"), {}, {});
        return;
    }
    if (nodeIndex < 0 || size_t(nodeIndex) >= graph->nodes.size()) {
        showModel(*graph, summary);
        m_tree->expandAll();
        return;
    }
    const Node& node = graph->nodes[size_t(nodeIndex)];
    const OpCategory& category = OpMetadata::builtin().categoryOf(qs(node.opType), node.knownOp);
    setHeading(qs(node.name), QStringLiteral("%1  ·  %2").arg(qs(node.opType), category.name), category.color);

    QTreeWidgetItem* section = addSection(tr("Node"));
    addRow(section, tr("name"), qs(node.name));
    addRow(section, tr("op"), qs(node.opType));
    addRow(section, tr("domain"), node.domain.empty() ? QStringLiteral("ai.onnx") : qs(node.domain));
    addRow(section, tr("category"), category.name, category.description);
    addRow(section, tr("position"), tr("%1 of %2").arg(nodeIndex + 1).arg(graph->nodes.size()));
    if (!node.knownOp) addRow(section, tr("status"), tr("unknown op: no ONNX schema (shown, not executable)"));

    section = addSection(tr("Attributes"));
    for (const auto& [key, attribute] : node.attributes) addRow(section, qs(key), qs(attribute.toString()));
    if (node.attributes.empty()) addRow(section, tr("(none)"), {});

    section = addSection(tr("Inputs"));
    for (size_t i = 0; i < node.inputs.size(); ++i) {
        const std::string& name = node.inputs[i];
        if (name.empty())
            addRow(section, tr("(omitted #%1)").arg(i), tr("optional input not given"));
        else
            addRow(section, qs(name), typedValue(*graph, name));
    }
    section = addSection(tr("Outputs"));
    for (const auto& name : node.outputs)
        if (!name.empty()) addRow(section, qs(name), typedValue(*graph, name));

    if (const LayerInfo* layer = layerOf(summary, nodeIndex)) {
        section = addSection(tr("Weights"));
        for (const auto& w : layer->weights)
            addRow(section, qs(w.name),
                   QStringLiteral("%1  ·  %2 params").arg(formatTypedShape(w.dtype, w.shape), formatCount(w.params)),
                   tr("%1 bytes in the file").arg(formatCount(w.bytes)));
        section = addSection(tr("Cost"));
        addRow(section, tr("params"), formatCount(layer->params));
        addRow(section, tr("weight bytes"),
               formatBytes(layer->bytes) + QStringLiteral("  (%1 B)").arg(formatCount(layer->bytes)),
               tr("bits × weights / 8, as the model file stores them"));
        addRow(section, tr("MACs"), layer->macsKnown ? formatCount(layer->macs) : tr("unknown"),
               layer->macsKnown ? tr("multiply-accumulates per sample")
                                : tr("the shapes this op needs to be counted are not known"));
        if (summary.totalParams > 0)
            addRow(section, tr("share of params"), formatPercent(double(layer->params) / double(summary.totalParams)));
    }
    m_tree->expandAll();
}

void PropertiesView::showModel(const Graph& graph, const ModelSummary& summary) {
    const QString file = QFileInfo(qs(graph.sourcePath)).fileName();
    setHeading(file, tr("ONNX model  ·  %1 nodes").arg(graph.nodes.size()), QColor(0x5f6368));
    QTreeWidgetItem* section = addSection(tr("Model"));
    addRow(section, tr("file"), qs(graph.sourcePath));
    addRow(section, tr("graph"), qs(graph.name));
    addRow(section, tr("producer"), qs(graph.producerName + ' ' + graph.producerVersion).trimmed());
    addRow(section, tr("IR version"), QString::number(graph.irVersion));
    QStringList opsets;
    for (const auto& [domain, version] : graph.opsetImports)
        opsets << QStringLiteral("%1 %2").arg(domain.empty() ? QStringLiteral("ai.onnx") : qs(domain)).arg(version);
    addRow(section, tr("opsets"), opsets.join(QStringLiteral(", ")));
    addRow(section, tr("nodes"), formatCount(int64_t(graph.nodes.size())));
    addRow(section, tr("weighted layers"), formatCount(int64_t(summary.layers.size())));
    addRow(section, tr("params"), formatCount(summary.totalParams));
    addRow(section, tr("weight bytes"), formatBytes(summary.totalBytes),
           tr("bits × weights / 8 of all weights, as the model file stores them (the file adds the graph)"));
    addRow(section, tr("MACs"),
           summary.unknownMacs.empty() ? formatCount(summary.totalMacs)
                                       : tr("≥ %1 (%2 nodes unknown)")
                                             .arg(formatCount(summary.totalMacs))
                                             .arg(summary.unknownMacs.size()),
           summary.unknownMacs.empty()
               ? tr("multiply-accumulates per sample")
               : tr("multiply-accumulates per sample; not counted: %1")
                     .arg(QString::fromStdString(summary.unknownMacs.front()) +
                          (summary.unknownMacs.size() > 1 ? QStringLiteral(" …") : QString())));

    section = addSection(tr("Inputs"));
    for (const auto& name : graph.inputs) addRow(section, qs(name), typedValue(graph, name));
    section = addSection(tr("Outputs"));
    for (const auto& name : graph.outputs) addRow(section, qs(name), typedValue(graph, name));
    if (!graph.warnings.empty()) {
        section = addSection(tr("Warnings"));
        for (size_t i = 0; i < graph.warnings.size(); ++i)
            addRow(section, QString::number(i + 1), qs(graph.warnings[i]));
    }
}

}  // namespace lathe
