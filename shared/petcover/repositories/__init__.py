"""Repositories: one module per aggregate owns its DynamoDB keys, index values and item mapping.

They sit on the ``Store`` port (``petcover.ports``), never on boto3 or pynamodb, so services
and unit tests use them with the in-memory store as well as with DynamoDB. Services never
spell a key: they call the function here that builds it.
"""
