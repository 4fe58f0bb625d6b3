# core unit tests: codec, ids, priority, transport URL, notification, error
herald_test(herald_core_tests LABELS unit SOURCES
  ${CMAKE_CURRENT_LIST_DIR}/codec_encode_test.cpp
  ${CMAKE_CURRENT_LIST_DIR}/codec_decode_test.cpp
  ${CMAKE_CURRENT_LIST_DIR}/codec_golden_test.cpp
  ${CMAKE_CURRENT_LIST_DIR}/codec_roundtrip_test.cpp
  ${CMAKE_CURRENT_LIST_DIR}/codec_timestamp_test.cpp
  ${CMAKE_CURRENT_LIST_DIR}/ids_test.cpp
  ${CMAKE_CURRENT_LIST_DIR}/priority_test.cpp
  ${CMAKE_CURRENT_LIST_DIR}/transport_url_test.cpp
  ${CMAKE_CURRENT_LIST_DIR}/notification_test.cpp
  ${CMAKE_CURRENT_LIST_DIR}/error_test.cpp
  ${CMAKE_CURRENT_LIST_DIR}/json_scan_test.cpp
)
# The id generator and the JSON helpers are private (core/*.hpp).
target_include_directories(herald_core_tests PRIVATE ${PROJECT_SOURCE_DIR})
