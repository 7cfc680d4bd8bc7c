# core/eval: data sets, preprocessing, metrics, inference backends and the evaluation driver.
find_package(OpenCV 4 REQUIRED COMPONENTS core imgproc imgcodecs)
target_sources(lathe_core PRIVATE
    eval/builtin_backend.cpp
    eval/dataset.cpp
    eval/evaluator.cpp
    eval/idx_dataset.cpp
    eval/image_folder_dataset.cpp
    eval/in_memory_dataset.cpp
    eval/incremental_evaluator.cpp
    eval/inference_backend.cpp
    eval/metrics.cpp
    eval/npy_dataset.cpp
    eval/npy_reader.cpp
    eval/opencv_backend.cpp
    eval/preprocessing.cpp
    eval/stratified_folds.cpp
)
target_link_libraries(lathe_core PRIVATE opencv_core opencv_imgproc opencv_imgcodecs)
