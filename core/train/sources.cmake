# core/train: the training engine, the only part of the tree that includes libtorch (each .cpp costs ~30 s to
# compile). lathe_train is its own library so the rest of core builds without torch headers. It is a shared library:
# the GUI loads it (and libtorch, ~0.7 s of start-up) only when the user first trains (training_library.h); lathe-cli
# and the tests link it.
add_library(lathe_train SHARED
    train/torch_graph.cpp
    train/torch_ops.cpp
    train/graph_module.cpp
    train/fine_tune.cpp
    train/distillation_loss.cpp
    train/teacher_logits.cpp
    train/initialize_weights.cpp
    train/cross_validation.cpp
    train/training_library_entry.cpp
)
target_link_libraries(lathe_train PUBLIC lathe_core PRIVATE ${TORCH_LIBRARIES})
target_include_directories(lathe_train PRIVATE ${TORCH_INCLUDE_DIRS})
set_target_properties(lathe_train PROPERTIES POSITION_INDEPENDENT_CODE ON AUTOMOC OFF AUTORCC OFF)
# Torch-free parts that programs not linking lathe_train use: the loader and the history's JSON.
target_sources(lathe_core PRIVATE train/training_library.cpp train/epoch_history.cpp)
target_link_libraries(lathe_core PRIVATE ${CMAKE_DL_LIBS})
