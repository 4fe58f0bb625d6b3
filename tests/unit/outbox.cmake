# The durable outbox: its log format, its state machine, and the outbox over a fake driver.
herald_test(herald_outbox_tests LABELS unit SOURCES
  ${CMAKE_CURRENT_LIST_DIR}/outbox_log_test.cpp
  ${CMAKE_CURRENT_LIST_DIR}/outbox_ledger_test.cpp
  ${CMAKE_CURRENT_LIST_DIR}/outbox_test.cpp
  LIBS spdlog::spdlog)
target_include_directories(herald_outbox_tests PRIVATE ${PROJECT_SOURCE_DIR})
