
# Consider dependencies only in project.
set(CMAKE_DEPENDS_IN_PROJECT_ONLY OFF)

# The set of languages for which implicit dependencies are needed:
set(CMAKE_DEPENDS_LANGUAGES
  )

# The set of dependency files which are needed:
set(CMAKE_DEPENDS_DEPENDENCY_FILES
  "/work/main/src/base/arena.c" "CMakeFiles/brook_core.dir/src/base/arena.c.o" "gcc" "CMakeFiles/brook_core.dir/src/base/arena.c.o.d"
  "/work/main/src/base/buf.c" "CMakeFiles/brook_core.dir/src/base/buf.c.o" "gcc" "CMakeFiles/brook_core.dir/src/base/buf.c.o.d"
  "/work/main/src/base/clock.c" "CMakeFiles/brook_core.dir/src/base/clock.c.o" "gcc" "CMakeFiles/brook_core.dir/src/base/clock.c.o.d"
  "/work/main/src/base/config.c" "CMakeFiles/brook_core.dir/src/base/config.c.o" "gcc" "CMakeFiles/brook_core.dir/src/base/config.c.o.d"
  "/work/main/src/base/crc32c.c" "CMakeFiles/brook_core.dir/src/base/crc32c.c.o" "gcc" "CMakeFiles/brook_core.dir/src/base/crc32c.c.o.d"
  "/work/main/src/base/fsutil.c" "CMakeFiles/brook_core.dir/src/base/fsutil.c.o" "gcc" "CMakeFiles/brook_core.dir/src/base/fsutil.c.o.d"
  "/work/main/src/base/log.c" "CMakeFiles/brook_core.dir/src/base/log.c.o" "gcc" "CMakeFiles/brook_core.dir/src/base/log.c.o.d"
  "/work/main/src/proto/api.c" "CMakeFiles/brook_core.dir/src/proto/api.c.o" "gcc" "CMakeFiles/brook_core.dir/src/proto/api.c.o.d"
  "/work/main/src/proto/errors.c" "CMakeFiles/brook_core.dir/src/proto/errors.c.o" "gcc" "CMakeFiles/brook_core.dir/src/proto/errors.c.o.d"
  "/work/main/src/proto/msgs.c" "CMakeFiles/brook_core.dir/src/proto/msgs.c.o" "gcc" "CMakeFiles/brook_core.dir/src/proto/msgs.c.o.d"
  "/work/main/src/proto/record.c" "CMakeFiles/brook_core.dir/src/proto/record.c.o" "gcc" "CMakeFiles/brook_core.dir/src/proto/record.c.o.d"
  )

# Targets to which this target links.
set(CMAKE_TARGET_LINKED_INFO_FILES
  )

# Fortran module output directory.
set(CMAKE_Fortran_TARGET_MODULE_DIR "")
