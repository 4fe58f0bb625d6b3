# NotificationServer unit tests (memory://)
herald_test(herald_server_tests LABELS unit SOURCES
  ${CMAKE_CURRENT_LIST_DIR}/server_lifecycle_test.cpp
  ${CMAKE_CURRENT_LIST_DIR}/server_dispatch_test.cpp
  ${CMAKE_CURRENT_LIST_DIR}/server_load_test.cpp
  ${CMAKE_CURRENT_LIST_DIR}/server_shutdown_test.cpp
  ${CMAKE_CURRENT_LIST_DIR}/server_stats_test.cpp
  ${CMAKE_CURRENT_LIST_DIR}/dead_letters_test.cpp
  ${CMAKE_CURRENT_LIST_DIR}/recent_keys_test.cpp
  LIBS spdlog::spdlog)
# server_dispatch_test plays a broken peer through the private driver interface.
target_include_directories(herald_server_tests PRIVATE ${PROJECT_SOURCE_DIR})
