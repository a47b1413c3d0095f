"""The special-group comparison (特殊群体学生资助比对).

`engine` creates, runs and publishes a run; `steps` holds its set-based SQL steps; `members`
keeps a period's grouped members between runs on PostgreSQL; `incremental` computes a national
run from the students who changed since the previous one; `runs` is what the API may see
and request; `schedule` decides which periods are active; `queue` is the only seam to arq/Redis.
"""
