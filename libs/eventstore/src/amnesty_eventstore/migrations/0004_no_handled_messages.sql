-- Consumers recognise a message sent again at a new offset by the event ids their own state is keyed
-- by (see amnesty_eventstore.consumption), so the table of handled ids is gone: it repeated that
-- knowledge, cost an insert per message and grew without end.
DROP TABLE handled_messages;
