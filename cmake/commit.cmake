# Writes OUT (a header defining RW_COMMIT) from `git describe` of SRC at build time, only
# when it changed: `roadwatch version` and every benchmark result name the commit they
# were built from, "-dirty" when the tree had changes, "unknown" outside a git checkout.
execute_process(COMMAND git rev-parse --short HEAD WORKING_DIRECTORY ${SRC}
                OUTPUT_VARIABLE c OUTPUT_STRIP_TRAILING_WHITESPACE ERROR_QUIET
                RESULT_VARIABLE r)
if(NOT r EQUAL 0 OR NOT c)
  set(c "unknown")
else()
  execute_process(COMMAND git diff --quiet HEAD -- WORKING_DIRECTORY ${SRC}
                  RESULT_VARIABLE dirty ERROR_QUIET)
  if(NOT dirty EQUAL 0)
    set(c "${c}-dirty")
  endif()
endif()
set(text "#define RW_COMMIT \"${c}\"\n")
if(EXISTS ${OUT})
  file(READ ${OUT} old)
endif()
if(NOT "${old}" STREQUAL "${text}")
  file(WRITE ${OUT} "${text}")
endif()
