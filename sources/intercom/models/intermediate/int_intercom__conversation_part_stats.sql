-- grain: one row per conversation that has at least one loaded part
-- A response is a comment by an admin; bots (author type "bot") are not admins, and notes are not responses.
-- Ties between parts created in the same second are broken by part id, the same way on every database.
WITH parts AS (
    SELECT
        conversation_id,
        part_id,
        part_type,
        created_at,
        author_id,
        part_type = 'comment' AND author_type = 'admin' AS is_admin_response,
        part_type = 'close' AND author_type = 'admin' AS is_admin_close
    FROM stg_intercom__conversation_parts
),
first_responses AS (
    SELECT
        conversation_id,
        author_id,
        ROW_NUMBER() OVER (PARTITION BY conversation_id ORDER BY created_at, part_id) AS response_number
    FROM parts
    WHERE is_admin_response
),
admin_closes AS (
    SELECT
        conversation_id,
        author_id,
        ROW_NUMBER() OVER (PARTITION BY conversation_id ORDER BY created_at DESC, part_id DESC) AS closes_after
    FROM parts
    WHERE is_admin_close
),
counts AS (
    SELECT
        conversation_id,
        CAST(COUNT(*) AS BIGINT) AS count_parts,
        CAST(SUM(CASE WHEN part_type = 'open' THEN 1 ELSE 0 END) AS BIGINT) AS count_reopens,
        CAST(SUM(CASE WHEN part_type LIKE '%assignment' THEN 1 ELSE 0 END) AS BIGINT) AS count_assignments,
        MIN(CASE WHEN is_admin_response THEN created_at END) AS first_admin_response_at,
        MIN(CASE WHEN part_type = 'close' THEN created_at END) AS first_close_at,
        MAX(CASE WHEN part_type = 'close' THEN created_at END) AS last_close_at,
        MIN(CASE WHEN is_admin_close THEN created_at END) AS first_admin_close_at,
        MAX(CASE WHEN is_admin_close THEN created_at END) AS last_admin_close_at
    FROM parts
    GROUP BY conversation_id
)
SELECT
    counts.*,
    first_responses.author_id AS first_response_admin_id,
    admin_closes.author_id AS last_closed_by_admin_id
FROM counts
LEFT JOIN first_responses
    ON first_responses.conversation_id = counts.conversation_id AND first_responses.response_number = 1
LEFT JOIN admin_closes
    ON admin_closes.conversation_id = counts.conversation_id AND admin_closes.closes_after = 1
