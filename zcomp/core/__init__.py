"""The playbooks (lockdown, unlock, inspect, restore, baseline) as ordered steps.

No Click and no rich here: results are dataclasses the CLI renders.
"""
