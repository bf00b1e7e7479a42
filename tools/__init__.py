"""Repository maintenance scripts."""
