"""zcomp guard: a milter for Zimbra's MTA (Postfix) and the review of what it held."""
