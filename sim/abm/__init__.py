"""The model's Mesa face: CommissioningModel and its agents, views onto the core's tables."""
