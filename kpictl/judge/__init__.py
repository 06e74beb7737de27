"""Stage 4, values → statuses: targets, the forecast (projection of a series), SMART lint.

Nothing here runs SQL; it reads rows and targets only.
"""
