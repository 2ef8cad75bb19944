-- The outbox relay's leadership (see amnesty_eventstore.outbox_relay): the leader holds a lock on this
-- table for as long as it leads. It is never written. A table of the schema rather than an advisory
-- lock, because advisory locks are one namespace for the whole database: any role could take a
-- service's key and stall its relay. Only the schema's owner can reach, and so lock, this table.
CREATE TABLE relay_lease ();
