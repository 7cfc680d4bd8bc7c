#include "widgets/train_panel.h"

#include <QComboBox>
#include <QDoubleSpinBox>
#include <QFormLayout>
#include <QHBoxLayout>
#include <QLabel>
#include <QLineEdit>
#include <QProgressBar>
#include <QPushButton>
#include <QSpinBox>
#include <QVBoxLayout>
#include <algorithm>
#include <cmath>

#include "widgets/plot_export.h"
#include "widgets/workbench_style.h"

namespace lathe {

namespace {

// A row of the form with the label's tooltip on the field too.
template <class W>
W* tipped(W* widget, const QString& tip) {
    widget->setToolTip(tip);
    return widget;
}

QString durationText(double seconds) {
    if (!std::isfinite(seconds) || seconds < 0) return QStringLiteral("–");
    const int s = int(std::lround(seconds));
    if (s < 60) return QObject::tr("%1 s").arg(s);
    if (s < 3600) return QObject::tr("%1 min %2 s").arg(s / 60).arg(s % 60, 2, 10, QLatin1Char('0'));
    return QObject::tr("%1 h %2 min").arg(s / 3600).arg((s % 3600) / 60, 2, 10, QLatin1Char('0'));
}

}  // namespace

TrainPanel::TrainPanel(QWidget* parent)
    : QWidget(parent),
      m_title(new QLabel(tr("Train"), this)),
      m_mode(new QComboBox(this)),
      m_epochs(new QSpinBox(this)),
      m_lr(new QDoubleSpinBox(this)),
      m_optimizer(new QComboBox(this)),
      m_momentum(new QDoubleSpinBox(this)),
      m_weightDecay(new QDoubleSpinBox(this)),
      m_schedule(new QComboBox(this)),
      m_stepEpochs(new QSpinBox(this)),
      m_gamma(new QDoubleSpinBox(this)),
      m_batch(new QSpinBox(this)),
      m_samples(new QSpinBox(this)),
      m_seed(new QSpinBox(this)),
      m_batchNorm(new QComboBox(this)),
      m_rampFrom(new QDoubleSpinBox(this)),
      m_rampEpochs(new QSpinBox(this)),
      m_centroidEpochs(new QSpinBox(this)),
      m_gradualRow(new QWidget(this)),
      m_centroidRow(new QWidget(this)),
      m_stepRow(new QWidget(this)),
      m_specRow(new QWidget(this)),
      m_specWhy(new QLabel(this)),
      m_spec(new QLineEdit(this)),
      m_start(new QPushButton(tr("Start"), this)),
      m_cancel(new QPushButton(tr("Cancel"), this)),
      m_blockerLabel(new QLabel(this)),
      m_progress(new QProgressBar(this)),
      m_rate(new QLabel(this)),
      m_plot(new QCustomPlot(this)),
      m_status(new QLabel(this)) {
    qRegisterMetaType<lathe::TrainSettings>();
    QFont titleFont = m_title->font();
    titleFont.setBold(true);
    m_title->setFont(titleFont);

    m_mode->addItem(tr("Fine-tune"), int(TrainMode::FineTune));
    m_mode->addItem(tr("Gradual pruning"), int(TrainMode::Gradual));
    m_mode->addItem(tr("Deep Compression"), int(TrainMode::DeepCompression));
    m_mode->setToolTip(
        tr("Fine-tune: train the variant with its compression kept (pruned weights stay zero, quantized layers train "
           "with fake quantization, k-means layers train their centroids).\n"
           "Gradual pruning: the variant's sparsities ramp from a start value to their targets over the ramp "
           "epochs (cubic schedule, Zhu & Gupta 2017), masks recomputed as they ramp.\n"
           "Deep Compression: retrain the pruned float weights, then share them by k-means and retrain the "
           "centroids."));
    m_epochs->setRange(1, 1000);
    m_epochs->setToolTip(tr("Passes over the training images (in Deep Compression: before the weights are shared)"));
    m_lr->setDecimals(5);
    m_lr->setRange(0.00001, 10.0);
    m_lr->setSingleStep(0.001);
    m_lr->setToolTip(tr("Learning rate at the start (the schedule changes it per epoch)"));
    m_optimizer->addItem(tr("SGD"), int(TrainOptimizer::Sgd));
    m_optimizer->addItem(tr("Adam"), int(TrainOptimizer::Adam));
    m_optimizer->setToolTip(tr("SGD with momentum (the usual choice for fine-tuning) or Adam"));
    m_momentum->setRange(0, 0.999);
    m_momentum->setDecimals(3);
    m_momentum->setSingleStep(0.05);
    m_momentum->setToolTip(tr("SGD momentum (0 = plain SGD); Adam ignores it"));
    m_weightDecay->setRange(0, 0.1);
    m_weightDecay->setDecimals(5);
    m_weightDecay->setSingleStep(0.0001);
    m_weightDecay->setToolTip(tr("L2 weight decay added by the optimizer (0 = none)"));
    m_schedule->addItem(tr("Constant"), int(LrSchedule::Constant));
    m_schedule->addItem(tr("Step"), int(LrSchedule::Step));
    m_schedule->addItem(tr("Cosine"), int(LrSchedule::Cosine));
    m_schedule->setToolTip(tr("How the learning rate changes over the epochs: constant, multiplied by γ every N epochs "
                              "(step), or falling along a half cosine to 0 (cosine)"));
    m_stepEpochs->setRange(1, 1000);
    m_stepEpochs->setToolTip(tr("Step schedule: the learning rate is multiplied by γ every this many epochs"));
    m_gamma->setRange(0.001, 1);
    m_gamma->setDecimals(3);
    m_gamma->setToolTip(tr("Step schedule: the factor γ applied at each step"));
    m_batch->setRange(1, 4096);
    m_batch->setToolTip(tr("Training images per optimizer step"));
    m_samples->setRange(0, 100'000'000);
    m_samples->setSingleStep(500);
    m_samples->setSpecialValueText(tr("all"));
    m_samples->setToolTip(tr("Train on this many training images (a seeded random choice); \"all\" uses every one. "
                             "Never the evaluation images."));
    m_seed->setRange(0, std::numeric_limits<int>::max());
    m_seed->setToolTip(tr("Seed of the shuffle, the image choice and the initial state: the same seed gives the same "
                          "weights on the same machine"));
    m_batchNorm->addItem(tr("Frozen"), int(BatchNormTraining::Frozen));
    m_batchNorm->addItem(tr("Train"), int(BatchNormTraining::Train));
    m_batchNorm->setToolTip(tr("BatchNormalization layers: keep their statistics and scale (frozen, the safe choice "
                               "for small batches) or train them"));
    m_rampFrom->setRange(0, 99);
    m_rampFrom->setDecimals(0);
    m_rampFrom->setSuffix(QStringLiteral(" %"));
    m_rampFrom->setToolTip(tr("Gradual pruning: the sparsity the ramp starts at; it ends at each layer's set sparsity"));
    m_rampEpochs->setRange(1, 1000);
    m_rampEpochs->setToolTip(tr("Gradual pruning: epochs over which the sparsity ramps (cubic) to its target; the "
                                "remaining epochs fine-tune at the target"));
    m_centroidEpochs->setRange(1, 1000);
    m_centroidEpochs->setToolTip(tr("Deep Compression: epochs training the k-means centroids after the weights are "
                                    "shared (the pipeline's second retraining)"));
    m_spec->setPlaceholderText(tr("folder:DIR or npy:IMAGES.npy,LABELS.npy"));
    m_spec->setToolTip(tr("Images to train on. They must not be the evaluation images, or the accuracy measured "
                          "after training would flatter the model."));
    m_specWhy->setWordWrap(true);
    m_specWhy->setStyleSheet(QStringLiteral("color:#5f6368;"));
    m_start->setToolTip(tr("Train the variant with these settings; the result becomes a new variant"));
    m_cancel->setToolTip(tr("Stop training: the last finished epoch is kept and evaluated; before the first epoch "
                            "ends, nothing is added"));
    m_blockerLabel->setWordWrap(true);
    m_blockerLabel->setStyleSheet(QStringLiteral("color:#c5221f;"));
    m_progress->setRange(0, 1000);
    m_progress->setTextVisible(true);
    m_progress->setFormat(QString());
    m_progress->setToolTip(tr("Progress of the run (training, then evaluating the result)"));
    m_rate->setToolTip(tr("Training speed of the last epoch and the time left"));
    m_status->setWordWrap(true);
    m_status->setTextInteractionFlags(Qt::TextSelectableByMouse);

    auto hbox = [](QWidget* row, std::initializer_list<std::pair<QString, QWidget*>> fields) {
        auto* l = new QHBoxLayout(row);
        l->setContentsMargins(0, 0, 0, 0);
        for (const auto& [label, field] : fields) {
            if (!label.isEmpty()) {
                auto* text = new QLabel(label, row);
                text->setToolTip(field->toolTip());
                l->addWidget(text);
            }
            l->addWidget(field, 1);
        }
    };
    auto* optimizerRow = new QWidget(this);
    hbox(optimizerRow, {{QString(), m_optimizer}, {tr("momentum"), m_momentum}});
    auto* decayRow = new QWidget(this);
    hbox(decayRow, {{QString(), m_weightDecay}, {tr("batch"), m_batch}});
    hbox(m_stepRow, {{tr("every"), m_stepEpochs}, {tr("γ"), m_gamma}});
    hbox(m_gradualRow, {{tr("from"), m_rampFrom}, {tr("over"), m_rampEpochs}});
    hbox(m_centroidRow, {{QString(), m_centroidEpochs}});
    auto* seedRow = new QWidget(this);
    hbox(seedRow, {{QString(), m_seed}, {tr("batch norm"), m_batchNorm}});
    auto* specLayout = new QVBoxLayout(m_specRow);
    specLayout->setContentsMargins(0, 0, 0, 0);
    specLayout->addWidget(m_specWhy);
    specLayout->addWidget(m_spec);

    auto* form = new QFormLayout;
    m_form = form;
    form->setFieldGrowthPolicy(QFormLayout::AllNonFixedFieldsGrow);
    auto addRow = [&](const QString& label, QWidget* field, const QString& tip) {
        auto* text = new QLabel(label, this);
        text->setToolTip(tip);
        form->addRow(text, field);
    };
    addRow(tr("Mode"), m_mode, m_mode->toolTip());
    addRow(tr("Epochs"), m_epochs, m_epochs->toolTip());
    addRow(tr("Learning rate"), m_lr, m_lr->toolTip());
    addRow(tr("Optimizer"), optimizerRow, m_optimizer->toolTip());
    addRow(tr("Weight decay"), decayRow, m_weightDecay->toolTip());
    addRow(tr("Schedule"), m_schedule, m_schedule->toolTip());
    addRow(tr("Step"), m_stepRow, m_stepEpochs->toolTip());
    addRow(tr("Training images"), m_samples, m_samples->toolTip());
    addRow(tr("Seed"), seedRow, m_seed->toolTip());
    addRow(tr("Sparsity ramp"), m_gradualRow, m_rampFrom->toolTip());
    addRow(tr("Centroid epochs"), m_centroidRow, m_centroidEpochs->toolTip());
    addRow(tr("Training data"), m_specRow, m_spec->toolTip());

    auto* buttons = new QHBoxLayout;
    buttons->addWidget(m_start);
    buttons->addWidget(m_cancel);
    buttons->addStretch();
    buttons->addWidget(m_rate);

    style::stylePlot(m_plot);
    m_plot->setMinimumHeight(180);
    m_plot->xAxis->setLabel(tr("epoch"));
    m_plot->yAxis->setLabel(tr("training loss"));
    m_plot->yAxis2->setVisible(true);
    m_plot->yAxis2->setLabel(tr("top-1 / sparsity (%)"));
    style::styleAxis(m_plot->yAxis2, m_plot->font());
    m_plot->yAxis2->setRange(0, 100);
    QSharedPointer<QCPAxisTickerFixed> epochTicker(new QCPAxisTickerFixed);
    epochTicker->setTickStep(1);
    epochTicker->setScaleStrategy(QCPAxisTickerFixed::ssMultiples);
    m_plot->xAxis->setTicker(epochTicker);
    auto addGraph = [&](QCPAxis* value, const QColor& color, const QString& name, Qt::PenStyle pen) {
        QCPGraph* g = m_plot->addGraph(m_plot->xAxis, value);
        g->setName(name);
        g->setPen(QPen(color, 2, pen));
        g->setScatterStyle(QCPScatterStyle(QCPScatterStyle::ssCircle, color, Qt::white, 6));
        return g;
    };
    addGraph(m_plot->yAxis, style::kBlue, tr("training loss"), Qt::SolidLine);
    addGraph(m_plot->yAxis2, style::kGreen, tr("top-1 (evaluation)"), Qt::SolidLine);
    addGraph(m_plot->yAxis2, style::kOrange, tr("sparsity"), Qt::DashLine);
    m_plot->legend->setVisible(true);
    QFont legendFont = font();
    legendFont.setPointSizeF(8);
    m_plot->legend->setFont(legendFont);
    m_plot->legend->setBorderPen(QPen(style::kPanelBorder));
    m_plot->legend->setBrush(QBrush(style::withAlpha(Qt::white, 230)));
    m_plot->axisRect()->insetLayout()->setInsetAlignment(0, Qt::AlignBottom | Qt::AlignLeft);
    m_plot->setToolTip(tr("Per epoch: the mean training loss (left axis), the top-1 accuracy on the evaluation data "
                          "and the sparsity (right axis). Right-click to save it as PNG."));
    installPlotContextMenu(m_plot, [this] { return QStringLiteral("training_curves"); });

    auto* layout = new QVBoxLayout(this);
    layout->addWidget(m_title);
    layout->addLayout(form);
    layout->addWidget(m_blockerLabel);
    layout->addLayout(buttons);
    layout->addWidget(m_progress);
    layout->addWidget(m_plot, 1);
    layout->addWidget(m_status);

    connect(m_mode, &QComboBox::currentIndexChanged, this, &TrainPanel::updateEnabled);
    connect(m_optimizer, &QComboBox::currentIndexChanged, this, &TrainPanel::updateEnabled);
    connect(m_schedule, &QComboBox::currentIndexChanged, this, &TrainPanel::updateEnabled);
    connect(m_spec, &QLineEdit::textChanged, this, [this](const QString& text) {
        emit trainSpecChanged(text.trimmed());
        updateEnabled();
    });
    connect(m_start, &QPushButton::clicked, this, [this] {
        if (m_blocker.isEmpty() && !m_running) emit startRequested(settings());
    });
    connect(m_cancel, &QPushButton::clicked, this, &TrainPanel::cancelRequested);

    setSettings(TrainSettings{});
    setTrainSpecNeeded(false);
    updateRate();
}

TrainMode TrainPanel::mode() const { return TrainMode(m_mode->currentData().toInt()); }

void TrainPanel::setMode(TrainMode mode) { m_mode->setCurrentIndex(m_mode->findData(int(mode))); }

TrainSettings TrainPanel::settings() const {
    TrainSettings s;
    s.epochs = m_epochs->value();
    s.lr = m_lr->value();
    s.optimizer = TrainOptimizer(m_optimizer->currentData().toInt());
    s.momentum = m_momentum->value();
    s.weightDecay = m_weightDecay->value();
    s.batch = m_batch->value();
    s.schedule = LrSchedule(m_schedule->currentData().toInt());
    s.stepEpochs = m_stepEpochs->value();
    s.gamma = m_gamma->value();
    s.seed = uint64_t(m_seed->value());
    s.samples = m_samples->value();
    s.batchNorm = BatchNormTraining(m_batchNorm->currentData().toInt());
    if (mode() == TrainMode::Gradual) s.pruneSchedule = PruneSchedule{m_rampFrom->value() / 100.0, m_rampEpochs->value()};
    if (mode() == TrainMode::DeepCompression) s.centroidEpochs = m_centroidEpochs->value();
    return s;
}

void TrainPanel::setSettings(const TrainSettings& s) {
    m_epochs->setValue(s.epochs);
    m_lr->setValue(s.lr);
    m_optimizer->setCurrentIndex(m_optimizer->findData(int(s.optimizer)));
    m_momentum->setValue(s.momentum);
    m_weightDecay->setValue(s.weightDecay);
    m_batch->setValue(s.batch);
    m_schedule->setCurrentIndex(m_schedule->findData(int(s.schedule)));
    m_stepEpochs->setValue(s.stepEpochs);
    m_gamma->setValue(s.gamma);
    m_seed->setValue(int(std::min<uint64_t>(s.seed, uint64_t(std::numeric_limits<int>::max()))));
    m_samples->setValue(int(std::min<int64_t>(s.samples, m_samples->maximum())));
    m_batchNorm->setCurrentIndex(m_batchNorm->findData(int(s.batchNorm)));
    m_rampFrom->setValue(s.pruneSchedule ? s.pruneSchedule->from * 100.0 : 50.0);
    m_rampEpochs->setValue(s.pruneSchedule ? s.pruneSchedule->epochs : std::max(1, s.epochs));
    m_centroidEpochs->setValue(std::max(1, s.centroidEpochs));
    setMode(s.pruneSchedule         ? TrainMode::Gradual
            : s.centroidEpochs > 0 ? TrainMode::DeepCompression
                                   : TrainMode::FineTune);
    updateEnabled();
}

void TrainPanel::setVariantName(const QString& name) {
    m_title->setText(name.isEmpty() ? tr("Train") : tr("Train %1").arg(name));
}

void TrainPanel::setBlocker(const QString& reason) {
    m_blocker = reason;
    m_blockerLabel->setText(reason);
    m_blockerLabel->setVisible(!reason.isEmpty());
    updateEnabled();
}

void TrainPanel::setTrainSpecNeeded(bool needed, const QString& why) {
    m_specNeeded = needed;
    m_specWhy->setText(why);
    updateEnabled();
}

QString TrainPanel::trainSpec() const { return m_spec->text().trimmed(); }

void TrainPanel::setTrainSpec(const QString& spec) {
    if (spec != m_spec->text()) m_spec->setText(spec);
}

void TrainPanel::updateEnabled() {
    const bool idle = !m_running;
    const TrainMode m = mode();
    for (QWidget* w : std::initializer_list<QWidget*>{m_mode, m_epochs, m_lr, m_optimizer, m_weightDecay, m_batch,
                                                      m_schedule, m_samples, m_seed, m_batchNorm, m_spec})
        w->setEnabled(idle);
    m_momentum->setEnabled(idle && TrainOptimizer(m_optimizer->currentData().toInt()) == TrainOptimizer::Sgd);
    const bool step = LrSchedule(m_schedule->currentData().toInt()) == LrSchedule::Step;
    m_stepEpochs->setEnabled(idle && step);
    m_gamma->setEnabled(idle && step);
    m_rampFrom->setEnabled(idle);
    m_rampEpochs->setEnabled(idle);
    m_centroidEpochs->setEnabled(idle);
    if (m_form) {
        m_form->setRowVisible(m_gradualRow, m == TrainMode::Gradual);
        m_form->setRowVisible(m_centroidRow, m == TrainMode::DeepCompression);
        m_form->setRowVisible(m_stepRow, step);
        m_form->setRowVisible(m_specRow, m_specNeeded);
    }
    const bool specMissing = m_specNeeded && trainSpec().isEmpty();
    m_start->setEnabled(idle && m_blocker.isEmpty() && !specMissing);
    m_start->setToolTip(!m_blocker.isEmpty() ? m_blocker
                        : specMissing       ? tr("Give the training data SPEC first: %1").arg(m_specWhy->text())
                                            : tr("Train the variant with these settings; the result becomes a new "
                                                 "variant"));
    m_cancel->setEnabled(m_running);
}

void TrainPanel::setRunning(bool running) {
    if (running && !m_running) {
        clearCurves();
        m_clock.start();
        m_fraction = 0;
        m_progress->setValue(0);
        m_status->clear();
    }
    m_running = running;
    if (!running) {
        m_progress->setValue(m_progress->maximum());
        m_progress->setFormat(tr("done"));
    }
    updateEnabled();
    updateRate();
}

void TrainPanel::setProgress(float fraction, const QString& stage) {
    m_fraction = std::clamp(fraction, 0.f, 1.f);
    m_progress->setValue(int(std::lround(m_fraction * 1000)));
    m_progress->setFormat(QStringLiteral("%1 — %p%").arg(stage.isEmpty() ? tr("training") : stage));
    updateRate();
}

void TrainPanel::addEpoch(const TrainEpochPoint& point) {
    m_points.push_back(point);
    replot();
    updateRate();
}

void TrainPanel::clearCurves() {
    m_points.clear();
    replot();
}

void TrainPanel::setStatus(const QString& text) { m_status->setText(text); }

QString TrainPanel::statusText() const { return m_status->text(); }

void TrainPanel::updateRate() {
    QStringList parts;
    if (!m_points.empty()) parts << tr("%1 images/s").arg(std::lround(m_points.back().imagesPerSecond));
    if (m_running && m_fraction > 0.01f && m_clock.isValid()) {
        const double elapsed = double(m_clock.elapsed()) / 1000.0;
        parts << tr("ETA %1").arg(durationText(elapsed * (1.0 - m_fraction) / m_fraction));
    } else if (m_running) {
        parts << tr("ETA –");
    }
    m_rate->setText(parts.join(QStringLiteral("  ·  ")));
}

void TrainPanel::replot() {
    QVector<double> x, loss, tx, top1, sparsity;
    double maxLoss = 0;
    double lowPercent = 100;
    for (const TrainEpochPoint& p : m_points) {
        lowPercent = std::min(lowPercent, p.sparsity * 100.0);
        if (p.top1 >= 0) lowPercent = std::min(lowPercent, p.top1);
        x << p.epoch;
        loss << p.loss;
        sparsity << p.sparsity * 100.0;
        maxLoss = std::max(maxLoss, p.loss);
        if (p.top1 >= 0) {
            tx << p.epoch;
            top1 << p.top1;
        }
    }
    m_plot->graph(0)->setData(x, loss, true);
    m_plot->graph(1)->setData(tx, top1, true);
    m_plot->graph(2)->setData(x, sparsity, true);
    const int last = m_points.empty() ? 1 : m_points.back().epoch;
    m_plot->xAxis->setRange(0.5, std::max(last, m_epochs->value() + (mode() == TrainMode::DeepCompression
                                                                          ? m_centroidEpochs->value()
                                                                          : 0)) + 0.5);
    m_plot->yAxis->setRange(0, maxLoss > 0 ? maxLoss * 1.15 : 1.0);
    // The right axis spans the percentages shown (top-1 moves by tenths of a point; 0..100 would flatten it).
    m_plot->yAxis2->setRange(m_points.empty() ? 0 : std::max(0.0, std::floor(lowPercent / 5.0) * 5.0 - 5.0), 100);
    m_plot->replot(QCustomPlot::rpQueuedReplot);
}

}  // namespace lathe
