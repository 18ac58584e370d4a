-- grain: one row per admin (teammate)
SELECT
    CAST(a.id AS VARCHAR) AS admin_id,
    CAST(a.name AS VARCHAR) AS name,
    CAST(a.email AS VARCHAR) AS email,
    CAST(a.job_title AS VARCHAR) AS job_title,
    CAST(a.away_mode_enabled AS BOOLEAN) AS away_mode_enabled,
    CAST(a.has_inbox_seat AS BOOLEAN) AS has_inbox_seat
FROM admins AS a
