"""The IVR menu tree as data (model) and what the IVR needs from the platform (service)."""
