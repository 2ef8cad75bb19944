"""The doors of statistics: the projection consumer, the HTTP API, /metrics, `amnesty rebuild statistics`."""
