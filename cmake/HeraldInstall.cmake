include(CMakePackageConfigHelpers)
install(TARGETS herald EXPORT heraldTargets
  ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR}
  LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR}
  RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})
install(DIRECTORY include/herald DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})
install(EXPORT heraldTargets NAMESPACE herald:: DESTINATION ${CMAKE_INSTALL_LIBDIR}/cmake/herald)
configure_package_config_file(cmake/heraldConfig.cmake.in ${CMAKE_CURRENT_BINARY_DIR}/heraldConfig.cmake
  INSTALL_DESTINATION ${CMAKE_INSTALL_LIBDIR}/cmake/herald)
write_basic_package_version_file(${CMAKE_CURRENT_BINARY_DIR}/heraldConfigVersion.cmake
  COMPATIBILITY SameMinorVersion)
install(FILES ${CMAKE_CURRENT_BINARY_DIR}/heraldConfig.cmake ${CMAKE_CURRENT_BINARY_DIR}/heraldConfigVersion.cmake
  cmake/FindProtonCpp.cmake DESTINATION ${CMAKE_INSTALL_LIBDIR}/cmake/herald)
