-- grain: one row per tag on a contact (the complete list, not the embedded copy cut at 10)
SELECT
    CAST(m.contact_id AS VARCHAR) AS contact_id,
    CAST(m.tag_id AS VARCHAR) AS tag_id
FROM contact_tags AS m
