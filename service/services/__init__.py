"""Use cases: booking and changing sessions, planning, dispatching, previewing."""
