"""One module per help-desk backend, each with `make(options, context) -> TicketBackend`."""
