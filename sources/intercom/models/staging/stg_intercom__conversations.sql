-- grain: one row per conversation (its current version in history mode)
-- Times stay as loaded (TIMESTAMP WITH TIME ZONE); Intercom's statistics are in seconds, converted to minutes.
SELECT
    CAST(c.id AS VARCHAR) AS conversation_id,
    CAST(c._dlt_id AS VARCHAR) AS conversation_row_id,
    CAST(c.created_at AS TIMESTAMPTZ) AS created_at,
    CAST(c.updated_at AS TIMESTAMPTZ) AS updated_at,
    CAST(c.state AS VARCHAR) AS state,
    CAST(c.open AS BOOLEAN) AS is_open,
    CAST(c.waiting_since AS TIMESTAMPTZ) AS waiting_since,
    CAST(c.snoozed_until AS TIMESTAMPTZ) AS snoozed_until,
    CAST(c.priority AS VARCHAR) AS priority,
    CAST(c.source__type AS VARCHAR) AS source_type,
    CAST(c.source__delivered_as AS VARCHAR) AS source_delivered_as,
    CAST(c.admin_assignee_id AS VARCHAR) AS admin_assignee_id,
    CAST(c.team_assignee_id AS VARCHAR) AS team_assignee_id,
    CAST(c.conversation_rating__rating AS BIGINT) AS rating,
    CAST(c.conversation_rating__remark AS VARCHAR) AS rating_remark,
    CAST(c.conversation_rating__created_at AS TIMESTAMPTZ) AS rated_at,
    CAST(JSON_EXTRACT_STRING(CAST(c.conversation_rating__teammate AS JSON), '$.id') AS VARCHAR) AS rating_teammate_id,
    CAST(c.sla_applied__sla_name AS VARCHAR) AS sla_name,
    CAST(c.sla_applied__sla_status AS VARCHAR) AS sla_status,
    CAST(c.statistics__time_to_admin_reply AS DOUBLE) / 60 AS time_to_admin_reply_minutes,
    CAST(c.statistics__time_to_first_close AS DOUBLE) / 60 AS time_to_first_close_minutes,
    CAST(c.statistics__time_to_last_close AS DOUBLE) / 60 AS time_to_last_close_minutes,
    CAST(c.statistics__median_time_to_reply AS DOUBLE) / 60 AS median_time_to_reply_minutes,
    CAST(c.statistics__count_conversation_parts AS BIGINT) AS count_conversation_parts
FROM conversations AS c
