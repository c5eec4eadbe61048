file(REMOVE_RECURSE
  "CMakeFiles/brookd.dir/src/broker/main.c.o"
  "CMakeFiles/brookd.dir/src/broker/main.c.o.d"
  "brookd"
  "brookd.pdb"
)

# Per-language clean rules from dependency scanning.
foreach(lang C)
  include(CMakeFiles/brookd.dir/cmake_clean_${lang}.cmake OPTIONAL)
endforeach()
