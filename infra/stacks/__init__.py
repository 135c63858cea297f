"""The three stacks of one environment: network, database, frontend (ECS behind an ALB)."""
