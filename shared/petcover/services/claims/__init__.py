"""Claims: channels apply, update and query; staff open, assess, approve, reject and pay; a
scheduled job assesses and pays return-shipping claims by rule.

``submission`` opens a claim (channel or service staff); ``lookups`` reads claims and their change
records; ``updates`` changes an unfinished claim; ``review`` assesses, approves and rejects;
``payouts`` pays an approved claim against the policy's remaining sum insured; ``auto`` is the
scheduled job. Every state change goes through ``transitions.commit`` (one conditional write,
audited), which puts a webhook in the outbox that ``notices`` sends and resends. Keys and items
are in ``repositories.claims``; pure rules in ``domain.claim_rules``.
"""
