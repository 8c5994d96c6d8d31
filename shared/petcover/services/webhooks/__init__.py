"""Outgoing signed webhooks to channels: one event per status change the channel must show.

``events`` records an event and queues its first delivery (``events.notify`` is what other
services call); ``delivery`` is the WebhookQueue consumer that POSTs it, retries and holds it;
``dead_letters`` ends an event that failed for the whole window and lists / redrives them;
``endpoints`` pauses and resumes a channel's endpoint; ``requeue`` replays an event and puts
held or dead events back on the queue; ``log`` writes and reads the per-object delivery log;
``messages`` are the queue messages. Keys and items: ``petcover.repositories.webhooks``.
"""
