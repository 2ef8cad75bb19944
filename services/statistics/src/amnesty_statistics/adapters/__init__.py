"""The edges of statistics: the read model tables and their versions in PostgreSQL, Kafka end offsets."""
