"""Statistics use cases: projecting a batch of events, rebuilding the read model beside the live one."""
