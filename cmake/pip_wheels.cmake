# Compatibility for building against the ROS 2 PyPI wheels (ros-kilted-*).
#
# Used only by the repo's own set-up (the Makefile passes it as
# CMAKE_PROJECT_skill_stack_INCLUDE); a build on a regular ROS 2 install never
# loads it. It writes nothing; it corrects two things in memory:
#
# 1. The wheels' exported rosidl_generator_py targets name the Python prefix of
#    the machine that built them (/opt/python/cp311-cp311/...), which does not
#    exist here, and CMake refuses imported targets with missing include paths.
#    Those entries are replaced by this interpreter's Python and NumPy headers.
# 2. The virtual environment lives inside the source tree (.venv at the repo
#    root), so the NumPy include path that rosidl_generator_py makes PUBLIC
#    would be exported from the source directory, which CMake forbids. It is
#    kept for the build and left out of the export.

function(_skill_stack_fix_wheel_targets)
  find_package(Python3 REQUIRED COMPONENTS Interpreter Development.Module NumPy)
  get_property(_imported DIRECTORY "${CMAKE_SOURCE_DIR}" PROPERTY IMPORTED_TARGETS)
  foreach(_target IN LISTS _imported)
    get_target_property(_dirs ${_target} INTERFACE_INCLUDE_DIRECTORIES)
    if(NOT _dirs)
      continue()
    endif()
    set(_fixed "")
    set(_changed FALSE)
    foreach(_dir IN LISTS _dirs)
      if(NOT _dir MATCHES "^\\$<" AND NOT EXISTS "${_dir}")
        set(_changed TRUE)
        if(_dir MATCHES "numpy")
          list(APPEND _fixed ${Python3_NumPy_INCLUDE_DIRS})
        elseif(_dir MATCHES "include/python3")
          list(APPEND _fixed ${Python3_INCLUDE_DIRS})
        endif()
      else()
        list(APPEND _fixed "${_dir}")
      endif()
    endforeach()
    if(_changed)
      list(REMOVE_DUPLICATES _fixed)
      set_target_properties(${_target} PROPERTIES INTERFACE_INCLUDE_DIRECTORIES "${_fixed}")
    endif()
  endforeach()

  set(_own "${PROJECT_NAME}__rosidl_generator_py")
  if(TARGET ${_own})
    get_target_property(_dirs ${_own} INTERFACE_INCLUDE_DIRECTORIES)
    set(_fixed "")
    foreach(_dir IN LISTS _dirs)
      string(FIND "${_dir}" "${CMAKE_SOURCE_DIR}/" _in_source)
      string(FIND "${_dir}" "${CMAKE_BINARY_DIR}/" _in_binary)
      if(_in_source EQUAL 0 AND NOT _in_binary EQUAL 0)
        list(APPEND _fixed "$<BUILD_INTERFACE:${_dir}>")
      else()
        list(APPEND _fixed "${_dir}")
      endif()
    endforeach()
    set_target_properties(${_own} PROPERTIES INTERFACE_INCLUDE_DIRECTORIES "${_fixed}")
  endif()
endfunction()

cmake_language(DEFER DIRECTORY "${CMAKE_SOURCE_DIR}" CALL _skill_stack_fix_wheel_targets)
