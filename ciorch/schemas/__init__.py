"""JSON Schemas shipped with ciorch (configuration, and Marathon's app definition)."""
