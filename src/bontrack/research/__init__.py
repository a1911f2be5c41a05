"""De-identified views of the registry for researchers."""
