"""Use cases that span domains, one file each (DESIGN.md: flows/)."""
