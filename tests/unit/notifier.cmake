# notifier and memory transport unit tests
herald_test(herald_notifier_tests LABELS unit SOURCES
  ${CMAKE_CURRENT_LIST_DIR}/notifier_test.cpp
  ${CMAKE_CURRENT_LIST_DIR}/notifier_drivers_test.cpp
  ${CMAKE_CURRENT_LIST_DIR}/memory_transport_test.cpp
  ${CMAKE_CURRENT_LIST_DIR}/topology_export_test.cpp
  LIBS spdlog::spdlog)
target_include_directories(herald_notifier_tests PRIVATE ${PROJECT_SOURCE_DIR})
