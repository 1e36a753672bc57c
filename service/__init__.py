"""Interlude: between-session messaging for ketamine treatment clinics."""
