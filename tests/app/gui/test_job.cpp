#include <QThreadPool>
#include <QtTest>
#include <atomic>
#include <thread>

#include "widgets/background_pool.h"
#include "app/gui/job.h"

using namespace lathe;

class TestJob : public QObject {
    Q_OBJECT

private slots:
    void deliversResultAndLastProgress() {
        Job job;
        QSignalSpy started(&job, &Job::started);
        QSignalSpy progress(&job, &Job::progressChanged);
        QSignalSpy finished(&job, &Job::finished);
        int result = 0;
        job.start<int>(
            "adding",
            [](const ProgressFn& report) {
                report(0.5f, "half way");
                report(1.f, "done");
                return 42;
            },
            [&](int value) { result = value; });
        QCOMPARE(started.count(), 1);
        QCOMPARE(started.front().front().toString(), QStringLiteral("adding"));
        QVERIFY(job.isRunning());
        QTRY_COMPARE_WITH_TIMEOUT(finished.count(), 1, 30000);
        QCOMPARE(result, 42);
        QVERIFY(!job.isRunning());
        QVERIFY(progress.count() >= 1);
        QCOMPARE(progress.back().at(0).toFloat(), 1.f);
        QCOMPARE(progress.back().at(1).toString(), QStringLiteral("done"));
    }

    void cancelStopsTheWorkAndDropsTheResult() {
        Job job;
        QSignalSpy cancelled(&job, &Job::cancelled);
        QSignalSpy finished(&job, &Job::finished);
        std::atomic<bool> running{false};
        std::atomic<bool> sawCancel{false};
        bool done = false;
        job.start<int>(
            "spinning",
            [&](const ProgressFn& report) {
                running = true;
                // Reports until told to stop, as core's long loops do.
                while (report(0.1f, "working")) std::this_thread::yield();
                sawCancel = true;
                return 1;
            },
            [&](int) { done = true; });
        QTRY_VERIFY_WITH_TIMEOUT(running.load(), 30000);
        job.cancel();
        QCOMPARE(cancelled.count(), 1);
        QCOMPARE(cancelled.front().front().toString(), QStringLiteral("spinning"));
        QVERIFY(!job.isRunning());
        QTRY_VERIFY_WITH_TIMEOUT(sawCancel.load(), 30000);
        QVERIFY(backgroundPool()->waitForDone(30000));
        QCoreApplication::processEvents();
        QVERIFY(!done);
        QCOMPARE(finished.count(), 0);
    }

    void newerStartWins() {
        Job job;
        QSignalSpy finished(&job, &Job::finished);
        std::atomic<bool> release{false};
        std::vector<int> results;
        job.start<int>(
            "first",
            [&](const ProgressFn& report) {
                while (!release && report(0.f, "waiting")) std::this_thread::yield();
                return 1;
            },
            [&](int value) { results.push_back(value); });
        job.start<int>(
            "second", [](const ProgressFn&) { return 2; }, [&](int value) { results.push_back(value); });
        release = true;
        QTRY_COMPARE_WITH_TIMEOUT(finished.count(), 1, 30000);
        QVERIFY(backgroundPool()->waitForDone(30000));
        QCoreApplication::processEvents();
        QCOMPARE(results, std::vector<int>{2});
        QCOMPARE(job.title(), QStringLiteral("second"));
    }

    void throwingWorkReportsFailure() {
        Job job;
        QSignalSpy failed(&job, &Job::failed);
        bool done = false;
        job.start<int>(
            "throwing", [](const ProgressFn&) -> int { throw std::runtime_error("out of luck"); },
            [&](int) { done = true; });
        QTRY_COMPARE_WITH_TIMEOUT(failed.count(), 1, 30000);
        QCOMPARE(failed.front().at(1).toString(), QStringLiteral("out of luck"));
        QVERIFY(!done);
        QVERIFY(!job.isRunning());
    }
};

QTEST_MAIN(TestJob)
#include "test_job.moc"
