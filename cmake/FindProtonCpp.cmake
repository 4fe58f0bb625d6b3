# FindProtonCpp: Debian ships Qpid Proton C++ without a CMake config and with a broken
# libqpid-proton-cpp.pc (it requires .pc files no package ships), so locate it by hand.
# libqpid-proton-cpp.so pulls in proton-core and proactor itself; the few C calls Herald makes
# (a modified outcome with delivery-failed set, which Proton C++ 0.37 cannot express) link the
# same libqpid-proton-core.so.10 (Debian ships no unversioned link for it).
# Provides the imported target Proton::cpp.
find_path(ProtonCpp_INCLUDE_DIR proton/container.hpp)
find_library(ProtonCpp_LIBRARY qpid-proton-cpp)
find_library(ProtonCore_LIBRARY NAMES qpid-proton-core libqpid-proton-core.so.10)
include(FindPackageHandleStandardArgs)
find_package_handle_standard_args(ProtonCpp REQUIRED_VARS ProtonCpp_LIBRARY ProtonCore_LIBRARY ProtonCpp_INCLUDE_DIR)
if(ProtonCpp_FOUND AND NOT TARGET Proton::cpp)
  add_library(Proton::cpp UNKNOWN IMPORTED)
  set_target_properties(Proton::cpp PROPERTIES IMPORTED_LOCATION ${ProtonCpp_LIBRARY}
                        INTERFACE_INCLUDE_DIRECTORIES ${ProtonCpp_INCLUDE_DIR}
                        INTERFACE_LINK_LIBRARIES ${ProtonCore_LIBRARY})
endif()
mark_as_advanced(ProtonCpp_INCLUDE_DIR ProtonCpp_LIBRARY ProtonCore_LIBRARY)
