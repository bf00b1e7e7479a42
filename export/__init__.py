"""Checkpoints in, versioned Reusable SavedModels out."""
