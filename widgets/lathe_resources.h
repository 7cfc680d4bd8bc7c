#pragma once

namespace lathe {

// Registers resources/lathe.qrc (compiled into lathe_widgets) with the Qt resource system; idempotent.
void initLatheResources();

}  // namespace lathe
