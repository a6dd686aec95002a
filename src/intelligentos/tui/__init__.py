"""The Textual cockpit: rendering and dispatch only; the domain and store do the work."""
