"""Fulfilment: a covered benefit becomes a real service (appointments and provider work orders).

``booking`` books a benefit for a channel (one use held) and ``batches`` books many at once;
``assignment`` applies dispatch's choice of provider; ``work_orders`` is the provider's side
(list, accept, confirm a time, ship, track, check in, deliver); ``closing`` ends an appointment
(receipt, automatic receipt, cancellation, the cancelled policy's appointments);
``quota_deduction`` is the QuotaQueue consumer's body; ``views`` is what a channel and staff
read; ``ownership`` decides who sees which appointment; ``transitions`` is the lock, the
conditional transaction and the timeline/webhook sync every change after booking goes through.
Keys and items are in ``repositories.appointments``, the pure rules in ``domain.booking`` and
``domain.appointment_flow``.
"""
