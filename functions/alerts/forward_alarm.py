"""AlarmTopic subscriber: every alarm state change becomes an ops chat message (zh-CN markdown)."""

from typing import Any

from petcover.ports import Ports
from petcover.services import alarms
from petcover.topics import topic_subscriber


@topic_subscriber("AlarmForwarded")
def handler(p: Ports, sns: dict[str, Any]) -> str:
    return alarms.forward(p, sns)
