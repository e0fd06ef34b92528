"""Resolvers: one module per area; the access rules live in resolvers/policy/ alone."""
