# rampart_fuzz_target(NAME SOURCE LIBS...): a fuzz target (tests/fuzz/CMakeLists.txt).
#
# SOURCE defines LLVMFuzzerTestOneInput. Its inputs are
# tests/fuzz/corpus/NAME/ (seeds, required) and tests/fuzz/regressions/NAME/
# (inputs that once failed, optional). The memory limits make an allocation
# amplification a failure, not only a crash: RAMPART_FUZZ_RSS_MB for the
# process, RAMPART_FUZZ_MALLOC_MB for one allocation.
set(RAMPART_FUZZ_RSS_MB 512 CACHE STRING "Fuzz targets: peak RSS limit (MB)")
set(RAMPART_FUZZ_MALLOC_MB 256 CACHE STRING "Fuzz targets: largest single allocation (MB)")
set(RAMPART_FUZZ_SECONDS 15 CACHE STRING "RAMPART_FUZZ builds: CTest fuzzes each target this long")

if(NOT RAMPART_FUZZ AND NOT TARGET rampart_fuzz_replay)
  add_library(rampart_fuzz_replay STATIC ${PROJECT_SOURCE_DIR}/tests/fuzz/replay_main.cpp)
  target_compile_definitions(rampart_fuzz_replay PRIVATE
    RAMPART_FUZZ_RSS_MB=${RAMPART_FUZZ_RSS_MB} RAMPART_FUZZ_MALLOC_MB=${RAMPART_FUZZ_MALLOC_MB})
endif()
# ASan keeps freed memory in a quarantine of 256 MB by default, which the RSS
# limit would count; a smaller one keeps the limit about the parsers.
set(RAMPART_FUZZ_ASAN_OPTIONS "quarantine_size_mb=16:detect_leaks=1")
if(RAMPART_FUZZ AND NOT TARGET rampart_fuzz)
  add_custom_target(rampart_fuzz)  # every fuzz target: cmake --build build/fuzz --target rampart_fuzz
endif()

function(rampart_fuzz_target name source)
  set(seeds ${PROJECT_SOURCE_DIR}/tests/fuzz/corpus/${name})
  set(regressions ${PROJECT_SOURCE_DIR}/tests/fuzz/regressions/${name})
  if(NOT IS_DIRECTORY ${seeds})
    message(FATAL_ERROR "fuzz target ${name}: no seed corpus ${seeds}")
  endif()
  set(inputs ${seeds})
  if(IS_DIRECTORY ${regressions})
    list(APPEND inputs ${regressions})
  endif()
  add_executable(fuzz_${name} ${source})
  target_link_libraries(fuzz_${name} PRIVATE ${ARGN})
  if(RAMPART_FUZZ)
    target_link_options(fuzz_${name} PRIVATE -fsanitize=fuzzer)
    add_dependencies(rampart_fuzz fuzz_${name})
    # New inputs go to the build tree's corpus (the first directory); the
    # seeds in the tree are only read.
    set(work ${CMAKE_BINARY_DIR}/fuzz-corpus/${name})
    file(MAKE_DIRECTORY ${work})
    add_test(NAME fuzz.${name}
             COMMAND fuzz_${name} -max_total_time=${RAMPART_FUZZ_SECONDS}
                     -rss_limit_mb=${RAMPART_FUZZ_RSS_MB} -malloc_limit_mb=${RAMPART_FUZZ_MALLOC_MB}
                     -timeout=10 -print_final_stats=1 -artifact_prefix=${work}/../${name}-
                     ${work} ${inputs})
    math(EXPR timeout "${RAMPART_FUZZ_SECONDS} * 2 + 60")
    set_tests_properties(fuzz.${name} PROPERTIES LABELS fuzz TIMEOUT ${timeout}
                         ENVIRONMENT "ASAN_OPTIONS=${RAMPART_FUZZ_ASAN_OPTIONS}")
  else()
    target_link_libraries(fuzz_${name} PRIVATE rampart_fuzz_replay)
    add_test(NAME fuzz.${name} COMMAND fuzz_${name} ${inputs})
    set_tests_properties(fuzz.${name} PROPERTIES LABELS fuzz TIMEOUT 120)
  endif()
endfunction()
