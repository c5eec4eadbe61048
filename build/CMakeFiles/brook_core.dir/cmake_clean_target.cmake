file(REMOVE_RECURSE
  "libbrook_core.a"
)
