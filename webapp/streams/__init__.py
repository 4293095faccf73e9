"""Tracked streams, their segments and highlights: dashboard, stream page, status JSON."""
