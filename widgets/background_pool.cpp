#include "widgets/background_pool.h"

#include <QThread>
#include <QThreadPool>

namespace lathe {

QThreadPool* backgroundPool() {
    static QThreadPool* pool = [] {
        auto* p = new QThreadPool;  // never destroyed: jobs may still hold it while the application exits
        p->setMaxThreadCount(QThread::idealThreadCount());
        return p;
    }();
    return pool;
}

}  // namespace lathe
