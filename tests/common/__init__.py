"""Helpers shared by every test package (tiny configs)."""
