-- grain: one row per tag on a conversation version (conversation_row_id is the conversation's _dlt_id)
SELECT
    CAST(t._dlt_parent_id AS VARCHAR) AS conversation_row_id,
    CAST(t.id AS VARCHAR) AS tag_id,
    CAST(t.name AS VARCHAR) AS tag_name
FROM conversations__tags AS t
