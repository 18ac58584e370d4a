-- grain: one row per contact of a conversation version; list_position 0 is the conversation's first contact
SELECT
    CAST(c._dlt_parent_id AS VARCHAR) AS conversation_row_id,
    CAST(c.id AS VARCHAR) AS contact_id,
    CAST(c._dlt_list_idx AS BIGINT) AS list_position
FROM conversations__contacts AS c
