-- grain: one row per tag
SELECT
    CAST(t.id AS VARCHAR) AS tag_id,
    CAST(t.name AS VARCHAR) AS name
FROM tags AS t
