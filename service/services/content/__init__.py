"""The content wing: staff edits of schedule steps and template files, and the preview of a schedule."""
