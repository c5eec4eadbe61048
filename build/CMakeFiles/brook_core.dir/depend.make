# Empty dependencies file for brook_core.
# This may be replaced when dependencies are built.
