"""amnesty_simulator: upstream submissions for a period, calibrated on the published figures."""
