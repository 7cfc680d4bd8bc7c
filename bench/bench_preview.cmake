# bench_preview: previewLayer (core/compress) on a 4M-weight layer against a naive peer in the same run.
add_executable(bench_preview ${CMAKE_CURRENT_LIST_DIR}/bench_preview.cpp)
target_link_libraries(bench_preview PRIVATE lathe_core)
set_target_properties(bench_preview PROPERTIES AUTOMOC OFF AUTORCC OFF)
