"""zcomp audit: the global, class-of-service and domain settings that make a phished account
more harmful or harder to contain; reported, and on request changed (journaled, verified,
restorable). No Click, no rich here."""
