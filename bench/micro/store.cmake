# Store benchmarks (store/README.md "Measured"). include(micro/store.cmake) from
# bench/CMakeLists.txt; run: bench_store [DIR] (env BENCH_VEH, BENCH_AREA_VEH scale it).
if(TARGET rw_store)
  add_executable(bench_store ${CMAKE_CURRENT_LIST_DIR}/store_bench.c
                 ${CMAKE_CURRENT_LIST_DIR}/bench_util.c
                 ${CMAKE_SOURCE_DIR}/tests/unit/store/test_util.c)
  target_link_libraries(bench_store PRIVATE rw_store rw_bench_load ${LMDB_LIB})
  target_link_libraries(bench_store PRIVATE rw_commit)
endif()
