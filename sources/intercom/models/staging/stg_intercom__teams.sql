-- grain: one row per team
SELECT
    CAST(t.id AS VARCHAR) AS team_id,
    CAST(t._dlt_id AS VARCHAR) AS team_row_id,
    CAST(t.name AS VARCHAR) AS name
FROM teams AS t
