# oslo codec benchmarks: v1/v2 encode and decode of a typical notification
herald_bench(herald_codec_bench ${CMAKE_CURRENT_LIST_DIR}/codec_bench.cpp)
