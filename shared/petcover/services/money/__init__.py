"""Money beyond the channel events: journals, fees, settlements, reconciliation, staff requests."""
