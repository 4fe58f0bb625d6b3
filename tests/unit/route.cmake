# herald route's pieces: routes file parsing, file rotation, actions and reloads (memory://,
# webhooks against a loopback HTTP receiver).
find_package(CLI11 REQUIRED)
include(${PROJECT_SOURCE_DIR}/tools/route/sources.cmake)
herald_test(herald_route_tests LABELS unit SOURCES
  ${CMAKE_CURRENT_LIST_DIR}/route_config_test.cpp
  ${CMAKE_CURRENT_LIST_DIR}/route_rotation_test.cpp
  ${CMAKE_CURRENT_LIST_DIR}/route_service_test.cpp
  ${CMAKE_CURRENT_LIST_DIR}/route_webhook_test.cpp
  ${HERALD_ROUTE_SOURCES}
  ${PROJECT_SOURCE_DIR}/tools/cli_common.cpp
  LIBS spdlog::spdlog Boost::boost yaml-cpp CLI11::CLI11)
target_include_directories(herald_route_tests PRIVATE ${PROJECT_SOURCE_DIR})
