# core/export: ONNX export (float, QDQ, QOperator) and file sizes.
target_sources(lathe_core PRIVATE
    ${CMAKE_CURRENT_LIST_DIR}/export_util.cpp
    ${CMAKE_CURRENT_LIST_DIR}/deep_compression_size.cpp
    ${CMAKE_CURRENT_LIST_DIR}/model_size.cpp
    ${CMAKE_CURRENT_LIST_DIR}/onnx_export.cpp
    ${CMAKE_CURRENT_LIST_DIR}/qoperator_export.cpp
)
