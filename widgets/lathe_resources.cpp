#include "widgets/lathe_resources.h"

#include <QtGlobal>
#include <mutex>

// Q_INIT_RESOURCE must be used outside any namespace.
static void registerLatheQrc() { Q_INIT_RESOURCE(lathe); }

namespace lathe {

void initLatheResources() {
    static std::once_flag once;
    std::call_once(once, registerLatheQrc);
}

}  // namespace lathe
