# The amqp driver's sans-I/O parts: no broker (Proton only to encode and decode messages).
herald_test(herald_amqp_unit_tests LABELS unit SOURCES
  ${CMAKE_CURRENT_LIST_DIR}/link_machine_test.cpp
  ${CMAKE_CURRENT_LIST_DIR}/link_machine_receive_test.cpp
  ${CMAKE_CURRENT_LIST_DIR}/delivery_buffer_test.cpp
  ${CMAKE_CURRENT_LIST_DIR}/rate_limited_log_test.cpp
  ${CMAKE_CURRENT_LIST_DIR}/amqp_management_test.cpp
  ${CMAKE_CURRENT_LIST_DIR}/amqp_tls_options_test.cpp
  LIBS Proton::cpp)
target_include_directories(herald_amqp_unit_tests PRIVATE ${PROJECT_SOURCE_DIR})
