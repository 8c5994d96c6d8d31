"""The base of every petcover shape.

A pydantic model builds its validator when its class is created unless told to wait; building them
all at import was a third of a handler's cold start. Deferred, a container builds only the shapes its
operation touches, on first use.
"""

from pydantic import BaseModel, ConfigDict


class Model(BaseModel):
    model_config = ConfigDict(defer_build=True)
