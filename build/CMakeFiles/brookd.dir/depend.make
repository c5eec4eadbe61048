# Empty dependencies file for brookd.
# This may be replaced when dependencies are built.
