# herald_amqp_bench: raw Qpid Proton sender/receiver vs Herald's amqp driver on one broker.
# Run: RMQ_PORT=5672 build/bench/herald_amqp_bench [count] [url-options] [phases]
if(HERALD_BUILD_AMQP)
  add_executable(herald_amqp_bench amqp_raw_bench.cpp)
  target_link_libraries(herald_amqp_bench PRIVATE herald::herald Proton::cpp)
  target_include_directories(herald_amqp_bench PRIVATE ${PROJECT_SOURCE_DIR})
  herald_target_options(herald_amqp_bench)
  # Notify-to-handled latency at a fixed rate (bench/compare runs it at half the Notifier's rate).
  add_executable(herald_latency_bench latency_bench.cpp)
  target_link_libraries(herald_latency_bench PRIVATE herald::herald)
  herald_target_options(herald_latency_bench)
endif()
