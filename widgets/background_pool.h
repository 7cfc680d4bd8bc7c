#pragma once

class QThreadPool;

namespace lathe {

// The thread pool for Lathe's own background work (model loading, layout, histograms, previews, evaluations).
// Qt's raster paint engine splits large fills over QThreadPool::globalInstance() and waits for them: with long jobs
// queued there, painting the window stalled until they ended (ViT-B/16 opened to a frozen window for seconds).
QThreadPool* backgroundPool();

}  // namespace lathe
