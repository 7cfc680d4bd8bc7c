# Built-in runtime (Executor, plan, kernels), compiled into lathe_core. Included from core/CMakeLists.txt.
target_sources(lathe_core PRIVATE
    ${CMAKE_CURRENT_LIST_DIR}/executor.cpp
    ${CMAKE_CURRENT_LIST_DIR}/execution_plan.cpp
    ${CMAKE_CURRENT_LIST_DIR}/kernel.cpp
    ${CMAKE_CURRENT_LIST_DIR}/micro_batch.cpp
    ${CMAKE_CURRENT_LIST_DIR}/op_registry.cpp
    ${CMAKE_CURRENT_LIST_DIR}/kernels/kernel_util.cpp
    ${CMAKE_CURRENT_LIST_DIR}/kernels/window.cpp
    ${CMAKE_CURRENT_LIST_DIR}/kernels/batchnorm.cpp
    ${CMAKE_CURRENT_LIST_DIR}/kernels/conv.cpp
    ${CMAKE_CURRENT_LIST_DIR}/kernels/elementwise.cpp
    ${CMAKE_CURRENT_LIST_DIR}/kernels/unary.cpp
    ${CMAKE_CURRENT_LIST_DIR}/kernels/layer_norm.cpp
    ${CMAKE_CURRENT_LIST_DIR}/kernels/copy_ops.cpp
    ${CMAKE_CURRENT_LIST_DIR}/kernels/generate.cpp
    ${CMAKE_CURRENT_LIST_DIR}/kernels/resize.cpp
    ${CMAKE_CURRENT_LIST_DIR}/kernels/conv_transpose.cpp
    ${CMAKE_CURRENT_LIST_DIR}/kernels/einsum.cpp
    ${CMAKE_CURRENT_LIST_DIR}/kernels/gemm.cpp
    ${CMAKE_CURRENT_LIST_DIR}/kernels/pool.cpp
    ${CMAKE_CURRENT_LIST_DIR}/kernels/reduce.cpp
    ${CMAKE_CURRENT_LIST_DIR}/kernels/sgemm.cpp
    ${CMAKE_CURRENT_LIST_DIR}/kernels/shape_ops.cpp
    ${CMAKE_CURRENT_LIST_DIR}/kernels/softmax.cpp
    ${CMAKE_CURRENT_LIST_DIR}/kernels/quantize_linear.cpp
    ${CMAKE_CURRENT_LIST_DIR}/kernels/qlinear.cpp
)
