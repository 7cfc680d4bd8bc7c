#pragma once

#include <QObject>
#include <QString>
#include <QTimer>
#include <functional>
#include <memory>
#include <optional>

#include "core/common/progress.h"

namespace lathe {

// The app's one job runner: runs one background task at a time on Qt's thread pool (QtConcurrent + QFutureWatcher),
// hands it a ProgressFn whose reports reach the UI as progressChanged() and which returns false once cancel() was
// called. A cancelled or superseded task keeps running until it next reports progress; its result is dropped.
class Job : public QObject {
    Q_OBJECT

public:
    explicit Job(QObject* parent = nullptr);
    // Cancels a running task (its result is dropped; nothing is emitted).
    ~Job() override;

    // Runs `work` off the UI thread and then `done` with its result on the UI thread, unless cancel() or a newer
    // start() came first. `work` must not touch UI objects; it receives the task's ProgressFn.
    template <class T>
    void start(const QString& title, std::function<T(const ProgressFn&)> work, std::function<void(T)> done) {
        auto result = std::make_shared<std::optional<T>>();
        startTask(
            title, [work = std::move(work), result](const ProgressFn& progress) { result->emplace(work(progress)); },
            [done = std::move(done), result] {
                if (*result) done(std::move(**result));
            });
    }

    // Stops the running task: its ProgressFn returns false from now on, its result is dropped, cancelled() fires.
    void cancel();
    bool isRunning() const { return m_current != nullptr; }
    QString title() const { return m_title; }
    // Last reported fraction in [0,1] and stage of the running task.
    float fraction() const { return m_fraction; }
    QString stage() const { return m_stage; }

signals:
    void started(const QString& title);
    void progressChanged(float fraction, const QString& stage);
    // The task ended and its result was handed to `done` (success or error alike).
    void finished();
    void cancelled(const QString& title);
    // The task threw (out of memory, a bug): `done` is not called.
    void failed(const QString& title, const QString& message);

private:
    struct Task;

    void startTask(const QString& title, std::function<void(const ProgressFn&)> work, std::function<void()> done);
    void pollProgress();

    std::shared_ptr<Task> m_current;
    QString m_title;
    float m_fraction = 0;
    QString m_stage;
    QTimer m_poll;
};

}  // namespace lathe
