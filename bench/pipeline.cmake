herald_bench(herald_notifier_bench ${CMAKE_CURRENT_LIST_DIR}/notifier_bench.cpp)
add_executable(herald_e2e_bench ${CMAKE_CURRENT_LIST_DIR}/e2e_bench.cpp)
target_link_libraries(herald_e2e_bench PRIVATE herald::herald)
herald_target_options(herald_e2e_bench)
# The durable outbox: off / group commit / fsync per message, side by side (bench/RESULTS.md).
add_executable(herald_outbox_bench ${CMAKE_CURRENT_LIST_DIR}/outbox_bench.cpp)
target_link_libraries(herald_outbox_bench PRIVATE herald::herald)
herald_target_options(herald_outbox_bench)
