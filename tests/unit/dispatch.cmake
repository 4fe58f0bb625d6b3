# dispatch unit tests: Filter, Dispatcher, BatchDispatcher (spdlog to capture log lines, RE2 as the reference for the filter fast paths).
herald_test(herald_dispatch_tests LABELS unit SOURCES
  ${CMAKE_CURRENT_LIST_DIR}/filter_test.cpp
  ${CMAKE_CURRENT_LIST_DIR}/dispatcher_test.cpp
  ${CMAKE_CURRENT_LIST_DIR}/batch_dispatcher_test.cpp
  LIBS spdlog::spdlog PkgConfig::RE2)
