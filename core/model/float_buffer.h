#pragma once

#include <algorithm>
#include <memory>
#include <new>
#include <utility>
#include <vector>

namespace lathe {

// std::allocator, except that growing a vector without a value (resize(n), vector(n)) leaves the new elements
// uninitialised instead of zeroing them. The executor's activation buffers are recycled between tensors of different
// sizes (BufferPool) and every kernel writes its whole output, so zeroing them was pure memory traffic: about 5-10 %
// of a small convolutional net's run. Filling with a value (vector(n, 0.f), assign) still writes that value.
template <class T>
struct UninitializedAllocator : std::allocator<T> {
    template <class U>
    struct rebind {
        using other = UninitializedAllocator<U>;
    };
    UninitializedAllocator() = default;
    template <class U>
    UninitializedAllocator(const UninitializedAllocator<U>&) noexcept {}
    template <class U>
    void construct(U* p) noexcept {
        ::new (static_cast<void*>(p)) U;
    }
    template <class U, class... Args>
    void construct(U* p, Args&&... args) {
        ::new (static_cast<void*>(p)) U(std::forward<Args>(args)...);
    }
};

using FloatBuffer = std::vector<float, UninitializedAllocator<float>>;

inline bool operator==(const FloatBuffer& a, const std::vector<float>& b) {
    return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin());
}

}  // namespace lathe
