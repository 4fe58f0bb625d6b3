# dispatch benchmarks: filter evaluations/s, dispatch fan-out, batch dispatch.
herald_bench(herald_dispatch_bench ${CMAKE_CURRENT_LIST_DIR}/dispatch_bench.cpp)
