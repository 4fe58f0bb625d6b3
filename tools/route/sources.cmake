# herald route's pieces (routes file, actions, reloadable service): built into the CLI and into
# the unit tests (also when the CLI is not built, e.g. in sanitizer builds).
set(HERALD_ROUTE_SOURCES
  ${CMAKE_CURRENT_LIST_DIR}/route_config.cpp
  ${CMAKE_CURRENT_LIST_DIR}/rotating_file.cpp
  ${CMAKE_CURRENT_LIST_DIR}/webhook_client.cpp
  ${CMAKE_CURRENT_LIST_DIR}/route_actions.cpp
  ${CMAKE_CURRENT_LIST_DIR}/route_service.cpp)
