"""SLA monitoring of work orders, by use case (the rules: ``domain.sla`` and ``domain.sla_reports``;
keys and items: ``repositories.sla``; the nodes themselves: ``services.timeline``).

``config`` reads and replaces the SLA configuration; ``check`` is the minute breach check and its
alerts, routed by ``chat_targets``; ``work_orders`` shows one order's timeline; ``exceptions``
lets providers raise and ops handle work-order exceptions; ``reports`` lists and serves report
files, which ``daily`` (timeliness and trend chart), ``summary`` (22:00 open orders) and
``snapshot`` (work in flight) produce; ``times`` holds UTC stamps (local days: ``domain.calendar``).
"""
