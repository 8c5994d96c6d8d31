"""Claims: channels apply, update and query; staff open, assess, approve, reject and pay; automatic
(return-shipping) claims are decided by rule and paid as soon as they are submitted or updated.

``submission`` opens a claim (channel or service staff); ``lookups`` reads claims, their change
records and the staff queue; ``updates`` changes an unfinished claim; ``review`` assesses, approves
and rejects; ``payouts`` pays an approved claim against the policy's remaining sum insured; ``auto``
decides automatic claims from their ClaimDecisionQueue message, with a 5-minute schedule as the
safety net. Every state change goes through ``transitions.commit`` (one conditional write, audited in
the same transaction), which puts a webhook in the outbox that ``notices`` sends and resends. Keys
and items are in ``repositories.claims``; pure rules in ``domain.claim_rules``.
"""
