"""Risk control: the versioned rule set staff publish (``rules``), the checks in the underwrite,
claim and booking paths with their velocity counters (``checks``), and the staff queue of bookings
held for review (``bookings``). Pure rules are in ``domain.risk``; keys in ``repositories.risk``.
"""
