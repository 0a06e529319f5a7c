"""Click commands: parse, call the core, render. No Zimbra logic here."""
