"""The replies wing: what patients send back (crisis screen, keywords, check-ins), escalations to a
clinician, the staff inbox, one-click unsubscribe and the sandbox phone."""
