#include "core/runtime/kernel.h"

#include <algorithm>
#include <stdexcept>
#include <string>

#include "core/runtime/kernels/kernel_util.h"

namespace lathe {

FloatBuffer BufferPool::take(size_t count) {
    auto best = m_free.end();
    for (auto it = m_free.begin(); it != m_free.end(); ++it) {
        const bool fits = it->capacity() >= count;
        if (best == m_free.end()) {
            best = it;
            continue;
        }
        const bool bestFits = best->capacity() >= count;
        if ((fits && (!bestFits || it->capacity() < best->capacity())) ||
            (!fits && !bestFits && it->capacity() > best->capacity()))
            best = it;
    }
    FloatBuffer buffer;
    if (best != m_free.end()) {
        buffer = std::move(*best);
        *best = std::move(m_free.back());
        m_free.pop_back();
    }
    buffer.resize(count);
    return buffer;
}

void BufferPool::give(FloatBuffer&& buffer) {
    if (buffer.capacity() > 0) m_free.push_back(std::move(buffer));
}

float* Workspace::scratch(int thread, size_t count) {
    std::vector<float>& buffer = m_buffers[size_t(thread)];
    if (buffer.size() < count) buffer.resize(count);
    return buffer.data();
}

float* Workspace::shared(size_t count) {
    if (m_shared.size() < count) m_shared.resize(count);
    return m_shared.data();
}

std::optional<Epilogue> Epilogue::then(const Epilogue& next) const {
    if (hasClamp() && next.hasAffine()) return std::nullopt;
    if (silu && (next.hasAffine() || next.hasClamp() || next.silu)) return std::nullopt;
    Epilogue combined = next;
    combined.silu = silu || next.silu;
    if (hasAffine() && next.hasAffine()) {
        if (scale.size() != next.scale.size()) return std::nullopt;
        for (size_t c = 0; c < scale.size(); ++c) {
            combined.scale[c] = next.scale[c] * scale[c];
            combined.shift[c] = next.scale[c] * shift[c] + next.shift[c];
        }
    } else if (hasAffine()) {
        combined.scale = scale;
        combined.shift = shift;
    }
    combined.low = std::max(low, next.low);
    combined.high = std::min(high, next.high);
    if (hasClamp() && next.hasClamp() && combined.low > combined.high) return std::nullopt;
    return combined;
}

int64_t* Workspace::sharedIndices(size_t count) {
    if (m_indices.size() < count) m_indices.resize(count);
    return m_indices.data();
}

NDArray& KernelIo::output(size_t i, std::vector<int64_t> shape) {
    const int64_t count = shapeNumel(shape);
    if (count < 0 || count > kMaxTensorElements)
        throw std::length_error("output " + std::to_string(i) + " would have shape " + shapeToString(shape) +
                                ", beyond the " + std::to_string(kMaxTensorElements) + " elements a tensor may hold");
    NDArray& out = *m_outputs[i];
    m_pool.give(std::move(out.data));
    out.data = m_pool.take(size_t(shapeNumel(shape)));
    out.shape = std::move(shape);
    return out;
}

NDArray& KernelIo::outputFrom(size_t i, size_t in, std::vector<int64_t> shape) {
    if (in < m_stealable.size() && m_stealable[in] != nullptr) {
        NDArray& out = *m_outputs[i];
        m_pool.give(std::move(out.data));
        out.data = std::move(m_stealable[in]->data);
        m_stealable[in]->shape.clear();
        out.shape = std::move(shape);
        return out;
    }
    const NDArray& source = input(in);
    NDArray& out = output(i, std::move(shape));
    // In pieces over the team, statically, as the in-place kernels then split the values: each thread copies the part
    // of the batch it goes on with (and that it computed in the layers before), from its own cache.
    const float* from = source.data.data();
    float* to = out.data.data();
    const int64_t n = int64_t(source.data.size());
#pragma omp parallel for num_threads(threads()) schedule(static) if (n >= 2 * kParallelPiece)
    for (int64_t at = 0; at < n; at += kParallelPiece)
        std::copy(from + at, from + std::min(n, at + kParallelPiece), to + at);
    return out;
}

}  // namespace lathe
