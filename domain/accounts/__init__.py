"""Accounts (账号), scopes (数据权限) and the audit log (操作日志).

`users` creates accounts, signs in and reads tokens; `scopes` is the one place that decides what
a viewer may see and change; `audit` records every write.
"""
