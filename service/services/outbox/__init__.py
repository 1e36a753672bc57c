"""The outbox wing: plan messages into outbox rows, dispatch them, record what the transports said,
recover abandoned claims, follow failures, track delivery, prune what is final."""
