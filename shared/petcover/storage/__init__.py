"""Storage adapters: DynamoDB through pynamodb, and an in-memory twin for unit tests."""
