"""GET /ping: the trivial route (no I/O), the floor that route latency is compared with."""

from pydantic import BaseModel

from petcover.api import Call, api, public


class Pong(BaseModel):
    pong: bool = True


@api(summary="Trivial route with no I/O", auth=public(), response=Pong, metric="Pinged", tags=("system",))
def handler(call: Call) -> Pong:
    return Pong()
