"""GET /ping: the trivial route (no I/O), the floor that route latency is compared with."""

from petcover.api import Call, api, public
from petcover.models.base import Model


class Pong(Model):
    pong: bool = True


@api(summary="Trivial route with no I/O", auth=public(), response=Pong, metric="Pinged", tags=("system",))
def handler(call: Call) -> Pong:
    return Pong()
