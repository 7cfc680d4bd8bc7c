#pragma once

#include <cstdint>

// Transcendental maps over float arrays for the pointwise kernels: 8 lanes at a time with AVX2 + FMA (a Cephes-style
// exp, within 2 ulp of the C library's, a few times faster than calling it per element) where the CPU has them,
// else the C library element by element. Every element goes through the same code whatever n and the split into
// threads are (the last partial vector is masked, not finished in scalar code), so a batch gives the same bits as
// its slices.
namespace lathe {

// data[i] = 1 / (1 + e^-data[i]) for i in [0, n), parallel over `threads`.
void sigmoidInPlace(float* data, int64_t n, int threads);
// data[i] = x · (1 / (1 + e^-x)) with x = data[i] (SiLU / Swish: the values of Sigmoid then Mul), parallel over
// `threads`.
void siluInPlace(float* data, int64_t n, int threads);
// siluInPlace on the calling thread (the same values): for producers that apply SiLU to output they just wrote.
void siluRange(float* data, int64_t n);

// data[i] = erf(data[i]) for i in [0, n), parallel over `threads`; within 4e-7 relative of the exact value's erf.
void erfInPlace(float* data, int64_t n, int threads);
// data[i] = x · (1 + erf(x / √2)) / 2 with x = data[i] (GELU), parallel over `threads`.
void geluInPlace(float* data, int64_t n, int threads);

// x[i] = e^(x[i] - shift) for i in [0, n) on the calling thread (Softmax); returns their sum, accumulated in 8 lanes
// and then across them (a fixed order for a given n).
float expShiftedSum(float* x, int64_t n, float shift);

}  // namespace lathe
