# Operations unit tests: metrics (memory://), the CLI metrics server and shutdown plumbing.
herald_test(herald_metrics_tests LABELS unit SOURCES
  ${CMAKE_CURRENT_LIST_DIR}/metrics_test.cpp
  LIBS spdlog::spdlog prometheus-cpp::core)
target_include_directories(herald_metrics_tests PRIVATE ${PROJECT_SOURCE_DIR})
# The CLI's HTTP metrics server, served on loopback (no broker).
herald_test(herald_metrics_http_tests LABELS unit SOURCES
  ${CMAKE_CURRENT_LIST_DIR}/metrics_http_test.cpp
  ${PROJECT_SOURCE_DIR}/tools/metrics_server.cpp
  LIBS spdlog::spdlog Boost::boost)
target_include_directories(herald_metrics_http_tests PRIVATE ${PROJECT_SOURCE_DIR})
# The CLI's shutdown plumbing (self-pipe signals, budget, exit codes).
herald_test(herald_cli_shutdown_tests LABELS unit SOURCES
  ${CMAKE_CURRENT_LIST_DIR}/cli_shutdown_test.cpp
  ${PROJECT_SOURCE_DIR}/tools/shutdown.cpp
  LIBS spdlog::spdlog)
target_include_directories(herald_cli_shutdown_tests PRIVATE ${PROJECT_SOURCE_DIR})
