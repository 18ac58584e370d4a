-- grain: one row per (team, admin) membership, from the team's admin_ids
SELECT
    CAST(m._dlt_parent_id AS VARCHAR) AS team_row_id,
    CAST(m.value AS VARCHAR) AS admin_id
FROM teams__admin_ids AS m
