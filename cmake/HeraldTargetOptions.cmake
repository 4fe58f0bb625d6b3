# Warnings and sanitizers are applied per target, never globally.
function(herald_target_options target)
  target_compile_options(${target} PRIVATE -Wall -Wextra -Wpedantic -Wshadow -Wnon-virtual-dtor
    -Wno-missing-field-initializers)  # designated initializers of option structs leave defaults on purpose
  if(HERALD_SANITIZE)
    target_compile_options(${target} PRIVATE -fsanitize=${HERALD_SANITIZE} -fno-omit-frame-pointer)
    target_link_options(${target} PRIVATE -fsanitize=${HERALD_SANITIZE})
  endif()
endfunction()
