-- grain: one row per loaded conversation part (the API returns a conversation's newest 500)
SELECT
    CAST(p.id AS VARCHAR) AS part_id,
    CAST(p.conversation_id AS VARCHAR) AS conversation_id,
    CAST(p.part_type AS VARCHAR) AS part_type,
    CAST(p.created_at AS TIMESTAMPTZ) AS created_at,
    CAST(p.author__type AS VARCHAR) AS author_type,
    CAST(p.author__id AS VARCHAR) AS author_id,
    CAST(p.assigned_to__id AS VARCHAR) AS assigned_to_id
FROM conversation_parts AS p
