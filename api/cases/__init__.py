"""Cases: the list, the detail, the timeline, documents and messages, and the staff actions."""
