"""The web app's one Django app: teams, their lists, what they did, sign-off and the audit of every view."""
