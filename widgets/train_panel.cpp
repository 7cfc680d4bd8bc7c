#include "widgets/train_panel.h"

#include <QComboBox>
#include <QDoubleSpinBox>
#include <QFileDialog>
#include <QFileInfo>
#include <QFormLayout>
#include <QHBoxLayout>
#include <QLabel>
#include <QLineEdit>
#include <QProgressBar>
#include <QPushButton>
#include <QScrollArea>
#include <QScrollBar>
#include <QSpinBox>
#include <QSplitter>
#include <QVBoxLayout>
#include <algorithm>
#include <cmath>
#include <limits>


namespace lathe {

namespace {

// A row of the form with the label's tooltip on the field too.
template <class W>
W* tipped(W* widget, const QString& tip) {
    widget->setToolTip(tip);
    return widget;
}

const QString kBaseline = QStringLiteral("baseline");
// Defaults that work on the demo LeNet-5 (README): L1 with a per-weight proximal step of lr·λ, then a magnitude cut
// and two epochs without the penalty; distillation at T = 4 diverges from lr 0.05 on.
constexpr double kL1Lambda = 5e-3;
constexpr double kL1Target = 0.8;
constexpr int kL1Epochs = 5;
constexpr int kL1FinalEpochs = 2;
constexpr double kL1Lr = 0.02;
constexpr double kDistillLr = 0.01;

enum class Cut { Sparsity, Threshold, None };

QString lambdaText(double v) { return QString::number(v, 'g', 6); }

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
      m_init(new QComboBox(this)),
      m_lambda(new QDoubleSpinBox(this)),
      m_layerLambdas(new QLineEdit(this)),
      m_cut(new QComboBox(this)),
      m_cutSparsity(new QDoubleSpinBox(this)),
      m_cutThreshold(new QDoubleSpinBox(this)),
      m_finalEpochs(new QSpinBox(this)),
      m_teacher(new QComboBox(this)),
      m_temperature(new QDoubleSpinBox(this)),
      m_alpha(new QDoubleSpinBox(this)),
      m_targets(new QComboBox(this)),
      m_gradualRow(new QWidget(this)),
      m_centroidRow(new QWidget(this)),
      m_lambdaRow(new QWidget(this)),
      m_cutRow(new QWidget(this)),
      m_teacherRow(new QWidget(this)),
      m_distillRow(new QWidget(this)),
      m_stepRow(new QWidget(this)),
      m_specRow(new QWidget(this)),
      m_specWhy(new QLabel(this)),
      m_spec(new QLineEdit(this)),
      m_start(new QPushButton(tr("Start"), this)),
      m_cancel(new QPushButton(tr("Cancel"), this)),
      m_blockerLabel(new QLabel(this)),
      m_progress(new QProgressBar(this)),
      m_rate(new QLabel(this)),
      m_plot(new TrainCurves(this)),
      m_weights(new WeightCollapseView(this)),
      m_status(new QLabel(this)) {
    qRegisterMetaType<lathe::TrainSettings>();
    QFont titleFont = m_title->font();
    titleFont.setBold(true);
    m_title->setFont(titleFont);

    m_mode->addItem(tr("Fine-tune"), int(TrainMode::FineTune));
    m_mode->addItem(tr("Gradual pruning"), int(TrainMode::Gradual));
    m_mode->addItem(tr("Deep Compression"), int(TrainMode::DeepCompression));
    m_mode->addItem(tr("L1 sparsification"), int(TrainMode::L1));
    m_mode->addItem(tr("Distillation"), int(TrainMode::Distill));
    m_mode->setToolTip(
        tr("Fine-tune: train the variant with its compression kept (pruned weights stay zero, quantized layers train "
           "with fake quantization, k-means layers train their centroids).\n"
           "Gradual pruning: the variant's sparsities ramp from a start value to their targets over the ramp "
           "epochs (cubic schedule, Zhu & Gupta 2017), masks recomputed as they ramp.\n"
           "Deep Compression: retrain the pruned float weights, then share them by k-means and retrain the "
           "centroids.\n"
           "L1 sparsification: train with λ·Σ|w| added to the loss, weights pulled to exact zeros after every step, "
           "then cut by magnitude to a target sparsity and fine-tuned.\n"
           "Distillation: train the variant (the student) to match a teacher's outputs as well as the labels "
           "(Hinton et al. 2015).\n"
           "Choosing L1 or Distillation fills in settings that work on the demo LeNet-5 (L1: λ 0.005, 80 %% cut, 5 "
           "epochs with the last 2 after the cut, lr 0.02 cosine; distillation: lr 0.01, as lr 0.05 diverges at T = "
           "4)."));
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
    m_init->addItem(tr("the model's weights"), int(WeightInit::Model));
    m_init->addItem(tr("re-initialised (seeded)"), int(WeightInit::Random));
    m_init->setToolTip(tr("Where training starts: the variant's own weights, or fresh weights drawn with the seed "
                          "(PyTorch's defaults: uniform in ±1/√fan_in; BatchNorm scale 1, shift 0) — a student "
                          "trained from scratch by distillation"));
    m_lambda->setDecimals(6);
    m_lambda->setRange(0, 0.999999);
    m_lambda->setSingleStep(0.0005);
    m_lambda->setToolTip(tr("L1 strength λ of every compressible layer: the loss gains λ·Σ|w|, and after every step "
                            "each weight moves lr·λ toward zero and stops at exactly zero (proximal step). Larger λ: "
                            "more zeros sooner, at more cost in accuracy."));
    m_layerLambdas->setPlaceholderText(tr("per layer: fc1=0.001, conv1=0"));
    m_layerLambdas->setToolTip(tr("λ of single layers, overriding the one beside it: name=λ pairs separated by commas "
                                  "(node or weight names). Empty: every layer uses the λ beside it."));
    m_cut->addItem(tr("cut to sparsity"), int(Cut::Sparsity));
    m_cut->addItem(tr("cut below |w|"), int(Cut::Threshold));
    m_cut->addItem(tr("no cut"), int(Cut::None));
    m_cut->setToolTip(tr("After the L1 epochs, a magnitude cut over the regularised layers: to a target fraction of "
                         "zeros, or zeroing every |w| below a threshold; then the final epochs fine-tune with the cut "
                         "weights held at zero and the penalty off"));
    m_cutSparsity->setRange(0, 99.9);
    m_cutSparsity->setDecimals(1);
    m_cutSparsity->setSuffix(QStringLiteral(" %"));
    m_cutSparsity->setToolTip(tr("The fraction of zeros the final cut reaches over the regularised layers"));
    m_cutThreshold->setRange(0, 10);
    m_cutThreshold->setDecimals(6);
    m_cutThreshold->setSingleStep(0.001);
    m_cutThreshold->setToolTip(tr("The final cut zeroes every weight with |w| below this"));
    m_finalEpochs->setRange(0, 999);
    m_finalEpochs->setToolTip(tr("The last epochs of the run, after the cut: fine-tuning with the cut weights held at "
                                 "zero and without the penalty (fewer than the epochs)"));
    m_teacher->setToolTip(tr("The model the student learns from: the baseline (the model as opened), another variant "
                             "(its compressed weights), or an ONNX file with the same input and classes"));
    m_temperature->setRange(0.1, 100);
    m_temperature->setDecimals(1);
    m_temperature->setSingleStep(0.5);
    m_temperature->setToolTip(tr("Temperature T of the soft targets: softmax(logits / T) of teacher and student. "
                                 "Higher T shows more of the teacher's view of the wrong classes; the term is scaled "
                                 "by T²"));
    m_alpha->setRange(0, 1);
    m_alpha->setDecimals(2);
    m_alpha->setSingleStep(0.05);
    m_alpha->setToolTip(tr("Weight α of the teacher: loss = α·(distillation term) + (1 − α)·CE(student, labels)"));
    m_targets->addItem(tr("soft targets"), false);
    m_targets->addItem(tr("hard targets"), true);
    m_targets->setToolTip(tr("Soft: distillation term = T²·KL(softmax(teacher/T) ‖ softmax(student/T)).\n"
                             "Hard: distillation term = CE(student, the teacher's top class)."));
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
    hbox(m_lambdaRow, {{QString(), m_lambda}, {QString(), m_layerLambdas}});
    hbox(m_cutRow, {{QString(), m_cut}, {QString(), m_cutSparsity}, {QString(), m_cutThreshold},
                    {tr("final epochs"), m_finalEpochs}});
    hbox(m_teacherRow, {{QString(), m_teacher}});
    hbox(m_distillRow, {{tr("T"), m_temperature}, {tr("α"), m_alpha}, {QString(), m_targets}});
    static_cast<QHBoxLayout*>(m_lambdaRow->layout())->setStretch(1, 2);
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
    addRow(tr("Start from"), m_init, m_init->toolTip());
    addRow(tr("Sparsity ramp"), m_gradualRow, m_rampFrom->toolTip());
    addRow(tr("Centroid epochs"), m_centroidRow, m_centroidEpochs->toolTip());
    addRow(tr("L1 λ"), m_lambdaRow, m_lambda->toolTip());
    addRow(tr("Final cut"), m_cutRow, m_cut->toolTip());
    addRow(tr("Teacher"), m_teacherRow, m_teacher->toolTip());
    addRow(tr("Distillation"), m_distillRow,
           tr("Soft: loss = α·T²·KL(softmax(teacher/T) ‖ softmax(student/T)) + (1 − α)·CE(student, labels).\n"
              "Hard: loss = α·CE(student, teacher's top class) + (1 − α)·CE(student, labels)."));
    addRow(tr("Training data"), m_specRow, m_spec->toolTip());

    auto* buttons = new QHBoxLayout;
    buttons->addWidget(m_start);
    buttons->addWidget(m_cancel);
    buttons->addStretch();
    buttons->addWidget(m_rate);


    // Settings on the left (scrolling when the dock is short), the curves over the weights view on the right.
    auto* settingsPane = new QWidget;
    auto* left = new QVBoxLayout(settingsPane);
    left->setContentsMargins(0, 0, 4, 0);
    left->addWidget(m_title);
    left->addLayout(form);
    left->addWidget(m_blockerLabel);
    left->addLayout(buttons);
    left->addWidget(m_progress);
    left->addWidget(m_status);
    left->addStretch(1);
    auto* scroll = new QScrollArea(this);
    scroll->setWidget(settingsPane);
    scroll->setWidgetResizable(true);
    scroll->setFrameShape(QFrame::NoFrame);
    scroll->setHorizontalScrollBarPolicy(Qt::ScrollBarAlwaysOff);
    scroll->setMinimumWidth(settingsPane->minimumSizeHint().width() + scroll->verticalScrollBar()->sizeHint().width());
    m_weights->setMinimumHeight(170);
    auto* plots = new QSplitter(Qt::Vertical, this);
    plots->addWidget(m_plot);
    plots->addWidget(m_weights);
    plots->setChildrenCollapsible(false);
    auto* split = new QSplitter(Qt::Horizontal, this);
    split->addWidget(scroll);
    split->addWidget(plots);
    split->setStretchFactor(0, 0);
    split->setStretchFactor(1, 1);
    split->setChildrenCollapsible(false);
    split->setSizes({std::max(430, scroll->minimumWidth()), 10000});
    auto* layout = new QVBoxLayout(this);
    layout->setContentsMargins(4, 4, 4, 4);
    layout->addWidget(split);

    connect(m_mode, &QComboBox::currentIndexChanged, this, [this] {
        updateEnabled();
        if (!m_running) replot();
    });
    connect(m_mode, &QComboBox::activated, this, &TrainPanel::modeChosen);
    connect(m_optimizer, &QComboBox::currentIndexChanged, this, &TrainPanel::updateEnabled);
    connect(m_schedule, &QComboBox::currentIndexChanged, this, &TrainPanel::updateEnabled);
    connect(m_cut, &QComboBox::currentIndexChanged, this, &TrainPanel::updateEnabled);
    connect(m_epochs, &QSpinBox::valueChanged, this, &TrainPanel::updateEnabled);
    connect(m_finalEpochs, &QSpinBox::valueChanged, this, &TrainPanel::updateEnabled);
    connect(m_layerLambdas, &QLineEdit::textChanged, this, &TrainPanel::updateEnabled);
    connect(m_teacher, &QComboBox::activated, this, &TrainPanel::teacherChosen);
    connect(m_spec, &QLineEdit::textChanged, this, [this](const QString& text) {
        emit trainSpecChanged(text.trimmed());
        updateEnabled();
    });
    connect(m_start, &QPushButton::clicked, this, [this] {
        if (m_blocker.isEmpty() && inputProblem().isEmpty() && !m_running) emit startRequested(settings());
    });
    connect(m_cancel, &QPushButton::clicked, this, &TrainPanel::cancelRequested);

    m_pickTeacherFile = [this] {
        return QFileDialog::getOpenFileName(this, tr("Teacher Model"), QString(), tr("ONNX models (*.onnx)"));
    };
    setTeacherChoices({});
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
    s.init = WeightInit(m_init->currentData().toInt());
    if (mode() == TrainMode::Gradual) s.pruneSchedule = PruneSchedule{m_rampFrom->value() / 100.0, m_rampEpochs->value()};
    if (mode() == TrainMode::DeepCompression) s.centroidEpochs = m_centroidEpochs->value();
    if (mode() == TrainMode::L1) {
        s.mode = TrainObjective::L1;
        L1Settings l1;
        l1.lambda = m_lambda->value();
        l1.layers = layerLambdas().value_or(std::map<std::string, double>{});
        const Cut cut = Cut(m_cut->currentData().toInt());
        if (cut == Cut::Sparsity) l1.targetSparsity = m_cutSparsity->value() / 100.0;
        if (cut == Cut::Threshold) l1.threshold = m_cutThreshold->value();
        l1.finalEpochs = m_finalEpochs->value();
        s.l1 = l1;
    }
    if (mode() == TrainMode::Distill) {
        s.mode = TrainObjective::Distill;
        DistillSettings d;
        d.teacher = m_teacher->currentData().toString().toStdString();
        if (d.teacher.empty()) d.teacher = m_lastTeacher.toStdString();
        d.temperature = m_temperature->value();
        d.alpha = m_alpha->value();
        d.hard = m_targets->currentData().toBool();
        s.distill = d;
    }
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
    m_init->setCurrentIndex(m_init->findData(int(s.init)));
    // An l1 section without settings trains with core's defaults; other modes leave the GUI's defaults ready.
    L1Settings l1;
    if (s.l1)
        l1 = *s.l1;
    else if (s.mode != TrainObjective::L1)
        l1 = L1Settings{kL1Lambda, {}, kL1Target, std::nullopt, std::min(kL1FinalEpochs, std::max(0, s.epochs - 1))};
    m_lambda->setValue(l1.lambda);
    QStringList pairs;
    for (const auto& [name, lambda] : l1.layers)
        pairs << QStringLiteral("%1=%2").arg(QString::fromStdString(name), lambdaText(lambda));
    m_layerLambdas->setText(pairs.join(QStringLiteral(", ")));
    const Cut cut = l1.targetSparsity ? Cut::Sparsity : l1.threshold ? Cut::Threshold : Cut::None;
    m_cut->setCurrentIndex(m_cut->findData(int(cut)));
    m_cutSparsity->setValue(l1.targetSparsity.value_or(kL1Target) * 100.0);
    m_cutThreshold->setValue(l1.threshold.value_or(0.01));
    m_finalEpochs->setValue(l1.finalEpochs);
    const DistillSettings d = s.distill.value_or(DistillSettings{});
    selectTeacher(QString::fromStdString(d.teacher));
    m_temperature->setValue(d.temperature);
    m_alpha->setValue(d.alpha);
    m_targets->setCurrentIndex(m_targets->findData(d.hard));
    setMode(s.mode == TrainObjective::L1         ? TrainMode::L1
            : s.mode == TrainObjective::Distill ? TrainMode::Distill
            : s.pruneSchedule                   ? TrainMode::Gradual
            : s.centroidEpochs > 0              ? TrainMode::DeepCompression
                                                : TrainMode::FineTune);
    updateEnabled();
}

void TrainPanel::modeChosen() {
    // The user picked a mode: fill in what works for it (see the mode's tooltip).
    if (mode() == TrainMode::L1) {
        m_epochs->setValue(kL1Epochs);
        m_lr->setValue(kL1Lr);
        m_schedule->setCurrentIndex(m_schedule->findData(int(LrSchedule::Cosine)));
        m_lambda->setValue(kL1Lambda);
        m_cut->setCurrentIndex(m_cut->findData(int(Cut::Sparsity)));
        m_cutSparsity->setValue(kL1Target * 100.0);
        m_finalEpochs->setValue(kL1FinalEpochs);
    } else if (mode() == TrainMode::Distill) {
        m_lr->setValue(kDistillLr);
    }
    updateEnabled();
}

void TrainPanel::setTeacherChoices(const std::vector<TeacherChoice>& choices) {
    const QString current = m_teacher->count() ? m_teacher->currentData().toString() : m_lastTeacher;
    QStringList others;
    for (int i = 0; i < m_teacher->count(); ++i)
        if (m_teacher->itemData(i, Qt::UserRole + 1).toBool()) others << m_teacher->itemData(i).toString();
    const QSignalBlocker block(m_teacher);
    m_teacher->clear();
    m_teacher->addItem(tr("Baseline (the opened model)"), kBaseline);
    m_teacher->setItemData(0, tr("The model as opened, before any compression"), Qt::ToolTipRole);
    for (const TeacherChoice& c : choices) {
        m_teacher->addItem(tr("Variant: %1").arg(c.label), c.key);
        m_teacher->setItemData(m_teacher->count() - 1, tr("The variant's compressed (or trained) weights"),
                               Qt::ToolTipRole);
    }
    for (const QString& other : others)
        if (m_teacher->findData(other) < 0) addOtherTeacher(other, m_teacher->count());  // else a variant's key now
    m_teacher->addItem(tr("File…"), QString());
    m_teacher->setItemData(m_teacher->count() - 1, tr("Choose an ONNX file as the teacher"), Qt::ToolTipRole);
    selectTeacher(current.isEmpty() ? m_lastTeacher : current);
}

void TrainPanel::selectTeacher(const QString& key) {
    if (key.isEmpty()) return;
    int index = m_teacher->findData(key);
    if (index < 0) index = addOtherTeacher(key, m_teacher->count() - 1);  // before "File…"
    const QSignalBlocker block(m_teacher);
    m_teacher->setCurrentIndex(index);
    m_lastTeacher = key;
    m_teacher->setToolTip(m_teacher->itemData(index, Qt::ToolTipRole).toString().isEmpty()
                              ? m_teacher->itemText(index)
                              : m_teacher->itemText(index) + QStringLiteral("\n") +
                                    m_teacher->itemData(index, Qt::ToolTipRole).toString());
}

int TrainPanel::addOtherTeacher(const QString& key, int index) {
    // Not a variant of this project: a file, or a teacher no longer in the project (shown as it is).
    const bool file = key.endsWith(QStringLiteral(".onnx"), Qt::CaseInsensitive) || key.contains(QLatin1Char('/'));
    const QSignalBlocker block(m_teacher);
    m_teacher->insertItem(index, file ? tr("File: %1").arg(QFileInfo(key).fileName())
                                      : tr("%1 (not in the project)").arg(key),
                          key);
    m_teacher->setItemData(index, true, Qt::UserRole + 1);
    m_teacher->setItemData(index, key, Qt::ToolTipRole);
    return index;
}

void TrainPanel::teacherChosen() {
    const QString key = m_teacher->currentData().toString();
    if (!key.isEmpty()) {
        selectTeacher(key);
        return;
    }
    const QString file = m_pickTeacherFile ? m_pickTeacherFile() : QString();
    selectTeacher(file.isEmpty() ? m_lastTeacher : file);
}

void TrainPanel::setLayerNames(const QStringList& names) {
    m_layerNames = names;
    m_layerLambdas->setToolTip(
        tr("λ of single layers, overriding the one beside it: name=λ pairs separated by commas (node or weight "
           "names). Empty: every layer uses the λ beside it.") +
        (names.isEmpty() ? QString() : tr("\nLayers: %1").arg(names.join(QStringLiteral(", ")))));
    updateEnabled();
}

std::optional<std::map<std::string, double>> TrainPanel::layerLambdas(QString* error) const {
    std::map<std::string, double> out;
    const QString text = m_layerLambdas->text().trimmed();
    if (text.isEmpty()) return out;
    for (const QString& part : text.split(QLatin1Char(','), Qt::SkipEmptyParts)) {
        const QStringList kv = part.split(QLatin1Char('='));
        bool ok = false;
        const double lambda = kv.size() == 2 ? kv[1].trimmed().toDouble(&ok) : 0.0;
        const QString name = kv.value(0).trimmed();
        if (kv.size() != 2 || name.isEmpty() || !ok) {
            if (error) *error = tr("Per-layer λ: \"%1\" is not name=λ (e.g. fc1=0.001).").arg(part.trimmed());
            return std::nullopt;
        }
        if (!(lambda >= 0 && lambda < 1)) {
            if (error) *error = tr("Per-layer λ of %1: %2 is outside [0, 1).").arg(name).arg(lambda);
            return std::nullopt;
        }
        // Weight names ("fc1.weight") are accepted too; the recipe check against the model has the last word.
        const bool known = m_layerNames.isEmpty() || m_layerNames.contains(name) ||
                           std::any_of(m_layerNames.begin(), m_layerNames.end(),
                                       [&](const QString& layer) { return name.startsWith(layer + QLatin1Char('.')); });
        if (!known) {
            if (error)
                *error = tr("Per-layer λ: no layer named %1 (layers: %2).")
                             .arg(name, m_layerNames.join(QStringLiteral(", ")));
            return std::nullopt;
        }
        out[name.toStdString()] = lambda;
    }
    return out;
}

QString TrainPanel::inputProblem() const {
    const TrainMode m = mode();
    if (m == TrainMode::L1) {
        QString error;
        if (!layerLambdas(&error)) return error;
        if (m_finalEpochs->value() >= m_epochs->value())
            return tr("Final epochs (%1) must be fewer than the epochs (%2): the L1 epochs come first.")
                .arg(m_finalEpochs->value())
                .arg(m_epochs->value());
    }
    return {};
}

void TrainPanel::setVariantName(const QString& name) {
    m_title->setText(name.isEmpty() ? tr("Train") : tr("Train %1").arg(name));
}

void TrainPanel::setBlocker(const QString& reason) {
    m_blocker = reason;
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
    for (QWidget* w : std::initializer_list<QWidget*>{m_rampFrom, m_rampEpochs, m_centroidEpochs, m_init, m_lambda,
                                                      m_layerLambdas, m_cut, m_finalEpochs, m_teacher, m_temperature,
                                                      m_alpha, m_targets})
        w->setEnabled(idle);
    const Cut cut = Cut(m_cut->currentData().toInt());
    m_cutSparsity->setVisible(cut == Cut::Sparsity);
    m_cutThreshold->setVisible(cut == Cut::Threshold);
    m_cutSparsity->setEnabled(idle);
    m_cutThreshold->setEnabled(idle);
    m_finalEpochs->setMaximum(std::max(0, m_epochs->maximum() - 1));
    if (m_form) {
        m_form->setRowVisible(m_gradualRow, m == TrainMode::Gradual);
        m_form->setRowVisible(m_centroidRow, m == TrainMode::DeepCompression);
        m_form->setRowVisible(m_lambdaRow, m == TrainMode::L1);
        m_form->setRowVisible(m_cutRow, m == TrainMode::L1);
        m_form->setRowVisible(m_teacherRow, m == TrainMode::Distill);
        m_form->setRowVisible(m_distillRow, m == TrainMode::Distill);
        m_form->setRowVisible(m_stepRow, step);
        m_form->setRowVisible(m_specRow, m_specNeeded);
    }
    const QString problem = inputProblem();
    m_layerLambdas->setStyleSheet(m == TrainMode::L1 && !layerLambdas() ? QStringLiteral("color:#c5221f;")
                                                                       : QString());
    m_blockerLabel->setText(!m_blocker.isEmpty() ? m_blocker : problem);
    m_blockerLabel->setVisible(!m_blockerLabel->text().isEmpty());
    const bool specMissing = m_specNeeded && trainSpec().isEmpty();
    m_start->setEnabled(idle && m_blocker.isEmpty() && problem.isEmpty() && !specMissing);
    m_start->setToolTip(!m_blocker.isEmpty() ? m_blocker
                        : !problem.isEmpty() ? problem
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
    if (!point.histograms.empty() || !point.layerSparsity.empty())
        m_weights->setEpoch(point.epoch, point.histograms, point.layerSparsity);
    replot();
    updateRate();
}

void TrainPanel::clearCurves() {
    m_points.clear();
    m_weights->clear();
    replot();
}

void TrainPanel::setStatus(const QString& text) { m_status->setText(text); }

QString TrainPanel::statusText() const { return m_status->text(); }

void TrainPanel::updateRate() {
    QStringList parts;
    if (!m_points.empty()) parts << tr("%1 images/s").arg(std::lround(m_points.back().imagesPerSecond));
    if (!m_points.empty() && m_points.back().penalty > 0)
        parts << tr("L1 penalty %1").arg(m_points.back().penalty, 0, 'g', 3);
    if (m_running && m_fraction > 0.01f && m_clock.isValid()) {
        const double elapsed = double(m_clock.elapsed()) / 1000.0;
        parts << tr("ETA %1").arg(durationText(elapsed * (1.0 - m_fraction) / m_fraction));
    } else if (m_running) {
        parts << tr("ETA –");
    }
    m_rate->setText(parts.join(QStringLiteral("  ·  ")));
}

void TrainPanel::replot() {
    m_plot->setPoints(m_points,
                      m_epochs->value() + (mode() == TrainMode::DeepCompression ? m_centroidEpochs->value() : 0),
                      mode() == TrainMode::Distill);
}

}  // namespace lathe
