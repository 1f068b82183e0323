"""The Vizmo directory on PostgreSQL: the same SCIM mapping as the SQLite adapter, over asyncpg."""
