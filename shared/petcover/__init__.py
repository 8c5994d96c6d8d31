"""petcover: the insurance core and fulfilment platform, shared by every Lambda as a layer."""
