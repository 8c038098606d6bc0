"""The staff console: server-rendered pages under /console for pickers, store associates,
the returns counter, contact-center agents and managers (see README, "Staff console")."""
