"""Resolvers: one module per area; the access rules live in access.py alone."""
