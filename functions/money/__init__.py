"""Money: fee schedules, settlements, reconciliation, staff money requests, reports."""
