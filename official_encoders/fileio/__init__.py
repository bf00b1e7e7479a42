"""File-writing primitives shared by the library and the export: the one atomic-rename helper."""
