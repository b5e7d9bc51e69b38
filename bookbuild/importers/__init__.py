"""Importers: other book formats turned into a bookbuild book root (`bookbuild import-gitbook`)."""
