"""Staff notifications: reminders, overdue alerts, follow-ups due, cases arriving from other tenants."""
