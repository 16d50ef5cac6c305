# cmake -DFROM=file.bc -DTO=file.bc -DSOURCE_DIR=codegen -P copy_bitcode.cmake
# Copies another build's kernel bitcode (DNNC_KERNEL_BITCODE_FROM,
# codegen/CMakeLists.txt), unless a kernel source is newer: that build is
# then out of date, and its bitcode would not be this tree's.
file(GLOB sources ${SOURCE_DIR}/kernels/*.c ${SOURCE_DIR}/kernels/*.h ${SOURCE_DIR}/kernels.def)
foreach(source ${sources})
  if(NOT EXISTS ${FROM} OR ${source} IS_NEWER_THAN ${FROM})
    message(FATAL_ERROR "${FROM} is missing or older than ${source}: build that directory first")
  endif()
endforeach()
execute_process(COMMAND ${CMAKE_COMMAND} -E copy ${FROM} ${TO} COMMAND_ERROR_IS_FATAL ANY)
