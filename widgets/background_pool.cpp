#include "widgets/background_pool.h"

#include <QCoreApplication>
#include <QThread>
#include <QThreadPool>

namespace lathe {

QThreadPool* backgroundPool() {
    static QThreadPool* pool = [] {
        auto* p = new QThreadPool;  // never destroyed: jobs may still hold it while the application exits
        p->setMaxThreadCount(QThread::idealThreadCount());
        // As Qt does for its global pool: the application object waits for the running jobs when it is destroyed,
        // before the objects they use go away.
        qAddPostRoutine([] { backgroundPool()->waitForDone(); });
        return p;
    }();
    return pool;
}

}  // namespace lathe
