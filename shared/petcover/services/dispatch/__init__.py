"""Smart dispatch: choosing the provider for each appointment from ops-maintained share rules.

``rules`` publishes, lists and reads the rule versions (and caches the set in force);
``simulation`` tries a draft set on synthetic orders; ``assignment`` is the DispatchQueue
consumer that claims, decides, counts and hands each appointment to fulfilment (``handoff``);
``providers`` knows which active providers may take an order; ``counters`` holds the daily counts
per region+service type; ``coverage`` records where no rule or provider could take an order;
``manual`` is the operations side: why an appointment went where it went, the queue nobody could
take, and assigning by hand. The pure rules live in ``petcover.domain.dispatch``, the keys and
items in ``petcover.repositories.dispatch``.
"""
