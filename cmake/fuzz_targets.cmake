# The libFuzzer targets, shared by tests/fuzz (libFuzzer builds) and tests (corpus replay).
# A target is a name; rw_fuzz_target(<name> SRC DEF) gives its driver source and the
# compile definition that specialises a per-message body driver.
set(RW_FUZZ_808_BODIES 0001 8001 0002 0003 0005 0100 8100 0102 0200 0201 0704 8003 8103
    8201 8202 8300)
set(RW_FUZZ_809_BODIES link 1200 9200 1300 9300 1400 9400 1600 9600)

set(RW_FUZZ_TARGETS jt808_framer jt808_frame jt808_loc jt808_reasm jt809_framer jt809_frame)
foreach(id IN LISTS RW_FUZZ_808_BODIES)
  list(APPEND RW_FUZZ_TARGETS jt808_body_${id})
endforeach()
foreach(id IN LISTS RW_FUZZ_809_BODIES)
  list(APPEND RW_FUZZ_TARGETS jt809_body_${id})
endforeach()
# The store's value decoders (track segments, raw blocks, journal values): store/codec.c
# alone, with zstd.
list(APPEND RW_FUZZ_TARGETS store_seg store_rawblk store_jrn)
find_library(RW_FUZZ_ZSTD_LIB zstd REQUIRED)

# Links <target> (a fuzz or replay executable of <name>) with what its driver needs.
function(rw_fuzz_link target name)
  target_link_libraries(${target} PRIVATE rw_proto rw_base)
  if(name MATCHES "^store_")
    target_link_libraries(${target} PRIVATE ${RW_FUZZ_ZSTD_LIB})
  endif()
endfunction()

function(rw_fuzz_target name src_var def_var)
  if(name MATCHES "^jt808_body_(.*)$")
    set(${src_var} ${CMAKE_SOURCE_DIR}/tests/fuzz/fuzz_jt808_body.c PARENT_SCOPE)
    set(${def_var} FUZZ_MSG_ID=0x${CMAKE_MATCH_1} PARENT_SCOPE)
  elseif(name STREQUAL "jt809_body_link")
    set(${src_var} ${CMAKE_SOURCE_DIR}/tests/fuzz/fuzz_jt809_body.c PARENT_SCOPE)
    set(${def_var} FUZZ_MSG_ID=0 PARENT_SCOPE)
  elseif(name MATCHES "^jt809_body_(.*)$")
    set(${src_var} ${CMAKE_SOURCE_DIR}/tests/fuzz/fuzz_jt809_body.c PARENT_SCOPE)
    set(${def_var} FUZZ_MSG_ID=0x${CMAKE_MATCH_1} PARENT_SCOPE)
  elseif(name MATCHES "^store_")
    set(${src_var} ${CMAKE_SOURCE_DIR}/tests/fuzz/fuzz_${name}.c
        ${CMAKE_SOURCE_DIR}/store/codec.c PARENT_SCOPE)
    set(${def_var} "" PARENT_SCOPE)
  else()
    set(${src_var} ${CMAKE_SOURCE_DIR}/tests/fuzz/fuzz_${name}.c PARENT_SCOPE)
    set(${def_var} "" PARENT_SCOPE)
  endif()
endfunction()
