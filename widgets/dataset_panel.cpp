#include "widgets/dataset_panel.h"

#include <QAbstractButton>
#include <QCheckBox>
#include <QComboBox>
#include <QDir>
#include <QFileDialog>
#include <QFileInfo>
#include <QFormLayout>
#include <QGroupBox>
#include <QHBoxLayout>
#include <QLabel>
#include <QLineEdit>
#include <QScrollArea>
#include <QSettings>
#include <QSpinBox>
#include <QToolButton>
#include <QVBoxLayout>
#include <cmath>

namespace lathe {

namespace {

const QString kSettingsGroup = QStringLiteral("dataset");
const QString kErrorStyle = QStringLiteral("color:#c5221f; font-size:8pt;");
const QString kBadEditorStyle = QStringLiteral("border:1px solid #d93025; border-radius:2px; padding:2px;");

QString kindPrefix(DatasetKind kind) {
    switch (kind) {
        case DatasetKind::Idx:
            return QStringLiteral("idx:");
        case DatasetKind::Folder:
            return QStringLiteral("folder:");
        case DatasetKind::Npy:
            return QStringLiteral("npy:");
    }
    return {};
}

std::optional<DatasetKind> kindOfSpec(const QString& spec) {
    for (DatasetKind kind : {DatasetKind::Idx, DatasetKind::Folder, DatasetKind::Npy})
        if (spec.startsWith(kindPrefix(kind))) return kind;
    return std::nullopt;
}

// "0.5" or "1/255"; unset for an empty text; an error message otherwise.
std::optional<float> parseScale(const QString& text, QString* error) {
    const QString t = text.trimmed();
    if (t.isEmpty()) return std::nullopt;
    bool ok = false;
    double value = 0;
    if (const qsizetype slash = t.indexOf(QLatin1Char('/')); slash >= 0) {
        bool okNum = false, okDen = false;
        const double num = t.left(slash).trimmed().toDouble(&okNum);
        const double den = t.mid(slash + 1).trimmed().toDouble(&okDen);
        ok = okNum && okDen && den != 0;
        value = ok ? num / den : 0;
    } else {
        value = t.toDouble(&ok);
    }
    if (!ok || !std::isfinite(value) || value <= 0) {
        *error = QObject::tr("Scale: \"%1\" is not a positive number (e.g. 0.00392 or 1/255)").arg(t);
        return std::nullopt;
    }
    return float(value);
}

// One value for every channel or one per channel (3); empty for an empty text.
std::vector<float> parseChannelValues(const QString& field, const QString& text, bool nonZero, QString* error) {
    std::vector<float> values;
    const QString t = text.trimmed();
    if (t.isEmpty()) return values;
    const QStringList parts = t.split(QLatin1Char(','));
    for (const QString& part : parts) {
        bool ok = false;
        const double v = part.trimmed().toDouble(&ok);
        if (!ok || !std::isfinite(v)) {
            *error = QObject::tr("%1: \"%2\" is not a number").arg(field, part.trimmed());
            return {};
        }
        if (nonZero && v == 0) {
            *error = QObject::tr("%1: a standard deviation of 0 would divide by zero").arg(field);
            return {};
        }
        values.push_back(float(v));
    }
    if (values.size() != 1 && values.size() != 3) {
        *error = QObject::tr("%1: give one value for every channel or three (R, G, B), got %2")
                     .arg(field)
                     .arg(values.size());
        return {};
    }
    return values;
}

QLabel* sectionHeader(const QString& text, QWidget* parent) {
    auto* label = new QLabel(text, parent);
    label->setStyleSheet(QStringLiteral("font-weight:600; color:#3c4043; padding-top:6px;"));
    return label;
}

}  // namespace

QStringList classNamesOf(const Dataset& dataset, const EvaluationSettings& settings) {
    QStringList names;
    for (const auto& name : dataset.classNames()) names << QString::fromStdString(name);
    if (!names.isEmpty()) return names;
    if (settings.spec.kind == DatasetKind::Idx && dataset.numClasses() <= 10 &&
        settings.displayName().startsWith(QLatin1String("Fashion-MNIST")))
        return fashionMnistClassNames();
    return {};
}

QStringList fashionMnistClassNames() {
    return {QStringLiteral("T-shirt/top"), QStringLiteral("Trouser"), QStringLiteral("Pullover"),
            QStringLiteral("Dress"),       QStringLiteral("Coat"),    QStringLiteral("Sandal"),
            QStringLiteral("Shirt"),       QStringLiteral("Sneaker"), QStringLiteral("Bag"),
            QStringLiteral("Ankle boot")};
}

QString EvaluationSettings::datasetKey() const {
    const Preprocessing& p = dataset.preprocessing;
    QStringList parts{specText,
                      QString::number(int(dataset.split.value_or(Split::Test))),
                      QString::number(p.resize),
                      QString::number(p.crop),
                      p.scale ? QString::number(double(*p.scale), 'g', 9) : QStringLiteral("default"),
                      QString::number(p.bgr),
                      QString::number(p.gray)};
    for (float m : p.mean) parts << QString::number(double(m), 'g', 9);
    parts << QStringLiteral("|");
    for (float s : p.stddev) parts << QString::number(double(s), 'g', 9);
    return parts.join(QLatin1Char(';'));
}

QString EvaluationSettings::displayName() const {
    const QString path = QString::fromStdString(spec.path);
    switch (spec.kind) {
        case DatasetKind::Idx: {
            const QString dir = QFileInfo(path).fileName();
            QString name = dir.contains(QLatin1String("fashion"), Qt::CaseInsensitive) ? QStringLiteral("Fashion-MNIST")
                           : dir.compare(QLatin1String("mnist"), Qt::CaseInsensitive) == 0 ? QStringLiteral("MNIST")
                                                                                           : dir;
            return name + (dataset.split.value_or(Split::Test) == Split::Train ? QStringLiteral(" train")
                                                                               : QStringLiteral(" test"));
        }
        case DatasetKind::Folder:
            return QFileInfo(path).fileName();
        case DatasetKind::Npy:
            return QFileInfo(path).completeBaseName();
    }
    return specText;
}

DatasetPanel::DatasetPanel(QWidget* parent)
    : QWidget(parent),
      m_kind(new QComboBox),
      m_spec(new QLineEdit),
      m_browse(new QToolButton),
      m_split(new QComboBox),
      m_limit(new QSpinBox),
      m_shuffle(new QCheckBox(tr("random sample"))),
      m_batch(new QSpinBox),
      m_backend(new QComboBox),
      m_folds(new QSpinBox),
      m_imageBox(new QGroupBox(tr("Image folders only"))),
      m_size(new QSpinBox),
      m_crop(new QSpinBox),
      m_scale(new QLineEdit),
      m_mean(new QLineEdit),
      m_std(new QLineEdit),
      m_bgr(new QCheckBox(tr("BGR order"))),
      m_gray(new QCheckBox(tr("Grayscale"))),
      m_runError(new QLabel),
      m_buttonRow(new QWidget) {
    m_kind->addItem(tr("IDX files (MNIST style)"), int(DatasetKind::Idx));
    m_kind->addItem(tr("Image folder (one sub-folder per class)"), int(DatasetKind::Folder));
    m_kind->addItem(tr("NumPy arrays (.npy images + labels)"), int(DatasetKind::Npy));
    m_spec->setText(QString::fromLatin1(kDefaultSpec));
    m_spec->setClearButtonEnabled(true);
    m_browse->setText(QStringLiteral("…"));
    m_browse->setToolTip(tr("Choose the data set's folder (IDX, image folder) or its .npy files"));
    m_split->addItem(tr("test"), int(Split::Test));
    m_split->addItem(tr("train"), int(Split::Train));
    m_limit->setRange(0, 100000000);
    m_limit->setSpecialValueText(tr("all"));
    m_limit->setGroupSeparatorShown(true);
    m_limit->setSingleStep(100);
    m_limit->setSuffix(tr(" images"));
    m_batch->setRange(1, 4096);
    m_batch->setValue(100);
    m_backend->addItem(tr("Auto (built-in, else OpenCV DNN)"), int(BackendKind::Auto));
    m_backend->addItem(tr("Built-in executor"), int(BackendKind::Builtin));
    m_backend->addItem(tr("OpenCV DNN"), int(BackendKind::OpenCv));
    m_folds->setRange(1, 100);
    m_folds->setValue(5);
    m_folds->setSuffix(tr(" parts"));
    m_size->setRange(0, 8192);
    m_size->setSpecialValueText(tr("keep"));
    m_size->setSuffix(tr(" px"));
    m_crop->setRange(0, 8192);
    m_crop->setSpecialValueText(tr("none"));
    m_crop->setSuffix(tr(" px"));
    m_scale->setPlaceholderText(tr("1/255 for 8-bit pixels, else 1"));
    m_mean->setPlaceholderText(tr("0   (one value, or R, G, B)"));
    m_std->setPlaceholderText(tr("1   (one value, or R, G, B)"));

    auto* specRow = new QWidget;
    auto* specLayout = new QHBoxLayout(specRow);
    specLayout->setContentsMargins(0, 0, 0, 0);
    specLayout->setSpacing(4);
    specLayout->addWidget(m_spec, 1);
    specLayout->addWidget(m_browse);
    auto* limitRow = new QWidget;
    auto* limitLayout = new QHBoxLayout(limitRow);
    limitLayout->setContentsMargins(0, 0, 0, 0);
    limitLayout->addWidget(m_limit, 1);
    limitLayout->addWidget(m_shuffle);

    auto makeForm = [] {
        auto* form = new QFormLayout;
        form->setLabelAlignment(Qt::AlignRight | Qt::AlignVCenter);
        form->setFieldGrowthPolicy(QFormLayout::AllNonFixedFieldsGrow);
        form->setHorizontalSpacing(8);
        form->setVerticalSpacing(5);
        return form;
    };
    auto* form = makeForm();
    m_form = form;
    form->addRow(sectionHeader(tr("Data"), this));
    addField(form, QStringLiteral("Kind"), tr("Kind"), m_kind,
             tr("Format of the data set: IDX (MNIST, Fashion-MNIST; .gz or raw), a folder with one sub-folder of "
                "images per class, or a pair of .npy files (images N×H×W or N×C×H×W, integer labels N)"));
    addField(form, QStringLiteral("Data set"), tr("Data set"), specRow,
             tr("Data set SPEC as in lathe-cli: idx:DIR, folder:DIR or npy:IMAGES.npy,LABELS.npy"));
    addField(form, QStringLiteral("Split"), tr("Split"), m_split, tr("IDX only: the t10k-* (test) or train-* files"));

    form->addRow(m_runError);
    form->addRow(sectionHeader(tr("Evaluation"), this));
    addField(form, QStringLiteral("Limit"), tr("Limit"), limitRow,
             tr("Evaluate only this many images (all: the whole split). With \"random sample\" they are a seeded "
                "random sample, otherwise the first ones"));
    addField(form, QStringLiteral("Batch size"), tr("Batch size"), m_batch,
             tr("Images per inference call during evaluation and activation capture"));
    addField(form, QStringLiteral("Backend"), tr("Backend"), m_backend,
             tr("Runtime that executes the model: Lathe's built-in executor, OpenCV DNN (cv::dnn), or the built-in "
                "one with OpenCV as the fallback for ops it lacks"));
    addField(form, QStringLiteral("Folds"), tr("Split spread"), m_folds,
             tr("Split spread (K parts of the test images, nothing retrained): accuracy is also measured on K "
                "disjoint parts of the evaluated images, and its spread (± std) shows how much it varies between "
                "samples. This is not cross-validation: for that, use Compress ▸ Cross-Validate, which trains the "
                "variant on folds of the training data"));

    form->addRow(sectionHeader(tr("Preprocessing"), this));
    addField(form, QStringLiteral("Scale"), tr("Scale"), m_scale,
             tr("Multiplier on raw pixel values before mean and std: value = (raw × scale − mean) / std. Empty: "
                "1/255 for 8-bit images, 1 for float data. Accepts fractions such as 1/255"));
    addField(form, QStringLiteral("Mean"), tr("Mean"), m_mean,
             tr("Subtracted after scaling: one value for every channel, or three comma-separated values in tensor "
                "channel order (e.g. 0.485, 0.456, 0.406 for ImageNet models)"));
    addField(form, QStringLiteral("Std"), tr("Std"), m_std,
             tr("Divisor after the mean: one value, or three (e.g. 0.229, 0.224, 0.225)"));
    auto* imageForm = makeForm();
    auto* sizeRow = new QWidget;
    auto* sizeLayout = new QHBoxLayout(sizeRow);
    sizeLayout->setContentsMargins(0, 0, 0, 0);
    sizeLayout->addWidget(m_size, 1);
    auto* cropLabel = new QLabel(tr("crop"));
    sizeLayout->addWidget(cropLabel);
    sizeLayout->addWidget(m_crop, 1);
    m_size->setToolTip(tr(
        "Resize: scale each image so its shorter side has this many pixels (aspect ratio kept); keep: decoded size"));
    m_crop->setToolTip(tr("Centre crop: cut a square of this size from the centre after resizing; none: no crop"));
    cropLabel->setToolTip(m_crop->toolTip());
    addField(imageForm, QStringLiteral("Size"), tr("Resize"), sizeRow,
             tr("Shorter side after resizing, then the centre crop"));
    auto* channelRow = new QWidget;
    auto* channelLayout = new QHBoxLayout(channelRow);
    channelLayout->setContentsMargins(0, 0, 0, 0);
    channelLayout->addWidget(m_bgr);
    channelLayout->addWidget(m_gray);
    channelLayout->addStretch(1);
    addField(imageForm, QStringLiteral("Channels"), tr("Channels"), channelRow,
             tr("Channel order and count of decoded images"));
    m_bgr->setToolTip(tr("Feed channels as B, G, R (Caffe and OpenCV-trained models) instead of R, G, B"));
    m_gray->setToolTip(tr("Decode images as one grayscale channel"));
    m_fields[QStringLiteral("Crop")] = m_fields[QStringLiteral("Size")];
    m_formOf[QStringLiteral("Crop")] = imageForm;
    m_imageBox->setLayout(imageForm);
    m_imageBox->setToolTip(
        tr("Resize, crop, channel order and grayscale apply to image folders; IDX and .npy samples "
           "are used at their stored size"));

    m_runError->setWordWrap(true);
    m_runError->setTextInteractionFlags(Qt::TextSelectableByMouse);
    m_runError->setStyleSheet(QStringLiteral(
        "background:#fce8e6; color:#a50e0e; border:1px solid #f4c7c3; border-radius:4px; padding:6px 8px;"));
    form->setRowVisible(m_runError, false);
    auto* buttonLayout = new QHBoxLayout(m_buttonRow);
    buttonLayout->setContentsMargins(10, 6, 10, 6);
    buttonLayout->addStretch(1);

    auto* content = new QWidget;
    auto* layout = new QVBoxLayout(content);
    layout->setContentsMargins(10, 4, 10, 10);
    layout->setSpacing(4);
    layout->addLayout(form);
    layout->addWidget(m_imageBox);
    layout->addStretch(1);
    auto* scroll = new QScrollArea(this);
    scroll->setWidget(content);
    scroll->setWidgetResizable(true);
    scroll->setFrameShape(QFrame::NoFrame);
    auto* separator = new QFrame(this);
    separator->setFrameShape(QFrame::HLine);
    separator->setStyleSheet(QStringLiteral("color:#d0d4d9;"));
    auto* outer = new QVBoxLayout(this);
    outer->setContentsMargins(0, 0, 0, 0);
    outer->setSpacing(0);
    outer->addWidget(scroll, 1);
    outer->addWidget(separator);
    outer->addWidget(m_buttonRow);

    connect(m_kind, &QComboBox::currentIndexChanged, this, &DatasetPanel::onKindChanged);
    connect(m_spec, &QLineEdit::textEdited, this, &DatasetPanel::onSpecEdited);
    connect(m_browse, &QToolButton::clicked, this, &DatasetPanel::browse);
    for (QComboBox* combo : {m_split, m_backend})
        connect(combo, &QComboBox::currentIndexChanged, this, &DatasetPanel::settingsChanged);
    for (QSpinBox* spin : {m_limit, m_batch, m_folds, m_size, m_crop})
        connect(spin, &QSpinBox::valueChanged, this, &DatasetPanel::settingsChanged);
    for (QLineEdit* edit : {m_spec, m_scale, m_mean, m_std})
        connect(edit, &QLineEdit::textChanged, this, &DatasetPanel::settingsChanged);
    for (QCheckBox* check : {m_shuffle, m_bgr, m_gray})
        connect(check, &QCheckBox::toggled, this, &DatasetPanel::settingsChanged);
    updateEnabledFields();
}

void DatasetPanel::addField(QFormLayout* form, const QString& name, const QString& label, QWidget* editor,
                            const QString& toolTip) {
    auto* labelWidget = new QLabel(label);
    labelWidget->setToolTip(toolTip);
    editor->setToolTip(toolTip);
    form->addRow(labelWidget, editor);
    auto* error = new QLabel;
    error->setWordWrap(true);
    error->setStyleSheet(kErrorStyle);
    error->setObjectName(QStringLiteral("error_") + name);
    form->addRow(QString(), error);
    form->setRowVisible(error, false);
    m_fields[name] = {editor, error};
    m_formOf[name] = form;
}

void DatasetPanel::addActionButton(QAbstractButton* button) {
    static_cast<QHBoxLayout*>(m_buttonRow->layout())->addWidget(button);
}

DatasetKind DatasetPanel::currentKind() const { return DatasetKind(m_kind->currentData().toInt()); }

void DatasetPanel::onKindChanged() {
    const QString text = m_spec->text().trimmed();
    QString rest = text;
    if (const auto kind = kindOfSpec(text)) rest = text.mid(kindPrefix(*kind).size());
    if (currentKind() != DatasetKind::Npy) rest = rest.section(QLatin1Char(','), 0, 0);
    m_spec->setText(kindPrefix(currentKind()) + rest);
    updateEnabledFields();
    emit settingsChanged();
}

void DatasetPanel::onSpecEdited() {
    if (const auto kind = kindOfSpec(m_spec->text().trimmed()); kind && *kind != currentKind()) {
        const QSignalBlocker block(m_kind);
        m_kind->setCurrentIndex(m_kind->findData(int(*kind)));
        updateEnabledFields();
    }
}

void DatasetPanel::updateEnabledFields() {
    const DatasetKind kind = currentKind();
    m_split->setEnabled(kind == DatasetKind::Idx);
    m_imageBox->setEnabled(kind == DatasetKind::Folder);
}

void DatasetPanel::browse() {
    const QString current = m_spec->text().trimmed();
    const auto kind = kindOfSpec(current);
    const QString path = kind ? current.mid(kindPrefix(*kind).size()).section(QLatin1Char(','), 0, 0) : current;
    const QString start = QFileInfo::exists(path) ? path : QDir::homePath();
    if (currentKind() == DatasetKind::Npy) {
        const QString images =
            QFileDialog::getOpenFileName(this, tr("Images (.npy)"), start, tr("NumPy arrays (*.npy);;All files (*)"));
        if (images.isEmpty()) return;
        const QString labels = QFileDialog::getOpenFileName(this, tr("Labels (.npy)"), QFileInfo(images).absolutePath(),
                                                            tr("NumPy arrays (*.npy);;All files (*)"));
        if (labels.isEmpty()) return;
        setSpecText(QStringLiteral("npy:%1,%2").arg(images, labels));
        return;
    }
    const QString dir = QFileDialog::getExistingDirectory(
        this, currentKind() == DatasetKind::Idx ? tr("Folder with IDX files") : tr("Folder with one folder per class"),
        start);
    if (!dir.isEmpty()) setSpecText(kindPrefix(currentKind()) + dir);
}

void DatasetPanel::setFieldError(const QString& field, const QString& message) {
    auto it = m_fields.find(field);
    if (it == m_fields.end()) return;
    it->second.error->setText(message);
    m_formOf[field]->setRowVisible(it->second.error, !message.isEmpty());
    QLineEdit* edit = field == QLatin1String("Data set") ? m_spec : qobject_cast<QLineEdit*>(it->second.editor);
    if (edit) edit->setStyleSheet(message.isEmpty() ? QString() : kBadEditorStyle);
    if (!message.isEmpty() && m_firstError.isEmpty()) m_firstError = message;
}

void DatasetPanel::clearErrors() {
    m_firstError.clear();
    for (const auto& [name, field] : m_fields) setFieldError(name, {});
}

QString DatasetPanel::fieldError(const QString& field) const {
    auto it = m_fields.find(field);
    return it == m_fields.end() ? QString() : it->second.error->text();
}

void DatasetPanel::setRunError(const QString& message) {
    m_runError->setText(message);
    m_form->setRowVisible(m_runError, !message.isEmpty());
}

QString DatasetPanel::runError() const { return m_runError->isHidden() ? QString() : m_runError->text(); }

std::optional<EvaluationSettings> DatasetPanel::validate() {
    clearErrors();
    EvaluationSettings s;
    s.specText = m_spec->text().trimmed();
    if (s.specText.isEmpty()) {
        setFieldError(QStringLiteral("Data set"), tr("Data set: give a SPEC such as %1").arg(kDefaultSpec));
    } else if (auto spec = parseDatasetSpec(s.specText.toStdString()); !spec) {
        setFieldError(QStringLiteral("Data set"), tr("Data set: %1").arg(QString::fromStdString(spec.error().message)));
    } else {
        s.spec = *spec;
        const QString path = QString::fromStdString(spec->path);
        const QString labels = QString::fromStdString(spec->labelsPath);
        if (spec->kind == DatasetKind::Npy) {
            if (!QFileInfo(path).isFile())
                setFieldError(QStringLiteral("Data set"), tr("Data set: images file %1 does not exist").arg(path));
            else if (!QFileInfo(labels).isFile())
                setFieldError(QStringLiteral("Data set"), tr("Data set: labels file %1 does not exist").arg(labels));
        } else if (!QFileInfo(path).isDir()) {
            setFieldError(QStringLiteral("Data set"), QFileInfo::exists(path)
                                                          ? tr("Data set: %1 is not a folder").arg(path)
                                                          : tr("Data set: folder %1 does not exist").arg(path));
        }
    }
    if (s.spec.kind == DatasetKind::Idx) s.dataset.split = Split(m_split->currentData().toInt());

    Preprocessing& p = s.dataset.preprocessing;
    QString error;
    p.scale = parseScale(m_scale->text(), &error);
    setFieldError(QStringLiteral("Scale"), error);
    error.clear();
    p.mean = parseChannelValues(tr("Mean"), m_mean->text(), false, &error);
    setFieldError(QStringLiteral("Mean"), error);
    error.clear();
    p.stddev = parseChannelValues(tr("Std"), m_std->text(), true, &error);
    setFieldError(QStringLiteral("Std"), error);
    if (s.spec.kind == DatasetKind::Folder) {
        p.resize = m_size->value();
        p.crop = m_crop->value();
        p.bgr = m_bgr->isChecked();
        p.gray = m_gray->isChecked();
        if (p.resize > 0 && p.crop > p.resize)
            setFieldError(
                QStringLiteral("Crop"),
                tr("Centre crop: %1 px is larger than the resized shorter side (%2 px)").arg(p.crop).arg(p.resize));
    }

    s.eval.limit = m_limit->value();
    s.eval.shuffle = m_shuffle->isChecked();
    s.eval.batchSize = m_batch->value();
    s.eval.backend = BackendKind(m_backend->currentData().toInt());
    s.eval.folds = m_folds->value();
    if (s.eval.limit > 0 && s.eval.folds > s.eval.limit)
        setFieldError(
            QStringLiteral("Folds"),
            tr("Split spread: %1 parts need at least as many images (limit is %2)").arg(s.eval.folds).arg(s.eval.limit));
    if (m_firstError.isEmpty())
        if (auto valid = validateDatasetOptions(s.spec, s.dataset); !valid)
            setFieldError(QStringLiteral("Data set"), QString::fromStdString(valid.error().message));
    if (!m_firstError.isEmpty()) return std::nullopt;
    return s;
}

QString DatasetPanel::specText() const { return m_spec->text().trimmed(); }

void DatasetPanel::setSpecText(const QString& spec) {
    m_spec->setText(spec);
    onSpecEdited();
}

void DatasetPanel::setSplit(Split split) { m_split->setCurrentIndex(m_split->findData(int(split))); }

void DatasetPanel::setLimit(int limit) { m_limit->setValue(limit); }

int DatasetPanel::limit() const { return m_limit->value(); }

void DatasetPanel::setBatchSize(int batch) { m_batch->setValue(batch); }

void DatasetPanel::setBackend(BackendKind backend) { m_backend->setCurrentIndex(m_backend->findData(int(backend))); }

void DatasetPanel::setFolds(int folds) { m_folds->setValue(folds); }

void DatasetPanel::saveSettings(QSettings& settings) const {
    settings.beginGroup(kSettingsGroup);
    settings.setValue(QStringLiteral("spec"), m_spec->text());
    settings.setValue(QStringLiteral("split"), m_split->currentData());
    settings.setValue(QStringLiteral("limit"), m_limit->value());
    settings.setValue(QStringLiteral("shuffle"), m_shuffle->isChecked());
    settings.setValue(QStringLiteral("batch"), m_batch->value());
    settings.setValue(QStringLiteral("backend"), m_backend->currentData());
    settings.setValue(QStringLiteral("folds"), m_folds->value());
    settings.setValue(QStringLiteral("size"), m_size->value());
    settings.setValue(QStringLiteral("crop"), m_crop->value());
    settings.setValue(QStringLiteral("scale"), m_scale->text());
    settings.setValue(QStringLiteral("mean"), m_mean->text());
    settings.setValue(QStringLiteral("std"), m_std->text());
    settings.setValue(QStringLiteral("bgr"), m_bgr->isChecked());
    settings.setValue(QStringLiteral("gray"), m_gray->isChecked());
    settings.endGroup();
}

void DatasetPanel::restoreSettings(const QSettings& settings) {
    auto value = [&](const QString& key, const QVariant& fallback) {
        return settings.value(kSettingsGroup + QLatin1Char('/') + key, fallback);
    };
    setSpecText(value(QStringLiteral("spec"), QString::fromLatin1(kDefaultSpec)).toString());
    setSplit(Split(value(QStringLiteral("split"), int(Split::Test)).toInt()));
    m_limit->setValue(value(QStringLiteral("limit"), 0).toInt());
    m_shuffle->setChecked(value(QStringLiteral("shuffle"), false).toBool());
    m_batch->setValue(value(QStringLiteral("batch"), 100).toInt());
    setBackend(BackendKind(value(QStringLiteral("backend"), int(BackendKind::Auto)).toInt()));
    m_folds->setValue(value(QStringLiteral("folds"), 5).toInt());
    m_size->setValue(value(QStringLiteral("size"), 0).toInt());
    m_crop->setValue(value(QStringLiteral("crop"), 0).toInt());
    m_scale->setText(value(QStringLiteral("scale"), QString()).toString());
    m_mean->setText(value(QStringLiteral("mean"), QString()).toString());
    m_std->setText(value(QStringLiteral("std"), QString()).toString());
    m_bgr->setChecked(value(QStringLiteral("bgr"), false).toBool());
    m_gray->setChecked(value(QStringLiteral("gray"), false).toBool());
}

}  // namespace lathe
