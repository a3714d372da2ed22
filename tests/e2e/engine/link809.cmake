# The JT/T 809 main-link server (engine/link809.h) end to end, in process: real store,
# real sockets on loopback. Included from tests/CMakeLists.txt (needs rw_store).
if(TARGET rw_store)
  rw_test(e2e_link809 e2e SOURCES ${CMAKE_SOURCE_DIR}/tests/e2e/engine/link809_test.c
          LIBS rw_engine rw_store rw_live rw_cfg TIMEOUT 300)
endif()
