CMakeFiles/brookd.dir/src/broker/main.c.o: /work/main/src/broker/main.c \
 /usr/include/stdc-predef.h
