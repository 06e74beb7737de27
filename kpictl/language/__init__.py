"""Stage 1, text → checked model: YAML with positions, JSON Schema problems, the model, formulas, checks.

Nothing here reads data rows or builds SQL for a run; validate and the planner both call it.
"""
