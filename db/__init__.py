"""PostgreSQL: the pool, numbered migrations and one module of typed queries per table group."""
