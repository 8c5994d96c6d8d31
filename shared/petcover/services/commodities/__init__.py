"""The commodity domain's use cases: the catalogue, provider stock and its moves, the daily report."""
