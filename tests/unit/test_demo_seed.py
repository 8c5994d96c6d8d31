from petcover.services import demo
from petcover.services.partners import directory


def test_demo_seed_is_repeatable_and_gives_a_dispatchable_provider(fake_ports):
    first = demo.seed(fake_ports, sink_url="http://127.0.0.1:4599")
    second = demo.seed(fake_ports, sink_url="http://127.0.0.1:4599")
    assert first["provider"]["id"] == second["provider"]["id"]
    assert first["channel"]["key_id"] != second["channel"]["key_id"]  # a fresh key each run, old one revoked
    # the webhook secret is shown once, so each run hands out a fresh one the sink's webhooks verify with
    assert (
        first["channel"]["webhook_secret"] and second["channel"]["webhook_secret"] != first["channel"]["webhook_secret"]
    )
    cfg = directory.active_provider_config(fake_ports, first["provider"]["id"])
    assert cfg is not None and cfg.covers("310115") and cfg.offers("medicine_delivery")
