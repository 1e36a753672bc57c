"""Pure rules: planning, quiet hours, durations, segments, delivery states.

Nothing here imports Flask, SQLAlchemy or Twilio, and nothing reads the clock: callers pass `now`.
"""
