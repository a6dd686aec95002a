"""The app's controllers: plain objects the app owns, one per concern (start-up, refresh,
settings, forecasts, notifications, alerts, agent focus, time travel). They start the workers
of their concern through the app, and the app hands them the messages those workers post."""
