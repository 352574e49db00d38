"""The store: SQLite and PostgreSQL backends, their schema, copying and repair, and opening one by location."""
