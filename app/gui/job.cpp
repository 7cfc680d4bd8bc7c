#include "app/gui/job.h"

#include <QFutureWatcher>
#include <QtConcurrent/QtConcurrentRun>
#include <atomic>
#include <exception>
#include <mutex>
#include <string>

#include "widgets/background_pool.h"

namespace lathe {

namespace {
constexpr int kPollMs = 50;
}

// State shared between the UI thread and one worker.
struct Job::Task {
    std::atomic<bool> cancelled{false};
    std::mutex mutex;
    float fraction = 0;
    std::string stage;
    bool reported = false;  // a report the UI has not shown yet
    std::string failure;    // what the work threw, if it did
};

Job::Job(QObject* parent) : QObject(parent) {
    m_poll.setInterval(kPollMs);
    connect(&m_poll, &QTimer::timeout, this, &Job::pollProgress);
}

Job::~Job() {
    if (m_current) m_current->cancelled = true;
}

void Job::startTask(const QString& title, std::function<void(const ProgressFn&)> work, std::function<void()> done) {
    if (m_current) m_current->cancelled = true;
    auto task = std::make_shared<Task>();
    m_current = task;
    m_title = title;
    m_fraction = 0;
    m_stage.clear();
    auto* watcher = new QFutureWatcher<void>(this);
    connect(watcher, &QFutureWatcher<void>::finished, this, [this, watcher, task, done = std::move(done)] {
        watcher->deleteLater();
        if (task != m_current) return;
        pollProgress();
        m_current.reset();
        m_poll.stop();
        if (!task->failure.empty()) {
            emit failed(m_title, QString::fromStdString(task->failure));
            return;
        }
        done();
        if (!m_current) emit finished();
    });
    watcher->setFuture(QtConcurrent::run(backgroundPool(), [task, work = std::move(work)] {
        const ProgressFn progress = [task](float fraction, std::string_view stage) {
            {
                const std::lock_guard lock(task->mutex);
                task->fraction = fraction;
                task->stage.assign(stage);
                task->reported = true;
            }
            return !task->cancelled.load();
        };
        try {
            work(progress);
        } catch (const std::exception& e) {
            task->failure = e.what();
        } catch (...) {
            task->failure = "unknown exception";
        }
    }));
    m_poll.start();
    emit started(title);
}

void Job::cancel() {
    if (!m_current) return;
    m_current->cancelled = true;
    m_current.reset();
    m_poll.stop();
    emit cancelled(m_title);
}

void Job::pollProgress() {
    if (!m_current) return;
    {
        const std::lock_guard lock(m_current->mutex);
        if (!m_current->reported) return;
        m_current->reported = false;
        m_fraction = m_current->fraction;
        m_stage = QString::fromStdString(m_current->stage);
    }
    emit progressChanged(m_fraction, m_stage);
}

}  // namespace lathe
