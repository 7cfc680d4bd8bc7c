# core/compress/calibrate: where activations are quantized, their calibration, and the fake-quantized graph.
target_sources(lathe_core PRIVATE
    ${CMAKE_CURRENT_LIST_DIR}/activation_quant.cpp
    ${CMAKE_CURRENT_LIST_DIR}/calibrate_activations.cpp
)
