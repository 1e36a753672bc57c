"""The views wing: read models of the staff pages and the API (one query per block, nothing written)."""
