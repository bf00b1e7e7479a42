"""The hub format's read side: the manifest format and its check, resolve, safe extraction, HubLayer."""
