# core/compress: recipe, pruning, quantization, low-rank decomposition and the recipe driver.
set(LATHE_COMPRESS_SOURCES
    compress/compressible_layer.cpp
    compress/recipe.cpp
    compress/apply_recipe.cpp
    compress/layer_preview.cpp
    compress/sensitivity_scan.cpp
    compress/budget_allocation.cpp
    compress/latency_profile.cpp
    compress/prune/magnitude_prune.cpp
    compress/prune/channel_groups.cpp
    compress/prune/prune_reconstruction.cpp
    compress/quantize/uniform_quantize.cpp
    compress/quantize/kmeans_share.cpp
    compress/quantize/fold_batch_norm.cpp
    compress/lowrank/svd_decompose.cpp
    compress/lowrank/tucker2_decompose.cpp
    compress/lowrank/spatial_svd_decompose.cpp
    compress/lowrank/decompose_layer.cpp
)
target_sources(lathe_core PRIVATE ${LATHE_COMPRESS_SOURCES})
# The per-weight loops select with float compares; without this GCC will not if-convert them, so they stay scalar.
# Results are unchanged (no code here enables floating-point traps).
if(CMAKE_CXX_COMPILER_ID MATCHES "GNU|Clang")
    set_source_files_properties(${LATHE_COMPRESS_SOURCES} PROPERTIES COMPILE_OPTIONS "-fno-trapping-math")
endif()
