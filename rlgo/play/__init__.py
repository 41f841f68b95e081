"""The terminal game behind `rlgo play`: board view, scoring estimates, session, REPL."""
