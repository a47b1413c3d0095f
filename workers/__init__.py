"""The arq worker (后台任务): `main` holds the settings and the 02:00 cron, `jobs` wires each job to
a domain service.
"""
