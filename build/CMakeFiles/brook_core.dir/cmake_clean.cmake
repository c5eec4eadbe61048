file(REMOVE_RECURSE
  "CMakeFiles/brook_core.dir/src/base/arena.c.o"
  "CMakeFiles/brook_core.dir/src/base/arena.c.o.d"
  "CMakeFiles/brook_core.dir/src/base/buf.c.o"
  "CMakeFiles/brook_core.dir/src/base/buf.c.o.d"
  "CMakeFiles/brook_core.dir/src/base/clock.c.o"
  "CMakeFiles/brook_core.dir/src/base/clock.c.o.d"
  "CMakeFiles/brook_core.dir/src/base/config.c.o"
  "CMakeFiles/brook_core.dir/src/base/config.c.o.d"
  "CMakeFiles/brook_core.dir/src/base/crc32c.c.o"
  "CMakeFiles/brook_core.dir/src/base/crc32c.c.o.d"
  "CMakeFiles/brook_core.dir/src/base/fsutil.c.o"
  "CMakeFiles/brook_core.dir/src/base/fsutil.c.o.d"
  "CMakeFiles/brook_core.dir/src/base/log.c.o"
  "CMakeFiles/brook_core.dir/src/base/log.c.o.d"
  "CMakeFiles/brook_core.dir/src/proto/api.c.o"
  "CMakeFiles/brook_core.dir/src/proto/api.c.o.d"
  "CMakeFiles/brook_core.dir/src/proto/errors.c.o"
  "CMakeFiles/brook_core.dir/src/proto/errors.c.o.d"
  "CMakeFiles/brook_core.dir/src/proto/msgs.c.o"
  "CMakeFiles/brook_core.dir/src/proto/msgs.c.o.d"
  "CMakeFiles/brook_core.dir/src/proto/record.c.o"
  "CMakeFiles/brook_core.dir/src/proto/record.c.o.d"
  "libbrook_core.a"
  "libbrook_core.pdb"
)

# Per-language clean rules from dependency scanning.
foreach(lang C)
  include(CMakeFiles/brook_core.dir/cmake_clean_${lang}.cmake OPTIONAL)
endforeach()
