# The store's CLI verbs (import, user, log, backup, restore; tools/store_verbs.c) end to
# end: the real roadwatch binary on real stores, some written by a real `roadwatch serve`
# (tests/e2e/engine/engine_harness.c). Included from tests/CMakeLists.txt.
if(TARGET rw_store)
  rw_test(e2e_store_cli e2e SOURCES ${CMAKE_SOURCE_DIR}/tests/e2e/store_cli_test.c
          ${CMAKE_SOURCE_DIR}/tests/e2e/engine/engine_harness.c
          LIBS rw_store PkgConfig::JANSSON TIMEOUT 600 ENV "RW_BIN=$<TARGET_FILE:roadwatch>")
  add_dependencies(e2e_store_cli roadwatch)
endif()
