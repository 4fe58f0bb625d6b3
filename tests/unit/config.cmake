# oslo.config loader unit tests: INI dialect, precedence, substitution, masking, URL mapping.
herald_test(herald_config_tests LABELS unit SOURCES
  ${CMAKE_CURRENT_LIST_DIR}/config_ini_test.cpp
  ${CMAKE_CURRENT_LIST_DIR}/config_load_test.cpp
  ${CMAKE_CURRENT_LIST_DIR}/config_transport_url_test.cpp
)
# The loader over in-memory texts is private (config/oslo_config.hpp).
target_include_directories(herald_config_tests PRIVATE ${PROJECT_SOURCE_DIR})
